"""Carries events between processes over Redis pub/sub, one listener task per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

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
        """Listen from now on; returns once subscribed, so no event published later is missed.

        Only a process with subscribers needs this (``kefu serve``); a worker only publishes,
        and listening would cost it a decode of every event it publishes itself.
        """
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def publish(self, topic: str, event: HubEvent) -> None:
        await self._redis.publish(self._prefix + topic, event.text)

    async def publish_many(self, events: Sequence[tuple[str, HubEvent]]) -> None:
        # One message per topic, its events a line each: a processed batch costs Redis and
        # every listening process one message to handle, not one per event. (An event's JSON
        # text never holds a raw line break: json.dumps escapes them in strings.)
        lines: dict[str, list[str]] = {}
        for topic, event in events:
            lines.setdefault(topic, []).append(event.text)
        async with self._redis.pipeline(transaction=False) as pipe:
            for topic, texts in lines.items():
                pipe.publish(self._prefix + topic, "\n".join(texts))
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[HubEvent]]:
        if self._listener is None:
            await self.start()
        async with self._local.subscribe(topic) as events:
            yield events

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
                        for line in text.split("\n"):
                            try:
                                event = HubEvent.from_text(line)
                            except (ValueError, KeyError, TypeError):
                                # One unreadable event (a process of another version) is
                                # skipped; dropping the connection would resync everyone.
                                log.warning("unreadable live event skipped", extra={"topic": topic})
                                continue
                            self._local.dispatch(topic, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                cut_off = True
                log.warning("redis pub/sub listener lost its connection", exc_info=True)
                await asyncio.sleep(1)
