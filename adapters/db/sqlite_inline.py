"""SQLite for SQLAlchemy's async engine, run in the event loop's own thread.

aiosqlite runs every call on a thread of its own: each statement is a hand-off to that thread
and back, and while the loop is busy serving requests the hand-off waits for the interpreter
lock. Under load a three-statement write took 9 ms of waiting for well under 1 ms of SQLite.
SQLite itself is fast at what this hub asks of it (indexed reads and small writes), so here
each statement runs where it is awaited.

What a thread used to hide is handled here instead:
- **Locks.** SQLite's busy handler sleeps, which would stall the loop. The connections have no
  busy timeout: a statement that finds the database locked (by another process, such as a CLI
  command) is retried after an ``asyncio.sleep``, up to ``timeout`` seconds, as the busy handler
  would have retried it.
- **Turns.** A driver thread let the loop serve requests while a statement ran. Here the loop
  gets a turn once statements have held it for ``TURN_EVERY_S``: a big batch of inbound events
  does not stall requests, and a short transaction runs straight through, holding the write
  lock only briefly.
- **Checkpoints.** Copying the write-ahead log into the database file means disk flushes, so
  the connections do not checkpoint on commit; a thread does it in the background once a second
  after writes (``Checkpointer``). Past a size it empties the log, and writes wait for that as
  they wait for any lock.

The classes mirror the part of aiosqlite's API that SQLAlchemy's ``aiosqlite`` dialect calls,
and are handed to it through ``create_async_engine(async_creator=...)``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

#: result codes under which SQLite would have called its busy handler
_RETRIED = {sqlite3.SQLITE_BUSY, 261}  # 261: SQLITE_BUSY_RECOVERY
_FIRST_NAP_S = 0.001
_LONGEST_NAP_S = 0.01
#: the longest run of statements before the loop gets a turn
TURN_EVERY_S = 0.005
#: the least time between two background checkpoints of one database
CHECKPOINT_INTERVAL_S = 1.0
#: how long a checkpoint waits for the writer and readers of the moment to finish
CHECKPOINT_WAIT_S = 5.0
#: the log's size past which a checkpoint also empties it, holding writers off for the little
#: that the passive checkpoint just before it left to copy (SQLite's own default checkpoints
#: at about this size; fewer, bigger ones made longer stalls)
WAL_TRUNCATE_BYTES = 4 * 1024 * 1024


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _RETRIED


async def _patiently(call: Callable[[], Any], patience: float) -> Any:
    """``call()``, again after a nap each time the database is locked, for up to ``patience``
    seconds."""
    nap = _FIRST_NAP_S
    deadline: float | None = None
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            now = time.monotonic()
            deadline = deadline or now + patience
            if now >= deadline:
                raise
            await asyncio.sleep(nap)
            nap = min(nap * 2, _LONGEST_NAP_S)


class Checkpointer:
    """Checkpoints one database's write-ahead log in a thread, at most once a second."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._last = 0.0
        self._running = False

    def after_commit(self) -> None:
        now = time.monotonic()
        if self._running or now - self._last < CHECKPOINT_INTERVAL_S:
            return
        self._running = True
        self._last = now
        threading.Thread(target=self._checkpoint, name="sqlite-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        try:
            # A connection of its own, closed again: nothing stays open between checkpoints.
            # Its busy handler may sleep: this is not the event loop's thread.
            conn = sqlite3.connect(self._path, timeout=CHECKPOINT_WAIT_S, isolation_level=None)
            try:
                # A passive checkpoint never holds anyone up, but under a steady stream of
                # writes it never catches up either, and the log would grow without end. Past
                # a size, TRUNCATE holds writers off (they nap, see above) while it copies the
                # rest, waits for readers to leave the log, and empties it.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if os.path.getsize(f"{self._path}-wal") > WAL_TRUNCATE_BYTES:
                    # Most of the log was copied just now, without holding anyone up.
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.close()
        except (sqlite3.Error, OSError):
            log.warning("background checkpoint failed; the next one retries", exc_info=True)
        finally:
            self._running = False


class InlineCursor:
    def __init__(self, owner: InlineConnection) -> None:
        self._owner = owner
        self._cursor = owner._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        await self._owner._run(functools.partial(self._cursor.execute, sql, parameters or ()))
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        await self._owner._run(functools.partial(self._cursor.executemany, sql, list(rows)))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class InlineConnection:
    """An open SQLite connection with aiosqlite's interface, working in the caller's thread."""

    def __init__(
        self, conn: sqlite3.Connection, timeout: float, checkpointer: Checkpointer | None
    ) -> None:
        self._conn = conn
        #: SQLAlchemy's dialect looks here to tell an open connection from a closed one
        self._connection: sqlite3.Connection | None = conn
        self.timeout = timeout
        self._checkpointer = checkpointer
        #: SQLite's own count of rows changed, as of the last checkpoint request
        self._changes_seen = 0
        self._last_statement = 0.0
        self._stretch_began = 0.0

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] | None = None
    ) -> list[Any]:
        cursor = await self.execute(sql, parameters)
        try:
            return await cursor.fetchall()
        finally:
            await cursor.close()

    async def commit(self) -> None:
        await _patiently(self._conn.commit, self.timeout)
        # Only a write leaves pages in the log for the checkpointer.
        changes = self._conn.total_changes
        if changes != self._changes_seen and self._checkpointer is not None:
            self._changes_seen = changes
            self._checkpointer.after_commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def _run(self, statement: Callable[[], Any]) -> None:
        await self._take_turns()
        await _patiently(statement, self.timeout)
        self._last_statement = time.monotonic()

    async def _take_turns(self) -> None:
        """Give the loop a turn once statements have kept it for ``TURN_EVERY_S``.

        A short transaction (an accept's three statements) runs straight through and holds the
        write lock briefly; a long one (a big batch of inbound events) lets requests in every
        few milliseconds, as a driver thread would.
        """
        now = time.monotonic()
        if now - self._last_statement > TURN_EVERY_S:
            self._stretch_began = now  # the loop had other work since: a new stretch
        elif now - self._stretch_began >= TURN_EVERY_S:
            await asyncio.sleep(0)
            self._stretch_began = time.monotonic()


def _fetch_all(conn: sqlite3.Connection, sql: str) -> list[Any]:
    return conn.execute(sql).fetchall()


def connector(
    path: str, *, timeout: float = 30.0, pragmas: Sequence[str] = ()
) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens ``path`` with ``pragmas`` run."""
    checkpointer = Checkpointer(path) if path != ":memory:" else None

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            for pragma in pragmas:
                await _patiently(functools.partial(_fetch_all, conn, pragma), timeout)
            # The checkpointer thread does this instead (see the module's notes).
            conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            conn.close()
            raise
        return InlineConnection(conn, timeout, checkpointer)

    return connect
