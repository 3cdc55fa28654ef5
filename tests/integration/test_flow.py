"""A visitor writes, an agent sees it live and answers, the visitor gets the answer live.

The same flow runs on the embedded default (SQLite, in-process jobs and bus) and on
PostgreSQL + Redis with a real ``kefu worker`` process.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import (
    Processes,
    RunningHub,
    inprocess_hub,
    make_settings,
    production_hub,
    seed,
)

TRICKY = "<img src=x onerror=alert(1)> 你好 & 'quotes' \"double\""


async def converse(hub: RunningHub) -> None:
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    assert visitor.hello["history"] == []
    assert visitor.hello["agents_online"] is True

    client_id = await visitor.say(TRICKY)
    await visitor.say(TRICKY, client_id)  # a browser's re-send after a lost ack
    created = await agent.message_created(TRICKY)
    assert created["direction"] == "in"
    conversation_id = created["conversation_id"]

    status, page = await hub.api("GET", "/conversations?assignee=none&status=open")
    assert status == 200
    [item] = page["items"]
    assert item["id"] == conversation_id
    assert item["last_message"]["text"] == TRICKY
    assert item["unread_count"] == 1

    status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "您好，请稍等"}
    )
    assert status == 201
    assert sent["status"] == "queued"
    pushed = await visitor.reply_with("您好，请稍等")
    assert pushed["direction"] == "out"
    assert pushed["sender_name"] == "Admin 管理员"
    updated = await agent.next(
        "message.updated", lambda f: f["data"]["id"] == sent["id"] and f["data"]["status"] == "sent"
    )
    assert updated["data"]["provider_message_id"] == f"webchat-{sent['id']}"

    status, messages = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    assert [m["text"] for m in messages["items"]] == [TRICKY, "您好，请稍等"]

    again = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, token=visitor.hello["visitor_token"]
    )
    assert [m["text"] for m in again.hello["history"]] == [TRICKY, "您好，请稍等"]
    for socket in (agent, visitor, again):
        await socket.close()


async def test_embedded(tmp_path: Path) -> None:
    async with inprocess_hub(make_settings(tmp_path)) as hub:
        await converse(hub)


@pytest.mark.postgres
@pytest.mark.redis
async def test_postgres_redis_and_a_worker_process(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    # An idle worker that would look at the queue only every 60 s: the flow finishes in
    # seconds only because each enqueue wakes it.
    base, token = await production_hub(processes, settings, KEFU_WORKER_IDLE_POLL_S="60")
    async with aiohttp.ClientSession() as http:
        channel_id, key = await seed(base, http, token)
        await converse(RunningHub(base, token, key, channel_id, http))
    assert "inbound processed" in processes.log("worker")
    assert "delivered" in processes.log("worker")
