"""Migrations on SQLite and PostgreSQL: idempotent, and in step with the table definitions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.db.engine import create_engines
from adapters.db.migrate import upgrade_async
from adapters.db.schema import metadata
from adapters.db.secretbox import SecretBox
from adapters.db.store import SqlStore
from hub.domain.model import Inbound
from hub.domain.ports import AcceptedEvent
from tests.integration.conftest import sqlite_url
from tests.services import create_pg_database, drop_pg_connections, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


async def test_migrations_are_idempotent_and_match_the_tables(database_url: str) -> None:
    await upgrade_async(database_url)
    await upgrade_async(database_url)
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:

        def differences(sync_conn: object) -> list[object]:
            context = MigrationContext.configure(sync_conn)  # type: ignore[arg-type]
            return list(compare_metadata(context, metadata))

        diff = await conn.run_sync(differences)
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert diff == []
    assert {"channels", "contacts", "conversations", "messages", "inbound_events"} <= tables


async def test_concurrent_accepts_share_commits_and_dedupe(database_url: str) -> None:
    await upgrade_async(database_url)
    engines = create_engines(database_url)
    box = SecretBox("k")
    store = SqlStore(engines, box)
    groups = 0

    def count(*_args: object) -> None:
        nonlocal groups
        groups += 1

    # each group takes the write connection once, for one transaction
    event.listen(engines.write.sync_engine, "checkout", count)
    from adapters.db.directory import SqlDirectory

    channel = await SqlDirectory(engines, box).create_channel("webchat", "c", {})
    groups = 0
    items = [
        Inbound(provider_event_id=f"e{n % 150}", sender_id=f"s{n}", text="hi") for n in range(200)
    ]
    results = await asyncio.gather(*(store.accept_events(channel.id, [i]) for i in items))
    created = [r[0] for r in results if r[0].created]
    assert len(created) == 150  # 50 were retries of events already in the batch
    assert len({r[0].event_id for r in results}) == 150
    assert groups < 20, groups
    # The burst pressed on the process, and is over: the next look sees calm.
    assert store.accepts_waiting_peak() >= 20
    assert store.accepts_waiting_peak() == 0
    by_key = {i.provider_event_id: r[0].event_id for i, r in zip(items, results, strict=True)}

    # a provider's retry in a later group gets the stored event's id back, and nothing new
    again = await store.accept_events(
        channel.id, [items[0], Inbound(provider_event_id="new", sender_id="s", text="hi")]
    )
    assert again[0] == AcceptedEvent(by_key["e0"], created=False)
    assert again[1].created
    async with store.unit() as uow:
        [stored] = await uow.claim_pending_events([by_key["e7"]])
    assert Inbound.model_validate(stored.payload) == items[7]
    assert stored.received_at.tzinfo is not None
    await store.close()
    await engines.dispose()


async def test_what_customers_tell_fills_their_contacts_in_one_statement(
    database_url: str,
) -> None:
    await upgrade_async(database_url)
    engines = create_engines(database_url)
    box = SecretBox("k")
    store = SqlStore(engines, box)
    from adapters.db.directory import SqlDirectory
    from hub.domain.ports import NewContact

    channel = await SqlDirectory(engines, box).create_channel("webchat", "c", {})
    keys = [(channel.id, "a"), (channel.id, "b")]
    async with store.unit() as uow:
        made = await uow.create_customers(
            {keys[0]: NewContact("Visitor #a"), keys[1]: NewContact("王芳", phone="+861390000")}
        )
        await uow.commit()
    statements: list[str] = []
    event.listen(
        engines.write.sync_engine,
        "before_cursor_execute",
        lambda *args: statements.append(str(args[2])),
    )
    async with store.unit() as uow:
        await uow.fill_contacts(
            {
                made[keys[0]].contact_id: NewContact("Li Na 李娜", email="li@shop.test"),
                # already says so: nothing to write
                made[keys[1]].contact_id: NewContact("", phone="+861390000"),
            }
        )
        await uow.commit()
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE")]) == 1
    from adapters.db.queries import SqlQueries

    queries = SqlQueries(engines)
    first = await queries.contact(made[keys[0]].contact_id)
    second = await queries.contact(made[keys[1]].contact_id)
    assert first is not None
    assert second is not None
    assert (first.name, first.email, first.phone) == ("Li Na 李娜", "li@shop.test", None)
    assert (second.name, second.email, second.phone) == ("王芳", None, "+861390000")
    await store.close()
    await engines.dispose()


async def test_two_transactions_creating_one_customer_both_succeed(database_url: str) -> None:
    """Two workers meet a new customer's first two messages at once: one contact, no error."""
    await upgrade_async(database_url)
    engines = create_engines(database_url)
    box = SecretBox("k")
    store = SqlStore(engines, box)
    from adapters.db.directory import SqlDirectory
    from hub.domain.ports import NewContact

    channel = await SqlDirectory(engines, box).create_channel("webchat", "c", {})
    first_created = asyncio.Event()

    same, other = (channel.id, "v_same"), (channel.id, "v_other")

    async def first() -> int:
        async with store.unit() as uow:
            created = await uow.create_customers({same: NewContact("A")})
            first_created.set()
            await asyncio.sleep(0.3)  # still uncommitted while the second one tries
            await uow.commit()
            return created[same].id

    async def second() -> tuple[int, int]:
        await first_created.wait()
        async with store.unit() as uow:
            created = await uow.create_customers({same: NewContact("B"), other: NewContact("C")})
            assert same not in created  # lost the race, without failing the transaction
            found, _ = (await uow.find_customers([same]))[same]
            await uow.commit()
            return found.id, created[other].contact_id

    a, (b, other_contact) = await asyncio.gather(first(), second())
    assert a == b
    async with engines.read.connect() as conn:
        names = (await conn.execute(text("SELECT id, name FROM contacts ORDER BY id"))).all()
    # the loser's contact for "v_same" is gone; the new customer beside it stays
    assert sorted(name for _, name in names) == ["A", "C"]
    assert (other_contact, "C") in [tuple(row) for row in names]
    await store.close()
    await engines.dispose()


async def test_a_poison_event_is_set_aside_after_its_attempts(database_url: str) -> None:
    await upgrade_async(database_url)
    engines = create_engines(database_url)
    box = SecretBox("k")
    store = SqlStore(engines, box)
    from adapters.db.directory import SqlDirectory

    channel = await SqlDirectory(engines, box).create_channel("webchat", "c", {})
    [accepted] = await store.accept_events(
        channel.id, [Inbound(provider_event_id="poison", sender_id="v", text="x")]
    )
    results = []
    for _ in range(3):
        async with store.unit() as uow:
            results.append(await uow.record_event_failure(accepted.event_id, "boom", 3))
            await uow.commit()
    assert results == [False, False, True]
    async with store.unit() as uow:
        assert await uow.claim_pending_events([accepted.event_id]) == []
        assert await uow.record_event_failure(accepted.event_id, "boom", 3) is False
    async with engines.read.connect() as conn:
        row = (await conn.execute(text("SELECT status, attempts, error FROM inbound_events"))).one()
    assert tuple(row) == ("failed", 3, "boom")
    await store.close()
    await engines.dispose()


@pytest.mark.postgres
async def test_accepts_go_on_after_the_database_drops_its_connections() -> None:
    """The pool does not ping before each use: a connection the server dropped (a restart)
    must be replaced on the spot, with nothing lost and no duplicate."""
    url = await create_pg_database()
    engines = create_engines(url)
    try:
        await upgrade_async(url)
        box = SecretBox("k")
        store = SqlStore(engines, box)
        from adapters.db.directory import SqlDirectory

        channel = await SqlDirectory(engines, box).create_channel("webchat", "c", {})
        first = Inbound(provider_event_id="before", sender_id="s", text="hi")
        [stored] = await store.accept_events(channel.id, [first])
        assert await drop_pg_connections(url) >= 1
        after = Inbound(provider_event_id="after", sender_id="s", text="still there?")
        [again, retried] = await store.accept_events(channel.id, [after, first])
        assert again.created
        assert retried == AcceptedEvent(stored.event_id, created=False)
        await store.close()
    finally:
        await engines.dispose()
        await drop_pg_database(url)
