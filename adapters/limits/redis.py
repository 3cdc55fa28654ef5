"""Fixed-window counters in Redis, so every ``kefu serve`` process counts together."""

from __future__ import annotations

from redis.asyncio import Redis

_PREFIX = "kefu:limit:"


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = _PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            # NX: the window starts with the first event and is not pushed back by later ones.
            pipe.incr(name)
            pipe.pexpire(name, max(1, int(window_s * 1000)), nx=True)
            pipe.pttl(name)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(0.0, int(ttl_ms) / 1000)

    async def current(self, key: str) -> tuple[int, float]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(name)
            pipe.pttl(name)
            raw, ttl_ms = await pipe.execute()
        if raw is None or int(ttl_ms) <= 0:
            return 0, 0.0
        return int(raw), int(ttl_ms) / 1000

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
