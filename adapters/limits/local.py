"""Fixed-window counters in this process's memory (the embedded mode has one process)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

#: counters kept at most; the oldest windows go first when an attack sprays keys
MAX_KEYS = 100_000


class LocalRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: key → (window end, count)
        self._windows: dict[str, tuple[float, int]] = {}

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        now = self._clock()
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + window_s, 0
        count += 1
        if key not in self._windows and len(self._windows) >= MAX_KEYS:
            self._forget(now)
        self._windows[key] = (ends, count)
        return count, ends - now

    async def count_many(self, keys: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        return [await self.count(key, window_s) for key, window_s in keys]

    async def current(self, key: str) -> tuple[int, float]:
        now = self._clock()
        ends, count = self._windows.get(key, (0.0, 0))
        return (count, ends - now) if ends > now else (0, 0.0)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _forget(self, now: float) -> None:
        for key in [k for k, (ends, _) in self._windows.items() if ends <= now]:
            del self._windows[key]
        while len(self._windows) >= MAX_KEYS:
            del self._windows[next(iter(self._windows))]
