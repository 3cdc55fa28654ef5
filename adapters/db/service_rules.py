"""Business hours, channels' service rules and the automatic messages they sent, in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.db import rows
from adapters.db.engine import Engines
from adapters.db.queries import SqlQueries
from adapters.db.rows import aware, must
from adapters.db.store import SqlStore
from adapters.db.tables import Id, metadata
from hub.domain.business_hours import BusinessHours, Schedule, make_hours, week_of
from hub.domain.ports import NewMessage
from hub.domain.records import Conversation
from hub.domain.service_rules import AutoMessage, Rule, Sent, ServiceRules, language_of

business_hours = Table(
    "business_hours",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=True, unique=True),
    Column(
        "channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=True, unique=True
    ),
    Column("timezone", String(64), nullable=False),
    #: {"mon": [["09:00", "18:00"], ...], ...}: a weekday left out is closed
    Column("week", JSON, nullable=False),
    #: ["2026-10-01", ...]
    Column("holidays", JSON, nullable=False),
    #: {"2026-09-27": [["09:00", "18:00"]], ...}
    Column("working_days", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("(team_id IS NULL) <> (channel_id IS NULL)", name="ck_business_hours_owner"),
)

service_rules = Table(
    "service_rules",
    metadata,
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(10), nullable=False),
    Column("rating_reply_s", Integer, nullable=False),
    #: {"welcome": {"active": true, "texts": {"zh-CN": "…", "en": "…"}}, ...}
    Column("messages", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: what each rule sent in each conversation: the key that keeps it to once, across retries
#: and processes
automatic_messages = Table(
    "automatic_messages",
    metadata,
    Column(
        "conversation_id",
        Id,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("rule", String(20), primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

H, S, A = business_hours, service_rules, automatic_messages
_RULES = {rule.value for rule in Rule}
_CLAIM = {
    "postgresql": postgresql.insert(A).on_conflict_do_nothing().returning(A.c.rule),
    "sqlite": sqlite.insert(A).on_conflict_do_nothing().returning(A.c.rule),
}


def _hours(row: Row[Any]) -> BusinessHours:
    return make_hours(
        row.timezone,
        {day: [(a, b) for a, b in pairs] for day, pairs in (row.week or {}).items()},
        [date.fromisoformat(d) for d in row.holidays or []],
        {
            date.fromisoformat(d): [(a, b) for a, b in pairs]
            for d, pairs in (row.working_days or {}).items()
        },
    )


def _schedule(row: Row[Any]) -> Schedule:
    return Schedule(_hours(row), row.team_id, row.channel_id, aware(row.updated_at))


def _hours_values(hours: BusinessHours) -> dict[str, Any]:
    return {
        "timezone": hours.timezone,
        "week": {day: [list(p) for p in pairs] for day, pairs in week_of(hours).items() if pairs},
        "holidays": sorted(d.isoformat() for d in hours.holidays),
        "working_days": {
            d.isoformat(): [list(i.text()) for i in intervals]
            for d, intervals in sorted(hours.working_days.items())
        },
        "updated_at": datetime.now(UTC),
    }


def _rules(row: Row[Any]) -> ServiceRules:
    messages: dict[Rule, AutoMessage] = {}
    for name, value in (row.messages or {}).items():
        if name in _RULES and isinstance(value, Mapping):
            texts = value.get("texts") or {}
            messages[Rule(name)] = AutoMessage(
                bool(value.get("active")),
                {k: v for k, v in texts.items() if isinstance(v, str)},
            )
    return ServiceRules(
        channel_id=row.channel_id,
        language=row.language,
        messages=messages,
        rating_reply_s=row.rating_reply_s,
        updated_at=aware(row.updated_at),
    )


class SqlServiceRules:
    """``ServiceRulesStore``, and what the admin API reads and writes."""

    def __init__(self, engines: Engines, store: SqlStore) -> None:
        self._engines = engines
        #: its units write an automatic message in the same transaction as its record
        self._store = store
        self._queries = SqlQueries(engines)

    # -- business hours -------------------------------------------------------------------------

    async def hours_for(self, channel_id: int, team_id: int | None) -> BusinessHours | None:
        return (await self.service_of(channel_id, team_id))[0]

    async def service_of(
        self, channel_id: int, team_id: int | None
    ) -> tuple[BusinessHours | None, ServiceRules | None]:
        owner = H.c.channel_id == channel_id
        if team_id is not None:
            owner = or_(owner, H.c.team_id == team_id)
        async with self._engines.read.connect() as conn:
            found = (await conn.execute(select(H).where(owner))).all()
            rules = (await conn.execute(select(S).where(S.c.channel_id == channel_id))).first()
        own = [r for r in found if r.channel_id == channel_id]
        chosen = own or found
        return (_hours(chosen[0]) if chosen else None), (_rules(rules) if rules else None)

    async def conversation(self, conversation_id: int) -> Conversation | None:
        c = metadata.tables["conversations"]
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(c).where(c.c.id == conversation_id))).first()
        return rows.conversation(row) if row else None

    async def list_hours(self) -> list[Schedule]:
        async with self._engines.read.connect() as conn:
            found = await conn.execute(select(H).order_by(H.c.team_id, H.c.channel_id))
            return [_schedule(row) for row in found]

    async def get_hours(
        self, *, team_id: int | None = None, channel_id: int | None = None
    ) -> Schedule | None:
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(H).where(_owner(team_id, channel_id)))).first()
        return _schedule(row) if row else None

    async def put_hours(self, schedule: Schedule) -> Schedule:
        values = _hours_values(schedule.hours)
        owner = _owner(schedule.team_id, schedule.channel_id)
        async with self._engines.write.begin() as conn:
            row = (await conn.execute(update(H).where(owner).values(**values).returning(H))).first()
            if row is None:
                row = (
                    await conn.execute(
                        insert(H)
                        .values(**values, team_id=schedule.team_id, channel_id=schedule.channel_id)
                        .returning(H)
                    )
                ).one()
        return _schedule(row)

    async def delete_hours(
        self, *, team_id: int | None = None, channel_id: int | None = None
    ) -> bool:
        async with self._engines.write.begin() as conn:
            result = await conn.execute(delete(H).where(_owner(team_id, channel_id)))
        return bool(result.rowcount)

    # -- service rules --------------------------------------------------------------------------

    async def rules_for(self, channel_ids: Sequence[int]) -> dict[int, ServiceRules]:
        if not channel_ids:
            return {}
        async with self._engines.read.connect() as conn:
            found = await conn.execute(select(S).where(S.c.channel_id.in_(set(channel_ids))))
            return {row.channel_id: _rules(row) for row in found}

    async def put_rules(self, rules: ServiceRules) -> ServiceRules:
        values = {
            "language": rules.language,
            "rating_reply_s": rules.rating_reply_s,
            "messages": {
                rule.value: {"active": message.active, "texts": dict(message.texts)}
                for rule, message in rules.messages.items()
            },
            "updated_at": datetime.now(UTC),
        }
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(S)
                    .where(S.c.channel_id == rules.channel_id)
                    .values(**values)
                    .returning(S)
                )
            ).first()
            if row is None:
                row = (
                    await conn.execute(
                        insert(S).values(**values, channel_id=rules.channel_id).returning(S)
                    )
                ).one()
        return _rules(row)

    # -- what the rules sent --------------------------------------------------------------------

    async def send_once(
        self,
        conversation_id: int,
        rule: Rule,
        new: NewMessage | None,
        changes: Mapping[str, Any] | None = None,
    ) -> Sent | None:
        async with self._store.unit() as uow:
            claimed = (
                await uow.conn.execute(
                    _CLAIM[uow.conn.dialect.name],
                    {"conversation_id": conversation_id, "rule": rule.value, "sent_at": _now()},
                )
            ).first()
            if claimed is None:
                return None
            message = await uow.add_message(new) if new is not None else None
            values = dict(changes or {})
            if message is not None and not message.private:
                values["last_message_at"] = message.created_at
                await uow.conn.execute(
                    update(A)
                    .where(A.c.conversation_id == conversation_id, A.c.rule == rule.value)
                    .values(message_id=message.id)
                )
            conversation = await uow.update_conversation(conversation_id, **values)
            await uow.commit()
        return Sent(message, conversation)

    async def sent(self, conversation_id: int) -> dict[Rule, datetime]:
        """What the rules sent in a conversation, and when."""
        async with self._engines.read.connect() as conn:
            found = await conn.execute(
                select(A.c.rule, A.c.sent_at).where(A.c.conversation_id == conversation_id)
            )
            return {Rule(r.rule): must(r.sent_at) for r in found if r.rule in _RULES}

    async def customer_language(self, conversation_id: int) -> str | None:
        m = metadata.tables["messages"]
        async with self._engines.read.connect() as conn:
            found = await conn.execute(
                select(m.c.data)
                .where(m.c.conversation_id == conversation_id, m.c.direction == "in")
                .order_by(m.c.id.desc())
                .limit(20)
            )
            for (data,) in found:
                language = language_of((data or {}).get("language"))
                if language:
                    return language
        return None

    async def reply_activity(
        self, conversation_id: int
    ) -> tuple[list[tuple[datetime, str | None]], list[datetime]]:
        return await self._queries.reply_activity(conversation_id)


def _owner(team_id: int | None, channel_id: int | None) -> Any:
    if (team_id is None) == (channel_id is None):
        raise ValueError("business hours belong to a team or to a channel")
    return H.c.team_id == team_id if team_id is not None else H.c.channel_id == channel_id


def _now() -> datetime:
    return datetime.now(UTC)
