"""Redis dies and comes back empty: nothing accepted meanwhile is lost, and the live path heals.

The hub runs in production mode (PostgreSQL, a ``kefu serve`` and a ``kefu worker`` process)
against a Redis server of this test's own, which it kills with SIGKILL and starts again with
nothing in it, as a Redis without persistence would come back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.clients import AgentSocket, Socket, VisitorSocket
from tests.integration.conftest import (
    Processes,
    free_port,
    make_settings,
    production_hub,
    seed,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.tmp_path)]
        with (self.tmp_path / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing; .ci/run should have installed it")
        pytest.skip("SKIPPED LOUDLY: redis-server is not installed; the outage test needs one")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


async def wait_for_redis(port: int) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


async def closed_with(socket: Socket, within_s: float) -> int | None:
    """The close code the hub ends a socket with, reading past the frames before it."""
    async with asyncio.timeout(within_s):
        while True:
            message = await socket.ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return socket.ws.close_code


async def messages_with(http: aiohttp.ClientSession, base: str, token: str, text: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(base + "/api/v1/conversations", headers=headers) as response:
        conversations = (await response.json())["items"]
    found = []
    for conversation in conversations:
        url = f"{base}/api/v1/conversations/{conversation['id']}/messages"
        async with http.get(url, headers=headers) as response:
            found += [m for m in (await response.json())["items"] if m["text"] == text]
    return found


async def test_messages_accepted_while_redis_is_down_reach_the_inbox_once(
    tmp_path: Path, pg_url: str, private_redis: PrivateRedis, processes: Processes
) -> None:
    settings = make_settings(
        tmp_path, pg_url, redis_url=private_redis.url, sweep_after_s=1.0, sweep_every_s=1.0
    )
    await wait_for_redis(private_redis.port)
    # A worker that looks at the queue every 50 ms even when idle: it meets the outage.
    base, token = await production_hub(processes, settings, KEFU_WORKER_IDLE_POLL_S="0.05")
    async with aiohttp.ClientSession() as http:
        _, key = await seed(base, http, token)
        agent = await AgentSocket.connect(http, base, token)
        visitor = await VisitorSocket.connect(http, base, key)
        await visitor.say("断电之前")
        await agent.message_created("断电之前")
        since = datetime.now(UTC).isoformat()

        private_redis.kill()
        await visitor.say("断电之中")  # acknowledged: committed, though it cannot be queued
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get(base + "/healthz", headers=auth) as response:
            assert response.status == 503
            assert (await response.json())["queue"].startswith("error")
        async with http.get(base + "/healthz") as response:  # anonymous: up or down only
            assert (response.status, await response.json()) == (503, {"status": "degraded"})

        await asyncio.sleep(1.5)  # long enough for the worker to meet it more than once
        private_redis.start()  # empty: the queue and every subscription are gone
        await wait_for_redis(private_redis.port)
        # Events published while this process was cut off never reached it: the agent's
        # page and the visitor's widget are told to reconnect and catch up (close code 4000),
        # as the inbox page and the widget do.
        assert await closed_with(agent, within_s=15) == 4000
        assert await closed_with(visitor, within_s=5) == 4000
        agent = await AgentSocket.connect(http, base, token)
        visitor = await VisitorSocket.connect(http, base, key, token=visitor.hello["visitor_token"])
        async with asyncio.timeout(30):
            while not await messages_with(http, base, token, "断电之中"):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(
            base + "/api/v1/sync", params={"since": since}, headers=headers
        ) as response:
            resync = await response.json()
        assert "断电之中" in [m["text"] for m in resync["messages"]]

        # The live path is whole again, both ways.
        assert [m["text"] for m in visitor.hello["history"]] == ["断电之前", "断电之中"]
        await visitor.say("恢复之后")
        created = await agent.message_created("恢复之后", within_s=20)
        async with http.post(
            f"{base}/api/v1/conversations/{created['conversation_id']}/messages",
            json={"text": "收到"},
            headers=headers,
        ) as response:
            assert response.status == 201
        await visitor.reply_with("收到", within_s=20)
        await asyncio.sleep(1.5)  # room for a sweep to run a second time
        assert len(await messages_with(http, base, token, "断电之中")) == 1
        await agent.close()
        await visitor.close()
    # the same worker (and serve) process rode out the outage: neither exited
    assert all(process.poll() is None for process in processes.running)
    assert "redis unreachable; trying again shortly" in processes.log("worker")
