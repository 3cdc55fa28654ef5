"""The Redis rate limiter: shared by every process, and out of the way while Redis is down."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from adapters.limits.redis import RedisRateLimiter
from tests.integration.conftest import free_port

pytestmark = pytest.mark.redis


async def test_two_processes_count_into_one_window(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    key = f"login:addr:{uuid.uuid4().hex}"
    try:
        assert (await RedisRateLimiter(first).count(key, 0.3))[0] == 1
        count, left = await RedisRateLimiter(second).count(key, 0.3)
        assert count == 2
        assert 0 < left <= 0.3
        assert (await RedisRateLimiter(first).current(key))[0] == 2
        await asyncio.sleep(0.35)
        assert await RedisRateLimiter(first).current(key) == (0, 0.0)
        await RedisRateLimiter(first).count(key, 60)
        await RedisRateLimiter(second).reset(key)
        assert (await RedisRateLimiter(first).current(key))[0] == 0
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_unreachable_redis_lets_everything_through() -> None:
    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(gone)
    try:
        assert await limiter.count("webchat:1:msg:v", 60) == (0, 0.0)
        assert await limiter.current("webchat:1:msg:v") == (0, 0.0)
        await limiter.reset("webchat:1:msg:v")
    finally:
        await gone.aclose()
