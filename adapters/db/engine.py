"""Engines for SQLite (embedded) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.db import sqlite_inline


@dataclass(frozen=True)
class Engines:
    """``write`` serialises writers on SQLite (BEGIN IMMEDIATE); ``read`` never blocks them."""

    write: AsyncEngine
    read: AsyncEngine

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


#: run on every new SQLite connection
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # SQLite has one writer at a time. Writers of this process therefore share one connection
    # and queue for it in asyncio; another process holding the lock (the CLI) is waited for
    # without blocking the loop (see sqlite_inline).
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate else {}
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url, async_creator=sqlite_inline.connector(path, pragmas=SQLITE_PRAGMAS), **pool
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that later writes fails at once with SQLITE_BUSY when another
        # writer got there first; taking the write lock up front makes it wait instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_engines(database_url: str) -> Engines:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return Engines(
            write=_sqlite_engine(database_url, immediate=True),
            read=_sqlite_engine(database_url, immediate=False),
        )
    # No pre-ping: asyncpg's costs three round trips per checkout, i.e. per transaction. A
    # connection the server dropped (a restart) fails once instead and is replaced; the
    # accept path writes again at once, jobs are retried, and a request gets a 503.
    engine = create_async_engine(database_url, pool_size=20, max_overflow=20, pool_recycle=1800)
    return Engines(write=engine, read=engine)
