"""Wakes for channel pollers: in this process, or between processes over Redis pub/sub.

A wake only saves a poller the wait until its next own read, so both are best-effort: a wake
published while no process listens, or while Redis is unreachable, is lost, and the listener
says so by waking every poller once it hears again.
"""

from __future__ import annotations

import asyncio
import json
import logging

from redis.asyncio import Redis

from hub.domain.ports import OnWake

log = logging.getLogger(__name__)


class LocalWakes:
    """The embedded mode: the web process takes the callbacks and runs the pollers."""

    def __init__(self) -> None:
        self._listeners: set[OnWake] = set()

    async def wake(self, channel_id: int, poller: str, hint: str) -> None:
        for on_wake in list(self._listeners):
            on_wake(channel_id, poller, hint)

    async def listen(self, on_wake: OnWake) -> None:
        self._listeners.add(on_wake)
        try:
            await asyncio.Event().wait()
        finally:
            self._listeners.discard(on_wake)


class RedisWakes:
    """One pub/sub channel per hub (named after its queue: pub/sub ignores database numbers).

    Only processes that run pollers listen. A busy account's callbacks come many a second and
    one pull serves them all, so ``wake`` does not wait for Redis: the wakes of one poller that
    come while a publish is under way are merged into the next one, keeping the newest hint.
    """

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._channel = f"{namespace}:wakes"
        self._pending: dict[tuple[int, str], str] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def wake(self, channel_id: int, poller: str, hint: str) -> None:
        self._pending[(channel_id, poller)] = hint
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for (channel_id, poller), hint in batch.items():
                        pipe.publish(self._channel, json.dumps([channel_id, poller, hint]))
                    await pipe.execute()
            except Exception:
                log.warning(
                    "poller wakes not published; the pollers read on their own later",
                    extra={"wakes": len(batch)},
                    exc_info=True,
                )

    async def close(self) -> None:
        """Publish what is pending (a callback answered a moment ago) before the end."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)

    async def listen(self, on_wake: OnWake) -> None:
        first = True
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    if not first:
                        # Wakes published while cut off never arrived: everyone reads once.
                        log.warning("poller wakes are heard again; every poller reads once")
                        on_wake(None, "", "")
                    first = False
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        try:
                            channel_id, poller, hint = json.loads(item["data"])
                            on_wake(int(channel_id), str(poller), str(hint))
                        except (ValueError, TypeError):
                            log.warning("unreadable poller wake skipped")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("poller wake listener lost its connection", exc_info=True)
                first = False
                await asyncio.sleep(1)
