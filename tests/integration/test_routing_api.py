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

from hub.domain.model import Role
from hub.web.keys import HUB
from tests.clients import AgentSocket, VisitorSocket
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


async def seated(hub: RunningHub, names: list[str]) -> list[tuple[int, dict[str, str]]]:
    """Agents made directly in the directory (a password hash each would take seconds):
    their ids and API headers."""
    directory = hub.extras["server"].app[HUB].directory
    made = []
    for name in names:
        agent = await directory.create_agent(f"{name}@shop.test", name, Role.AGENT, "x")
        token = await directory.create_token(agent.id, "test", None)
        made.append((agent.id, {"Authorization": f"Bearer {token}"}))
    return made


async def team_channel(hub: RunningHub, team: dict[str, Any]) -> str:
    status, team_ = await hub.api("POST", "/teams", json=team)
    assert status == 201, team_
    status, channel = await hub.api(
        "POST", "/channels", json={"kind": "webchat", "name": team["name"], "team_id": team_["id"]}
    )
    assert status == 201, channel
    return str(channel["public_key"])


async def visitors_write(hub: RunningHub, key: str, count: int) -> list[dict[str, Any]]:
    """``count`` visitors write one after another: their conversations, oldest first."""
    for n in range(count):
        visitor = await VisitorSocket.connect(hub.http, hub.base, key)
        await visitor.say(f"第 {n} 位访客")
        await visitor.close()

    async def all_there() -> bool:
        _, page = await hub.api("GET", "/conversations?limit=100")
        return len([c for c in page["items"] if c["channel"]["id"] != hub.channel_id]) == count

    await eventually(all_there)
    _, page = await hub.api("GET", "/conversations?limit=100")
    return sorted(
        (c for c in page["items"] if c["channel"]["id"] != hub.channel_id), key=lambda c: c["id"]
    )


async def conversation(hub: RunningHub, conversation_id: int) -> dict[str, Any]:
    status, found = await hub.api("GET", f"/conversations/{conversation_id}")
    assert status == 200
    return dict(found)


async def test_take_assigns_to_the_first_and_tells_the_others_who_has_it(hub: RunningHub) -> None:
    key = await team_channel(hub, {"name": "售前"})
    [(li, li_headers), (_, wang_headers)] = await seated(hub, ["li", "wang"])
    first, second = await visitors_write(hub, key, 2)
    assert (first["assignee_id"], first["queue_position"]) == (None, 1)
    assert second["queue_position"] == 2
    status, taken = await as_agent(hub, li_headers, "POST", f"/conversations/{first['id']}/take")
    assert status == 200, taken
    assert (taken["assignee_id"], taken["queue_position"]) == (li, None)
    assert (await conversation(hub, second["id"]))["queue_position"] == 1
    status, refused_ = await as_agent(
        hub, wang_headers, "POST", f"/conversations/{first['id']}/take"
    )
    assert status == 409
    assert refused_["error"]["reason"] == (
        f"conversation {first['id']} is taken already: li (agent {li}) has it"
    )
    status, again = await as_agent(hub, li_headers, "POST", f"/conversations/{first['id']}/take")
    assert (status, again["assignee_id"]) == (200, li)
    status, _ = await as_agent(hub, wang_headers, "POST", "/conversations/4242/take")
    assert status == 404
    assert (await conversation(hub, first["id"]))["assignee_id"] == li


async def test_of_many_agents_taking_at_once_exactly_one_gets_it(hub: RunningHub) -> None:
    key = await team_channel(hub, {"name": "售后"})
    agents = await seated(hub, [f"agent{n}" for n in range(8)])
    [waiting] = await visitors_write(hub, key, 1)
    path = f"/conversations/{waiting['id']}/take"
    answers = await asyncio.gather(*(as_agent(hub, h, "POST", path) for _, h in agents))
    winners = [body["assignee_id"] for status, body in answers if status == 200]
    assert len(winners) == 1, answers
    losers = [body for status, body in answers if status == 409]
    assert len(losers) == len(agents) - 1
    names = {agent_id: f"agent{n}" for n, (agent_id, _) in enumerate(agents)}
    assert {body["error"]["reason"] for body in losers} == {
        f"conversation {waiting['id']} is taken already: {names[winners[0]]} "
        f"(agent {winners[0]}) has it"
    }
    assert (await conversation(hub, waiting["id"]))["assignee_id"] == winners[0]


async def test_a_round_robin_team_assigns_and_its_queue_moves_when_a_slot_frees(
    hub: RunningHub,
) -> None:
    key = await team_channel(
        hub, {"name": "技术", "assignment_mode": "round_robin", "agent_capacity": 1}
    )
    _, team = await hub.api("GET", "/teams")
    [team_id] = [t["id"] for t in team["items"] if t["name"] == "技术"]
    [(li, li_headers), (wang, _)] = await seated(hub, ["li", "wang"])
    status, _ = await hub.api("PATCH", f"/teams/{team_id}", json={"agent_ids": [li, wang]})
    assert status == 200
    page = await AgentSocket.connect(hub.http, hub.base, token_of(li_headers))
    convs = await visitors_write(hub, key, 3)

    async def assigned() -> bool:
        return (await conversation(hub, convs[0]["id"]))["assignee_id"] == li

    await eventually(assigned)
    positions = [(await conversation(hub, c["id"]))["queue_position"] for c in convs]
    assert positions == [None, 1, 2]
    # Li resolves: the oldest waiting conversation is Li's before the answer returns.
    status, _ = await as_agent(
        hub, li_headers, "PATCH", f"/conversations/{convs[0]['id']}", json={"status": "resolved"}
    )
    assert status == 200
    second, third = [await conversation(hub, c["id"]) for c in convs[1:]]
    assert (second["assignee_id"], second["queue_position"]) == (li, None)
    assert (third["assignee_id"], third["queue_position"]) == (None, 1)
    await page.next(
        "conversation.updated",
        lambda f: f["data"]["id"] == convs[1]["id"] and f["data"]["assignee_id"] == li,
    )
    # Capacity raised: the last one goes at once too.
    status, _ = await hub.api("PATCH", f"/agents/{li}", json={"capacity": 2})
    assert status == 200
    assert (await conversation(hub, convs[2]["id"]))["assignee_id"] == li
    await page.close()


async def test_transfer_hands_over_with_a_note_and_refuses_with_reasons(hub: RunningHub) -> None:
    key = await team_channel(hub, {"name": "售前", "agent_capacity": 1})
    _, teams = await hub.api("GET", "/teams")
    [sales] = [t["id"] for t in teams["items"] if t["name"] == "售前"]
    [(li, li_headers), (wang, wang_headers), (zhao, _)] = await seated(hub, ["li", "wang", "zhao"])
    await hub.api("PATCH", f"/teams/{sales}", json={"agent_ids": [li, wang]})
    await hub.api("PATCH", f"/agents/{zhao}", json={"active": False})
    _, other = await hub.api("POST", "/teams", json={"name": "技术"})
    first, second = await visitors_write(hub, key, 2)
    await as_agent(hub, li_headers, "POST", f"/conversations/{first['id']}/take")
    await as_agent(hub, wang_headers, "POST", f"/conversations/{second['id']}/take")
    page = await AgentSocket.connect(hub.http, hub.base, token_of(wang_headers))
    path = f"/conversations/{first['id']}/transfer"
    for body, status, reason in [
        ({}, 422, "give agent_id, team_id or both"),
        ({"agent_id": 4242}, 422, "agent_id: there is no agent 4242"),
        ({"agent_id": zhao}, 422, f"zhao (agent {zhao}) is deactivated"),
        ({"team_id": 4242}, 422, "team_id: there is no team 4242"),
        ({"agent_id": wang, "team_id": other["id"]}, 422, "is not in the team 技术"),
        ({"agent_id": li}, 422, f"li (agent {li}) has it already"),
        ({"agent_id": wang, "note": "x" * 2001}, 422, "note: String should have at most 2000"),
        ({"agent_id": wang, "force": "maybe"}, 422, "force: Input should be a valid boolean"),
        (
            {"agent_id": wang},
            409,
            f"wang (agent {wang}) is full: 1 of 1 open conversations; send force: true",
        ),
    ]:
        got, refused_ = await as_agent(hub, li_headers, "POST", path, json=body)
        assert got == status, (body, refused_)
        assert reason in refused_["error"]["reason"], refused_
    assert (await conversation(hub, first["id"]))["assignee_id"] == li
    got, moved = await as_agent(
        hub, li_headers, "POST", path, json={"agent_id": wang, "note": "客户要退货", "force": True}
    )
    assert got == 200, moved
    assert (moved["assignee_id"], moved["team_id"]) == (wang, sales)
    # the receiver's page: the note, then the notice of the transfer
    note = await page.next("message.created", lambda f: f["data"]["private"])
    assert note["data"]["text"] == "客户要退货"
    notice = await page.next("conversation.transferred")
    assert (notice["data"]["to_agent_id"], notice["data"]["note_id"]) == (wang, note["data"]["id"])
    _, thread = await hub.api("GET", f"/conversations/{first['id']}/messages")
    assert [m["text"] for m in thread["items"] if m["private"]] == ["客户要退货"]
    # to a team's queue: it waits there
    got, queued = await as_agent(hub, wang_headers, "POST", path, json={"team_id": other["id"]})
    assert got == 200, queued
    assert (queued["assignee_id"], queued["team_id"], queued["queue_position"]) == (
        None,
        other["id"],
        1,
    )
    await hub.api("PATCH", f"/conversations/{first['id']}", json={"status": "resolved"})
    got, refused_ = await as_agent(hub, wang_headers, "POST", path, json={"agent_id": li})
    assert (got, refused_["error"]["reason"]) == (
        409,
        f"conversation {first['id']} is resolved; reopen it first",
    )
    got, _ = await as_agent(
        hub, wang_headers, "POST", "/conversations/4242/transfer", json={"agent_id": li}
    )
    assert got == 404
    await page.close()


async def test_a_waiting_visitor_sees_their_place_move_and_agents_their_load(
    hub: RunningHub,
) -> None:
    key = await team_channel(hub, {"name": "售前"})
    [(li, li_headers), (wang, _)] = await seated(hub, ["li", "wang"])
    _, teams = await hub.api("GET", "/teams")
    [team_id] = [t["id"] for t in teams["items"] if t["name"] == "售前"]
    status, _ = await hub.api("PATCH", f"/teams/{team_id}", json={"agent_ids": [li, wang]})
    assert status == 200
    first = await VisitorSocket.connect(hub.http, hub.base, key)
    assert first.hello["queue"] is None
    await first.say("在吗")
    assert (await first.next("queue"))["position"] == 1
    second = await VisitorSocket.connect(hub.http, hub.base, key)
    await second.say("你好")
    told = await second.next("queue")
    # nobody online and nothing handled yet: no pace to estimate from
    assert (told["position"], told["estimated_wait_s"]) == (2, None)
    _, page = await hub.api("GET", "/conversations?assignee=none&status=open")
    [ahead] = [c for c in page["items"] if c["queue_position"] == 1]
    status, _ = await as_agent(hub, li_headers, "POST", f"/conversations/{ahead['id']}/take")
    assert status == 200
    assert (await second.next("queue"))["position"] == 1
    assert (await first.next("queue"))["position"] is None
    loads = {a["id"]: a["load"] for a in (await hub.api("GET", "/agents"))[1]["items"]}
    assert (loads[li], loads[wang]) == (1, 0)
    # Li comes online and resolves one: the team has a pace, and the wait an estimate
    page_ = await AgentSocket.connect(hub.http, hub.base, token_of(li_headers))
    await eventually(lambda: _presence_is(hub, li, "online"))
    status, _ = await as_agent(
        hub, li_headers, "PATCH", f"/conversations/{ahead['id']}", json={"status": "resolved"}
    )
    assert status == 200
    estimated = await second.next("queue", lambda f: f["estimated_wait_s"] is not None)
    assert estimated["position"] == 1
    # a returning page is told at once
    again = await VisitorSocket.connect(
        hub.http, hub.base, key, token=second.hello["visitor_token"]
    )
    assert again.hello["queue"]["position"] == 1
    for socket in (first, second, again, page_):
        await socket.close()


async def _presence_is(hub: RunningHub, agent_id: int, presence: str) -> bool:
    return (await listed_agent(hub, agent_id))["presence"] == presence
