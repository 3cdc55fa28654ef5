"""What the domain needs from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hub.domain.events import HubEvent
from hub.domain.model import (
    AttachmentRef,
    Direction,
    Inbound,
    MessageKind,
    MessageStatus,
    PresenceStatus,
    SenderType,
)
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
from hub.domain.routing import Assignment, Board


@dataclass(frozen=True)
class NewMessage:
    conversation_id: int
    channel_id: int
    direction: Direction
    sender_type: SenderType
    kind: MessageKind
    text: str
    status: MessageStatus
    sender_agent_id: int | None = None
    private: bool = False
    provider_message_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[AttachmentRef, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewContact:
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NewConversation:
    channel_id: int
    contact_id: int
    identity_id: int
    team_id: int | None = None


@dataclass(frozen=True)
class AcceptedEvent:
    event_id: int
    created: bool


class Unit(Protocol):
    """One transaction. Leaving the block without ``commit`` rolls everything back."""

    async def commit(self) -> None: ...

    async def get_channel(self, channel_id: int) -> Channel | None: ...
    async def active_channels(self) -> list[Channel]: ...
    async def get_agent(self, agent_id: int) -> Agent | None: ...
    async def lock_agent(self, agent_id: int) -> Agent | None:
        """The agent, with their row locked until this transaction ends."""
        ...

    async def list_agents(self) -> list[Agent]: ...
    async def update_agent(self, agent_id: int, **changes: Any) -> Agent: ...
    async def set_presence(self, agent_id: int, status: PresenceStatus, at: datetime) -> Agent:
        """Store the agent's presence from ``at`` on: their open interval ends and one with
        ``status`` starts."""
        ...

    async def routing_board(self, team_ids: Sequence[int]) -> Board:
        """Lock the teams' rows, then their agents' (each in id order, so that routings of
        overlapping teams never deadlock), and read what routing decides on: the teams in an
        automatic mode, those of their agents who may be given conversations now (active and
        online) with their loads, and each team's oldest waiting conversations, as many as
        its agents have room for."""
        ...

    async def assign_waiting(self, assignments: Sequence[Assignment]) -> list[Conversation]:
        """Assign each conversation that still waits in its team (nobody has it, it is open);
        the others are left out. The agents' ``last_assigned_at`` follow."""
        ...

    async def take_conversation(
        self, conversation_id: int, agent_id: int, at: datetime
    ) -> Conversation | None:
        """Assign the conversation to the agent unless another agent has it, in one
        conditional update: of two agents taking it at once, one gets it, the other
        ``None``."""
        ...

    async def agent_team_ids(self, agent_id: int) -> list[int]: ...
    async def agent_load(self, agent_id: int) -> int:
        """The open conversations assigned to the agent, in every team."""
        ...

    async def get_team(self, team_id: int) -> Team | None: ...
    async def waiting_team_ids(self) -> list[int]:
        """The teams in an automatic mode that have conversations waiting."""
        ...

    async def claim_pending_events(self, event_ids: Sequence[int]) -> list[InboundEvent]:
        """Mark the events among these still pending as done, by id, and return them.

        The claim is part of this transaction: a concurrent claim of the same events waits for
        it and gets nothing, and if this transaction rolls back they are pending again.
        """
        ...

    async def record_event_failure(self, event_id: int, error: str, give_up_after: int) -> bool:
        """Count a failed attempt; after ``give_up_after`` the event is failed for good (True)
        and the sweeper stops retrying it."""
        ...

    async def find_customers(
        self, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], tuple[Identity, Conversation | None]]:
        """The known customers among (channel id, external id) pairs, with their newest
        conversation."""
        ...

    async def add_inbound_messages(self, news: Sequence[NewMessage]) -> list[Message | None]:
        """Store customers' messages at once; ``None`` where the provider id is stored already
        (a retry, or the same message twice in ``news``)."""
        ...

    async def touch_inbound_many(
        self, touches: Mapping[int, tuple[datetime, int, bool]]
    ) -> dict[int, Conversation]:
        """Per conversation id: (time of its newest message, messages added, reopen)."""
        ...

    async def create_customers(
        self, customers: Mapping[tuple[int, str], NewContact]
    ) -> dict[tuple[int, str], Identity]:
        """New customers, keyed by (channel id, external id): a contact and an identity each,
        all at once. A key another transaction created first is left out (re-read it)."""
        ...

    async def get_identity(self, identity_id: int) -> Identity | None: ...
    async def set_opted_out(self, changes: Mapping[int, datetime | None]) -> None:
        """Per identity id: since when the customer unsubscribed, or ``None`` (subscribed)."""
        ...

    async def fill_contacts(self, told: Mapping[int, NewContact]) -> None:
        """What customers told of themselves, per contact id: the non-empty values replace the
        stored ones; a contact that already holds them is not written."""
        ...

    async def get_conversation(
        self, conversation_id: int, *, lock: bool = False
    ) -> Conversation | None: ...
    async def create_conversations(self, news: Sequence[NewConversation]) -> list[Conversation]:
        """Open conversations at once, in the order given (one per identity)."""
        ...

    async def update_conversation(self, conversation_id: int, **changes: Any) -> Conversation: ...

    async def add_message(self, new: NewMessage) -> Message | None:
        """Store a message; ``None`` when the provider id is already stored (a retry)."""
        ...

    async def get_message(self, message_id: int, *, lock: bool = False) -> Message | None: ...
    async def find_outbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None: ...
    async def find_inbound_by_provider_id(
        self, channel_id: int, provider_message_id: str
    ) -> Message | None: ...
    async def conversation_of_messages(
        self, channel_id: int, provider_message_ids: Sequence[str]
    ) -> Conversation | None:
        """The conversation of the newest message of the channel with one of these provider
        ids (inbound or outbound): the thread a reply answers."""
        ...

    async def thread_facts(self, conversation_id: int, limit: int) -> tuple[list[str], str]:
        """The provider ids of the conversation's first ``limit`` messages, oldest first, and
        the thread title its first titled message gave (``""`` when none)."""
        ...

    async def team_ids(self, names: Sequence[str]) -> dict[str, int]:
        """The ids of the teams with these names (those that exist)."""
        ...

    async def update_message(self, message_id: int, **changes: Any) -> Message: ...
    async def add_delivery(
        self,
        message_id: int,
        attempt: int,
        status: MessageStatus,
        error: str | None,
        provider_message_id: str | None,
    ) -> None: ...
    async def count_deliveries(self, message_id: int) -> int: ...
    async def get_attachment(self, attachment_id: int) -> Attachment | None: ...
    async def update_attachment(self, attachment_id: int, **changes: Any) -> Attachment: ...

    async def unfinished_event_ids(self, older_than: datetime, limit: int) -> list[int]: ...
    async def requeue_failed_events(self, event_ids: Sequence[int] | None, limit: int) -> list[int]:
        """Make failed events pending again with fresh attempts (all of them for ``None``, up
        to ``limit``); returns the ids that were failed, and only those."""
        ...

    async def dismiss_failed_events(self, event_ids: Sequence[int]) -> list[int]:
        """Set failed events aside for good; returns the ids that were failed."""
        ...

    async def queued_message_ids(self, older_than: datetime, limit: int) -> list[int]: ...
    async def pending_attachment_ids(self, older_than: datetime, limit: int) -> list[int]: ...
    async def fail_stale_attachments(
        self, received_before: datetime, failure: dict[str, Any], limit: int
    ) -> list[int]:
        """Give up on provider files still not fetched from messages received before then:
        mark them failed with ``failure``; returns the ids of their messages."""
        ...


class Store(Protocol):
    def unit(self) -> AbstractAsyncContextManager[Unit]: ...

    async def accept_events(
        self, channel_id: int, events: Sequence[Inbound]
    ) -> list[AcceptedEvent]:
        """Durably store raw events, unique on (channel, provider event id).

        Returns once committed; concurrent callers may share one commit.
        """
        ...

    def accepts_waiting_peak(self) -> int:
        """The most ``accept_events`` calls of this process that waited for their commit at
        once since the last call: how hard providers and visitors pressed on this process
        meanwhile (a count of right now would miss a burst between two shared commits)."""
        ...


class JobQueue(Protocol):
    async def enqueue(
        self, job: str, *args: Any, job_id: str, defer_s: float | None = None
    ) -> None: ...


class SubscriberOverflow(Exception):
    """A subscriber fell too far behind, or events may have passed it by while the bus was cut
    off upstream; it should reconnect and resync."""


class EventBus(Protocol):
    async def publish(self, topic: str, event: HubEvent) -> None: ...

    async def publish_many(self, events: Sequence[tuple[str, HubEvent]]) -> None:
        """Publish in order, in one round trip where the bus can."""
        ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[HubEvent]]: ...


class RateLimiter(Protocol):
    """Counts events per key in fixed windows, shared by every process that serves."""

    async def count(self, key: str, window_s: float) -> tuple[int, float]:
        """Count one event: the events in the key's window so far, and the seconds it has left
        (a window starts with its first event)."""
        ...

    async def count_many(self, keys: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        """``count`` for several keys (with their windows) at once: one round trip."""
        ...

    async def current(self, key: str) -> tuple[int, float]:
        """The same, without counting one."""
        ...

    async def reset(self, key: str) -> None: ...


class Presence(Protocol):
    """Which agents are connected (an inbox page or an API websocket), across every web
    process: each connection has its own heartbeat, and counts until it leaves or its
    heartbeat stops."""

    async def touch(self, agent_id: int, connection: str) -> None: ...
    async def leave(self, agent_id: int, connection: str) -> None: ...
    async def online(self) -> set[int]:
        """The agents with at least one connection."""
        ...


class BlobStorage(Protocol):
    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Store bytes and return the key to find them again."""
        ...

    async def get(self, key: str) -> bytes: ...


class Retrying(Exception):
    """Raised by a job to be run again later."""

    def __init__(self, defer_s: float) -> None:
        super().__init__(f"retry in {defer_s:.1f}s")
        self.defer_s = defer_s


Publish = Callable[[str, HubEvent], Awaitable[None]]


#: called with (channel id, poller name, hint); a channel id of ``None`` wakes every poller
#: (wakes may have been missed while the connection was cut)
OnWake = Callable[[int | None, str, str], None]


class Wakes(Protocol):
    """Carries ``Wake``s from the process that took a callback to the one running the poller."""

    async def wake(self, channel_id: int, poller: str, hint: str) -> None: ...

    async def listen(self, on_wake: OnWake) -> None:
        """Call ``on_wake`` for every wake from now until cancelled."""
        ...
