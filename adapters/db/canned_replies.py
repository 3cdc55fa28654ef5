"""Canned replies in SQL: their table (on the shared metadata) and ``SqlCannedReplies``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as T
from adapters.db.engine import Engines
from adapters.db.rows import aware, must
from adapters.db.tables import Id, metadata
from hub.domain.canned import (
    CannedContent,
    CannedReply,
    ConversationFacts,
    Scope,
    Shelf,
    Viewer,
    code_key,
    search_key,
)
from hub.domain.errors import Conflict
from hub.domain.model import AttachmentRef, file_kind

_SHELF_RULE = (
    "(scope = 'personal' AND owner_id IS NOT NULL AND team_id IS NULL)"
    " OR (scope = 'team' AND team_id IS NOT NULL AND owner_id IS NULL)"
    " OR (scope = 'global' AND owner_id IS NULL AND team_id IS NULL)"
)

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(10), nullable=False),
    #: a personal one's agent: their canned replies go with them
    Column("owner_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), nullable=True),
    #: a team one's team
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    Column("short_code", String(32), nullable=False),
    #: the short code case-folded: what its shelf keeps unique
    Column("code_key", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("text", Text, nullable=False),
    #: the saved files: [{"k": storage key, "f": name, "t": type, "s": size}], as uploads keep
    Column("files", JSON, nullable=False),
    #: short code, title and text case-folded, one per line: what a search looks in
    Column("search_key", Text, nullable=False),
    Column("uses", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(_SHELF_RULE, name="ck_canned_replies_shelf"),
    # One short code per shelf: three partial indexes, as NULLs never collide in a unique index.
    Index(
        "uq_canned_replies_personal",
        "owner_id",
        "code_key",
        unique=True,
        sqlite_where=text("scope = 'personal'"),
        postgresql_where=text("scope = 'personal'"),
    ),
    Index(
        "uq_canned_replies_team",
        "team_id",
        "code_key",
        unique=True,
        sqlite_where=text("scope = 'team'"),
        postgresql_where=text("scope = 'team'"),
    ),
    Index(
        "uq_canned_replies_global",
        "code_key",
        unique=True,
        sqlite_where=text("scope = 'global'"),
        postgresql_where=text("scope = 'global'"),
    ),
)

C = canned_replies


def _files_json(files: Sequence[AttachmentRef]) -> list[dict[str, Any]]:
    return [
        {"k": f.storage_key, "f": f.filename, "t": f.content_type, "s": f.size}
        for f in files
        if f.storage_key
    ]


def _files(value: Any) -> tuple[AttachmentRef, ...]:
    return tuple(
        AttachmentRef(
            kind=file_kind(str(item["t"])),
            filename=str(item["f"]),
            content_type=str(item["t"]),
            size=item["s"] if isinstance(item.get("s"), int) else None,
            storage_key=str(item["k"]),
        )
        for item in value or []
    )


def _reply(row: Row[Any]) -> CannedReply:
    return CannedReply(
        id=row.id,
        shelf=_shelf_of(row),
        content=CannedContent(row.short_code, row.title, row.text, _files(row.files)),
        uses=row.uses,
        created_at=must(row.created_at),
        updated_at=must(row.updated_at),
        last_used_at=aware(row.last_used_at),
    )


def _values(shelf: Shelf, content: CannedContent) -> dict[str, Any]:
    return {
        "scope": shelf.scope.value,
        "owner_id": shelf.owner_id,
        "team_id": shelf.team_id,
        "short_code": content.short_code,
        "code_key": code_key(content.short_code),
        "title": content.title,
        "text": content.text,
        "files": _files_json(content.files),
        "search_key": search_key(content),
    }


def _on_shelf(shelf: Shelf) -> ColumnElement[bool]:
    where = C.c.scope == shelf.scope.value
    if shelf.scope is Scope.PERSONAL:
        return and_(where, C.c.owner_id == shelf.owner_id)
    if shelf.scope is Scope.TEAM:
        return and_(where, C.c.team_id == shelf.team_id)
    return where


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _taken(shelf: Shelf, code: str) -> Conflict:
    where = {Scope.PERSONAL: "your personal", Scope.TEAM: "this team's", Scope.GLOBAL: "the global"}
    return Conflict(
        f"short_code: {code!r} is taken among {where[shelf.scope]} canned replies (whatever "
        "its case); choose another or change that one"
    )


class SqlCannedReplies:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def team_ids(self, agent_id: int) -> frozenset[int]:
        async with self._engines.read.connect() as conn:
            found = await conn.execute(
                select(T.team_members.c.team_id).where(T.team_members.c.agent_id == agent_id)
            )
            return frozenset(found.scalars())

    async def team_names(self) -> dict[int, str]:
        async with self._engines.read.connect() as conn:
            found = await conn.execute(select(T.teams.c.id, T.teams.c.name))
            return {row.id: row.name for row in found}

    async def visible(self, viewer: Viewer, terms: Sequence[str]) -> list[CannedReply]:
        team = C.c.scope == Scope.TEAM.value
        if not viewer.admin:
            team = and_(team, C.c.team_id.in_(sorted(viewer.team_ids)))
        query = select(C).where(
            or_(
                and_(C.c.scope == Scope.PERSONAL.value, C.c.owner_id == viewer.agent_id),
                team,
                C.c.scope == Scope.GLOBAL.value,
            ),
            *(C.c.search_key.like(_like(term), escape="\\") for term in terms),
        )
        async with self._engines.read.connect() as conn:
            return [_reply(row) for row in await conn.execute(query.order_by(C.c.id))]

    async def get(self, reply_id: int) -> CannedReply | None:
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(C).where(C.c.id == reply_id))).first()
        return _reply(row) if row else None

    @staticmethod
    async def _holder(
        conn: AsyncConnection, shelf: Shelf, content: CannedContent, but: int | None = None
    ) -> int | None:
        """The canned reply on the shelf that has this short code already, if any."""
        query = select(C.c.id).where(_on_shelf(shelf), C.c.code_key == code_key(content.short_code))
        if but is not None:
            query = query.where(C.c.id != but)
        found: int | None = (await conn.execute(query)).scalar()
        return found

    async def create(self, shelf: Shelf, content: CannedContent, at: datetime) -> CannedReply:
        async with self._engines.write.begin() as conn:
            # Checked first for a clear answer; the unique index still settles a race.
            if await self._holder(conn, shelf, content) is not None:
                raise _taken(shelf, content.short_code)
            row = (
                await conn.execute(
                    insert(C)
                    .values(**_values(shelf, content), uses=0, created_at=at, updated_at=at)
                    .returning(C)
                )
            ).one()
        return _reply(row)

    async def update(
        self, reply_id: int, shelf: Shelf, content: CannedContent, at: datetime
    ) -> CannedReply | None:
        async with self._engines.write.begin() as conn:
            if await self._holder(conn, shelf, content, but=reply_id) is not None:
                raise _taken(shelf, content.short_code)
            row = (
                await conn.execute(
                    update(C)
                    .where(C.c.id == reply_id)
                    .values(**_values(shelf, content), updated_at=at)
                    .returning(C)
                )
            ).first()
        return _reply(row) if row else None

    async def delete(self, reply_id: int) -> bool:
        async with self._engines.write.begin() as conn:
            result = await conn.execute(delete(C).where(C.c.id == reply_id))
        return bool(result.rowcount)

    async def count_use(self, reply_id: int, at: datetime) -> None:
        async with self._engines.write.begin() as conn:
            await conn.execute(
                update(C).where(C.c.id == reply_id).values(uses=C.c.uses + 1, last_used_at=at)
            )

    async def conversation_facts(self, conversation_id: int) -> ConversationFacts | None:
        conv, contact, channel = T.conversations, T.contacts, T.channels
        query = (
            select(conv.c.id, contact.c.name, contact.c.email, contact.c.phone, channel.c.name)
            .join(contact, contact.c.id == conv.c.contact_id)
            .join(channel, channel.c.id == conv.c.channel_id)
            .where(conv.c.id == conversation_id)
        )
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return ConversationFacts(row[0], row[1], row[2], row[3], row[4])

    async def save_many(
        self, items: Sequence[tuple[Shelf, CannedContent]], at: datetime
    ) -> tuple[int, int]:
        if not items:
            return 0, 0
        shelves = {shelf for shelf, _ in items}
        async with self._engines.write.begin() as conn:
            # What the shelves hold now, in one read: an import may have thousands of rows.
            held = {
                (_shelf_of(row), row.code_key): (row.id, row.files)
                for row in await conn.execute(
                    select(
                        C.c.id, C.c.scope, C.c.owner_id, C.c.team_id, C.c.code_key, C.c.files
                    ).where(or_(*(_on_shelf(shelf) for shelf in shelves)))
                )
            }
            new: list[dict[str, Any]] = []
            changed: list[dict[str, Any]] = []
            for shelf, content in items:
                found = held.get((shelf, code_key(content.short_code)))
                if found is None:
                    new.append({**_values(shelf, content), "uses": 0, "created_at": at})
                    continue
                holder, files = found
                kept = replace(content, files=_files(files))
                changed.append({**_values(shelf, kept), "holder": holder})
            if new:
                await conn.execute(insert(C).values(updated_at=at), new)
            if changed:
                await conn.execute(
                    update(C).where(C.c.id == bindparam("holder")).values(updated_at=at),
                    changed,
                )
        return len(new), len(changed)


def _shelf_of(row: Any) -> Shelf:
    return Shelf(Scope(row.scope), owner_id=row.owner_id, team_id=row.team_id)
