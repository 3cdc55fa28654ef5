"""Engines for SQLite (embedded) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@dataclass(frozen=True)
class Engines:
    """``write`` serialises writers on SQLite (BEGIN IMMEDIATE); ``read`` never blocks them."""

    write: AsyncEngine
    read: AsyncEngine

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # SQLite has one writer at a time, and a connection that finds the lock taken sleeps in
    # SQLite's busy handler (up to 100 ms a nap). Writers of this process therefore share one
    # connection and queue for it in asyncio instead; other processes still meet the busy
    # handler, which is rare (the CLI).
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate else {}
    engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

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
