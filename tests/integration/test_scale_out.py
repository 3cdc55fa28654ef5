"""Scale-out and crash safety on PostgreSQL + Redis with real ``kefu`` processes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import (
    Processes,
    hub_env,
    make_settings,
    production_hub,
    seed,
    subprocess_hub_admin,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_two_serve_processes_both_push_live(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    token = await subprocess_hub_admin(settings)
    processes.start("worker", ["worker"], hub_env(settings))
    first = await processes.serve("serve-a", settings)
    second = await processes.serve("serve-b", settings)
    async with aiohttp.ClientSession() as http:
        _, key = await seed(first, http, token)
        agent_a = await AgentSocket.connect(http, first, token)
        agent_b = await AgentSocket.connect(http, second, token)
        visitor = await VisitorSocket.connect(http, second, key)
        await visitor.say("我想退货")
        seen_a = await agent_a.message_created("我想退货")
        seen_b = await agent_b.message_created("我想退货")
        assert seen_a["id"] == seen_b["id"]
        async with http.post(
            f"{first}/api/v1/conversations/{seen_a['conversation_id']}/messages",
            json={"text": "好的，请提供订单号"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 201
        # Replied through process A, pushed to the visitor connected to process B.
        await visitor.reply_with("好的，请提供订单号")
        for socket in (agent_a, agent_b, visitor):
            await socket.close()


async def _wait_for_lock_waiter(conn: asyncpg.Connection, within_s: float = 15) -> None:
    async with asyncio.timeout(within_s):
        while True:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query ILIKE '%inbound_events%'"
            )
            if waiting:
                return
            await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_job_processes_the_message_exactly_once(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(
        tmp_path, pg_url, redis_url=redis_url, job_timeout_s=2.0, sweep_after_s=1.0
    )
    token = await subprocess_hub_admin(settings)
    base = await processes.serve("serve", settings)
    dsn = pg_url.replace("postgresql+asyncpg", "postgresql")
    blocker = await asyncpg.connect(dsn)
    observer = await asyncpg.connect(dsn)
    try:
        async with aiohttp.ClientSession() as http:
            _, key = await seed(base, http, token)
            agent = await AgentSocket.connect(http, base, token)
            visitor = await VisitorSocket.connect(http, base, key)
            await visitor.say("半路上崩溃")  # accepted and queued; no worker runs yet
            event_id = await observer.fetchval("SELECT id FROM inbound_events")
            # Hold the event's row: the worker's job will block inside its transaction.
            blocker_tx = blocker.transaction()
            await blocker_tx.start()
            await blocker.execute(
                "SELECT id FROM inbound_events WHERE id = $1 FOR UPDATE", event_id
            )
            worker = processes.start("worker-1", ["worker"], hub_env(settings))
            await _wait_for_lock_waiter(observer)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            await blocker_tx.rollback()
            assert await observer.fetchval("SELECT count(*) FROM messages") == 0
            processes.start("worker-2", ["worker"], hub_env(settings))
            created = await agent.message_created("半路上崩溃", within_s=40)
            assert created["direction"] == "in"
            await asyncio.sleep(1.0)  # room for a wrong second run to show itself
            assert await observer.fetchval("SELECT count(*) FROM messages") == 1
            assert await observer.fetchval("SELECT status FROM inbound_events") == "done"
            await agent.close()
            await visitor.close()
    finally:
        await blocker.close()
        await observer.close()


async def test_a_burst_is_processed_completely_in_shared_batches(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    base, token = await production_hub(processes, settings)
    async with aiohttp.ClientSession() as http:
        _, key = await seed(base, http, token)
        agent = await AgentSocket.connect(http, base, token)
        sessions = []
        for _ in range(5):
            async with http.post(f"{base}/webchat/{key}/session") as response:
                sessions.append((await response.json())["visitor_token"])

        async def send(n: int) -> None:
            frame = {"type": "message", "client_id": f"burst-{n:04d}", "text": f"burst {n}"}
            headers = {"X-Visitor-Token": sessions[n % 5]}
            async with http.post(
                f"{base}/webchat/{key}/messages", json=frame, headers=headers
            ) as response:
                assert response.status == 202

        await asyncio.gather(*(send(n) for n in range(100)))
        seen = set()
        while len(seen) < 100:
            frame = await agent.next("message.created")
            seen.add(frame["data"]["text"])
        await agent.close()
        async with http.get(
            f"{base}/api/v1/conversations?limit=100", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            page = await response.json()
        assert len(page["items"]) == 5
        for item in page["items"]:
            async with http.get(
                f"{base}/api/v1/conversations/{item['id']}/messages?limit=100",
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                texts = [m["text"] for m in (await response.json())["items"]]
            assert len(set(texts)) == len(texts) == 20
    assert "process_inbound_many" in processes.log("worker")
