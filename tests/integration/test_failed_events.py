"""Events whose processing failed for good: listed with their reason, retried, dismissed.

A processing bug is injected into a real in-process hub, so a visitor's message really fails;
once the "fix" is in, a retry brings it to the inbox live, exactly once. The same retry goes
through Redis to a real ``kefu worker`` process in production mode, and through the CLI.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.db.engine import create_engines
from adapters.db.secretbox import SecretBox
from adapters.db.store import SqlStore
from hub.domain.model import Inbound
from hub.services import batching, inbound
from hub.web import schemas as S
from hub.web.keys import HUB
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import (
    Processes,
    RunningHub,
    cli,
    inprocess_hub,
    make_settings,
    production_hub,
)
from tests.services import create_pg_database, drop_pg_database

QUESTION = "我的快递到哪了？<b>急</b>"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    url = await create_pg_database() if request.param == "postgres" else None
    try:
        async with inprocess_hub(make_settings(tmp_path, url)) as running:
            yield running
    finally:
        if url:
            await drop_pg_database(url)


async def failed_list(hub: RunningHub, query: str = "") -> list[dict[str, Any]]:
    status, page = await hub.api("GET", "/inbound-events" + query)
    assert status == 200, page
    S.EventList.model_validate(page)
    items: list[dict[str, Any]] = page["items"]
    return items


async def eventually(check: Any, within_s: float = 10) -> Any:
    async with asyncio.timeout(within_s):
        while not (found := await check()):  # noqa: ASYNC110 (polls an HTTP API)
            await asyncio.sleep(0.05)
    return found


async def health(hub: RunningHub) -> dict[str, Any]:
    async with hub.http.get(hub.base + "/healthz", headers=hub.auth()) as response:
        body: dict[str, Any] = await response.json()
        return body


async def test_a_message_that_failed_is_kept_and_a_retry_brings_it_to_the_inbox_once(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*args: Any) -> Any:
        raise RuntimeError("a processing bug")

    monkeypatch.setattr(batching, "GIVE_UP_AFTER", 1)
    admin_page = await AgentSocket.connect(hub.http, hub.base, hub.token)
    with monkeypatch.context() as broken:
        broken.setattr(inbound, "_new_message", bug)
        visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
        await visitor.say(QUESTION)  # acknowledged: accepted and committed
        [item] = await eventually(lambda: failed_list(hub))
    live = await admin_page.next("failed_events.changed")  # the count on admins' pages
    assert live["data"] == {"change": "failed", "ids": [item["id"]]}
    await admin_page.close()
    assert item["status"] == "failed"
    assert item["attempts"] == 1
    assert item["error"] == "RuntimeError: a processing bug"
    assert item["channel"] == {"id": hub.channel_id, "kind": "webchat", "name": "Shop chat 商店"}
    assert item["summary"]["text"] == QUESTION
    assert item["summary"]["sender_id"] == item["payload"]["sender_id"]
    assert (await health(hub))["failed_events"] == 1
    _, conversations = await hub.api("GET", "/conversations")
    assert conversations["items"] == []

    # The bug is fixed (the monkeypatch context ended): retry, and the agent sees it live.
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    status, body = await hub.api("POST", "/inbound-events/retry", json={"ids": [item["id"]]})
    assert (status, body) == (200, {"ids": [item["id"]]})
    created = await agent.message_created(QUESTION)
    assert await failed_list(hub) == []
    assert (await health(hub))["failed_events"] == 0

    status, body = await hub.api("POST", "/inbound-events/retry", json={"ids": [item["id"]]})
    assert (status, body) == (200, {"ids": []})
    await asyncio.sleep(0.3)
    _, messages = await hub.api("GET", f"/conversations/{created['conversation_id']}/messages")
    assert [m["text"] for m in messages["items"]] == [QUESTION]
    for cursor in ("W10", "WyJ4Il0", "WzFd" + "x"):  # [], ["x"], not JSON
        status, answer = await hub.api(
            "GET", f"/conversations/{created['conversation_id']}/messages?before={cursor}"
        )
        assert status == 422, answer
    await agent.close()
    await visitor.close()


async def fail_events(hub: RunningHub, count: int) -> list[int]:
    """Accepted events that failed their one allowed attempt, written through the store."""
    store = hub.extras["server"].app[HUB].store
    accepted = await store.accept_events(
        hub.channel_id,
        [
            Inbound(provider_event_id=f"bad-{n}", sender_id=f"v{n}", text=f"第 {n} 条")
            for n in range(count)
        ],
    )
    async with store.unit() as uow:
        for result in accepted:
            await uow.record_event_failure(result.event_id, f"KeyError: {result.event_id}", 1)
        await uow.commit()
    return [r.event_id for r in accepted]


async def test_dismiss_pages_and_retry_all(hub: RunningHub) -> None:
    ids = await fail_events(hub, 3)
    newest_first = ids[::-1]
    status, page = await hub.api("GET", "/inbound-events?limit=2")
    assert [i["id"] for i in page["items"]] == newest_first[:2]
    status, rest = await hub.api("GET", f"/inbound-events?limit=2&cursor={page['next']}")
    assert [i["id"] for i in rest["items"]] == newest_first[2:]
    assert rest["next"] is None
    assert [i["id"] for i in await failed_list(hub, f"?channel_id={hub.channel_id}")] == (
        newest_first
    )
    assert await failed_list(hub, f"?channel_id={hub.channel_id + 1000}") == []

    status, body = await hub.api("POST", "/inbound-events/dismiss", json={"ids": [ids[0]]})
    assert (status, body) == (200, {"ids": [ids[0]]})
    [dismissed] = await failed_list(hub, "?status=dismissed")
    assert (dismissed["id"], dismissed["status"]) == (ids[0], "dismissed")
    assert dismissed["error"] == f"KeyError: {ids[0]}"  # kept, with its reason

    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    status, body = await hub.api("POST", "/inbound-events/retry", json={"all": True})
    assert (status, body) == (200, {"ids": ids[1:]})
    for n in (1, 2):
        await agent.message_created(f"第 {n} 条")
    assert await failed_list(hub) == []
    assert [i["id"] for i in await failed_list(hub, "?status=dismissed")] == [ids[0]]
    _, conversations = await hub.api("GET", "/conversations")
    assert len(conversations["items"]) == 2  # the dismissed one never became a message
    await agent.close()


async def test_bad_requests_are_4xx_with_a_reason_and_agents_are_kept_out(
    hub: RunningHub,
) -> None:
    for path, body, reason in [
        ("retry", {}, "give either ids or all: true"),
        ("retry", {"ids": [1], "all": True}, "give either ids or all: true"),
        ("dismiss", {"all": True}, "give the ids of the events to dismiss"),
        ("dismiss", {"ids": ["x"]}, "ids"),
        ("retry", {"ids": list(range(1001))}, "ids"),
        ("retry", {"ids": [1], "unknown": 1}, "unknown"),
    ]:
        status, answer = await hub.api("POST", f"/inbound-events/{path}", json=body)
        assert status in (400, 422), (path, body, answer)
        assert reason in answer["error"]["reason"], answer
    # Cursors that are not base64 JSON, of another shape, another list's, or out of range.
    wrong_cursors = [
        "%%%",
        "W10",
        "WyJ4Il0",
        "WzFd" + "x",
        "WzEsMl0",
        "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMF0",
    ]
    too_big = 2**63
    for query in [
        "?status=done",
        "?limit=0",
        f"?channel_id={too_big}",
        *(f"?cursor={c}" for c in wrong_cursors),
    ]:
        status, answer = await hub.api("GET", "/inbound-events" + query)
        assert status in (400, 422), (query, answer)
    status, answer = await hub.api("POST", "/inbound-events/retry", json={"ids": [too_big]})
    assert status in (400, 422), answer
    status, answer = await hub.api("GET", f"/conversations/{too_big}")
    assert status == 404, answer
    for cursor in ["W10", "WyJ4IiwxXQ", "WzFd"]:  # [], ["x", 1], [1]: none a list cursor
        status, answer = await hub.api("GET", f"/conversations?cursor={cursor}")
        assert (status, answer["error"]["reason"]) == (
            422,
            "the cursor is not one this API gave out",
        )

    status, _ = await hub.api(
        "POST",
        "/agents",
        json={"email": "li.na@shop.test", "name": "李娜", "password": "secret-pass"},
    )
    async with hub.http.post(
        hub.base + "/api/v1/auth/login",
        json={"email": "li.na@shop.test", "password": "secret-pass"},
    ) as response:
        token = (await response.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with hub.http.get(hub.base + "/api/v1/inbound-events", headers=headers) as response:
        assert response.status == 403
    async with hub.http.post(
        hub.base + "/api/v1/inbound-events/retry", json={"all": True}, headers=headers
    ) as response:
        assert response.status == 403


async def _failed_event_in(database_url: str, channel_id: int) -> int:
    engines = create_engines(database_url)
    try:
        # The box only opens channel settings, which accepting and failing never read.
        store = SqlStore(engines, SecretBox("unused"))
        [accepted] = await store.accept_events(
            channel_id, [Inbound(provider_event_id="late", sender_id="v-late", text=QUESTION)]
        )
        async with store.unit() as uow:
            await uow.record_event_failure(accepted.event_id, "TimeoutError: ", 1)
            await uow.commit()
        await store.close()
        return accepted.event_id
    finally:
        await engines.dispose()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_retry_goes_through_redis_to_a_worker_process(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    base, token = await production_hub(processes, settings, KEFU_WORKER_IDLE_POLL_S="60")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            base + "/api/v1/channels",
            json={"kind": "webchat", "name": "Shop"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            channel = await response.json()
        event_id = await _failed_event_in(pg_url, channel["id"])
        running = RunningHub(base, token, channel["public_key"], channel["id"], http)

        listed = await cli(["events", "list"], settings)
        assert f"{event_id:>8}" in listed
        assert "Shop (webchat)  from v-late  attempts 1" in listed
        assert "TimeoutError" in listed
        agent = await AgentSocket.connect(http, base, token)
        assert await cli(["events", "retry", str(event_id)], settings) == (
            f"retry: 1 event(s): {event_id}\n"
        )
        await agent.message_created(QUESTION)  # processed by the worker, pushed by serve
        assert await failed_list(running) == []
        assert "no failed events" in await cli(["events", "list"], settings)
        assert "nothing to retry" in await cli(["events", "retry", "--all"], settings)
        await agent.close()
    assert "inbound processed" in processes.log("worker")


async def test_the_command_line_next_to_an_embedded_hub(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sweep_every_s=0.5, sweep_after_s=0.1)
    async with inprocess_hub(settings) as hub:
        [first, second] = await fail_events(hub, 2)
        assert "dismiss: 1 event(s)" in await cli(["events", "dismiss", str(first)], settings)
        assert str(first) in await cli(["events", "list", "--status", "dismissed"], settings)
        agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
        out = await cli(["events", "retry", "--all"], settings)
        assert f"retry: 1 event(s): {second}" in out
        assert "the running hub processes them within 0.5 s" in out
        await agent.message_created("第 1 条")  # queued by the hub's own sweeper
        assert await failed_list(hub) == []
        await agent.close()
