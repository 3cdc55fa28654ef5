"""The embedded database runs SQLite in the event loop's thread: a lock held elsewhere must
be waited for without stalling the loop, and the write-ahead log must still be checkpointed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from adapters.db import sqlite_inline
from adapters.db.engine import Engines, create_engines


async def _engines_with_table(tmp_path: Path) -> tuple[Engines, Path]:
    path = tmp_path / "kefu.db"
    engines = create_engines(f"sqlite+aiosqlite:///{path}")
    async with engines.write.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
    return engines, path


def _size(path: str) -> int:
    return os.stat(path).st_size


async def _ticks_during(seconds: float) -> int:
    """How many 10 ms naps the loop managed in ``seconds``: few if something blocked it."""
    ticks = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def _insert(engines: Engines, body: str) -> None:
    async with engines.write.begin() as conn:
        await conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})


async def test_a_write_waits_for_another_process_lock_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    engines, path = await _engines_with_table(tmp_path)
    # Another process (a CLI command, say) holds the write lock.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(_insert(engines, "waited"))
        ticks = await _ticks_during(0.5)
        assert not write.done(), "the write went through while another process held the lock"
        # SQLite's own busy handler would have slept in this thread: about 0 ticks.
        assert ticks >= 25, f"the loop was stalled while the write waited ({ticks} ticks)"
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(write, timeout=5)
    async with engines.read.connect() as conn:
        bodies = (await conn.execute(text("SELECT body FROM notes"))).scalars().all()
    assert bodies == ["waited"]
    await engines.dispose()


async def test_a_lock_never_released_fails_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchall()
    connect = sqlite_inline.connector(str(path), timeout=0.3)
    conn = await connect()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await conn.execute("BEGIN IMMEDIATE")
        waited = asyncio.get_running_loop().time() - started
        assert 0.3 <= waited < 2.0
    finally:
        other.execute("ROLLBACK")
        other.close()
        await conn.close()


async def test_other_errors_are_raised_at_once_not_retried(tmp_path: Path) -> None:
    engines, _ = await _engines_with_table(tmp_path)
    started = asyncio.get_running_loop().time()
    with pytest.raises(OperationalError, match="no such table"):
        async with engines.write.begin() as conn:
            await conn.execute(text("INSERT INTO missing VALUES (1)"))
    assert asyncio.get_running_loop().time() - started < 0.5
    # The failed transaction was rolled back and the connection is usable.
    await _insert(engines, "after")
    await engines.dispose()


async def test_the_log_is_checkpointed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_INTERVAL_S", 0.0)
    engines, path = await _engines_with_table(tmp_path)
    before = path.stat().st_size
    await _insert(engines, "x" * 2_000_000)
    # The connections never checkpoint on commit themselves, so only the background
    # checkpoint moves those pages from the log into the database file.
    for _ in range(100):
        if path.stat().st_size > before + 1_000_000:
            break
        await asyncio.sleep(0.05)
    assert path.stat().st_size > before + 1_000_000, "the log was not checkpointed"
    await engines.dispose()


async def test_connections_do_not_checkpoint_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "quiet.db"
    connect = sqlite_inline.connector(str(path), pragmas=("PRAGMA journal_mode=WAL",))
    conn = await connect()
    try:
        rows = await conn.execute_fetchall("PRAGMA wal_autocheckpoint")
        assert rows == [(0,)]
    finally:
        await conn.close()


async def test_the_log_stays_bounded_under_a_steady_stream_of_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_INTERVAL_S", 0.05)
    monkeypatch.setattr(sqlite_inline, "WAL_TRUNCATE_BYTES", 4_000_000)
    engines, path = await _engines_with_table(tmp_path)
    wal = f"{path}-wal"
    written = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + 2.0
    while loop.time() < until:
        await _insert(engines, "y" * 50_000)
        written += 50_000
        async with engines.read.connect() as conn:  # readers come and go meanwhile
            await conn.execute(text("SELECT count(*) FROM notes"))
    assert written > 10_000_000, "too few writes to tell"
    # Without checkpoints the log would hold everything written; a checkpoint that never
    # catches up lets it grow just the same.
    assert _size(wal) < written / 4, (_size(wal), written)
    await engines.dispose()


async def test_a_long_transaction_lets_the_loop_turn_every_few_milliseconds(
    tmp_path: Path,
) -> None:
    engines, _ = await _engines_with_table(tmp_path)
    turns = 0
    stop = False

    async def ticker() -> None:
        nonlocal turns
        while not stop:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    async with engines.write.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.create_function("slow", 0, lambda: time.sleep(0.01) or 1)
        started = turns
        for _ in range(20):  # 10 ms of SQLite each
            await conn.execute(text("SELECT slow()"))
        slow_turns = turns - started
        started = turns
        for n in range(20):  # a short transaction's statements run straight through
            await conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": str(n)})
        quick_turns = turns - started
    # Requests (here, the ticker) get a turn between long statements, not only at the commit.
    assert slow_turns >= 15
    assert quick_turns <= 5
    stop = True
    await task
    await engines.dispose()
