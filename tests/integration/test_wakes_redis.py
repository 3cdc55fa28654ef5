"""Poller wakes between processes over a real Redis: heard, merged, and a cut announced."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.realtime.wakes import RedisWakes

Heard = list[tuple[int | None, str, str]]


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    web, worker = Redis.from_url(redis_url), Redis.from_url(redis_url)
    yield web, worker
    await web.aclose()
    await worker.aclose()


async def until(check: object, what: str) -> None:
    for _ in range(500):
        if callable(check) and check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within 5 s: {what}")


@contextlib.asynccontextmanager
async def listening(wakes: RedisWakes, heard: Heard) -> AsyncIterator[None]:
    task = asyncio.create_task(
        wakes.listen(lambda channel, poller, hint: heard.append((channel, poller, hint)))
    )
    await asyncio.sleep(0.2)  # subscribed
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_wake_from_one_process_is_heard_in_another_and_a_burst_is_merged(
    clients: tuple[Redis, Redis],
) -> None:
    namespace = f"kefu:test:{uuid.uuid4().hex[:8]}"
    sender, receiver = RedisWakes(clients[0], namespace), RedisWakes(clients[1], namespace)
    heard: Heard = []
    async with listening(receiver, heard):
        await sender.wake(7, "kf_sync", "token-1")
        await until(lambda: heard == [(7, "kf_sync", "token-1")], "the first wake")

        # A burst while a publish is under way: one poller's wakes merge, the newest hint wins;
        # another poller's wake is its own.
        for n in range(2, 50):
            await sender.wake(7, "kf_sync", f"token-{n}")
        await sender.wake(8, "kf_sync", "other")
        await sender.close()
        await until(lambda: heard[-1][2] in ("token-49", "other"), "the burst")
        mine = [hint for channel, _, hint in heard if channel == 7]
        assert mine[-1] == "token-49"
        assert len(mine) < 49, "every wake of the burst was published on its own"
        assert (8, "kf_sync", "other") in heard

    # Another hub on the same Redis (another queue name) hears none of it.
    stranger: Heard = []
    async with listening(RedisWakes(clients[1], "kefu:test:another"), stranger):
        await sender.wake(7, "kf_sync", "token-x")
        await sender.close()
        await asyncio.sleep(0.2)
    assert stranger == []


async def test_a_listener_cut_off_wakes_every_poller_once_it_hears_again(
    clients: tuple[Redis, Redis], redis_url: str
) -> None:
    namespace = f"kefu:test:{uuid.uuid4().hex[:8]}"
    sender, receiver = RedisWakes(clients[0], namespace), RedisWakes(clients[1], namespace)
    heard: Heard = []
    async with listening(receiver, heard):
        admin = Redis.from_url(redis_url)
        try:
            # Cut the listener's pub/sub connection, as a Redis restart or a network cut would.
            await admin.client_kill_filter(_type="pubsub")
        finally:
            await admin.aclose()
        await until(lambda: (None, "", "") in heard, "the wake-everyone after the cut")
        await sender.wake(3, "mailbox", "")
        await until(lambda: (3, "mailbox", "") in heard, "wakes heard again")
