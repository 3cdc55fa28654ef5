"""Routing through the REST API: teams' and agents' settings, presence, take, and refusals,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hub.web.keys import HUB
from tests.clients import AgentSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def hub(tmp_path: Path, database_url: str | None) -> AsyncIterator[RunningHub]:
    settings = make_settings(tmp_path, database_url, presence_grace_s=0.3)
    async with inprocess_hub(settings) as running:
        yield running


async def add_agent(hub: RunningHub, name: str) -> dict[str, Any]:
    email = f"{name.lower().replace(' ', '.')}@shop.test"
    status, agent = await hub.api(
        "POST", "/agents", json={"email": email, "name": name, "password": "agent-password"}
    )
    assert status == 201, agent
    return dict(agent)


async def login(hub: RunningHub, agent: dict[str, Any]) -> dict[str, str]:
    async with hub.http.post(
        hub.base + "/api/v1/auth/login",
        json={"email": agent["email"], "password": "agent-password"},
    ) as response:
        assert response.status == 200
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def as_agent(
    hub: RunningHub, headers: dict[str, str], method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with hub.http.request(
        method, hub.base + "/api/v1" + path, headers=headers, **kwargs
    ) as response:
        return response.status, await response.json()


async def listed_agent(hub: RunningHub, agent_id: int) -> dict[str, Any]:
    _, listed = await hub.api("GET", "/agents")
    [found] = [a for a in listed["items"] if a["id"] == agent_id]
    return dict(found)


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 10) -> None:
    async with asyncio.timeout(within_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


async def refused(
    hub: RunningHub, method: str, path: str, status: int, reason: str, **kwargs: Any
) -> None:
    got, body = await hub.api(method, path, **kwargs)
    assert got == status, (method, path, got, body)
    assert reason in body["error"]["reason"], body


async def test_a_team_keeps_its_routing_settings(hub: RunningHub) -> None:
    li = await add_agent(hub, "Li Na")
    status, plain = await hub.api("POST", "/teams", json={"name": "售前"})
    assert status == 201
    assert (plain["assignment_mode"], plain["agent_capacity"]) == ("manual", 10)
    assert (plain["answer_timeout_s"], plain["queue_limit"]) == (None, None)
    status, team = await hub.api(
        "POST",
        "/teams",
        json={
            "name": "售后",
            "agent_ids": [li["id"]],
            "assignment_mode": "round_robin",
            "agent_capacity": 4,
            "answer_timeout_s": 90,
            "queue_limit": 20,
        },
    )
    assert status == 201, team
    routing = {
        "assignment_mode": "round_robin",
        "agent_capacity": 4,
        "answer_timeout_s": 90,
        "queue_limit": 20,
    }
    assert {k: team[k] for k in routing} == routing
    # The admin page's form sends the name and members only: routing stays as it was.
    status, renamed = await hub.api(
        "PUT", f"/teams/{team['id']}", json={"name": "After-sales 售后", "agent_ids": []}
    )
    assert status == 200, renamed
    assert renamed["name"] == "After-sales 售后"
    assert renamed["agent_ids"] == []
    assert {k: renamed[k] for k in routing} == routing
    status, changed = await hub.api(
        "PATCH", f"/teams/{team['id']}", json={"assignment_mode": "least_busy", "queue_limit": None}
    )
    assert status == 200, changed
    assert (changed["assignment_mode"], changed["queue_limit"]) == ("least_busy", None)
    assert (changed["name"], changed["agent_capacity"], changed["answer_timeout_s"]) == (
        "After-sales 售后",
        4,
        90,
    )
    status, changed = await hub.api(
        "PATCH", f"/teams/{team['id']}", json={"agent_ids": [li["id"]], "answer_timeout_s": None}
    )
    assert status == 200
    assert (changed["agent_ids"], changed["answer_timeout_s"]) == ([li["id"]], None)
    _, listed = await hub.api("GET", "/teams")
    assert [t for t in listed["items"] if t["id"] == team["id"]] == [changed]


async def test_out_of_range_team_settings_are_refused(hub: RunningHub) -> None:
    _, team = await hub.api("POST", "/teams", json={"name": "技术"})
    path = f"/teams/{team['id']}"
    for body, reason in [
        ({"agent_capacity": 0}, "agent_capacity: Input should be greater than or equal to 1"),
        ({"agent_capacity": 101}, "agent_capacity: Input should be less than or equal to 100"),
        ({"answer_timeout_s": 5}, "answer_timeout_s: Input should be greater than or equal to 10"),
        ({"answer_timeout_s": 86401}, "answer_timeout_s: Input should be less than or equal"),
        ({"queue_limit": -1}, "queue_limit: Input should be greater than or equal to 0"),
        ({"assignment_mode": "random"}, "assignment_mode: Input should be 'manual'"),
        ({"assignment_mode": None}, "assignment_mode may not be null"),
        ({"agent_capacity": None}, "agent_capacity may not be null"),
        ({"agent_ids": [7, 7]}, "an agent is listed more than once"),
        ({"agent_ids": [4242]}, "there is no agent 4242"),
        ({}, "nothing to change"),
    ]:
        await refused(hub, "PATCH", path, 422, reason, json=body)
    await refused(
        hub, "POST", "/teams", 422, "agent_capacity", json={"name": "x", "agent_capacity": 1000}
    )
    await refused(
        hub, "PUT", path, 422, "queue_limit", json={"name": "技术", "queue_limit": 10_001}
    )
    await refused(hub, "PATCH", "/teams/4242", 404, "team 4242", json={"queue_limit": 3})
    _, after = await hub.api("GET", "/teams")
    assert after["items"] == [team]


async def test_only_an_admin_sets_an_agents_capacity_from_1_to_100(hub: RunningHub) -> None:
    li = await add_agent(hub, "Li Na")
    assert li["capacity"] is None
    path = f"/agents/{li['id']}"
    status, changed = await hub.api("PATCH", path, json={"capacity": 3})
    assert (status, changed["capacity"]) == (200, 3)
    for capacity in (0, 101, "many"):
        await refused(hub, "PATCH", path, 422, "capacity", json={"capacity": capacity})
    headers = await login(hub, li)
    async with hub.http.patch(
        hub.base + "/api/v1" + path, json={"capacity": 50}, headers=headers
    ) as response:
        assert response.status == 403
        assert "capacities" in (await response.json())["error"]["reason"]
    status, changed = await hub.api("PATCH", path, json={"capacity": None})
    assert (status, changed["capacity"]) == (200, None)
    _, listed = await hub.api("GET", "/agents")
    assert [a["capacity"] for a in listed["items"] if a["id"] == li["id"]] == [None]


async def test_an_agent_counts_as_online_only_while_connected_and_every_change_is_kept(
    hub: RunningHub,
) -> None:
    li = await add_agent(hub, "Li Na")
    assert (li["presence"], li["chosen_presence"], li["online"]) == ("offline", "online", False)
    headers = await login(hub, li)
    # chosen without a page open: it counts once connected
    status, me = await as_agent(hub, headers, "PUT", "/me/presence", json={"status": "away"})
    assert status == 200, me
    assert (me["presence"], me["chosen_presence"], me["online"]) == ("offline", "away", False)
    socket = await AgentSocket.connect(hub.http, hub.base, token_of(headers))
    seen = await listed_agent(hub, li["id"])
    assert (seen["presence"], seen["online"]) == ("away", True)
    status, me = await as_agent(hub, headers, "PUT", "/me/presence", json={"status": "online"})
    assert (status, me["presence"], me["online"]) == (200, "online", True)
    event = await socket.next("agent.presence", lambda f: f["data"]["presence"] == "online")
    assert event["data"]["agent_id"] == li["id"]
    await socket.close()

    async def offline() -> bool:
        return (await listed_agent(hub, li["id"]))["presence"] == "offline"

    await eventually(offline)  # after the grace period
    engines = hub.extras["server"].app[HUB].engines
    async with engines.read.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT status, started_at, ended_at FROM presence_intervals "
                    "WHERE agent_id = :agent ORDER BY started_at"
                ),
                {"agent": li["id"]},
            )
        ).all()
    assert [row.status for row in stored] == ["away", "online", "offline"]
    assert stored[-1].ended_at is None
    for before, after in pairwise(stored):
        assert before.ended_at == after.started_at
    for body, reason in [
        ({"status": "busy"}, "status: Input should be 'online', 'away' or 'offline'"),
        ({}, "status: Field required"),
        ({"status": "online", "agent_id": 1}, "agent_id: Extra inputs are not permitted"),
    ]:
        status, refused_ = await as_agent(hub, headers, "PUT", "/me/presence", json=body)
        assert status == 422
        assert reason in refused_["error"]["reason"]
    assert (await listed_agent(hub, li["id"]))["chosen_presence"] == "online"
