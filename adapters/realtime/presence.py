"""Which agents are online: their open inbox pages refresh a heartbeat."""

from __future__ import annotations

import time

from redis.asyncio import Redis

#: An agent counts as online this long after the last heartbeat of any of their pages.
ONLINE_FOR_S = 60.0


class LocalPresence:
    def __init__(self) -> None:
        self._seen: dict[int, float] = {}

    async def touch(self, agent_id: int) -> None:
        self._seen[agent_id] = time.monotonic()

    async def leave(self, agent_id: int) -> None:
        self._seen.pop(agent_id, None)

    async def online(self) -> set[int]:
        cutoff = time.monotonic() - ONLINE_FOR_S
        return {agent for agent, seen in self._seen.items() if seen >= cutoff}


class RedisPresence:
    KEY = "kefu:presence"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def touch(self, agent_id: int) -> None:
        await self._redis.zadd(self.KEY, {str(agent_id): time.time()})

    async def leave(self, agent_id: int) -> None:
        await self._redis.zrem(self.KEY, str(agent_id))

    async def online(self) -> set[int]:
        members = await self._redis.zrangebyscore(self.KEY, time.time() - ONLINE_FOR_S, "+inf")
        return {int(m) for m in members}
