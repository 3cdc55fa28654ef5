"""An in-memory store with real transaction semantics, for the pipeline's unit tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hub.domain.errors import NotFound
from hub.domain.model import (
    THREAD_TITLE,
    AssignmentMode,
    ConversationStatus,
    EventStatus,
    Inbound,
    MessageStatus,
    PresenceStatus,
    Role,
)
from hub.domain.ports import AcceptedEvent, NewContact, NewConversation, NewMessage
from hub.domain.records import (
    Agent,
    Attachment,
    Channel,
    Contact,
    Conversation,
    Identity,
    InboundEvent,
    Message,
    Team,
)
from hub.domain.routing import Assignment, Board, Seat, TeamRule, Waiting, capacity_of


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Tables:
    channels: dict[int, Channel] = field(default_factory=dict)
    agents: dict[int, Agent] = field(default_factory=dict)
    events: dict[int, InboundEvent] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    identities: dict[int, Identity] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    attachments: dict[int, Attachment] = field(default_factory=dict)
    deliveries: list[tuple[int, int, MessageStatus, str | None]] = field(default_factory=list)
    teams: dict[int, Team] = field(default_factory=dict)
    presence_intervals: list[PresenceInterval] = field(default_factory=list)
    #: when each agent was last given a conversation (the agents table's last_assigned_at)
    last_assigned: dict[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class PresenceInterval:
    agent_id: int
    status: PresenceStatus
    started_at: datetime
    ended_at: datetime | None = None


class FakeUnit:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.t = copy.deepcopy(store.tables)

    async def commit(self) -> None:
        self._store.tables = self.t
        self._store.commits += 1
        self.t = copy.deepcopy(self.t)

    async def get_channel(self, channel_id: int) -> Channel | None:
        return self.t.channels.get(channel_id)

    async def active_channels(self) -> list[Channel]:
        return [c for _, c in sorted(self.t.channels.items()) if c.active]

    async def get_agent(self, agent_id: int) -> Agent | None:
        return self.t.agents.get(agent_id)

    async def lock_agent(self, agent_id: int) -> Agent | None:
        return self.t.agents.get(agent_id)

    async def list_agents(self) -> list[Agent]:
        return [agent for _, agent in sorted(self.t.agents.items())]

    async def update_agent(self, agent_id: int, **changes: Any) -> Agent:
        agent = self.t.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id}")
        agent = replace(agent, **changes)
        self.t.agents[agent_id] = agent
        return agent

    async def set_presence(self, agent_id: int, status: PresenceStatus, at: datetime) -> Agent:
        self.t.presence_intervals = [
            replace(i, ended_at=at) if i.agent_id == agent_id and i.ended_at is None else i
            for i in self.t.presence_intervals
        ]
        self.t.presence_intervals.append(PresenceInterval(agent_id, status, at))
        return await self.update_agent(agent_id, presence=status)

    def _waiting(self, team_id: int) -> list[Conversation]:
        return sorted(
            (
                c
                for c in self.t.conversations.values()
                if c.team_id == team_id
                and c.assignee_id is None
                and c.status == ConversationStatus.OPEN
            ),
            key=lambda c: c.id,
        )

    def _load(self, agent_id: int) -> int:
        return sum(
            1
            for c in self.t.conversations.values()
            if c.assignee_id == agent_id and c.status == ConversationStatus.OPEN
        )

    async def routing_board(self, team_ids: Sequence[int]) -> Board:
        auto = [
            self.t.teams[i]
            for i in sorted(set(team_ids))
            if i in self.t.teams and self.t.teams[i].assignment_mode != AssignmentMode.MANUAL
        ]
        seats = {
            agent.id: Seat(
                agent.id, agent.capacity, self._load(agent.id), self.t.last_assigned.get(agent.id)
            )
            for team in auto
            for agent in (self.t.agents.get(i) for i in team.agent_ids)
            if agent is not None and agent.active and agent.presence == PresenceStatus.ONLINE
        }
        rules = {
            team.id: TeamRule(
                team.id,
                team.assignment_mode,
                team.agent_capacity,
                tuple(sorted(i for i in team.agent_ids if i in seats)),
            )
            for team in auto
        }
        waiting: list[Waiting] = []
        for rule in rules.values():
            room = sum(max(0, capacity_of(seats[i], rule) - seats[i].load) for i in rule.agent_ids)
            waiting += [Waiting(c.id, rule.id) for c in self._waiting(rule.id)[:room]]
        return Board(rules, seats, sorted(waiting, key=lambda w: w.conversation_id))

    async def assign_waiting(self, assignments: Sequence[Assignment]) -> list[Conversation]:
        done = []
        for x in assignments:
            conv = self.t.conversations.get(x.conversation_id)
            if conv is None or conv not in self._waiting(x.team_id):
                continue
            done.append(await self.update_conversation(conv.id, assignee_id=x.agent_id))
            self.t.last_assigned[x.agent_id] = max(x.at, self.t.last_assigned.get(x.agent_id, x.at))
        return sorted(done, key=lambda c: c.id)

    async def take_conversation(
        self, conversation_id: int, agent_id: int, at: datetime
    ) -> Conversation | None:
        conv = self.t.conversations.get(conversation_id)
        if conv is None or conv.assignee_id not in (None, agent_id):
            return None
        self.t.last_assigned[agent_id] = at
        return await self.update_conversation(conversation_id, assignee_id=agent_id)

    async def agent_load(self, agent_id: int) -> int:
        return self._load(agent_id)

    async def get_team(self, team_id: int) -> Team | None:
        return self.t.teams.get(team_id)

    async def agent_team_ids(self, agent_id: int) -> list[int]:
        return sorted(t.id for t in self.t.teams.values() if agent_id in t.agent_ids)

    async def waiting_team_ids(self) -> list[int]:
        return sorted(
            t.id
            for t in self.t.teams.values()
            if t.assignment_mode != AssignmentMode.MANUAL and self._waiting(t.id)
        )

    async def claim_pending_events(self, event_ids: Sequence[int]) -> list[InboundEvent]:
        claimed = []
        for i in sorted(event_ids):
            event = self.t.events.get(i)
            if event is None or event.status != EventStatus.PENDING:
                continue
            done = replace(event, status=EventStatus.DONE, attempts=event.attempts + 1)
            self.t.events[i] = done
            claimed.append(done)
        return claimed

    async def record_event_failure(self, event_id: int, error: str, give_up_after: int) -> bool:
        event = self.t.events[event_id]
        if event.status != EventStatus.PENDING:
            return False
        attempts = event.attempts + 1
        status = EventStatus.FAILED if attempts >= give_up_after else event.status
        self.t.events[event_id] = replace(event, attempts=attempts, status=status)
        return status == EventStatus.FAILED

    async def find_customers(
        self, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], tuple[Identity, Conversation | None]]:
        found: dict[tuple[int, str], tuple[Identity, Conversation | None]] = {}
        for channel_id, external_id in set(pairs):
            identity = self._find_identity(channel_id, external_id)
            if identity is None:
                continue
            mine = [c for c in self.t.conversations.values() if c.identity_id == identity.id]
            found[(channel_id, external_id)] = (
                identity,
                max(mine, key=lambda c: c.id) if mine else None,
            )
        return found

    async def add_inbound_messages(self, news: Sequence[NewMessage]) -> list[Message | None]:
        return [await self.add_message(new) for new in news]

    async def touch_inbound_many(
        self, touches: Mapping[int, tuple[datetime, int, bool]]
    ) -> dict[int, Conversation]:
        result = {}
        for cid, (at, added, reopen) in touches.items():
            changes: dict[str, Any] = {
                "last_message_at": at,
                "last_inbound_at": at,
                "unread_increment": added,
            }
            if reopen:
                changes["status"] = ConversationStatus.OPEN
            result[cid] = await self.update_conversation(cid, **changes)
        return result

    def _find_identity(self, channel_id: int, external_id: str) -> Identity | None:
        return next(
            (
                i
                for i in self.t.identities.values()
                if i.channel_id == channel_id and i.external_id == external_id
            ),
            None,
        )

    async def _create_contact(
        self, name: str, email: str | None = None, phone: str | None = None
    ) -> Contact:
        contact = Contact(self._store.next_id(), name, email, phone, now())
        self.t.contacts[contact.id] = contact
        return contact

    async def get_identity(self, identity_id: int) -> Identity | None:
        return self.t.identities.get(identity_id)

    async def set_opted_out(self, changes: Mapping[int, datetime | None]) -> None:
        for identity_id, since in changes.items():
            identity = self.t.identities[identity_id]
            self.t.identities[identity_id] = replace(identity, opted_out_at=since)

    async def fill_contacts(self, told: Mapping[int, NewContact]) -> None:
        for contact_id, c in told.items():
            contact = self.t.contacts[contact_id]
            self.t.contacts[contact_id] = replace(
                contact,
                name=c.name or contact.name,
                email=c.email or contact.email,
                phone=c.phone or contact.phone,
            )

    async def create_customers(
        self, customers: Mapping[tuple[int, str], NewContact]
    ) -> dict[tuple[int, str], Identity]:
        created: dict[tuple[int, str], Identity] = {}
        for (channel_id, external_id), contact in customers.items():
            if self._find_identity(channel_id, external_id) is not None:
                continue
            person = await self._create_contact(contact.name, contact.email, contact.phone)
            identity = Identity(self._store.next_id(), channel_id, person.id, external_id)
            self.t.identities[identity.id] = identity
            created[(channel_id, external_id)] = identity
        return created

    async def get_conversation(
        self, conversation_id: int, *, lock: bool = False
    ) -> Conversation | None:
        return self.t.conversations.get(conversation_id)

    async def create_conversations(self, news: Sequence[NewConversation]) -> list[Conversation]:
        return [self._create_conversation(new) for new in news]

    def _create_conversation(self, new: NewConversation) -> Conversation:
        stamp = now()
        conv = Conversation(
            id=self._store.next_id(),
            channel_id=new.channel_id,
            contact_id=new.contact_id,
            identity_id=new.identity_id,
            status=ConversationStatus.OPEN,
            assignee_id=None,
            team_id=new.team_id,
            unread_count=0,
            last_message_at=None,
            last_inbound_at=None,
            first_response_at=None,
            resolved_at=None,
            created_at=stamp,
            updated_at=stamp,
        )
        self.t.conversations[conv.id] = conv
        return conv

    async def update_conversation(self, conversation_id: int, **changes: Any) -> Conversation:
        conv = self.t.conversations.get(conversation_id)
        if conv is None:
            raise NotFound(f"conversation {conversation_id}")
        if "unread_increment" in changes:
            changes["unread_count"] = conv.unread_count + changes.pop("unread_increment")
        conv = replace(conv, updated_at=now(), **changes)
        self.t.conversations[conversation_id] = conv
        return conv

    async def add_message(self, new: NewMessage) -> Message | None:
        if new.provider_message_id is not None and any(
            m.channel_id == new.channel_id
            and m.direction == new.direction
            and m.provider_message_id == new.provider_message_id
            for m in self.t.messages.values()
        ):
            return None
        stamp = new.created_at or now()
        message_id = self._store.next_id()
        files = []
        for ref in new.attachments:
            item = Attachment(
                self._store.next_id(),
                message_id,
                ref.kind,
                ref.filename,
                ref.content_type,
                ref.size,
                ref.storage_key,
                ref.provider_ref,
            )
            self.t.attachments[item.id] = item
            files.append(item)
        message = Message(
            id=message_id,
            conversation_id=new.conversation_id,
            channel_id=new.channel_id,
            direction=new.direction,
            sender_type=new.sender_type,
            sender_agent_id=new.sender_agent_id,
            kind=new.kind,
            text=new.text,
            data=dict(new.data),
            private=new.private,
            status=new.status,
            provider_message_id=new.provider_message_id,
            error=None,
            created_at=stamp,
            updated_at=stamp,
            attachments=tuple(files),
        )
        self.t.messages[message.id] = message
        return message

    def _with_files(self, message: Message) -> Message:
        files = tuple(a for a in self.t.attachments.values() if a.message_id == message.id)
        return replace(message, attachments=files)

    async def get_message(self, message_id: int, *, lock: bool = False) -> Message | None:
        found = self.t.messages.get(message_id)
        return self._with_files(found) if found else None

    async def find_outbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None:
        return self._by_provider_id(channel_id, provider_message_id, "out")

    async def find_inbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None:
        return self._by_provider_id(channel_id, provider_message_id, "in")

    def _by_provider_id(
        self, channel_id: int, provider_message_id: str, direction: str
    ) -> Message | None:
        return next(
            (
                m
                for m in self.t.messages.values()
                if m.channel_id == channel_id
                and m.direction.value == direction
                and m.provider_message_id == provider_message_id
            ),
            None,
        )

    async def conversation_of_messages(
        self, channel_id: int, provider_message_ids: Sequence[str]
    ) -> Conversation | None:
        matching = [
            m
            for m in self.t.messages.values()
            if m.channel_id == channel_id and m.provider_message_id in provider_message_ids
        ]
        if not matching:
            return None
        return self.t.conversations[max(matching, key=lambda m: m.id).conversation_id]

    async def thread_facts(self, conversation_id: int, limit: int) -> tuple[list[str], str]:
        mine = sorted(
            (m for m in self.t.messages.values() if m.conversation_id == conversation_id),
            key=lambda m: m.id,
        )[:limit]
        titles = [str(m.data[THREAD_TITLE]) for m in mine if m.data.get(THREAD_TITLE)]
        return [m.provider_message_id for m in mine if m.provider_message_id], (titles or [""])[0]

    async def team_ids(self, names: Sequence[str]) -> dict[str, int]:
        return {t.name: t.id for t in self.t.teams.values() if t.name in names}

    async def update_message(self, message_id: int, **changes: Any) -> Message:
        message = self.t.messages.get(message_id)
        if message is None:
            raise NotFound(f"message {message_id}")
        message = replace(message, updated_at=now(), **changes)
        self.t.messages[message_id] = message
        return self._with_files(message)

    async def add_delivery(
        self,
        message_id: int,
        attempt: int,
        status: MessageStatus,
        error: str | None,
        provider_message_id: str | None,
    ) -> None:
        self.t.deliveries.append((message_id, attempt, status, error))

    async def count_deliveries(self, message_id: int) -> int:
        return sum(1 for d in self.t.deliveries if d[0] == message_id)

    async def get_attachment(self, attachment_id: int) -> Attachment | None:
        return self.t.attachments.get(attachment_id)

    async def update_attachment(self, attachment_id: int, **changes: Any) -> Attachment:
        item = replace(self.t.attachments[attachment_id], **changes)
        self.t.attachments[attachment_id] = item
        return item

    async def unfinished_event_ids(self, older_than: datetime, limit: int) -> list[int]:
        return [
            e.id
            for e in self.t.events.values()
            if e.status == EventStatus.PENDING and e.received_at < older_than
        ][:limit]

    async def requeue_failed_events(self, event_ids: Sequence[int] | None, limit: int) -> list[int]:
        return self._change_failed(event_ids, limit, EventStatus.PENDING, attempts=0)

    async def dismiss_failed_events(self, event_ids: Sequence[int]) -> list[int]:
        return self._change_failed(event_ids, len(event_ids), EventStatus.DISMISSED)

    def _change_failed(
        self, event_ids: Sequence[int] | None, limit: int, status: EventStatus, **changes: Any
    ) -> list[int]:
        wanted = None if event_ids is None else set(event_ids)
        ids = sorted(
            e.id
            for e in self.t.events.values()
            if e.status == EventStatus.FAILED and (wanted is None or e.id in wanted)
        )[:limit]
        for event_id in ids:
            self.t.events[event_id] = replace(self.t.events[event_id], status=status, **changes)
        return ids

    async def queued_message_ids(self, older_than: datetime, limit: int) -> list[int]:
        return [
            m.id
            for m in self.t.messages.values()
            if m.status == MessageStatus.QUEUED and m.updated_at < older_than
        ][:limit]

    async def pending_attachment_ids(self, older_than: datetime, limit: int) -> list[int]:
        return [
            a.id
            for a in self.t.attachments.values()
            if a.storage_key is None and a.provider_ref and a.failure is None
        ][:limit]

    async def fail_stale_attachments(
        self, received_before: datetime, failure: dict[str, Any], limit: int
    ) -> list[int]:
        stale = [
            a
            for a in self.t.attachments.values()
            if a.storage_key is None
            and a.provider_ref
            and a.failure is None
            and self.t.messages[a.message_id].created_at < received_before
        ][:limit]
        for a in stale:
            self.t.attachments[a.id] = replace(a, failure=failure)
        return sorted({a.message_id for a in stale})


class FakeStore:
    def __init__(self) -> None:
        self.tables = _Tables()
        self.commits = 0
        #: what ``accepts_waiting_peak`` reports: set it to play a process under a burst
        self.pressing = 0
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[FakeUnit]:
        yield FakeUnit(self)

    async def accept_events(
        self, channel_id: int, events: Sequence[Inbound]
    ) -> list[AcceptedEvent]:
        result = []
        for item in events:
            existing = next(
                (
                    e
                    for e in self.tables.events.values()
                    if e.channel_id == channel_id and e.provider_event_id == item.provider_event_id
                ),
                None,
            )
            if existing is not None:
                result.append(AcceptedEvent(existing.id, created=False))
                continue
            event = InboundEvent(
                id=self.next_id(),
                channel_id=channel_id,
                provider_event_id=item.provider_event_id,
                payload=item.model_dump(mode="json"),
                status=EventStatus.PENDING,
                attempts=0,
                received_at=now(),
            )
            self.tables.events[event.id] = event
            result.append(AcceptedEvent(event.id, created=True))
        return result

    def accepts_waiting_peak(self) -> int:
        return self.pressing

    def add_channel(self, kind: str = "fake", name: str = "Shop") -> Channel:
        channel = Channel(
            self.next_id(), kind, name, f"key{len(self.tables.channels)}", {}, None, True, now()
        )
        self.tables.channels[channel.id] = channel
        return channel

    def add_team(self, name: str, agent_ids: tuple[int, ...] = (), **routing: Any) -> Team:
        team = Team(self.next_id(), name, agent_ids, **routing)
        self.tables.teams[team.id] = team
        return team

    def add_agent(self, name: str = "Li Na") -> Agent:
        agent = Agent(
            self.next_id(),
            f"{name.lower().replace(' ', '.')}@shop.test",
            name,
            Role.AGENT,
            True,
            "",
            now(),
        )
        self.tables.agents[agent.id] = agent
        return agent
