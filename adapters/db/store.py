"""The SQL unit of work and the group-committing accept path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import rows, tables
from adapters.db.channel_cache import ChannelCache
from adapters.db.engine import Engines
from adapters.db.intake import RawEvent, Written, write_events
from adapters.db.secretbox import SecretBox
from hub.domain.errors import NotFound
from hub.domain.model import (
    THREAD_TITLE,
    AssignmentMode,
    AttachmentRef,
    ConversationStatus,
    EventStatus,
    Inbound,
    MessageStatus,
    PresenceStatus,
)
from hub.domain.ports import AcceptedEvent, NewContact, NewConversation, NewMessage
from hub.domain.records import (
    Agent,
    Attachment,
    Channel,
    Conversation,
    Identity,
    InboundEvent,
    Message,
    Team,
)
from hub.domain.routing import Assignment, Board, Seat, TeamRule, Waiting, capacity_of

T = tables
log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def _customers() -> Any:
    """Built once: constructing the aliased subquery per call cost more than running it."""
    i, c = T.channel_identities, T.conversations
    newest = c.alias("newest")
    latest = (
        select(func.max(newest.c.id))
        .where(newest.c.identity_id == i.c.id)
        .correlate(i)
        .scalar_subquery()
    )
    return (
        select(
            i.c.id.label("identity_id"),
            i.c.channel_id.label("identity_channel_id"),
            i.c.contact_id.label("identity_contact_id"),
            i.c.external_id,
            c,
        )
        .select_from(i.outerjoin(c, c.c.id == latest))
        .where(tuple_(i.c.channel_id, i.c.external_id).in_(bindparam("pairs", expanding=True)))
    )


_CUSTOMERS = _customers()


def _told(column: Any, value: str) -> Any:
    """The value a customer told, or what is stored when they told none."""
    return func.coalesce(bindparam(value, type_=column.type), column)


_FILL_CONTACT = (
    update(T.contacts)
    .where(
        T.contacts.c.id == bindparam("contact_id"),
        or_(
            T.contacts.c.name.is_distinct_from(_told(T.contacts.c.name, "n")),
            T.contacts.c.email.is_distinct_from(_told(T.contacts.c.email, "e")),
            T.contacts.c.phone.is_distinct_from(_told(T.contacts.c.phone, "p")),
        ),
    )
    .values(
        name=_told(T.contacts.c.name, "n"),
        email=_told(T.contacts.c.email, "e"),
        phone=_told(T.contacts.c.phone, "p"),
    )
)

# The batch statements are built once: building an IN clause from a list per call cost more
# than running it.
# One statement claims a batch: the UPDATE locks the rows as SELECT ... FOR UPDATE would.
_CLAIM = (
    update(T.inbound_events)
    .where(
        T.inbound_events.c.id.in_(bindparam("ids", expanding=True)),
        T.inbound_events.c.status == EventStatus.PENDING.value,
    )
    .values(
        status=EventStatus.DONE.value,
        attempts=T.inbound_events.c.attempts + 1,
        processed_at=bindparam("at"),
    )
    .returning(T.inbound_events)
)
_CONVERSATIONS = select(T.conversations).where(
    T.conversations.c.id.in_(bindparam("ids", expanding=True))
)

_TOUCH_MANY = (
    update(T.conversations)
    .where(T.conversations.c.id == bindparam("conversation_id"))
    .values(
        last_message_at=bindparam("at"),
        last_inbound_at=bindparam("at"),
        unread_count=T.conversations.c.unread_count + bindparam("added", type_=Integer),
        status=case((bindparam("reopen", type_=Boolean), "open"), else_=T.conversations.c.status),
        updated_at=bindparam("now"),
    )
)


def _message_values(new: NewMessage, stamp: datetime) -> dict[str, Any]:
    at = new.created_at or stamp
    return {
        "conversation_id": new.conversation_id,
        "channel_id": new.channel_id,
        "direction": new.direction.value,
        "sender_type": new.sender_type.value,
        "sender_agent_id": new.sender_agent_id,
        "kind": new.kind.value,
        "text": new.text,
        "data": new.data,
        "private": new.private,
        "status": new.status.value,
        "provider_message_id": new.provider_message_id,
        "created_at": at,
        "updated_at": at,
    }


class SqlUnit:
    """One transaction on one connection; see ``hub.domain.ports.Unit``."""

    def __init__(self, conn: AsyncConnection, box: SecretBox, channels: ChannelCache) -> None:
        self.conn = conn
        self._box = box
        self._channels = channels

    async def commit(self) -> None:
        await self.conn.commit()

    async def get_channel(self, channel_id: int) -> Channel | None:
        cached = self._channels.by_id(channel_id)
        if cached is not None:
            return cached
        row = (
            await self.conn.execute(select(T.channels).where(T.channels.c.id == channel_id))
        ).first()
        if row is None:
            return None
        channel = rows.channel(row, self._box)
        self._channels.put(channel)
        return channel

    async def active_channels(self) -> list[Channel]:
        found = await self.conn.execute(
            select(T.channels).where(T.channels.c.active.is_(True)).order_by(T.channels.c.id)
        )
        return [rows.channel(row, self._box) for row in found]

    async def get_agent(self, agent_id: int) -> Agent | None:
        row = (await self.conn.execute(select(T.agents).where(T.agents.c.id == agent_id))).first()
        return rows.agent(row) if row else None

    async def lock_agent(self, agent_id: int) -> Agent | None:
        row = (
            await self.conn.execute(
                select(T.agents).where(T.agents.c.id == agent_id).with_for_update(key_share=True)
            )
        ).first()
        return rows.agent(row) if row else None

    async def list_agents(self) -> list[Agent]:
        found = await self.conn.execute(select(T.agents).order_by(T.agents.c.id))
        return [rows.agent(row) for row in found]

    async def update_agent(self, agent_id: int, **changes: Any) -> Agent:
        values = {k: getattr(v, "value", v) for k, v in changes.items()}
        row = (
            await self.conn.execute(
                update(T.agents)
                .where(T.agents.c.id == agent_id)
                .values(**values)
                .returning(T.agents)
            )
        ).first()
        if row is None:
            raise NotFound(f"agent {agent_id}")
        return rows.agent(row)

    async def set_presence(self, agent_id: int, status: PresenceStatus, at: datetime) -> Agent:
        p = T.presence_intervals
        await self.conn.execute(
            update(p).where(p.c.agent_id == agent_id, p.c.ended_at.is_(None)).values(ended_at=at)
        )
        await self.conn.execute(
            insert(p).values(agent_id=agent_id, status=status.value, started_at=at)
        )
        return await self.update_agent(agent_id, presence=status)

    async def routing_board(self, team_ids: Sequence[int]) -> Board:
        t, a = T.teams, T.agents
        # FOR NO KEY UPDATE: routings, takes and presence changes wait for each other, while
        # the foreign key checks of writes naming these rows (a reply assigning its writer, a
        # new conversation of the team) go through instead of deadlocking with a routing that
        # waits for their conversation's row.
        teams = (
            await self.conn.execute(
                select(t.c.id, t.c.assignment_mode, t.c.agent_capacity)
                .where(t.c.id.in_(list(team_ids)))
                .order_by(t.c.id)
                .with_for_update(key_share=True)
            )
        ).all()
        auto = {r.id: r for r in teams if r.assignment_mode != AssignmentMode.MANUAL.value}
        if not auto:
            return Board({}, {})
        members = (
            await self.conn.execute(
                select(T.team_members.c.team_id, T.team_members.c.agent_id).where(
                    T.team_members.c.team_id.in_(list(auto))
                )
            )
        ).all()
        agents = (
            await self.conn.execute(
                select(a.c.id, a.c.capacity, a.c.last_assigned_at)
                .where(
                    a.c.id.in_(sorted({m.agent_id for m in members})),
                    a.c.active.is_(True),
                    a.c.presence == PresenceStatus.ONLINE.value,
                )
                .order_by(a.c.id)
                .with_for_update(key_share=True)
            )
        ).all()
        # Counted after the locks: this reads what every routing before this one committed.
        loads = await self._loads([r.id for r in agents])
        seats = {
            r.id: Seat(r.id, r.capacity, loads.get(r.id, 0), rows.aware(r.last_assigned_at))
            for r in agents
        }
        seated: dict[int, list[int]] = {}
        for m in members:
            if m.agent_id in seats:
                seated.setdefault(m.team_id, []).append(m.agent_id)
        rules = {
            team_id: TeamRule(
                team_id,
                AssignmentMode(r.assignment_mode),
                r.agent_capacity,
                tuple(sorted(seated.get(team_id, ()))),
            )
            for team_id, r in auto.items()
        }
        waiting: list[Waiting] = []
        for rule in rules.values():
            room = sum(max(0, capacity_of(seats[i], rule) - seats[i].load) for i in rule.agent_ids)
            if room:
                found = await self.conn.execute(
                    _waiting_in(rule.id).with_only_columns(T.conversations.c.id).limit(room)
                )
                waiting += [
                    Waiting(conversation_id, rule.id) for conversation_id in found.scalars()
                ]
        waiting.sort(key=lambda w: w.conversation_id)
        return Board(rules, seats, waiting)

    async def _loads(self, agent_ids: Sequence[int]) -> dict[int, int]:
        if not agent_ids:
            return {}
        c = T.conversations
        found = await self.conn.execute(
            select(c.c.assignee_id, func.count())
            .where(c.c.assignee_id.in_(list(agent_ids)), c.c.status == OPEN)
            .group_by(c.c.assignee_id)
        )
        return {agent_id: int(count) for agent_id, count in found}

    async def assign_waiting(self, assignments: Sequence[Assignment]) -> list[Conversation]:
        if not assignments:
            return []
        c = T.conversations
        agent_for = {x.conversation_id: x.agent_id for x in assignments}
        team_for = {x.conversation_id: x.team_id for x in assignments}
        # One statement, and conditional: a conversation an agent took by hand meanwhile, or
        # that moved to another team, is left out.
        found = await self.conn.execute(
            update(c)
            .where(
                c.c.id.in_(list(agent_for)),
                c.c.assignee_id.is_(None),
                c.c.status == OPEN,
                c.c.team_id == case(team_for, value=c.c.id),
            )
            .values(assignee_id=case(agent_for, value=c.c.id), updated_at=now())
            .returning(c)
        )
        done = sorted((rows.conversation(r) for r in found), key=lambda conv: conv.id)
        assigned = {conv.id for conv in done}
        latest: dict[int, datetime] = {}
        for x in assignments:
            if x.conversation_id in assigned:
                latest[x.agent_id] = max(x.at, latest.get(x.agent_id, x.at))
        for agent_id, at in sorted(latest.items()):
            await self.conn.execute(
                update(T.agents).where(T.agents.c.id == agent_id).values(last_assigned_at=at)
            )
        return done

    async def take_conversation(
        self, conversation_id: int, agent_id: int, at: datetime
    ) -> Conversation | None:
        c = T.conversations
        row = (
            await self.conn.execute(
                update(c)
                .where(
                    c.c.id == conversation_id,
                    or_(c.c.assignee_id.is_(None), c.c.assignee_id == agent_id),
                )
                .values(assignee_id=agent_id, updated_at=at)
                .returning(c)
            )
        ).first()
        if row is None:
            return None
        await self.conn.execute(
            update(T.agents).where(T.agents.c.id == agent_id).values(last_assigned_at=at)
        )
        return rows.conversation(row)

    async def agent_load(self, agent_id: int) -> int:
        return (await self._loads([agent_id])).get(agent_id, 0)

    async def get_team(self, team_id: int) -> Team | None:
        row = (await self.conn.execute(select(T.teams).where(T.teams.c.id == team_id))).first()
        if row is None:
            return None
        members = await self.conn.execute(
            select(T.team_members.c.agent_id)
            .where(T.team_members.c.team_id == team_id)
            .order_by(T.team_members.c.agent_id)
        )
        return rows.team(row, tuple(members.scalars()))

    async def agent_team_ids(self, agent_id: int) -> list[int]:
        m = T.team_members
        found = await self.conn.execute(
            select(m.c.team_id).where(m.c.agent_id == agent_id).order_by(m.c.team_id)
        )
        return list(found.scalars())

    async def waiting_team_ids(self) -> list[int]:
        t = T.teams
        found = await self.conn.execute(
            select(t.c.id)
            .where(
                t.c.assignment_mode != AssignmentMode.MANUAL.value,
                exists(_waiting_in(t.c.id).with_only_columns(T.conversations.c.id)),
            )
            .order_by(t.c.id)
        )
        return list(found.scalars())

    async def claim_pending_events(self, event_ids: Sequence[int]) -> list[InboundEvent]:
        if not event_ids:
            return []
        result = await self.conn.execute(_CLAIM, {"ids": list(event_ids), "at": now()})
        return sorted((rows.inbound_event(r) for r in result), key=lambda e: e.id)

    async def record_event_failure(self, event_id: int, error: str, give_up_after: int) -> bool:
        e = T.inbound_events
        attempts = (
            await self.conn.execute(
                update(e)
                .where(e.c.id == event_id, e.c.status == EventStatus.PENDING.value)
                .values(
                    attempts=e.c.attempts + 1,
                    error=error[:2000],
                    status=case(
                        (e.c.attempts + 1 >= give_up_after, EventStatus.FAILED.value),
                        else_=e.c.status,
                    ),
                )
                .returning(e.c.attempts)
            )
        ).scalar_one_or_none()
        return attempts is not None and attempts >= give_up_after

    async def find_customers(
        self, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], tuple[Identity, Conversation | None]]:
        if not pairs:
            return {}
        found: dict[tuple[int, str], tuple[Identity, Conversation | None]] = {}
        for row in await self.conn.execute(_CUSTOMERS, {"pairs": list(set(pairs))}):
            identity = Identity(
                row.identity_id, row.identity_channel_id, row.identity_contact_id, row.external_id
            )
            conversation = rows.conversation(row) if row.id is not None else None
            found[(identity.channel_id, identity.external_id)] = (identity, conversation)
        return found

    async def add_inbound_messages(self, news: Sequence[NewMessage]) -> list[Message | None]:
        if not news:
            return []
        stamp = now()
        values = [_message_values(new, stamp) for new in news]
        inserted: dict[tuple[int, str], Any] = {}
        for row in await self.conn.execute(_INSERT_MESSAGE[self.conn.dialect.name], values):
            inserted[(row.channel_id, row.provider_message_id)] = row
        result: list[Message | None] = []
        for new in news:
            row = inserted.pop((new.channel_id, new.provider_message_id or ""), None)
            if row is None:  # a retry of a message stored before, or twice in this batch
                result.append(None)
                continue
            files = [await self._add_attachment(row.id, ref) for ref in new.attachments]
            result.append(rows.message(row, tuple(files)))
        return result

    async def touch_inbound_many(
        self, touches: Mapping[int, tuple[datetime, int, bool]]
    ) -> dict[int, Conversation]:
        if not touches:
            return {}
        stamp = now()
        await self.conn.execute(
            _TOUCH_MANY,
            [
                {"conversation_id": cid, "at": at, "added": added, "reopen": reopen, "now": stamp}
                for cid, (at, added, reopen) in touches.items()
            ],
        )
        found = await self.conn.execute(_CONVERSATIONS, {"ids": list(touches)})
        return {r.id: rows.conversation(r) for r in found}

    async def get_identity(self, identity_id: int) -> Identity | None:
        row = (
            await self.conn.execute(
                select(T.channel_identities).where(T.channel_identities.c.id == identity_id)
            )
        ).first()
        return rows.identity(row) if row else None

    async def set_opted_out(self, changes: Mapping[int, datetime | None]) -> None:
        for identity_id, since in changes.items():
            await self.conn.execute(
                update(T.channel_identities)
                .where(T.channel_identities.c.id == identity_id)
                .values(opted_out_at=since)
            )

    async def fill_contacts(self, told: Mapping[int, NewContact]) -> None:
        if told:
            await self.conn.execute(
                _FILL_CONTACT,
                [
                    {"contact_id": cid, "n": c.name or None, "e": c.email, "p": c.phone}
                    for cid, c in told.items()
                ],
            )

    async def create_customers(
        self, customers: Mapping[tuple[int, str], NewContact]
    ) -> dict[tuple[int, str], Identity]:
        if not customers:
            return {}
        keys = list(customers)
        # The contacts' ids are chosen first so that each identity row can name its contact:
        # a multi-row INSERT ... RETURNING does not promise its rows in the order given.
        contact_ids = await self._new_contact_ids(len(keys))
        stamp = now()
        await self.conn.execute(
            insert(T.contacts),
            [
                {
                    "id": contact_id,
                    "name": customers[key].name,
                    "email": customers[key].email,
                    "phone": customers[key].phone,
                    "created_at": stamp,
                }
                for key, contact_id in zip(keys, contact_ids, strict=True)
            ],
        )
        # Another process may be creating some of these customers right now: its identity
        # wins, ours is skipped (no error, so the rest of this transaction stands).
        created: dict[tuple[int, str], Identity] = {}
        result = await self.conn.execute(
            _INSERT_IDENTITY[self.conn.dialect.name],
            [
                {"channel_id": channel_id, "external_id": external_id, "contact_id": contact_id}
                for (channel_id, external_id), contact_id in zip(keys, contact_ids, strict=True)
            ],
        )
        for row in result:
            created[(row.channel_id, row.external_id)] = rows.identity(row)
        orphans = [cid for key, cid in zip(keys, contact_ids, strict=True) if key not in created]
        if orphans:
            await self.conn.execute(delete(T.contacts).where(T.contacts.c.id.in_(orphans)))
        return created

    async def _new_contact_ids(self, count: int) -> list[int]:
        if self.conn.dialect.name == "postgresql":
            result = await self.conn.execute(_NEXT_CONTACT_IDS, {"count": count})
            return sorted(result.scalars())
        # SQLite: this transaction holds the database's write lock (BEGIN IMMEDIATE), so no
        # other writer can take these ids before the commit.
        top = (await self.conn.execute(_TOP_CONTACT_ID)).scalar_one()
        return list(range(top + 1, top + 1 + count))

    async def get_conversation(
        self, conversation_id: int, *, lock: bool = False
    ) -> Conversation | None:
        query = select(T.conversations).where(T.conversations.c.id == conversation_id)
        if lock:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return rows.conversation(row) if row else None

    async def create_conversations(self, news: Sequence[NewConversation]) -> list[Conversation]:
        if not news:
            return []
        stamp = now()
        result = await self.conn.execute(
            _INSERT_CONVERSATION,
            [
                {
                    "channel_id": new.channel_id,
                    "contact_id": new.contact_id,
                    "identity_id": new.identity_id,
                    "team_id": new.team_id,
                    "status": "open",
                    "unread_count": 0,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for new in news
            ],
        )
        by_identity = {row.identity_id: rows.conversation(row) for row in result}
        return [by_identity[new.identity_id] for new in news]

    async def update_conversation(self, conversation_id: int, **changes: Any) -> Conversation:
        values = {k: getattr(v, "value", v) for k, v in changes.items()}
        if "unread_increment" in values:
            values["unread_count"] = T.conversations.c.unread_count + values.pop("unread_increment")
        values.setdefault("updated_at", now())
        row = (
            await self.conn.execute(
                update(T.conversations)
                .where(T.conversations.c.id == conversation_id)
                .values(**values)
                .returning(T.conversations)
            )
        ).first()
        if row is None:
            raise NotFound(f"conversation {conversation_id}")
        return rows.conversation(row)

    async def add_message(self, new: NewMessage) -> Message | None:
        values = _message_values(new, now())
        row = (await self.conn.execute(_INSERT_MESSAGE[self.conn.dialect.name], values)).first()
        if row is None:
            return None
        files = [await self._add_attachment(row.id, ref) for ref in new.attachments]
        return rows.message(row, tuple(files))

    async def _add_attachment(self, message_id: int, ref: AttachmentRef) -> Attachment:
        row = (
            await self.conn.execute(
                insert(T.attachments)
                .values(
                    message_id=message_id,
                    kind=ref.kind.value,
                    filename=ref.filename,
                    content_type=ref.content_type,
                    size=ref.size,
                    storage_key=ref.storage_key,
                    provider_ref=ref.provider_ref,
                )
                .returning(T.attachments)
            )
        ).one()
        return rows.attachment(row)

    async def _attachments(self, message_id: int) -> tuple[Attachment, ...]:
        result = await self.conn.execute(
            select(T.attachments)
            .where(T.attachments.c.message_id == message_id)
            .order_by(T.attachments.c.id)
        )
        return tuple(rows.attachment(r) for r in result)

    async def get_message(self, message_id: int, *, lock: bool = False) -> Message | None:
        query = select(T.messages).where(T.messages.c.id == message_id)
        if lock:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return rows.message(row, await self._attachments(row.id)) if row else None

    async def find_outbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None:
        return await self._by_provider_id(channel_id, provider_message_id, "out")

    async def find_inbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None:
        return await self._by_provider_id(channel_id, provider_message_id, "in")

    async def _by_provider_id(
        self, channel_id: int, provider_message_id: str, direction: str
    ) -> Message | None:
        row = (
            await self.conn.execute(
                select(T.messages).where(
                    T.messages.c.channel_id == channel_id,
                    T.messages.c.direction == direction,
                    T.messages.c.provider_message_id == provider_message_id,
                )
            )
        ).first()
        return rows.message(row) if row else None

    async def conversation_of_messages(
        self, channel_id: int, provider_message_ids: Sequence[str]
    ) -> Conversation | None:
        if not provider_message_ids:
            return None
        newest = (
            select(T.messages.c.conversation_id)
            .where(
                T.messages.c.channel_id == channel_id,
                # Both directions named, so the unique key on (channel, direction, provider id)
                # serves the lookup instead of a scan of the channel's messages.
                T.messages.c.direction.in_(("in", "out")),
                T.messages.c.provider_message_id.in_(list(provider_message_ids)),
            )
            .order_by(T.messages.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await self.conn.execute(select(T.conversations).where(T.conversations.c.id == newest))
        ).first()
        return rows.conversation(row) if row else None

    async def thread_facts(self, conversation_id: int, limit: int) -> tuple[list[str], str]:
        found = await self.conn.execute(
            select(T.messages.c.provider_message_id, T.messages.c.data)
            .where(T.messages.c.conversation_id == conversation_id)
            .order_by(T.messages.c.id)
            .limit(limit)
        )
        ids: list[str] = []
        title = ""
        for provider_id, data in found:
            if provider_id:
                ids.append(provider_id)
            if not title and isinstance(data, dict):
                title = str(data.get(THREAD_TITLE) or "")
        return ids, title

    async def team_ids(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        found = await self.conn.execute(
            select(T.teams.c.name, T.teams.c.id).where(T.teams.c.name.in_(set(names)))
        )
        return {row.name: row.id for row in found}

    async def update_message(self, message_id: int, **changes: Any) -> Message:
        values = {k: getattr(v, "value", v) for k, v in changes.items()}
        values.setdefault("updated_at", now())
        row = (
            await self.conn.execute(
                update(T.messages)
                .where(T.messages.c.id == message_id)
                .values(**values)
                .returning(T.messages)
            )
        ).first()
        if row is None:
            raise NotFound(f"message {message_id}")
        return rows.message(row, await self._attachments(message_id))

    async def add_delivery(
        self,
        message_id: int,
        attempt: int,
        status: MessageStatus,
        error: str | None,
        provider_message_id: str | None,
    ) -> None:
        await self.conn.execute(
            insert(T.deliveries).values(
                message_id=message_id,
                attempt=attempt,
                status=status.value,
                error=error,
                provider_message_id=provider_message_id,
                created_at=now(),
            )
        )

    async def count_deliveries(self, message_id: int) -> int:
        result = await self.conn.execute(
            select(func.count()).where(T.deliveries.c.message_id == message_id)
        )
        return int(result.scalar_one())

    async def get_attachment(self, attachment_id: int) -> Attachment | None:
        row = (
            await self.conn.execute(
                select(T.attachments).where(T.attachments.c.id == attachment_id)
            )
        ).first()
        return rows.attachment(row) if row else None

    async def update_attachment(self, attachment_id: int, **changes: Any) -> Attachment:
        row = (
            await self.conn.execute(
                update(T.attachments)
                .where(T.attachments.c.id == attachment_id)
                .values(**changes)
                .returning(T.attachments)
            )
        ).first()
        if row is None:
            raise NotFound(f"attachment {attachment_id}")
        return rows.attachment(row)

    async def unfinished_event_ids(self, older_than: datetime, limit: int) -> list[int]:
        result = await self.conn.execute(
            select(T.inbound_events.c.id)
            .where(
                T.inbound_events.c.status == EventStatus.PENDING.value,
                T.inbound_events.c.received_at < older_than,
            )
            .order_by(T.inbound_events.c.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def requeue_failed_events(self, event_ids: Sequence[int] | None, limit: int) -> list[int]:
        return await self._change_failed(
            event_ids,
            limit,
            status=EventStatus.PENDING.value,
            attempts=0,
            error=None,
            processed_at=None,
        )

    async def dismiss_failed_events(self, event_ids: Sequence[int]) -> list[int]:
        return await self._change_failed(
            event_ids, len(event_ids), status=EventStatus.DISMISSED.value
        )

    async def _change_failed(
        self, event_ids: Sequence[int] | None, limit: int, **values: Any
    ) -> list[int]:
        e = T.inbound_events
        chosen = (
            select(e.c.id)
            .where(e.c.status == EventStatus.FAILED.value)
            .order_by(e.c.id)
            .limit(limit)
        )
        if event_ids is not None:
            if not event_ids:
                return []
            chosen = chosen.where(e.c.id.in_(list(event_ids)))
        changed = await self.conn.execute(
            # The status again: a concurrent change (another admin) leaves the row alone.
            update(e)
            .where(e.c.id.in_(chosen), e.c.status == EventStatus.FAILED.value)
            .values(**values)
            .returning(e.c.id)
        )
        return sorted(changed.scalars())

    async def queued_message_ids(self, older_than: datetime, limit: int) -> list[int]:
        result = await self.conn.execute(
            select(T.messages.c.id)
            .where(
                T.messages.c.status == MessageStatus.QUEUED.value,
                T.messages.c.updated_at < older_than,
            )
            .order_by(T.messages.c.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def fail_stale_attachments(
        self, received_before: datetime, failure: dict[str, Any], limit: int
    ) -> list[int]:
        stale = (
            select(T.attachments.c.id)
            .join(T.messages, T.messages.c.id == T.attachments.c.message_id)
            .where(
                T.attachments.c.storage_key.is_(None),
                T.attachments.c.provider_ref.is_not(None),
                T.attachments.c.failure.is_(None),
                T.messages.c.created_at < received_before,
            )
            .limit(limit)
        )
        ids = list((await self.conn.execute(stale)).scalars())
        if not ids:
            return []
        result = await self.conn.execute(
            update(T.attachments)
            .where(T.attachments.c.id.in_(ids))
            .values(failure=failure)
            .returning(T.attachments.c.message_id)
        )
        return sorted(set(result.scalars()))

    async def pending_attachment_ids(self, older_than: datetime, limit: int) -> list[int]:
        result = await self.conn.execute(
            select(T.attachments.c.id)
            .join(T.messages, T.messages.c.id == T.attachments.c.message_id)
            .where(
                T.attachments.c.storage_key.is_(None),
                T.attachments.c.provider_ref.is_not(None),
                T.attachments.c.failure.is_(None),
                T.messages.c.created_at < older_than,
            )
            .order_by(T.attachments.c.id)
            .limit(limit)
        )
        return list(result.scalars())


OPEN = ConversationStatus.OPEN.value


def _waiting_in(team_id: Any) -> Any:
    """A team's waiting conversations, oldest first: nobody has them and they are open."""
    c = T.conversations
    return (
        select(c)
        .where(c.c.team_id == team_id, c.c.assignee_id.is_(None), c.c.status == OPEN)
        .order_by(c.c.id)
    )


_INSERT_IDENTITY = {
    "postgresql": postgresql.insert(T.channel_identities)
    .on_conflict_do_nothing()
    .returning(T.channel_identities),
    "sqlite": sqlite.insert(T.channel_identities)
    .on_conflict_do_nothing()
    .returning(T.channel_identities),
}
_INSERT_CONVERSATION = insert(T.conversations).returning(T.conversations)
_NEXT_CONTACT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) FROM generate_series(1, :count)"
)
_TOP_CONTACT_ID = select(func.coalesce(func.max(T.contacts.c.id), 0))

#: Built once per dialect; a retried provider message hits the unique key and adds nothing.
_INSERT_MESSAGE = {
    "postgresql": postgresql.insert(T.messages).on_conflict_do_nothing().returning(T.messages),
    "sqlite": sqlite.insert(T.messages).on_conflict_do_nothing().returning(T.messages),
}


_Pending = tuple[int, Sequence[Inbound], "asyncio.Future[list[AcceptedEvent]]"]


class SqlStore:
    """``unit()`` for the domain's transactions; ``accept_events`` commits in groups.

    Concurrent accepts wait for one shared commit instead of one commit each: a webhook's
    answer still waits for durability, but a busy channel no longer pays a disk flush per event.
    """

    def __init__(
        self,
        engines: Engines,
        box: SecretBox,
        *,
        max_batch: int = 500,
        channels: ChannelCache | None = None,
    ) -> None:
        self.engines = engines
        self.box = box
        #: shared with the directory, which forgets a channel it changes
        self.channels = channels or ChannelCache()
        self._max_batch = max_batch
        self._pending: asyncio.Queue[_Pending] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._waiting = 0
        self._peak = 0

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        async with self.engines.write.connect() as conn:
            await conn.begin()
            try:
                yield SqlUnit(conn, self.box, self.channels)
            finally:
                if conn.in_transaction():
                    await conn.rollback()

    async def accept_events(
        self, channel_id: int, events: Sequence[Inbound]
    ) -> list[AcceptedEvent]:
        if not events:
            return []
        if self._pending is None or self._writer is None or self._writer.done():
            self._pending = asyncio.Queue()
            self._writer = asyncio.create_task(self._write_batches(self._pending))
        future: asyncio.Future[list[AcceptedEvent]] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait((channel_id, events, future))
        self._waiting += 1
        self._peak = max(self._peak, self._waiting)
        try:
            return await future
        finally:
            self._waiting -= 1

    def accepts_waiting_peak(self) -> int:
        peak, self._peak = self._peak, self._waiting
        return peak

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    async def _write_batches(self, pending: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await pending.get()]
            while not pending.empty() and len(batch) < self._max_batch:
                batch.append(pending.get_nowait())
            try:
                results = await self._write(batch)
            except Exception as exc:  # every waiter learns of the failure; none is told "stored"
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write_events(self, events: list[RawEvent]) -> Written:
        try:
            return await self._write_once(events)
        except Exception:
            # A connection the database dropped (a restart) was replaced by now, and writing
            # again is safe: the insert skips events stored already.
            log.warning("accept write failed; trying a new connection", exc_info=True)
            return await self._write_once(events)

    async def _write_once(self, events: list[RawEvent]) -> Written:
        async with self.engines.write.connect() as conn:
            try:
                return await write_events(conn, events, now())
            except Exception:
                # Driver calls bypass SQLAlchemy's disconnect detection: drop the connection.
                await conn.invalidate()
                raise

    async def _write(self, batch: list[_Pending]) -> list[list[AcceptedEvent]]:
        events = [
            RawEvent(channel_id, item.provider_event_id, item.model_dump_json())
            for channel_id, items, _ in batch
            for item in items
        ]
        written = await self._write_events(events)
        created, existing = written.created, written.existing
        results: list[list[AcceptedEvent]] = []
        claimed: set[tuple[int, str]] = set()
        for channel_id, items, _ in batch:
            accepted = []
            for item in items:
                key = (channel_id, item.provider_event_id)
                if key in created and key not in claimed:
                    claimed.add(key)
                    accepted.append(AcceptedEvent(created[key], created=True))
                else:
                    accepted.append(AcceptedEvent(created.get(key) or existing[key], created=False))
            results.append(accepted)
        return results
