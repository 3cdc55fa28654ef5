"""Request and response bodies of the REST API; the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.db.queries import MAX_ID
from hub.domain.model import ConversationStatus, Email, Role

#: an id as the database stores it: a bigger number would fail in the driver, not as a 4xx
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(In):
    email: Email
    password: str = Field(min_length=1, max_length=200)


class AgentOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    locale: str
    online: bool = False


class LoginOut(BaseModel):
    token: str
    expires_at: str
    agent: AgentOut


class AgentIn(In):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.AGENT
    password: str = Field(min_length=8, max_length=200)


class AgentPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    locale: Literal["", "en", "zh-CN"] | None = None


class TeamIn(In):
    name: str = Field(min_length=1, max_length=200)
    agent_ids: list[int] = Field(default_factory=list)


class TeamOut(BaseModel):
    id: int
    name: str
    agent_ids: list[int]


class ChannelIn(In):
    kind: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    team_id: int | None = None


class ChannelPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = None
    active: bool | None = None
    team_id: int | None = None


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    active: bool
    team_id: int | None
    public_key: str
    settings: dict[str, Any] = Field(description="secrets are masked as '********'")
    webhook_urls: dict[str, str] = Field(
        description="the exact URLs to paste into the provider's console"
    )
    embed_html: str | None = Field(
        default=None, description="web chat only: the snippet a business pastes into its pages"
    )
    created_at: str


class AttachmentOut(BaseModel):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int | None
    url: str | None = Field(description="null until the file is downloaded from the provider")
    ready: bool


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    channel_id: int
    direction: Literal["in", "out"]
    sender_type: Literal["contact", "agent", "bot", "system"]
    sender_agent_id: int | None
    kind: str
    text: str
    data: dict[str, Any]
    private: bool
    attachments: list[AttachmentOut]
    status: str
    error: str | None
    provider_message_id: str | None
    created_at: str
    updated_at: str


class ContactRef(BaseModel):
    id: int
    name: str


class ChannelRef(BaseModel):
    id: int
    kind: str
    name: str


class LastMessage(BaseModel):
    text: str | None
    kind: str | None


class ReplyWindowOut(BaseModel):
    remaining: int = Field(description="replies the provider still accepts")
    limit: int
    closes_at: str | None = Field(description="when the allowance ends; null when closed")


class ConversationOut(BaseModel):
    id: int
    channel_id: int
    contact_id: int
    status: ConversationStatus
    assignee_id: int | None
    team_id: int | None
    unread_count: int
    last_message_at: str | None
    last_inbound_at: str | None
    first_response_at: str | None
    resolved_at: str | None
    created_at: str
    updated_at: str
    contact: ContactRef
    channel: ChannelRef
    last_message: LastMessage
    reply_window: ReplyWindowOut | None = Field(
        default=None,
        description="WeChat channels only: how many replies are left and until when",
    )


class ConversationList(BaseModel):
    items: list[ConversationOut]
    next: str | None


class MessageList(BaseModel):
    items: list[MessageOut]
    next: str | None = Field(description="pass as `before` for older messages")


class ConversationQuery(In):
    status: ConversationStatus | None = None
    assignee: str | None = Field(
        default=None, description="'me', 'none' (unassigned) or an agent id"
    )
    channel_id: DbId | None = None
    contact_id: DbId | None = None
    team_id: DbId | None = None
    cursor: str | None = None
    limit: int = Field(default=30, ge=1, le=100)


class MessageQuery(In):
    before: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class ConversationPatch(In):
    status: ConversationStatus | None = None
    assignee_id: int | None = Field(
        default=None, description="an agent id, or null to unassign (omit to leave as is)"
    )
    read: bool = False


class ReplyIn(In):
    text: str = Field(default="", max_length=20_000)
    private: bool = Field(default=False, description="an internal note only agents see")
    attachments: list[str] = Field(
        default_factory=list, max_length=10, description="tokens from POST /uploads"
    )


class UploadOut(BaseModel):
    token: str
    filename: str
    content_type: str
    size: int


class IdentityOut(BaseModel):
    channel_id: int
    channel_kind: str
    channel_name: str


class ContactOut(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: str
    identities: list[IdentityOut]
    conversations: list[ConversationOut]
    timeline: list[MessageOut] = Field(description="the newest messages of every conversation")


class SyncOut(BaseModel):
    conversations: list[dict[str, Any]]
    messages: list[MessageOut]
    truncated: bool = Field(description="true when too much changed: reload the lists instead")
    now: str


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    queue: str
    mode: Literal["embedded", "redis"]
    failed_events: int | None = Field(
        description="accepted events whose processing failed for good; null if unknown"
    )


class EventQuery(In):
    status: Literal["failed", "dismissed"] = "failed"
    channel_id: DbId | None = None
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class EventSummary(BaseModel):
    sender_id: str | None
    sender_name: str | None
    kind: str | None
    text: str | None = Field(description="the first 500 characters")


class EventOut(BaseModel):
    id: int
    channel: ChannelRef
    provider_event_id: str
    status: Literal["failed", "dismissed"]
    attempts: int
    error: str | None = Field(description="the last processing error")
    received_at: str
    summary: EventSummary
    payload: dict[str, Any] = Field(description="the event as accepted, normalised")


class EventList(BaseModel):
    items: list[EventOut]
    next: str | None


class EventIdsIn(In):
    ids: list[DbId] = Field(default_factory=list, max_length=1000)
    all: bool = Field(default=False, description="retry every failed event (up to 1,000)")


class EventIdsOut(BaseModel):
    ids: list[int] = Field(description="the events that were failed and are changed now")
