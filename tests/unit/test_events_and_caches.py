"""Live events travel as JSON text encoded once; channels are cached for a few seconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.db import channel_cache
from adapters.db.channel_cache import ChannelCache
from hub.domain.events import HubEvent
from hub.domain.records import Channel


def test_an_event_is_encoded_once_and_resent_as_received() -> None:
    event = HubEvent("message.created", {"id": 7, "text": "你好 <b>"})
    text = event.text
    assert event.text is text  # encoded once, however many sockets send it
    assert json.loads(text) == event.as_json()
    again = HubEvent.from_text(text)
    assert again == event
    assert again.text is text  # what came from another process goes out unchanged


def channel(channel_id: int = 1, key: str = "pk") -> Channel:
    return Channel(channel_id, "webchat", "Shop", key, {}, None, True, datetime.now(UTC))


def test_a_cached_channel_expires_and_a_changed_one_is_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(channel_cache.time, "monotonic", lambda: clock[0])
    cache = ChannelCache(ttl_s=5.0)
    shop = channel()
    cache.put(shop)
    assert cache.by_id(1) is shop
    assert cache.by_key("pk") is shop
    clock[0] += 5.1  # another process's change is seen at most this late
    assert cache.by_id(1) is None
    assert cache.by_key("pk") is None
    cache.put(shop)
    cache.forget(shop)  # a change made in this process is seen at once
    assert cache.by_id(1) is None
    assert cache.by_key("pk") is None
