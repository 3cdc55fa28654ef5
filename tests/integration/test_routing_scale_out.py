"""Automatic assignment under a burst, on PostgreSQL with two ``kefu worker`` processes.

200 web chat visitors write at once to a round robin team of 5 online agents of capacity 10:
every conversation is assigned once or waits, no agent carries more than 10, all five carry
10, and the 150 waiting ones hold queue positions 1 to 150; resolving assigns the oldest
waiting ones at once.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.clients import AgentSocket
from tests.integration.conftest import (
    Processes,
    hub_env,
    make_settings,
    subprocess_hub_admin,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]

AGENTS = 5
CAPACITY = 10
VISITORS = 200
ASSIGNED = re.compile(r"conversation assigned conversation_id=(\d+) agent_id=(\d+)")


class Api:
    def __init__(self, http: aiohttp.ClientSession, bases: list[str], token: str) -> None:
        self.http = http
        self.bases = bases
        self.token = token

    async def __call__(
        self, method: str, path: str, *, via: int = 0, token: str | None = None, **kwargs: Any
    ) -> Any:
        async with self.http.request(
            method,
            f"{self.bases[via % len(self.bases)]}/api/v1{path}",
            headers={"Authorization": f"Bearer {token or self.token}"},
            **kwargs,
        ) as response:
            body = await response.json()
            assert response.status < 300, body
            return body

    async def conversations(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = await self("GET", f"/conversations?limit=100{cursor}")
            found += page["items"]
            if not page["next"]:
                return sorted(found, key=lambda c: c["id"])
            cursor = f"&cursor={page['next']}"


async def test_a_burst_of_200_is_spread_to_capacity_and_the_rest_queues_in_order(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    admin = await subprocess_hub_admin(settings)
    for name in ("worker-a", "worker-b"):
        processes.start(name, ["worker"], hub_env(settings))
    bases = [await processes.serve(name, settings) for name in ("serve-a", "serve-b")]
    db = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    async with aiohttp.ClientSession() as http:
        api = Api(http, bases, admin)
        agents: list[tuple[int, str]] = []
        for n in range(AGENTS):
            email = f"agent{n}@shop.test"
            made = await api(
                "POST",
                "/agents",
                json={"email": email, "name": f"Agent {n}", "password": "agent-password"},
            )
            login = await api(
                "POST", "/auth/login", json={"email": email, "password": "agent-password"}
            )
            agents.append((made["id"], login["token"]))
        team = await api(
            "POST",
            "/teams",
            json={
                "name": "售后",
                "agent_ids": [agent_id for agent_id, _ in agents],
                "assignment_mode": "round_robin",
                "agent_capacity": CAPACITY,
            },
        )
        channel = await api(
            "POST",
            "/channels",
            json={
                "kind": "webchat",
                "name": "Shop chat",
                "team_id": team["id"],
                "settings": {"new_visitors_per_minute": 0, "messages_per_address_per_minute": 0},
            },
        )
        key = channel["public_key"]
        pages = [
            await AgentSocket.connect(http, bases[n % 2], token)
            for n, (_, token) in enumerate(agents)
        ]
        listed = await api("GET", "/agents")
        assert Counter(a["presence"] for a in listed["items"]) == {"online": AGENTS, "offline": 1}

        async def session(n: int) -> str:
            async with http.post(f"{bases[n % 2]}/webchat/{key}/session") as response:
                assert response.status == 200
                return str((await response.json())["visitor_token"])

        visitors = await asyncio.gather(*(session(n) for n in range(VISITORS)))

        async def write(n: int) -> None:
            async with http.post(
                f"{bases[n % 2]}/webchat/{key}/messages",
                json={"type": "message", "client_id": f"first-{n:04d}", "text": f"访客 {n} 在吗"},
                headers={"X-Visitor-Token": visitors[n]},
            ) as response:
                assert response.status == 202, await response.text()

        await asyncio.gather(*(write(n) for n in range(VISITORS)))

        async def settled() -> bool:
            done = await db.fetchval("SELECT count(*) FROM inbound_events WHERE status = 'done'")
            assigned = await db.fetchval(
                "SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL"
            )
            return bool(done == VISITORS and assigned >= AGENTS * CAPACITY)

        async with asyncio.timeout(90):
            while not await settled():  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # room for a wrong assignment after these to show itself

        convs = await api.conversations()
        assert len(convs) == VISITORS
        loads = Counter(c["assignee_id"] for c in convs)
        assert loads == {**{agent_id: CAPACITY for agent_id, _ in agents}, None: 150}
        waiting = [c for c in convs if c["assignee_id"] is None]
        # in arrival order: the oldest conversations were assigned, the rest queue by id
        assert [c["queue_position"] for c in waiting] == list(range(1, 151))
        assert max(c["id"] for c in convs if c["assignee_id"]) < waiting[0]["id"]
        assert all(c["queue_position"] is None for c in convs if c["assignee_id"])
        # Each assignment was made once, by one process: none was made and then overwritten.
        logs = "".join(processes.log(name) for name in ("worker-a", "worker-b"))
        made = Counter(int(conversation_id) for conversation_id, _ in ASSIGNED.findall(logs))
        assert made == {c["id"]: 1 for c in convs if c["assignee_id"]}
        # both workers processed part of the burst, and routed what they processed
        for name in ("worker-a", "worker-b"):
            assert "inbound processed" in processes.log(name), name

        # Each agent resolves one at the same moment, through both web processes: the five
        # oldest waiting conversations are assigned before the answers return.
        theirs = {
            agent_id: next(c for c in convs if c["assignee_id"] == agent_id)
            for agent_id, _ in agents
        }
        await asyncio.gather(
            *(
                api(
                    "PATCH",
                    f"/conversations/{theirs[agent_id]['id']}",
                    via=n,
                    token=token,
                    json={"status": "resolved"},
                )
                for n, (agent_id, token) in enumerate(agents)
            )
        )
        after = {c["id"]: c for c in await api.conversations()}
        oldest = [after[c["id"]] for c in waiting[:AGENTS]]
        assert all(c["assignee_id"] is not None for c in oldest), oldest
        open_loads = Counter(c["assignee_id"] for c in after.values() if c["status"] == "open")
        assert open_loads == {**{agent_id: CAPACITY for agent_id, _ in agents}, None: 145}
        still = sorted(
            (c for c in after.values() if c["assignee_id"] is None), key=lambda c: c["id"]
        )
        assert [c["queue_position"] for c in still] == list(range(1, 146))
        assert [c["id"] for c in still] == [c["id"] for c in waiting[AGENTS:]]
        for page in pages:
            await page.close()
    await db.close()
