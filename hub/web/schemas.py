"""Request and response bodies of the REST API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adapters.db.queries import MAX_ID
from hub.domain.model import (
    AssignmentMode,
    ConversationStatus,
    Email,
    PhoneNumber,
    PresenceStatus,
    Role,
)
from hub.domain.routing import (
    DEFAULT_CAPACITY,
    MAX_ANSWER_TIMEOUT_S,
    MAX_CAPACITY,
    MAX_QUEUE_LIMIT,
    MIN_ANSWER_TIMEOUT_S,
    MIN_CAPACITY,
)

# The records' shapes are shared with the realtime events, so they are defined with the services.
from hub.services.views import AttachmentOut as AttachmentOut
from hub.services.views import ConversationFields as ConversationFields
from hub.services.views import FailureOut as FailureOut
from hub.services.views import MessageOut as MessageOut
from hub.services.views import Out as Out

#: an id as the database stores it: every id of a path, a query or a body is one, so that a
#: bigger number is refused as a 4xx before it reaches (and fails in) the database driver
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _stored_time(value: datetime) -> datetime:
    """A time in UTC (without a timezone it is one) from 1970 on: what the databases compare
    as times (SQLite compares the text, so one timezone for all; asyncpg cannot send times
    near the ends of Python's range)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past Python's last time in UTC
        raise PydanticCustomError("time_range", "a time from 1970 to 9998, in UTC") from None
    if not _EARLIEST <= value < _LATEST:
        raise PydanticCustomError("time_range", "a time from 1970 to 9998, in UTC")
    return value


#: a time as the database compares it: an ISO 8601 time, UTC where it has no timezone
DbTime = Annotated[datetime, AfterValidator(_stored_time)]


def _storable(value: Any) -> Any:
    """Refuses what no database stores as text, in a string anywhere in ``value``: the NUL
    character (PostgreSQL) and lone surrogates, which are no UTF-8 (either database)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise PydanticCustomError("nul_character", "text may not contain NUL (\\u0000)")
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    raise PydanticCustomError(
                        "lone_surrogate", "text must be Unicode without lone surrogates"
                    ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


class In(BaseModel):
    """A request body or query: unknown fields are refused, and so is text no database can
    store, in every field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _storable(value)


#: open conversations an agent carries at once
Capacity = Annotated[int, Field(ge=MIN_CAPACITY, le=MAX_CAPACITY)]
AnswerTimeout = Annotated[int, Field(ge=MIN_ANSWER_TIMEOUT_S, le=MAX_ANSWER_TIMEOUT_S)]
QueueLimit = Annotated[int, Field(ge=0, le=MAX_QUEUE_LIMIT)]


class LoginIn(In):
    email: Email
    password: str = Field(min_length=1, max_length=200)


class AgentOut(Out):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    locale: str
    online: bool = Field(
        False, description="a websocket of the agent (an inbox page, an API client) is open"
    )
    phone: str | None = Field(None, description="where phone channels ring the agent (E.164)")
    capacity: int | None = Field(
        None,
        description="open conversations routing gives the agent at most; null: the "
        "agent_capacity of their teams",
    )
    presence: PresenceStatus = Field(
        PresenceStatus.OFFLINE,
        description="what the agent counts as: their chosen presence while a websocket of "
        "theirs is open, else offline (after a grace period)",
    )
    chosen_presence: PresenceStatus = Field(
        PresenceStatus.ONLINE, description="what the agent chose to be while connected"
    )
    load: int | None = Field(
        None,
        description="open conversations assigned to the agent, against their capacity (in the "
        "list of agents; null elsewhere)",
    )


class AgentList(Out):
    items: list[AgentOut]
    next: str | None = None


class LoginOut(Out):
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
    phone: PhoneNumber | None = Field(
        default=None,
        description="where phone channels ring the agent, in E.164 form (+8613800138000); "
        "null for none",
    )
    capacity: Capacity | None = Field(
        default=None,
        description="open conversations routing gives the agent at most (admins only); null "
        "for their teams' agent_capacity",
    )


_MODE = "how new conversations find an agent: manual (agents take them), round_robin or least_busy"
_AGENT_CAPACITY = "open conversations per agent, for agents without a capacity of their own"
_ANSWER_TIMEOUT = "seconds an assigned conversation may go unanswered; null: never moved on"
_QUEUE_LIMIT = "conversations that may wait at once; null: no limit"


def _once_each(ids: list[int] | None) -> list[int] | None:
    if ids is not None and len(set(ids)) != len(ids):
        raise ValueError("an agent is listed more than once")
    return ids


class TeamIn(In):
    """A team; in a PUT, routing settings left out keep their values."""

    name: str = Field(min_length=1, max_length=200)
    agent_ids: Annotated[list[DbId], AfterValidator(_once_each)] = Field(
        default_factory=list, max_length=1000
    )
    assignment_mode: AssignmentMode = Field(default=AssignmentMode.MANUAL, description=_MODE)
    agent_capacity: Capacity = Field(default=DEFAULT_CAPACITY, description=_AGENT_CAPACITY)
    answer_timeout_s: AnswerTimeout | None = Field(default=None, description=_ANSWER_TIMEOUT)
    queue_limit: QueueLimit | None = Field(default=None, description=_QUEUE_LIMIT)


class TeamPatch(In):
    """What to change of a team; what is left out stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    agent_ids: Annotated[list[DbId] | None, AfterValidator(_once_each)] = Field(
        default=None, max_length=1000
    )
    assignment_mode: AssignmentMode | None = Field(default=None, description=_MODE)
    agent_capacity: Capacity | None = Field(default=None, description=_AGENT_CAPACITY)
    answer_timeout_s: AnswerTimeout | None = Field(default=None, description=_ANSWER_TIMEOUT)
    queue_limit: QueueLimit | None = Field(default=None, description=_QUEUE_LIMIT)


class TeamOut(Out):
    id: int
    name: str
    agent_ids: list[int]
    assignment_mode: AssignmentMode
    agent_capacity: int
    answer_timeout_s: int | None
    queue_limit: int | None


class TeamList(Out):
    items: list[TeamOut]
    next: str | None = None


class ChannelIn(In):
    kind: str = Field(min_length=1, max_length=40, examples=["webchat"])
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    team_id: DbId | None = None


class ChannelPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = None
    active: bool | None = None
    team_id: DbId | None = Field(default=None, description="a team, or null for none")


class ReaderProblemOut(Out):
    reader: str = Field(description="the background reader, e.g. imap or kf_sync")
    text: dict[str, str] = Field(description='by language: {"en": …, "zh-CN": …}')
    since: str


class ChannelOut(Out):
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
        default=None,
        description="for kinds that embed (web chat): the snippet to paste into the pages",
    )
    created_at: str
    problems: list[ReaderProblemOut] = Field(
        default_factory=list,
        description="what keeps the hub from reading the channel now (a mailbox's refused "
        "login), as its background reader last said; empty when it reads",
    )


class ChannelList(Out):
    items: list[ChannelOut]
    next: str | None = None


#: a text by language: ``{"en": "...", "zh-CN": "..."}``
LocalText = dict[str, str]


class ConsoleGuideOut(Out):
    title: LocalText
    steps: list[LocalText] = Field(description="`**…**` marks a console path or button")
    console_url: str
    webhook: str | None = Field(description="the webhook whose URL goes with the steps")


class CapabilitiesOut(Out):
    reply_window: bool = Field(description="the provider caps replies (see reply_window)")
    ends_sessions: bool = Field(description="resolving ends the provider's session")
    auto_replies: bool = Field(description="some inbound events get an automatic answer")
    embeds: bool = Field(description="channels have an embed_html for the business's pages")
    transport: bool = Field(description="customers reach the hub at the kind's own endpoints")
    polls: bool = Field(description="the hub reads the provider in the background")
    sms_segments: bool = Field(
        False, description="replies go out as SMS: the reply box counts the segments"
    )


class OutreachOut(Out):
    recipient: LocalText = Field(description="the label of the customer's address")
    placeholder: str
    titled: bool = Field(description="the conversation needs a title (an email's subject)")


class ChannelKindOut(Out):
    kind: str
    title: LocalText
    contact_label: LocalText
    color: str = Field(description="the chip colour, #rrggbb")
    webhook_names: list[str]
    secret_settings: list[str]
    settings_schema: dict[str, Any] = Field(
        description="JSON Schema of the settings; x-label, x-help, x-secret, x-generate, "
        "x-multiline, x-placeholder, x-widget and x-nullable describe the form"
    )
    guide: ConsoleGuideOut | None
    events: dict[str, LocalText] = Field(description="labels of message data.event names")
    capabilities: CapabilitiesOut
    outreach: OutreachOut | None = Field(
        default=None,
        description="agents may start conversations on this kind (POST /conversations): "
        "what the form asks",
    )


class ConnectorProblemOut(Out):
    source: str = Field(description="the package and entry point, e.g. kefu-line:line")
    reason: str


class ChannelKindList(Out):
    items: list[ChannelKindOut]
    next: str | None = None
    problems: list[ConnectorProblemOut] = Field(
        default_factory=list,
        description="admins only: connector packages left out at start, with their reasons",
    )


class ContactRef(Out):
    id: int
    name: str


class ChannelRef(Out):
    id: int
    kind: str
    name: str


class LastMessage(Out):
    text: str | None
    kind: str | None


class ReplyWindowOut(Out):
    remaining: int = Field(description="replies the provider still accepts")
    limit: int
    closes_at: str | None = Field(description="when the allowance ends; null when closed")
    rule: dict[str, str] | None = Field(
        default=None, description="the provider's rule, by language: 'en' and 'zh-CN'"
    )


class ConversationOut(ConversationFields):
    contact: ContactRef
    channel: ChannelRef
    last_message: LastMessage
    reply_window: ReplyWindowOut | None = Field(
        default=None,
        description="channels whose provider limits replies only: how many are left, until when",
    )
    queue_position: int | None = Field(
        default=None,
        description="while the conversation waits in its team's queue (nobody has it, it is "
        "open): 1 for the oldest waiting, 2 for the next...; else null",
    )


class ConversationList(Out):
    items: list[ConversationOut]
    next: str | None


class MessageList(Out):
    items: list[MessageOut]
    next: str | None = Field(description="pass as `before` for older messages")


class ConversationQuery(In):
    status: ConversationStatus | None = None
    assignee: Literal["me", "none", "all"] | DbId | None = Field(
        default=None, description="'me', 'none' (unassigned), 'all' (the default) or an agent id"
    )
    channel_id: DbId | None = None
    contact_id: DbId | None = None
    team_id: DbId | None = None
    cursor: str | None = None
    limit: int = Field(default=30, ge=1, le=100)

    @field_validator("assignee", mode="wrap")
    @classmethod
    def _assignee(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if value == "":
            return None
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "assignee",
                "give 'me', 'none', 'all' or an agent id from 1 to {largest}",
                {"largest": MAX_ID},
            ) from None


class MessageQuery(In):
    before: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class ConversationPatch(In):
    status: ConversationStatus | None = None
    assignee_id: DbId | None = Field(
        default=None, description="an agent id, or null to unassign (omit to leave as is)"
    )
    read: bool = False


class TransferIn(In):
    """To an agent, to a team's queue, or to an agent of a team (both named)."""

    agent_id: DbId | None = Field(default=None, description="the agent who takes it over")
    team_id: DbId | None = Field(
        default=None,
        description="the team it moves to; without agent_id it waits in that team's queue",
    )
    note: str = Field(
        default="",
        max_length=2000,
        description="for the receiver: kept in the thread as an internal note",
    )
    force: bool = Field(
        default=False, description="transfer to an agent even when they are at capacity"
    )


class ConversationStart(In):
    channel_id: int = Field(ge=1, le=2**31 - 1)
    to: str = Field(
        min_length=1, max_length=320, description="the customer's address on the channel"
    )
    title: str = Field(default="", max_length=300, description="an email's subject")
    text: str = Field(default="", max_length=20_000)
    attachments: list[str] = Field(
        default_factory=list, max_length=10, description="tokens from POST /uploads"
    )


class ReplyIn(In):
    text: str = Field(default="", max_length=20_000)
    private: bool = Field(default=False, description="an internal note only agents see")
    attachments: list[str] = Field(
        default_factory=list, max_length=10, description="tokens from POST /uploads"
    )


class MailAddressOut(Out):
    name: str = Field(description="the display name; empty when the mail gives none")
    address: str


class MailOriginalOut(Out):
    """The whole mail an email message came as, with links to its page and its raw bytes.

    The links are signed and expire like file links (``KEFU_FILE_URL_TTL_S``): a frame or a
    download link can open them without a token.
    """

    id: int = Field(description="the message's id")
    subject: str
    sender: MailAddressOut = Field(description="the mail's From")
    to: list[str]
    cc: list[str]
    date: str = Field(description="the mail's Date, in its own timezone; else when it arrived")
    text: str = Field(description="the whole text, quoted history and signature included")
    html_url: str | None = Field(
        description="the sanitised HTML as a page for a sandboxed frame, remote images "
        "blocked; null for a mail without HTML"
    )
    html_images_url: str | None = Field(
        description="the same page with remote images allowed; null for a mail without HTML"
    )
    remote_images: int = Field(
        description="images the HTML loads from other servers (not loaded until asked)"
    )
    raw_url: str = Field(description="the mail as received (message/rfc822), to download")
    raw_size: int = Field(description="the raw mail's size in bytes")


class UploadOut(Out):
    token: str
    filename: str
    content_type: str
    size: int


class ChannelFileOut(Out):
    key: str = Field(description="what a file setting (x-widget: audio) of a channel holds")
    content_type: str
    size: int


class IdentityOut(Out):
    channel_id: int
    channel_kind: str
    channel_name: str
    opted_out_at: str | None = Field(
        None,
        description="When the customer unsubscribed from this channel (an SMS STOP); replies "
        "to them fail until they subscribe again",
    )


class ContactOut(Out):
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: str
    identities: list[IdentityOut]
    conversations: list[ConversationOut]
    timeline: list[MessageOut] = Field(description="the newest messages of every conversation")


class SyncQuery(In):
    since: DbTime = Field(description="an ISO 8601 time from 1970 on; without a timezone it is UTC")


class SyncOut(Out):
    conversations: list[ConversationFields]
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


#: the events an admin reviews: failed for good, or set aside
ReviewedStatus = Literal["failed", "dismissed"]


class EventQuery(In):
    status: ReviewedStatus = "failed"
    channel_id: DbId | None = None
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class EventSummary(Out):
    sender_id: str | None
    sender_name: str | None
    kind: str | None
    text: str | None = Field(description="the first 500 characters")


class EventOut(Out):
    id: int
    channel: ChannelRef
    provider_event_id: str
    status: ReviewedStatus
    attempts: int
    error: str | None = Field(description="the last processing error")
    received_at: str
    summary: EventSummary
    payload: dict[str, Any] = Field(description="the event as accepted, normalised")


class EventList(Out):
    items: list[EventOut]
    next: str | None


class EventIdsIn(In):
    ids: list[DbId] = Field(default_factory=list, max_length=1000)
    all: bool = Field(default=False, description="retry every failed event (up to 1,000)")


class EventIdsOut(Out):
    ids: list[int] = Field(description="the events that were failed and are changed now")


class OpenApiOut(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""
