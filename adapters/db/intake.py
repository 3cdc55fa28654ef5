"""The accept path's write: one group of raw events stored in as few driver calls as possible.

Accept is the hot path (every webhook and every web chat message passes it), and SQLAlchemy's
async layer costs several driver round trips per statement. Here each group costs one statement
on PostgreSQL (autocommitted) and three calls on SQLite (BEGIN IMMEDIATE, the insert, COMMIT).
Timestamps are converted by the column's own SQLAlchemy type and payloads arrive as JSON text,
so what is stored reads back through the tables exactly as the rest of the adapter expects.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as T
from hub.domain.model import EventStatus

Key = tuple[int, str]


@dataclass(frozen=True)
class RawEvent:
    channel_id: int
    provider_event_id: str
    #: the normalised event as JSON text, stored as it is
    payload: str


@dataclass(frozen=True)
class Written:
    """Event ids by (channel id, provider event id): those this group stored, and those stored
    before (a provider's retry)."""

    created: dict[Key, int]
    existing: dict[Key, int]


_PG_INSERT = (
    "INSERT INTO inbound_events"
    " (channel_id, provider_event_id, payload, status, attempts, received_at)"
    " SELECT c, p, j::json, $4, 0, $5"
    " FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(c, p, j)"
    " ON CONFLICT DO NOTHING RETURNING id, channel_id, provider_event_id"
)
_PG_EXISTING = (
    "SELECT id, provider_event_id FROM inbound_events "
    "WHERE channel_id = $1 AND provider_event_id = ANY($2::text[])"
)
_SQLITE_INSERT = (
    "INSERT INTO inbound_events"
    " (channel_id, provider_event_id, payload, status, attempts, received_at) VALUES {rows}"
    " ON CONFLICT DO NOTHING RETURNING id, channel_id, provider_event_id"
)
_SQLITE_EXISTING = (
    "SELECT id, provider_event_id FROM inbound_events"
    " WHERE channel_id = ? AND provider_event_id IN ({marks})"
)
#: rows per SQLite statement: five variables each, under SQLite's oldest limit of 999
_SQLITE_CHUNK = 190


async def write_events(conn: AsyncConnection, events: Sequence[RawEvent], at: datetime) -> Written:
    """Store the events not stored yet, in one transaction of their own on ``conn``.

    ``conn`` must not be in a transaction: this uses the driver connection directly.
    """
    raw = (await conn.get_raw_connection()).driver_connection
    dialect = conn.dialect
    if dialect.name == "postgresql":
        return await _write_postgresql(raw, dialect, events, at)
    return await _write_sqlite(raw, dialect, events, at)


@functools.cache
def _stamp_processor(dialect: Dialect) -> Callable[[Any], Any]:
    stamp = T.inbound_events.c.received_at.type.dialect_impl(dialect).bind_processor(dialect)
    return stamp or (lambda v: v)


async def _write_postgresql(
    raw: Any, dialect: Dialect, events: Sequence[RawEvent], at: datetime
) -> Written:
    rows = await raw.fetch(
        _PG_INSERT,
        [e.channel_id for e in events],
        [e.provider_event_id for e in events],
        [e.payload for e in events],
        EventStatus.PENDING.value,
        at,
    )
    created = {(r["channel_id"], r["provider_event_id"]): r["id"] for r in rows}
    existing: dict[Key, int] = {}
    for channel_id, ids in _missing(events, created).items():
        for r in await raw.fetch(_PG_EXISTING, channel_id, ids):
            existing[(channel_id, r["provider_event_id"])] = r["id"]
    return Written(created, existing)


async def _write_sqlite(
    raw: Any, dialect: Dialect, events: Sequence[RawEvent], at: datetime
) -> Written:
    stamp = _stamp_processor(dialect)(at)
    pending = EventStatus.PENDING.value
    await raw.execute("BEGIN IMMEDIATE")
    try:
        created: dict[Key, int] = {}
        for start in range(0, len(events), _SQLITE_CHUNK):
            chunk = events[start : start + _SQLITE_CHUNK]
            params: list[Any] = []
            for e in chunk:
                params += (e.channel_id, e.provider_event_id, e.payload, pending, stamp)
            # Only placeholders are formatted in; the values travel as parameters.
            insert = _SQLITE_INSERT.format(rows=", ".join(["(?, ?, ?, ?, 0, ?)"] * len(chunk)))
            rows = await raw.execute_fetchall(insert, params)
            created.update({(r[1], r[2]): r[0] for r in rows})
        existing: dict[Key, int] = {}
        for channel_id, ids in _missing(events, created).items():
            marks = ", ".join("?" * len(ids))
            found = await raw.execute_fetchall(
                _SQLITE_EXISTING.format(marks=marks), [channel_id, *ids]
            )
            existing.update({(channel_id, r[1]): r[0] for r in found})
        await raw.commit()
    except BaseException:
        await raw.rollback()
        raise
    return Written(created, existing)


def _missing(events: Sequence[RawEvent], created: dict[Key, int]) -> dict[int, list[str]]:
    by_channel: dict[int, list[str]] = defaultdict(list)
    for e in events:
        if (e.channel_id, e.provider_event_id) not in created:
            by_channel[e.channel_id].append(e.provider_event_id)
    return by_channel
