"""Automatic invitation rules in SQL: their table (on the shared metadata) and their store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from adapters.db.engine import Engines
from adapters.db.tables import Id, metadata
from hub.domain.errors import NotFound
from hub.domain.invitation_rules import InvitationRule, RuleCounts

invitation_rules = Table(
    "invitation_rules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "channel_id",
        Id,
        ForeignKey("channels.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("message", Text, nullable=False),
    Column("page", String(300), nullable=False),
    Column("delay_s", Integer, nullable=False),
    Column("min_visits", Integer, nullable=False),
    Column("search_words", String(200), nullable=False),
    Column("cooldown_s", Integer, nullable=False),
    # what became of its invitations: counted in place, one statement each
    Column("sent", Integer, nullable=False, server_default="0"),
    Column("accepted", Integer, nullable=False, server_default="0"),
    Column("declined", Integer, nullable=False, server_default="0"),
    Column("ignored", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

R = invitation_rules
_OUTCOMES = {
    "sent": R.c.sent,
    "accepted": R.c.accepted,
    "declined": R.c.declined,
    "ignored": R.c.ignored,
}


def _rule(row: Row[Any]) -> InvitationRule:
    return InvitationRule(
        id=row.id,
        channel_id=row.channel_id,
        name=row.name,
        active=row.active,
        message=row.message,
        page=row.page,
        delay_s=row.delay_s,
        min_visits=row.min_visits,
        search_words=row.search_words,
        cooldown=timedelta(seconds=row.cooldown_s),
        counts=RuleCounts(row.sent, row.accepted, row.declined, row.ignored),
    )


def _settings(rule: InvitationRule) -> dict[str, Any]:
    return {
        "channel_id": rule.channel_id,
        "name": rule.name,
        "active": rule.active,
        "message": rule.message,
        "page": rule.page,
        "delay_s": rule.delay_s,
        "min_visits": rule.min_visits,
        "search_words": rule.search_words,
        "cooldown_s": int(rule.cooldown.total_seconds()),
        "updated_at": datetime.now(UTC),
    }


class SqlInvitationRules:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def list(self, channel_id: int | None = None) -> Sequence[InvitationRule]:
        query = select(R).order_by(R.c.id)
        if channel_id is not None:
            query = query.where(R.c.channel_id == channel_id)
        async with self._engines.read.connect() as conn:
            return [_rule(row) for row in await conn.execute(query)]

    async def get(self, rule_id: int) -> InvitationRule | None:
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(R).where(R.c.id == rule_id))).first()
        return _rule(row) if row else None

    async def create(self, rule: InvitationRule) -> InvitationRule:
        values = _settings(rule)
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    insert(R).values(**values, created_at=values["updated_at"]).returning(R)
                )
            ).one()
        return _rule(row)

    async def update(self, rule: InvitationRule) -> InvitationRule:
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(R).where(R.c.id == rule.id).values(**_settings(rule)).returning(R)
                )
            ).first()
        if row is None:
            raise NotFound(f"invitation rule {rule.id}")
        return _rule(row)

    async def delete(self, rule_id: int) -> bool:
        async with self._engines.write.begin() as conn:
            result = await conn.execute(delete(R).where(R.c.id == rule_id))
        return bool(result.rowcount)

    async def count(self, rule_id: int, outcome: str) -> None:
        column = _OUTCOMES[outcome]
        async with self._engines.write.begin() as conn:
            await conn.execute(update(R).where(R.c.id == rule_id).values({column.name: column + 1}))
