"""Fixed-window counters in Redis, so every ``kefu serve`` process counts together.

While Redis is unreachable the counters let everything through: throttling must never stop
the hub accepting customers' messages, which are committed to the database without Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_PREFIX = "kefu:limit:"
#: Count one event for each key, starting a key's window with its first event; answers the
#: counts and the windows' milliseconds left. One script: one round trip for every key.
_COUNT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""
#: at most one warning this often while Redis is down
_WARN_EVERY_S = 10.0


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = _PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._warned_at = 0.0
        self._script = redis.register_script(_COUNT)

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        return (await self.count_many([(key, window_s)]))[0]

    async def count_many(self, keys: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        try:
            raw = await self._script(
                keys=[self._prefix + key for key, _ in keys],
                args=[max(1, int(window_s * 1000)) for _, window_s in keys],
            )
        except (RedisError, OSError):
            self._unreachable()
            return [(0, 0.0)] * len(keys)
        return [(int(raw[i]), max(0.0, int(raw[i + 1]) / 1000)) for i in range(0, len(raw), 2)]

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
