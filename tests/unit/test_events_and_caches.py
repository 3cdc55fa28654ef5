"""Live events travel as JSON text encoded once; channels are cached for a few seconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.db import channel_cache
from adapters.db.channel_cache import ChannelCache
from adapters.realtime.local import LocalEventBus
from hub.domain.events import HubEvent
from hub.domain.ports import SubscriberOverflow
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


async def drain(subscription: AsyncIterator[HubEvent]) -> list[HubEvent]:
    """What a subscriber receives until it is told to resync (within a second)."""
    got: list[HubEvent] = []

    async def read() -> None:
        async for event in subscription:
            got.append(event)

    with pytest.raises(SubscriberOverflow):
        await asyncio.wait_for(read(), 1)
    return got


async def test_an_interrupted_bus_delivers_what_it_has_then_tells_subscribers_to_resync() -> None:
    bus = LocalEventBus()
    before = HubEvent("message.created", {"id": 1})
    async with bus.subscribe("agents") as waiting, bus.subscribe("agents") as behind:
        await bus.publish("agents", before)
        assert await drain_one(waiting) == before
        reader = asyncio.create_task(drain(waiting))  # waits on an empty queue now
        await asyncio.sleep(0.01)
        bus.interrupt()
        assert await reader == []  # woken, not left waiting
        assert await drain(behind) == [before]  # what it had, then the resync


async def drain_one(subscription: AsyncIterator[HubEvent]) -> HubEvent:
    return await asyncio.wait_for(anext(aiter(subscription)), 1)


async def test_a_full_subscriber_is_cut_off_not_waited_for() -> None:
    bus = LocalEventBus(queue_size=2)
    async with bus.subscribe("agents") as slow:
        for n in range(3):
            await bus.publish("agents", HubEvent("message.created", {"id": n}))
        assert [event.data["id"] for event in await drain(slow)] == [0, 1]
