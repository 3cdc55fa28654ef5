"""Fans events out to this process's subscribers without ever waiting on one of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from hub.domain.events import HubEvent
from hub.domain.ports import SubscriberOverflow

log = logging.getLogger(__name__)


class _Subscription:
    def __init__(self, size: int) -> None:
        #: ``None`` marks a gap: what came before is delivered, then the subscriber resyncs
        self.queue: asyncio.Queue[HubEvent | None] = asyncio.Queue(size)
        self.overflowed = False

    def gap(self) -> None:
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):  # a full queue ends in overflow anyway
            self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[HubEvent]:
        while True:
            if self.overflowed and self.queue.empty():
                raise SubscriberOverflow
            event = await self.queue.get()
            if event is None:
                raise SubscriberOverflow
            yield event


class LocalEventBus:
    """Each subscriber has a bounded queue; a full one is cut off, not waited for."""

    def __init__(self, queue_size: int = 2000) -> None:
        self._subscribers: dict[str, set[_Subscription]] = defaultdict(set)
        self._queue_size = queue_size

    async def publish(self, topic: str, event: HubEvent) -> None:
        self.dispatch(topic, event)

    async def publish_many(self, events: Sequence[tuple[str, HubEvent]]) -> None:
        for topic, event in events:
            self.dispatch(topic, event)

    def dispatch(self, topic: str, event: HubEvent) -> None:
        for sub in list(self._subscribers.get(topic, ())):
            if sub.overflowed:
                continue  # it resyncs once it has drained what it holds; feeding it delays that
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                log.warning("subscriber overflowed", extra={"topic": topic})

    def interrupt(self) -> None:
        """Every subscriber may have missed events (the feed from other processes was cut
        off): each gets what is queued, then is told to resync."""
        for subs in self._subscribers.values():
            for sub in subs:
                sub.gap()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[HubEvent]]:
        sub = _Subscription(self._queue_size)
        self._subscribers[topic].add(sub)
        try:
            yield sub.__aiter__()
        finally:
            self._subscribers[topic].discard(sub)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
