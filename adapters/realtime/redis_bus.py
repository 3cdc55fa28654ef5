"""Carries events between processes over Redis pub/sub, one listener task per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis

from adapters.realtime.local import LocalEventBus
from hub.domain.events import HubEvent

log = logging.getLogger(__name__)


class RedisEventBus:
    """Topics are prefixed with the hub's queue name: pub/sub ignores Redis database numbers,
    so two hubs sharing one Redis must not hear each other."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:events:"
        self._local = LocalEventBus()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def publish(self, topic: str, event: HubEvent) -> None:
        await self._redis.publish(self._prefix + topic, event.text)

    async def publish_many(self, events: Sequence[tuple[str, HubEvent]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for topic, event in events:
                pipe.publish(self._prefix + topic, event.text)
            await pipe.execute()

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[HubEvent]]:
        return self._local.subscribe(topic)

    async def _listen(self) -> None:
        cut_off = False
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self._prefix + "*")
                    self._ready.set()
                    if cut_off:
                        # Events published meanwhile never reached this process: its agents'
                        # pages and visitors' widgets reconnect and fetch what they missed.
                        log.warning("redis pub/sub listener is back; subscribers resync")
                        self._local.interrupt()
                        cut_off = False
                    async for item in pubsub.listen():
                        if item.get("type") != "pmessage":
                            continue
                        channel = item["channel"]
                        topic = (channel.decode() if isinstance(channel, bytes) else channel)[
                            len(self._prefix) :
                        ]
                        data = item["data"]
                        text = data.decode() if isinstance(data, bytes) else data
                        self._local.dispatch(topic, HubEvent.from_text(text))
            except asyncio.CancelledError:
                raise
            except Exception:
                cut_off = True
                log.warning("redis pub/sub listener lost its connection", exc_info=True)
                await asyncio.sleep(1)
