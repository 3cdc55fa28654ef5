"""What a visitor's browser says of itself, for the live visitor panel."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

from hub.domain.visitors import Device

_TABLETS = ("iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10", "SM-T")


@lru_cache(maxsize=2048)
def device_of(user_agent: str) -> Device | None:
    """The browser, system and kind of device; parsed once per User-Agent (most visitors of a
    site share a few dozen)."""
    if not user_agent:
        return None
    found = parse(user_agent[:512])
    agent, system, device = found.user_agent, found.os, found.device
    browser = " ".join(
        p for p in (agent.family if agent else "", agent.major if agent else "") if p
    )
    os_name = " ".join(
        p for p in (system.family if system else "", system.major if system else "") if p
    )
    model = device.family if device else ""
    if model and any(mark in model for mark in _TABLETS):
        kind = "tablet"
    elif (model and model not in ("Other", "Spider")) or "Mobile" in user_agent:
        kind = "mobile"
    else:
        kind = "desktop"
    return Device(kind=kind, browser=browser or "Other", os=os_name or "Other")
