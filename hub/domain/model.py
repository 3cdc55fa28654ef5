"""Normalised values that every channel translates to and from."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _email(value: str) -> str:
    # Deliberately loose: self-hosted teams use internal domains (corp.local, shop.test) that
    # strict validators refuse; anything with one @ and no spaces can receive mail.
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value) or "@" in local:
        raise ValueError("not an email address")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]

#: a phone number in E.164 form: +, the country code and the number, 8 to 15 digits
E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


def _phone_number(value: str) -> str:
    value = _PHONE_PUNCTUATION.sub("", value)
    if not E164.match(value):
        raise ValueError("must be in E.164 form: + and the country code, 8-15 digits in all")
    return value


#: what people type (+86 138-0013-8000) as E.164 (+8613800138000), or refused
PhoneNumber = Annotated[str, Field(max_length=40), AfterValidator(_phone_number)]


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class SenderType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    LINK = "link"
    EVENT = "event"
    CALL = "call"
    VOICEMAIL = "voicemail"


def file_kind(content_type: str) -> MessageKind:
    """How the inbox shows a file of this type: an image, a player, or a download."""
    major = content_type.split("/", 1)[0].lower()
    return {
        "image": MessageKind.IMAGE,
        "audio": MessageKind.AUDIO,
        "video": MessageKind.VIDEO,
    }.get(major, MessageKind.FILE)


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class AssignmentMode(StrEnum):
    """How a team's new conversations find an agent."""

    #: they wait until an agent takes one (接入)
    MANUAL = "manual"
    #: 平均分配: to the online agent with room who was assigned least recently
    ROUND_ROBIN = "round_robin"
    #: 按能力分配: to the online agent with room with the fewest open conversations
    LEAST_BUSY = "least_busy"


class PresenceStatus(StrEnum):
    ONLINE = "online"
    #: busy (忙碌): connected, but given no new conversations
    AWAY = "away"
    OFFLINE = "offline"


class EventStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    #: set aside after its processing attempts; an admin retries or dismisses it
    FAILED = "failed"
    #: a failed event an admin chose not to retry; kept, with its reason
    DISMISSED = "dismissed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttachmentRef(_Frozen):
    """A file that came with an inbound message or goes with an outbound one.

    Inbound attachments either arrive stored already (``storage_key``, e.g. a widget upload) or
    name where the provider keeps them (``provider_ref``: a media id or URL fetched by a job).
    """

    kind: MessageKind = MessageKind.FILE
    filename: str = ""
    content_type: str = "application/octet-stream"
    size: int | None = None
    storage_key: str | None = None
    provider_ref: str | None = None
    #: outbound: an absolute address where the provider may fetch the stored file for a while
    #: (signed, expiring), for providers that take files by URL (Twilio's ``MediaUrl``)
    url: str | None = None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """Text as every database stores it: without NUL (PostgreSQL refuses it) and lone
    surrogates (no UTF-8 exists for them), in strings, lists and dicts alike."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


#: where a message keeps the thread title its item gave (``Thread.title``)
THREAD_TITLE = "thread_title"


class Thread(_Frozen):
    """Where an item belongs on a channel whose conversations are threads (email).

    Such an item does not simply join its customer's open conversation: it joins the
    conversation of a message it answers, else the one its token names, else it starts one.
    """

    #: provider message ids of earlier messages (the customer's or ours) this one answers
    replies_to: tuple[str, ...] = Field(default=(), max_length=100)
    #: a conversation id the customer's client kept (an email subject's "[#1234]")
    conversation_id: int | None = Field(default=None, ge=1)
    #: what the thread is about (an email's subject), for replies to quote
    title: str = Field(default="", max_length=998)


def _in_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Inbound(_Frozen):
    """One thing a customer did on a channel, as the hub understands it.

    Whatever a customer sent is made storable here, once for every channel: a message is
    accepted only if it can be stored.
    """

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, values: Any) -> Any:
        return storable(values)

    provider_event_id: str = Field(min_length=1, max_length=255)
    sender_id: str = Field(min_length=1, max_length=255)
    kind: MessageKind = MessageKind.TEXT
    text: str = ""
    sender_name: str | None = None
    sender_email: str | None = None
    sender_phone: str | None = None
    provider_message_id: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    #: the customer unsubscribed from this channel (``True``: an SMS "STOP") or subscribed
    #: again (``False``: "START"); replies to an unsubscribed customer fail without being sent
    opt_out: bool | None = None
    #: the team the customer chose (a phone menu's digit), by name: a conversation this item
    #: opens goes to it instead of the channel's default team
    team: str | None = Field(default=None, max_length=200)
    #: the provider message id of an earlier item this one completes (a voicemail's transcript,
    #: which comes minutes after the recording): its text and ``data`` replace that message's,
    #: and it is stored as a message of its own only if that message is not there
    completes: str | None = Field(default=None, max_length=255)
    #: set by channels whose conversations are threads (see ``Thread``)
    thread: Thread | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    #: when it happened, in UTC (a time in another zone is converted; one without a zone is
    #: taken as UTC): stored times are compared as UTC everywhere
    occurred_at: Annotated[datetime | None, AfterValidator(_in_utc)] = None


class Failure(_Frozen):
    """Why a message failed, for the agent: a code in the connector's namespace
    (``twilio.30003``) and the reason in every language of the inbox."""

    code: str = Field(min_length=1, max_length=100)
    text: dict[str, str]


class StatusUpdate(_Frozen):
    """A provider's word on a message we sent: delivered, read or failed."""

    provider_message_id: str
    status: MessageStatus
    error: str | None = None
    #: for ``failed``: the reason as the thread shows it (as a refused send's)
    failure: Failure | None = None


class Outbound(_Frozen):
    """A message for a connector to send to one customer."""

    message_id: int
    conversation_id: int
    recipient_id: str
    kind: MessageKind
    text: str = ""
    attachments: tuple[AttachmentRef, ...] = ()
    data: dict[str, Any] = Field(default_factory=dict)
    #: the conversation's earlier messages' provider ids, oldest first (at most 50): what a
    #: threaded channel's reply names to stay in its thread (email's References)
    references: tuple[str, ...] = ()
    #: the thread's title, from its first message that had one (an email's subject)
    title: str = ""
    #: the agent who wrote it, for channels that show a sender (email's From name)
    sender_name: str = ""


class SendReceipt(_Frozen):
    provider_message_id: str | None = None
    status: MessageStatus = MessageStatus.SENT
