"""Poller leases on SQLite and PostgreSQL: exactly one owner, even when claimed at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.db.channel_cache import ChannelCache
from adapters.db.channel_state import SqlChannelState
from adapters.db.directory import SqlDirectory
from adapters.db.engine import Engines, create_engines
from adapters.db.migrate import upgrade_async
from adapters.db.secretbox import SecretBox
from tests.integration.conftest import sqlite_url
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engines(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engines]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else await create_pg_database()
    await upgrade_async(url)
    made = create_engines(url)
    yield made
    await made.dispose()
    if request.param == "postgres":
        await drop_pg_database(url)


async def channel_id(engines: Engines) -> int:
    directory = SqlDirectory(engines, SecretBox("k"), ChannelCache())
    channel = await directory.create_channel("webchat", "Shop", {})
    return channel.id


async def test_one_of_many_concurrent_claims_wins(engines: Engines) -> None:
    state = SqlChannelState(engines, await channel_id(engines))
    results = await asyncio.gather(
        *(state.claim("lease:poller:imap", f"owner-{i}", 30) for i in range(12))
    )
    assert sum(results) == 1
    winner = f"owner-{results.index(True)}"
    assert await state.get("lease:poller:imap") == winner
    # the owner renews; anyone else is refused while it lasts
    assert await state.claim("lease:poller:imap", winner, 30)
    assert not await state.claim("lease:poller:imap", "late", 30)


async def test_an_expired_or_released_lease_can_be_taken(engines: Engines) -> None:
    state = SqlChannelState(engines, await channel_id(engines))
    assert await state.claim("lease:poller:imap", "first", 0.05)
    assert not await state.claim("lease:poller:imap", "second", 30)
    await asyncio.sleep(0.1)
    assert await state.claim("lease:poller:imap", "second", 30)
    await state.release("lease:poller:imap", "first")  # not its lease any more: no effect
    assert not await state.claim("lease:poller:imap", "third", 30)
    await state.release("lease:poller:imap", "second")
    assert await state.claim("lease:poller:imap", "third", 30)
