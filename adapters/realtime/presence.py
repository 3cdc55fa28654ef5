"""Which agents are connected: each of their open websockets (an inbox page, an API client)
refreshes a heartbeat of its own."""

from __future__ import annotations

import time

from redis.asyncio import Redis

#: A connection counts this long after its last heartbeat: a process that died without saying
#: goodbye stops counting for its agents after this.
ONLINE_FOR_S = 60.0


class LocalPresence:
    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], float] = {}

    async def touch(self, agent_id: int, connection: str) -> None:
        self._seen[(agent_id, connection)] = time.monotonic()

    async def leave(self, agent_id: int, connection: str) -> None:
        self._seen.pop((agent_id, connection), None)

    async def online(self) -> set[int]:
        cutoff = time.monotonic() - ONLINE_FOR_S
        return {agent for (agent, _), seen in self._seen.items() if seen >= cutoff}


class RedisPresence:
    """One sorted set for every process: a member per connection, scored by its heartbeat.

    Per connection rather than per agent, so that a page closing in one process does not count
    the agent out while their page in another process is still open.
    """

    KEY = "kefu:presence:connections"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def touch(self, agent_id: int, connection: str) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.KEY, {f"{agent_id}:{connection}": now})
            # Connections of processes that died are dropped by whoever touches next.
            pipe.zremrangebyscore(self.KEY, "-inf", now - ONLINE_FOR_S)
            await pipe.execute()

    async def leave(self, agent_id: int, connection: str) -> None:
        await self._redis.zrem(self.KEY, f"{agent_id}:{connection}")

    async def online(self) -> set[int]:
        members = await self._redis.zrangebyscore(self.KEY, time.time() - ONLINE_FOR_S, "+inf")
        return {int(member.split(b":", 1)[0]) for member in members}
