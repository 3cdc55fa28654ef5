"""Starts the connectors' own protocol servers (``Listens``): an email channel's SMTP receiver.

A listener runs where the settings give it a port (``KEFU_SMTP_PORT`` for ``smtp``): inside
``kefu serve``, or alone with ``kefu listen smtp`` (several hubs' web processes behind a load
balancer need only one receiver).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hub.access import ProcessHubAccess
from hub.bootstrap import Hub
from hub.config import Settings
from hub.domain.transports import Listener, Listens

log = logging.getLogger(__name__)


def listener_ports(settings: Settings) -> dict[str, int]:
    """The ports the settings give, by listener name."""
    return {"smtp": settings.smtp_port} if settings.smtp_port else {}


async def start_listeners(
    hub: Hub, ports: Mapping[str, int], *, only: str | None = None
) -> list[Listener]:
    """Start every listener of the installed connectors that has a port; returns them."""
    access = ProcessHubAccess(hub)
    started: list[Listener] = []
    for connector in hub.deps.connectors.values():
        if not isinstance(connector, Listens):
            continue
        for listener in connector.listeners(access):
            port = ports.get(listener.name)
            if port is None or (only is not None and listener.name != only):
                continue
            await listener.start(hub.settings.listen_host, port)
            log.info(
                "listener started",
                extra={"listener": listener.name, "host": hub.settings.listen_host, "port": port},
            )
            started.append(listener)
    return started


async def stop_listeners(listeners: list[Listener]) -> None:
    for listener in listeners:
        await listener.stop()
