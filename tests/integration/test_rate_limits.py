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


async def test_synced_counts_are_immediate_here_and_reach_the_others(redis_url: str) -> None:
    from adapters.limits.synced import SyncedRateLimiter

    first_redis, second_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)
    first = SyncedRateLimiter(first_redis, sync_every_s=60)  # synced by hand below
    second = SyncedRateLimiter(second_redis, sync_every_s=60)
    key = f"webchat:1:addr:{uuid.uuid4().hex}"
    try:
        for expected in (1, 2, 3):
            assert (await first.count(key, 60))[0] == expected  # no round trip needed
        assert (await second.count(key, 60))[0] == 1  # not shared yet
        await first.sync()
        await second.sync()
        assert (await second.count(key, 60))[0] == 5  # its 2 and the first's 3
        await second.sync()
        await first.sync()
        assert (await first.current(key))[0] == 5
    finally:
        for limiter in (first, second):
            await limiter.close()
        await first_redis.aclose()
        await second_redis.aclose()


async def test_synced_counts_go_on_alone_while_redis_is_down() -> None:
    from adapters.limits.synced import SyncedRateLimiter

    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    limiter = SyncedRateLimiter(gone, sync_every_s=60)
    try:
        await limiter.count("k", 60)
        await limiter.sync()  # fails quietly, keeps the unsent count
        assert (await limiter.count("k", 60))[0] == 2
    finally:
        await limiter.close()
        await gone.aclose()
