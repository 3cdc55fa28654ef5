"""The contacts directory (客户管理) in SQL: contacts searched, filtered and paged, each with
when they last wrote and on which channels they are."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select

from adapters.db import tables as T
from adapters.db.engine import Engines
from adapters.db.rows import aware, must
from hub.domain.errors import InvalidInput

#: how a page is ordered: the newest contact first, or who wrote last
SORTS = ("recent", "created", "name")


@dataclass(frozen=True)
class DirectoryFilter:
    q: str = ""
    channel_id: int | None = None
    contacted_after: datetime | None = None
    contacted_before: datetime | None = None
    sort: str = "recent"


@dataclass(frozen=True)
class DirectoryEntry:
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: datetime
    last_contact_at: datetime | None
    conversations: int
    channel_ids: tuple[int, ...]


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor: not one this list gave out") from None
    if not isinstance(values, list) or len(values) != 2:
        raise InvalidInput("cursor: not one this list gave out")
    return values


class SqlContactDirectory:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def page(
        self, where: DirectoryFilter, cursor: str | None, limit: int
    ) -> tuple[list[DirectoryEntry], str | None]:
        c, conv = T.contacts, T.conversations
        # a contact's last word: the newest activity of their conversations
        last = (
            select(func.max(func.coalesce(conv.c.last_message_at, conv.c.created_at)))
            .where(conv.c.contact_id == c.c.id)
            .correlate(c)
            .scalar_subquery()
        )
        count = (
            select(func.count(conv.c.id)).where(conv.c.contact_id == c.c.id).correlate(c)
        ).scalar_subquery()
        query: Select[Any] = select(c, last.label("last_contact_at"), count.label("total"))
        if where.q.strip():
            pattern = _like(where.q.strip().lower())
            query = query.where(
                or_(
                    func.lower(c.c.name).like(pattern, escape="\\"),
                    func.lower(c.c.email).like(pattern, escape="\\"),
                    c.c.phone.like(pattern, escape="\\"),
                )
            )
        if where.channel_id is not None:
            i = T.channel_identities
            query = query.where(
                select(literal(1))
                .where(and_(i.c.contact_id == c.c.id, i.c.channel_id == where.channel_id))
                .exists()
            )
        if where.contacted_after is not None:
            query = query.where(last >= where.contacted_after)
        if where.contacted_before is not None:
            query = query.where(last < where.contacted_before)
        if where.sort == "name":
            key: Any = c.c.name
            query = query.order_by(c.c.name, c.c.id)
        elif where.sort == "created":
            key = c.c.id
            query = query.order_by(c.c.id.desc())
        else:
            # a contact who never wrote counts from when they were made: no NULL in the order
            key = func.coalesce(last, c.c.created_at)
            query = query.order_by(key.desc(), c.c.id.desc())
        if cursor:
            value, last_id = _uncursor(cursor)
            if where.sort == "name":
                query = query.where(
                    or_(c.c.name > value, and_(c.c.name == value, c.c.id > last_id))
                )
            elif where.sort == "created":
                query = query.where(c.c.id < last_id)
            else:
                at = datetime.fromisoformat(str(value))
                query = query.where(or_(key < at, and_(key == at, c.c.id < last_id)))
        async with self._engines.read.connect() as conn:
            rows = list((await conn.execute(query.limit(limit + 1))).all())
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r.id for r in rows]
            channels: dict[int, list[int]] = {}
            if ids:
                i = T.channel_identities
                found = await conn.execute(
                    select(i.c.contact_id, i.c.channel_id)
                    .where(i.c.contact_id.in_(ids))
                    .order_by(i.c.channel_id)
                    .distinct()
                )
                for contact_id, channel_id in found:
                    channels.setdefault(contact_id, []).append(channel_id)
        entries = [
            DirectoryEntry(
                id=r.id,
                name=r.name,
                email=r.email,
                phone=r.phone,
                created_at=must(r.created_at),
                last_contact_at=aware(r.last_contact_at),
                conversations=int(r.total or 0),
                channel_ids=tuple(channels.get(r.id, ())),
            )
            for r in rows
        ]
        next_cursor = None
        if more and entries:
            tail = entries[-1]
            if where.sort == "name":
                next_cursor = _cursor([tail.name, tail.id])
            elif where.sort == "created":
                next_cursor = _cursor([None, tail.id])
            else:
                moment = tail.last_contact_at or tail.created_at
                next_cursor = _cursor([moment.isoformat(), tail.id])
        return entries, next_cursor
