"""Live events between processes over a real Redis: batched, in order, and heard only when asked."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from adapters.realtime.redis_bus import RedisEventBus
from hub.domain.events import HubEvent

pytestmark = pytest.mark.redis


async def test_a_batch_arrives_as_its_events_in_order_on_their_topics(redis_url: str) -> None:
    namespace = f"kefu:test:{uuid.uuid4().hex[:8]}"
    publisher_redis, listener_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)
    publisher = RedisEventBus(publisher_redis, namespace)
    listener = RedisEventBus(listener_redis, namespace)
    events = [
        HubEvent("message.created", {"id": n, "text": f"第 {n} 条\n第二行 \u2028 <b>"})
        for n in range(3)
    ]
    other = HubEvent("visitor.typing", {"on": True})
    try:
        async with (
            listener.subscribe("agents") as agents,
            listener.subscribe("visitor:1:v") as visitor,
        ):
            sent = [
                ("agents", events[0]),
                ("visitor:1:v", other),
                *(("agents", e) for e in events[1:]),
            ]
            await publisher.publish_many(sent)
            await publisher.publish("agents", events[0])
            got = [await asyncio.wait_for(anext(aiter(agents)), 5) for _ in range(4)]
            assert got == [*events, events[0]]
            assert [e.text for e in got] == [e.text for e in [*events, events[0]]]
            assert await asyncio.wait_for(anext(aiter(visitor)), 5) == other
            # An unreadable event (from a process of another version) is skipped; the
            # listener keeps its connection, so no subscriber is told to resync.
            await publisher_redis.publish(f"{namespace}:events:agents", "not an event\n{}")
            await publisher.publish("agents", events[2])
            assert await asyncio.wait_for(anext(aiter(agents)), 5) == events[2]
            # Redis counts who hears a message on our topics: the listener alone. A process
            # that only publishes (a worker) never listens.
            channel = f"{namespace}:events:agents"
            assert await publisher_redis.publish(channel, events[1].text) == 1
            assert await asyncio.wait_for(anext(aiter(agents)), 5) == events[1]
    finally:
        await listener.close()
        await publisher.close()
        await publisher_redis.aclose()
        await listener_redis.aclose()
