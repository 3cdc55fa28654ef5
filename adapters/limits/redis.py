"""Fixed-window counters in Redis, so every ``kefu serve`` process counts together.

While Redis is unreachable the counters let everything through: throttling must never stop
the hub accepting customers' messages, which are committed to the database without Redis.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_PREFIX = "kefu:limit:"
#: at most one warning this often while Redis is down
_WARN_EVERY_S = 10.0


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = _PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._warned_at = 0.0

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                # NX: the window starts with the first event; later ones do not push it back.
                pipe.incr(name)
                pipe.pexpire(name, max(1, int(window_s * 1000)), nx=True)
                pipe.pttl(name)
                count, _, ttl_ms = await pipe.execute()
        except (RedisError, OSError):
            self._unreachable()
            return 0, 0.0
        return int(count), max(0.0, int(ttl_ms) / 1000)

    async def current(self, key: str) -> tuple[int, float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                raw, ttl_ms = await pipe.execute()
        except (RedisError, OSError):
            self._unreachable()
            return 0, 0.0
        if raw is None or int(ttl_ms) <= 0:
            return 0, 0.0
        return int(raw), int(ttl_ms) / 1000

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError):
            self._unreachable()

    def _unreachable(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("redis unreachable: rate limits are not enforced meanwhile")
