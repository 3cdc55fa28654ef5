"""Counters kept in this process and shared through Redis a few times a second.

For limits checked on every customer message (web chat's flood limits): a Redis call per
message cost more than the rest of accepting it. Here a message is counted in memory at once,
and every ``sync_every_s`` one pipeline adds this process's new counts to Redis and reads
every process's totals back. A limit is therefore shared by all ``kefu serve`` processes, at
most ``sync_every_s`` late; while Redis is unreachable each process enforces it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_PREFIX = "kefu:limit:"
#: keys counted here within this long get the other processes' counts at each sync
RECENT_S = 5.0


@dataclass
class _Window:
    ends: float
    window_s: float
    #: counted in this process in this window
    mine: int = 0
    #: of ``mine``, not added to Redis yet
    unsent: int = 0
    #: counted by the other processes, as of the last sync
    others: int = 0
    #: when this process last counted one
    touched: float = 0.0


class SyncedRateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        sync_every_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = _PREFIX,
    ) -> None:
        self._redis = redis
        self._sync_every_s = sync_every_s
        self._clock = clock
        self._prefix = prefix
        self._windows: dict[str, _Window] = {}
        self._syncer: asyncio.Task[None] | None = None
        self._warned_at = 0.0

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        return (await self.count_many([(key, window_s)]))[0]

    async def count_many(self, keys: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        if self._syncer is None:
            self._syncer = asyncio.create_task(self._sync_forever())
        now = self._clock()
        counted = []
        for key, window_s in keys:
            window = self._windows.get(key)
            if window is None or window.ends <= now:
                window = self._windows[key] = _Window(now + window_s, window_s)
            window.mine += 1
            window.unsent += 1
            window.touched = now
            counted.append((window.mine + window.others, window.ends - now))
        return counted

    async def current(self, key: str) -> tuple[int, float]:
        now = self._clock()
        window = self._windows.get(key)
        if window is None or window.ends <= now:
            return 0, 0.0
        return window.mine + window.others, window.ends - now

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        if self._syncer is not None:
            self._syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer

    async def sync(self) -> None:
        """Add this process's new counts to Redis; learn the others' (one round trip)."""
        now = self._clock()
        for key in [k for k, w in self._windows.items() if w.ends <= now]:
            del self._windows[key]
        # What this process counted lately: the keys a next message will ask about.
        lately = now - RECENT_S
        pending = [
            (key, w, w.unsent)
            for key, w in self._windows.items()
            if w.unsent or w.touched >= lately
        ]
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, window, unsent in pending:
                    pipe.incrby(self._prefix + key, unsent)
                    pipe.pexpire(self._prefix + key, max(1, int(window.window_s * 1000)), nx=True)
                    pipe.pttl(self._prefix + key)
                results = await pipe.execute()
        except (RedisError, OSError):
            self._unreachable()
            return
        now = self._clock()
        for (_, window, unsent), index in zip(pending, range(0, len(results), 3), strict=True):
            total, ttl_ms = int(results[index]), int(results[index + 2])
            window.unsent -= unsent
            window.others = max(0, total - (window.mine - window.unsent))
            if ttl_ms > 0:
                # The window every process shares is the one in Redis.
                window.ends = now + ttl_ms / 1000

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sync_every_s)
            try:
                await self.sync()
            except Exception:
                log.exception("sharing rate-limit counts failed")

    def _unreachable(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 10.0:
            self._warned_at = now
            log.warning("redis unreachable: each process enforces rate limits alone meanwhile")
