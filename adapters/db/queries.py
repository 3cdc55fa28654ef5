"""Read models for the inbox: lists with filters and cursors, timelines, resync."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, case, func, or_, select

from adapters.db import rows
from adapters.db import tables as T
from adapters.db.engine import Engines
from hub.domain.errors import InvalidInput
from hub.domain.model import ConversationStatus, PresenceStatus
from hub.domain.records import Attachment, Contact, Conversation, InboundEvent, Message
from hub.domain.routing import (
    WAIT_SAMPLE,
    WAIT_SAMPLE_PERIOD,
    QueuePlace,
    estimated_wait_s,
)


@dataclass(frozen=True)
class ConversationFilter:
    status: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    channel_id: int | None = None
    contact_id: int | None = None
    team_id: int | None = None
    conversation_id: int | None = None


@dataclass(frozen=True)
class ConversationItem:
    conversation: Conversation
    contact_name: str
    channel_kind: str
    channel_name: str
    last_text: str | None
    last_kind: str | None
    #: 1 for the oldest conversation waiting in its team, 2 for the next...; ``None`` when it
    #: is not waiting (someone has it, it is not open, or it has no team)
    queue_position: int | None = None


@dataclass(frozen=True)
class EventItem:
    """An accepted event as an admin reviews it: where it came from and why it failed."""

    event: InboundEvent
    error: str | None
    channel_kind: str
    channel_name: str


Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


#: the largest id a database column holds (a bigger one fails in the driver, not as a 4xx)
MAX_ID = 2**63 - 1


def decode_cursor(cursor: str, *shape: type) -> list[Any]:
    """The values of a cursor this API gave out, checked against their types in ``shape``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        raise InvalidInput("the cursor is not one this API gave out") from None
    if (
        not isinstance(values, list)
        or len(values) != len(shape)
        # type() and not isinstance(): JSON's true is no id
        or any(type(value) is not kind for value, kind in zip(values, shape, strict=True))
        or any(isinstance(value, int) and not 0 <= value <= MAX_ID for value in values)
    ):
        raise InvalidInput("the cursor is not one this API gave out")
    return values


#: the times a cursor can hold: a forged one near the ends of Python's range fails in asyncpg
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _cursor_time(stamp: str) -> datetime:
    """The time in a cursor, as it was given out (UTC, with or without the offset)."""
    try:
        at = datetime.fromisoformat(stamp)
        in_utc = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput("the cursor is not one this API gave out") from None
    if not _EARLIEST <= in_utc < _LATEST:
        raise InvalidInput("the cursor is not one this API gave out")
    return at


class SqlQueries:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def conversations(
        self, where: ConversationFilter, *, cursor: str | None, limit: int
    ) -> Page[ConversationItem]:
        c = T.conversations
        m = T.messages

        def latest(column: Any) -> Any:
            return (
                select(column)
                .where(m.c.conversation_id == c.c.id, m.c.private.is_(False))
                .order_by(m.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )

        activity = func.coalesce(c.c.last_message_at, c.c.created_at)
        query = (
            select(
                c,
                T.contacts.c.name.label("contact_name"),
                T.channels.c.kind.label("channel_kind"),
                T.channels.c.name.label("channel_name"),
                latest(m.c.text).label("last_text"),
                latest(m.c.kind).label("last_kind"),
                activity.label("activity"),
                _queue_position(c).label("queue_position"),
            )
            .join(T.contacts, T.contacts.c.id == c.c.contact_id)
            .join(T.channels, T.channels.c.id == c.c.channel_id)
        )
        if where.status:
            query = query.where(c.c.status == where.status)
        if where.unassigned:
            query = query.where(c.c.assignee_id.is_(None))
        elif where.assignee_id is not None:
            query = query.where(c.c.assignee_id == where.assignee_id)
        if where.channel_id is not None:
            query = query.where(c.c.channel_id == where.channel_id)
        if where.contact_id is not None:
            query = query.where(c.c.contact_id == where.contact_id)
        if where.team_id is not None:
            query = query.where(c.c.team_id == where.team_id)
        if where.conversation_id is not None:
            query = query.where(c.c.id == where.conversation_id)
        if cursor:
            stamp, last_id = decode_cursor(cursor, str, int)
            at = _cursor_time(stamp)
            query = query.where(or_(activity < at, and_(activity == at, c.c.id < last_id)))
        query = query.order_by(activity.desc(), c.c.id.desc()).limit(limit + 1)
        async with self._engines.read.connect() as conn:
            result = (await conn.execute(query)).all()
        items = [
            ConversationItem(
                conversation=rows.conversation(r),
                contact_name=r.contact_name,
                channel_kind=r.channel_kind,
                channel_name=r.channel_name,
                last_text=r.last_text,
                last_kind=r.last_kind,
                queue_position=r.queue_position,
            )
            for r in result[:limit]
        ]
        next_cursor = None
        if len(result) > limit:
            tail = result[limit - 1]
            next_cursor = encode_cursor(rows.must(tail.activity).isoformat(), tail.id)
        return Page(items, next_cursor)

    async def conversation_item(self, conversation_id: int) -> ConversationItem | None:
        page = await self.conversations(
            ConversationFilter(conversation_id=conversation_id), cursor=None, limit=1
        )
        return page.items[0] if page.items else None

    async def _read(self, query: Any) -> list[Any]:
        async with self._engines.read.connect() as conn:
            return list((await conn.execute(query)).all())

    async def messages(
        self,
        conversation_ids: list[int],
        *,
        before_id: int | None = None,
        limit: int = 50,
        include_private: bool = True,
    ) -> tuple[list[Message], bool]:
        """Newest ``limit`` messages before ``before_id``, returned oldest first."""
        m = T.messages
        query = select(m).where(m.c.conversation_id.in_(conversation_ids))
        if before_id is not None:
            query = query.where(m.c.id < before_id)
        if not include_private:
            query = query.where(m.c.private.is_(False))
        query = query.order_by(m.c.id.desc()).limit(limit + 1)
        found = await self._read(query)
        more = len(found) > limit
        found = list(reversed(found[:limit]))
        files = await self._attachments([r.id for r in found])
        return [rows.message(r, files.get(r.id, ())) for r in found], more

    async def _attachments(self, message_ids: list[int]) -> dict[int, tuple[Attachment, ...]]:
        if not message_ids:
            return {}
        found = await self._read(
            select(T.attachments)
            .where(T.attachments.c.message_id.in_(message_ids))
            .order_by(T.attachments.c.id)
        )
        result: dict[int, list[Attachment]] = {}
        for r in found:
            result.setdefault(r.message_id, []).append(rows.attachment(r))
        return {k: tuple(v) for k, v in result.items()}

    async def contact(self, contact_id: int) -> Contact | None:
        found = await self._read(select(T.contacts).where(T.contacts.c.id == contact_id))
        return rows.contact(found[0]) if found else None

    async def contact_identities(self, contact_id: int) -> list[dict[str, Any]]:
        found = await self._read(
            select(
                T.channel_identities.c.channel_id,
                T.channel_identities.c.external_id,
                T.channel_identities.c.opted_out_at,
                T.channels.c.kind,
                T.channels.c.name,
            )
            .join(T.channels, T.channels.c.id == T.channel_identities.c.channel_id)
            .where(T.channel_identities.c.contact_id == contact_id)
        )
        return [
            {
                "channel_id": r.channel_id,
                "channel_kind": r.kind,
                "channel_name": r.name,
                "opted_out_at": r.opted_out_at.isoformat() if r.opted_out_at else None,
            }
            for r in found
        ]

    async def attachment(self, attachment_id: int) -> Attachment | None:
        found = await self._read(select(T.attachments).where(T.attachments.c.id == attachment_id))
        return rows.attachment(found[0]) if found else None

    async def changed_since(
        self, since: datetime, limit: int = 500
    ) -> tuple[list[Conversation], list[Message], bool]:
        """What changed after ``since``: an agent's page resyncs with it after a reconnect."""
        convs = await self._read(
            select(T.conversations)
            .where(T.conversations.c.updated_at > since)
            .order_by(T.conversations.c.updated_at)
            .limit(limit + 1)
        )
        msgs = await self._read(
            select(T.messages)
            .where(T.messages.c.updated_at > since)
            .order_by(T.messages.c.updated_at)
            .limit(limit + 1)
        )
        truncated = len(convs) > limit or len(msgs) > limit
        files = await self._attachments([r.id for r in msgs[:limit]])
        return (
            [rows.conversation(r) for r in convs[:limit]],
            [rows.message(r, files.get(r.id, ())) for r in msgs[:limit]],
            truncated,
        )

    async def visitor_of(self, conversation_id: int) -> tuple[int, str] | None:
        """The channel and external id a conversation's customer is reached at."""
        found = await self._read(
            select(T.channel_identities.c.channel_id, T.channel_identities.c.external_id)
            .join(T.conversations, T.conversations.c.identity_id == T.channel_identities.c.id)
            .where(T.conversations.c.id == conversation_id)
        )
        return (found[0].channel_id, found[0].external_id) if found else None

    async def identity_history(
        self, channel_id: int, external_id: str, limit: int = 100
    ) -> tuple[list[Message], int | None]:
        """A customer's public history on one channel, and their newest conversation's id."""
        found = await self._read(
            _identity_conversations(channel_id, external_id).order_by(T.conversations.c.id)
        )
        ids = [r.id for r in found]
        if not ids:
            return [], None
        history, _ = await self.messages(ids, limit=limit, include_private=False)
        return history, ids[-1]

    async def message(self, message_id: int) -> Message | None:
        found = await self._read(select(T.messages).where(T.messages.c.id == message_id))
        if not found:
            return None
        files = await self._attachments([message_id])
        return rows.message(found[0], files.get(message_id, ()))

    async def agent_names(self) -> dict[int, str]:
        found = await self._read(select(T.agents.c.id, T.agents.c.name))
        return {r.id: r.name for r in found}

    async def agent_loads(self) -> dict[int, int]:
        """Each agent's open conversations (an agent with none is left out)."""
        c = T.conversations
        found = await self._read(
            select(c.c.assignee_id, func.count())
            .where(c.c.assignee_id.is_not(None), c.c.status == ConversationStatus.OPEN.value)
            .group_by(c.c.assignee_id)
        )
        return {int(agent_id): int(count) for agent_id, count in found}

    async def queue_place(
        self, channel_id: int, external_id: str, now: datetime | None = None
    ) -> QueuePlace | None:
        """Where the latest conversation of one customer's identity waits, with an estimate of
        the wait from its team's pace; ``None`` when it does not wait."""
        c = T.conversations
        found = await self._read(
            select(c.c.id, c.c.team_id, _queue_position(c).label("position")).where(
                c.c.id
                == _identity_conversations(channel_id, external_id)
                .order_by(T.conversations.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
        )
        if not found or found[0].position is None:
            return None
        row = found[0]
        since = (now or datetime.now(UTC)) - WAIT_SAMPLE_PERIOD
        handled = await self._read(
            select(c.c.resolved_at, func.coalesce(c.c.first_response_at, c.c.created_at))
            .where(
                c.c.team_id == row.team_id,
                c.c.status == ConversationStatus.RESOLVED.value,
                c.c.resolved_at >= since,
            )
            .order_by(c.c.resolved_at.desc())
            .limit(WAIT_SAMPLE)
        )
        a, m = T.agents, T.team_members
        slots = await self._read(
            select(
                func.coalesce(func.sum(func.coalesce(a.c.capacity, T.teams.c.agent_capacity)), 0)
            )
            .select_from(
                m.join(a, a.c.id == m.c.agent_id).join(T.teams, T.teams.c.id == m.c.team_id)
            )
            .where(
                m.c.team_id == row.team_id,
                a.c.active.is_(True),
                a.c.presence == PresenceStatus.ONLINE.value,
            )
        )
        samples = [
            (rows.must(ended) - rows.must(began)).total_seconds() for ended, began in handled
        ]
        return QueuePlace(
            conversation_id=int(row.id),
            team_id=int(row.team_id),
            position=int(row.position),
            estimated_wait_s=estimated_wait_s(int(row.position), samples, int(slots[0][0])),
        )

    async def ping(self) -> None:
        await self._read(select(1))

    async def reply_activity(
        self, conversation_id: int, limit: int = 20
    ) -> tuple[list[tuple[datetime, str | None]], list[datetime]]:
        """The customer's recent messages (newest first, with event names) and our replies."""
        m = T.messages
        inbound = await self._read(
            select(m.c.created_at, m.c.data)
            .where(m.c.conversation_id == conversation_id, m.c.direction == "in")
            .order_by(m.c.id.desc())
            .limit(limit)
        )
        replies = await self._read(
            select(m.c.created_at)
            .where(
                m.c.conversation_id == conversation_id,
                m.c.direction == "out",
                m.c.private.is_(False),
                m.c.status != "failed",
            )
            .order_by(m.c.id.desc())
            .limit(limit)
        )
        activity = [(rows.must(r.created_at), (r.data or {}).get("event")) for r in inbound]
        return activity, [rows.must(r.created_at) for r in replies]

    async def pending_events(
        self, channel_id: int, event_id_prefix: str
    ) -> list[tuple[datetime, dict[str, Any]]]:
        """Accepted events not yet turned into messages, whose provider id has this prefix."""
        e = T.inbound_events
        found = await self._read(
            select(e.c.received_at, e.c.payload)
            .where(
                e.c.channel_id == channel_id,
                e.c.status == "pending",
                e.c.provider_event_id.startswith(event_id_prefix, autoescape=True),
            )
            .order_by(e.c.id)
        )
        return [(rows.must(r.received_at), r.payload) for r in found]

    async def inbound_events(
        self, status: str, *, channel_id: int | None, cursor: str | None, limit: int
    ) -> Page[EventItem]:
        """Events in one status (``failed``, say), newest first."""
        e, c = T.inbound_events, T.channels
        query = (
            select(e, c.c.kind.label("channel_kind"), c.c.name.label("channel_name"))
            .join(c, c.c.id == e.c.channel_id)
            .where(e.c.status == status)
            .order_by(e.c.id.desc())
            .limit(limit + 1)
        )
        if channel_id is not None:
            query = query.where(e.c.channel_id == channel_id)
        if cursor:
            query = query.where(e.c.id < decode_cursor(cursor, int)[0])
        found = await self._read(query)
        items = [
            EventItem(rows.inbound_event(r), r.error, r.channel_kind, r.channel_name)
            for r in found[:limit]
        ]
        more = len(found) > limit
        return Page(items, encode_cursor(items[-1].event.id) if more else None)

    async def count_events(self, status: str) -> int:
        """How many events are in one status: ``failed`` ones are what monitoring watches."""
        e = T.inbound_events
        found = await self._read(select(func.count()).select_from(e).where(e.c.status == status))
        return int(found[0][0])

    async def latest_conversation_id(self, channel_id: int, external_id: str) -> int | None:
        found = await self._read(
            _identity_conversations(channel_id, external_id)
            .order_by(T.conversations.c.id.desc())
            .limit(1)
        )
        return int(found[0].id) if found else None


def _queue_position(c: Any) -> Any:
    """Computed, never stored: a stored position would go stale with every assignment.

    Arrival order is id order, as routing assigns them.
    """
    ahead = T.conversations.alias("ahead")
    counted = (
        select(func.count())
        .where(
            ahead.c.team_id == c.c.team_id,
            ahead.c.assignee_id.is_(None),
            ahead.c.status == ConversationStatus.OPEN.value,
            ahead.c.id <= c.c.id,
        )
        .correlate(c)
        .scalar_subquery()
    )
    in_queue = and_(
        c.c.team_id.is_not(None),
        c.c.assignee_id.is_(None),
        c.c.status == ConversationStatus.OPEN.value,
    )
    return case((in_queue, counted), else_=None)


def _identity_conversations(channel_id: int, external_id: str) -> Select[tuple[int]]:
    """The ids of the conversations of one customer's identity on one channel."""
    i = T.channel_identities
    return (
        select(T.conversations.c.id)
        .join(i, i.c.id == T.conversations.c.identity_id)
        .where(i.c.channel_id == channel_id, i.c.external_id == external_id)
    )
