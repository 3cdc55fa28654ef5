"""Routings racing in the database: many transactions at once never put an agent above
capacity, also when agents serve two teams that route at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.db.directory import SqlDirectory
from adapters.db.engine import create_engines
from adapters.db.migrate import upgrade_async
from adapters.db.secretbox import SecretBox
from adapters.db.store import SqlStore
from hub.domain.model import AssignmentMode, PresenceStatus, Role
from hub.domain.ports import NewContact, NewConversation
from hub.domain.routing import plan
from hub.services import routing
from tests.fakes.hub import fake_pipeline
from tests.integration.conftest import sqlite_url
from tests.services import create_pg_database, drop_pg_database

CAPACITY = 3


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


async def test_concurrent_routings_of_teams_sharing_agents_respect_capacity(
    database_url: str,
) -> None:
    await upgrade_async(database_url)
    engines = create_engines(database_url)
    box = SecretBox("k")
    store = SqlStore(engines, box)
    directory = SqlDirectory(engines, box)
    agents = [
        await directory.create_agent(f"a{n}@shop.test", f"A{n}", Role.AGENT, "x") for n in range(4)
    ]
    ids = [a.id for a in agents]
    # Both teams have agents 1 and 2: routings of the two teams compete for them.
    sales = await directory.create_team(
        "sales", ids[:3], assignment_mode=AssignmentMode.ROUND_ROBIN, agent_capacity=CAPACITY
    )
    support = await directory.create_team(
        "support", ids[1:], assignment_mode=AssignmentMode.LEAST_BUSY, agent_capacity=CAPACITY
    )
    channel = await directory.create_channel("webchat", "c", {})
    async with store.unit() as uow:
        for agent_id in ids:
            await uow.set_presence(agent_id, PresenceStatus.ONLINE, datetime.now(UTC))
        customers = await uow.create_customers(
            {(channel.id, f"v{n}"): NewContact(f"V{n}") for n in range(60)}
        )
        made = await uow.create_conversations(
            [
                NewConversation(
                    channel.id,
                    identity.contact_id,
                    identity.id,
                    sales.id if n % 2 else support.id,
                )
                for n, identity in enumerate(customers.values())
            ]
        )
        await uow.commit()
    deps = replace(fake_pipeline().deps, store=store)
    routed = await asyncio.gather(
        *(routing.route(deps, [sales.id] if n % 2 else [support.id]) for n in range(16))
    )
    assigned = [c.id for batch in routed for c in batch]
    assert len(assigned) == len(set(assigned)), "a conversation was assigned twice"
    async with store.unit() as uow:
        conversations = [await uow.get_conversation(c.id) for c in made]
    loads = Counter(c.assignee_id for c in conversations if c is not None)
    full: dict[int | None, int] = dict.fromkeys(ids, CAPACITY)
    assert loads == {**full, None: 60 - 4 * CAPACITY}
    assert len(assigned) == 4 * CAPACITY
    await store.close()
    await engines.dispose()


@pytest.mark.postgres
async def test_a_routing_and_a_reply_assigning_the_same_conversation_do_not_deadlock() -> None:
    """A reply to a waiting conversation assigns it to the replier (its foreign key check
    shares the agent's row) while a routing holding that agent's row assigns it too: the
    routing's lock lets the key share through, so one wins and neither fails."""
    url = await create_pg_database()
    engines = create_engines(url)
    try:
        await upgrade_async(url)
        box = SecretBox("k")
        store = SqlStore(engines, box)
        directory = SqlDirectory(engines, box)
        agent = await directory.create_agent("a@shop.test", "A", Role.AGENT, "x")
        team = await directory.create_team(
            "t", [agent.id], assignment_mode=AssignmentMode.ROUND_ROBIN
        )
        channel = await directory.create_channel("webchat", "c", {})
        async with store.unit() as uow:
            await uow.set_presence(agent.id, PresenceStatus.ONLINE, datetime.now(UTC))
            [identity] = (await uow.create_customers({(channel.id, "v"): NewContact("V")})).values()
            [waiting] = await uow.create_conversations(
                [NewConversation(channel.id, identity.contact_id, identity.id, team.id)]
            )
            await uow.commit()
        async with store.unit() as routing_uow, store.unit() as reply_uow:
            board = await routing_uow.routing_board([team.id])
            picks = plan(board, datetime.now(UTC))
            assert [p.conversation_id for p in picks] == [waiting.id]
            await reply_uow.get_conversation(waiting.id, lock=True)
            replied = asyncio.create_task(
                reply_uow.update_conversation(waiting.id, assignee_id=agent.id)
            )
            await asyncio.wait_for(asyncio.shield(replied), 5)
            routed = asyncio.create_task(routing_uow.assign_waiting(picks))
            await asyncio.sleep(0.2)  # the routing waits for the reply's row
            await reply_uow.commit()
            assert await asyncio.wait_for(routed, 5) == []  # it was not waiting any more
            await routing_uow.commit()
        async with store.unit() as uow:
            after = await uow.get_conversation(waiting.id)
        assert after is not None
        assert after.assignee_id == agent.id
        await store.close()
    finally:
        await engines.dispose()
        await drop_pg_database(url)
