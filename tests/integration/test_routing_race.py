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
