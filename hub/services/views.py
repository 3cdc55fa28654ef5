"""The JSON shape of records, one set of models for the REST API and the realtime events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.message_data import KEPT_ONLY
from hub.domain.model import ConversationStatus, Direction, MessageKind, MessageStatus, SenderType
from hub.domain.records import Attachment, Conversation, Message

FileUrl = Callable[[Attachment], str | None]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Out(BaseModel):
    """A response body: every field is always written, so the document marks them required."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class FailureOut(Out):
    code: str = Field(description="a namespaced reason, such as 'wechat.45015'")
    text: dict[str, str] = Field(description="what it means, by language: 'en' and 'zh-CN'")


class AttachmentOut(Out):
    id: int
    kind: MessageKind
    filename: str
    content_type: str
    size: int | None
    url: str | None = Field(description="null until the file is downloaded from the provider")
    ready: bool
    failure: FailureOut | None = Field(
        None, description="why the provider's file could not be fetched, for good"
    )


class MessageOut(Out):
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
    attachments: list[AttachmentOut]
    status: MessageStatus
    error: str | None
    provider_message_id: str | None
    created_at: str
    updated_at: str
    failure: FailureOut | None = Field(
        default=None, description="why the provider refused a failed reply, when it said"
    )


class RatingOut(Out):
    """满意度评价: what the customer gave when asked, once the conversation was resolved."""

    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(description="what the customer wrote with it; may be empty")
    rated_at: str


class ConversationFields(Out):
    """A conversation's own fields, as the live ``conversation.updated`` event carries them."""

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
    rating: RatingOut | None = Field(
        default=None, description="the customer's satisfaction rating; null until given"
    )
    rating_requested_at: str | None = Field(
        default=None, description="when the customer was asked for a rating; null if never"
    )
    first_response_business_s: int | None = Field(
        default=None,
        description="seconds from the start to the first reply, counting business hours only",
    )
    resolution_business_s: int | None = Field(
        default=None,
        description="seconds from the start to resolution, counting business hours only",
    )


def attachment_out(item: Attachment, file_url: FileUrl) -> AttachmentOut:
    return AttachmentOut(
        id=item.id,
        kind=item.kind,
        filename=item.filename,
        content_type=item.content_type,
        size=item.size,
        url=file_url(item),
        ready=item.storage_key is not None,
        failure=failure_out({"failure": item.failure}) if item.failure else None,
    )


def failure_out(data: dict[str, Any]) -> FailureOut | None:
    # ``data`` is stored JSON that older rows or other writers may shape differently: anything
    # but the expected shape reads as no failure rather than breaking the message.
    failure = data.get("failure")
    if not isinstance(failure, dict):
        return None
    code, text = failure.get("code"), failure.get("text")
    if not isinstance(code, str) or not isinstance(text, dict):
        return None
    texts = {lang: value for lang, value in text.items() if isinstance(value, str)}
    return FailureOut(code=code, text=texts)


def message_out(msg: Message, file_url: FileUrl) -> MessageOut:
    return MessageOut(
        id=msg.id,
        conversation_id=msg.conversation_id,
        channel_id=msg.channel_id,
        direction=msg.direction,
        sender_type=msg.sender_type,
        sender_agent_id=msg.sender_agent_id,
        kind=msg.kind,
        text=msg.text,
        data={key: value for key, value in msg.data.items() if key not in KEPT_ONLY},
        private=msg.private,
        attachments=[attachment_out(a, file_url) for a in msg.attachments],
        status=msg.status,
        error=msg.error,
        provider_message_id=msg.provider_message_id,
        created_at=msg.created_at.isoformat(),
        updated_at=msg.updated_at.isoformat(),
        failure=failure_out(msg.data),
    )


def conversation_fields(conv: Conversation) -> ConversationFields:
    return ConversationFields(
        id=conv.id,
        channel_id=conv.channel_id,
        contact_id=conv.contact_id,
        status=conv.status,
        assignee_id=conv.assignee_id,
        team_id=conv.team_id,
        unread_count=conv.unread_count,
        last_message_at=iso(conv.last_message_at),
        last_inbound_at=iso(conv.last_inbound_at),
        first_response_at=iso(conv.first_response_at),
        resolved_at=iso(conv.resolved_at),
        created_at=conv.created_at.isoformat(),
        updated_at=conv.updated_at.isoformat(),
        rating=rating_out(conv),
        rating_requested_at=iso(conv.rating_requested_at),
        first_response_business_s=conv.first_response_business_s,
        resolution_business_s=conv.resolution_business_s,
    )


def rating_out(conv: Conversation) -> RatingOut | None:
    if conv.rating_score is None or conv.rated_at is None:
        return None
    return RatingOut(
        score=conv.rating_score,
        comment=conv.rating_comment or "",
        rated_at=conv.rated_at.isoformat(),
    )


def message_view(msg: Message, file_url: FileUrl) -> dict[str, Any]:
    """A message as live events carry it: plain JSON of the API's ``MessageOut``."""
    return message_out(msg, file_url).model_dump(mode="json")


def conversation_view(conv: Conversation) -> dict[str, Any]:
    """A conversation as live events carry it: plain JSON of ``ConversationFields``."""
    return conversation_fields(conv).model_dump(mode="json")
