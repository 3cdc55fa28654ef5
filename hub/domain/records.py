"""Stored entities as the domain sees them: plain values, no ORM behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.domain.model import (
    AssignmentMode,
    ConversationStatus,
    Direction,
    EventStatus,
    MessageKind,
    MessageStatus,
    PresenceStatus,
    Role,
    SenderType,
)
from hub.domain.routing import DEFAULT_CAPACITY


@dataclass(frozen=True)
class Channel:
    id: int
    kind: str
    name: str
    public_key: str
    settings: dict[str, Any]
    team_id: int | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Agent:
    id: int
    email: str
    name: str
    role: Role
    active: bool
    locale: str
    created_at: datetime
    #: where phone channels ring this agent (E.164)
    phone: str | None = None
    #: open conversations routing gives the agent at most; ``None``: their teams' default
    capacity: int | None = None
    #: what the agent counts as now (see ``hub.services.presence``)
    presence: PresenceStatus = PresenceStatus.OFFLINE
    #: what the agent chose to be while connected
    chosen_presence: PresenceStatus = PresenceStatus.ONLINE


@dataclass(frozen=True)
class Team:
    id: int
    name: str
    agent_ids: tuple[int, ...]
    assignment_mode: AssignmentMode = AssignmentMode.MANUAL
    #: open conversations per agent, for agents without a capacity of their own
    agent_capacity: int = DEFAULT_CAPACITY
    #: seconds an assigned conversation may go unanswered; ``None``: it stays where it is
    answer_timeout_s: int | None = None
    #: conversations that may wait at once; ``None``: no limit
    queue_limit: int | None = None


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: datetime


@dataclass(frozen=True)
class Identity:
    id: int
    channel_id: int
    contact_id: int
    external_id: str
    #: when the customer unsubscribed from the channel (an SMS "STOP"); ``None``: reachable
    opted_out_at: datetime | None = None


@dataclass(frozen=True)
class Conversation:
    id: int
    channel_id: int
    contact_id: int
    identity_id: int
    status: ConversationStatus
    assignee_id: int | None
    team_id: int | None
    unread_count: int
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: 满意度评价: the customer's 1-5 and comment, once given
    rating_score: int | None = None
    rating_comment: str | None = None
    rated_at: datetime | None = None
    #: when the customer was asked for a rating, and until when an answer counts
    rating_requested_at: datetime | None = None
    rating_expires_at: datetime | None = None
    #: first response and resolution times counting business hours only (seconds)
    first_response_business_s: int | None = None
    resolution_business_s: int | None = None


@dataclass(frozen=True)
class Attachment:
    id: int
    message_id: int
    kind: MessageKind
    filename: str
    content_type: str
    size: int | None
    storage_key: str | None
    provider_ref: str | None
    #: why the provider's file could not be fetched, for good: ``{"code", "text"}``
    failure: dict[str, Any] | None = None


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    channel_id: int
    direction: Direction
    sender_type: SenderType
    sender_agent_id: int | None
    kind: MessageKind
    text: str
    data: dict[str, Any]
    private: bool
    status: MessageStatus
    provider_message_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    attachments: tuple[Attachment, ...] = field(default=())


@dataclass(frozen=True)
class InboundEvent:
    id: int
    channel_id: int
    provider_event_id: str
    payload: dict[str, Any]
    status: EventStatus
    attempts: int
    received_at: datetime
