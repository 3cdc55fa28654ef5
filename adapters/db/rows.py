"""Turns table rows into the domain's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from adapters.db.secretbox import SecretBox
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


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def must(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def channel(row: Row[Any], box: SecretBox) -> Channel:
    return Channel(
        id=row.id,
        kind=row.kind,
        name=row.name,
        public_key=row.public_key,
        settings=box.open(row.settings_enc),
        team_id=row.team_id,
        active=row.active,
        created_at=must(row.created_at),
    )


def agent(row: Row[Any]) -> Agent:
    return Agent(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        active=row.active,
        locale=row.locale,
        created_at=must(row.created_at),
        phone=row.phone,
        capacity=row.capacity,
        presence=PresenceStatus(row.presence),
        chosen_presence=PresenceStatus(row.chosen_presence),
    )


def team(row: Row[Any], agent_ids: tuple[int, ...]) -> Team:
    return Team(
        id=row.id,
        name=row.name,
        agent_ids=agent_ids,
        assignment_mode=AssignmentMode(row.assignment_mode),
        agent_capacity=row.agent_capacity,
        answer_timeout_s=row.answer_timeout_s,
        queue_limit=row.queue_limit,
    )


def contact(row: Row[Any]) -> Contact:
    return Contact(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        created_at=must(row.created_at),
    )


def identity(row: Row[Any]) -> Identity:
    return Identity(
        id=row.id,
        channel_id=row.channel_id,
        contact_id=row.contact_id,
        external_id=row.external_id,
        opted_out_at=row.opted_out_at,
    )


def conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        channel_id=row.channel_id,
        contact_id=row.contact_id,
        identity_id=row.identity_id,
        status=ConversationStatus(row.status),
        assignee_id=row.assignee_id,
        team_id=row.team_id,
        unread_count=row.unread_count,
        last_message_at=aware(row.last_message_at),
        last_inbound_at=aware(row.last_inbound_at),
        first_response_at=aware(row.first_response_at),
        resolved_at=aware(row.resolved_at),
        created_at=must(row.created_at),
        updated_at=must(row.updated_at),
        rating_score=row.rating_score,
        rating_comment=row.rating_comment,
        rated_at=aware(row.rated_at),
        rating_requested_at=aware(row.rating_requested_at),
        rating_expires_at=aware(row.rating_expires_at),
        first_response_business_s=row.first_response_business_s,
        resolution_business_s=row.resolution_business_s,
    )


def attachment(row: Row[Any]) -> Attachment:
    return Attachment(
        id=row.id,
        message_id=row.message_id,
        kind=MessageKind(row.kind),
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        storage_key=row.storage_key,
        provider_ref=row.provider_ref,
        failure=row.failure,
    )


def message(row: Row[Any], files: tuple[Attachment, ...] = ()) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        channel_id=row.channel_id,
        direction=Direction(row.direction),
        sender_type=SenderType(row.sender_type),
        sender_agent_id=row.sender_agent_id,
        kind=MessageKind(row.kind),
        text=row.text,
        data=row.data or {},
        private=row.private,
        status=MessageStatus(row.status),
        provider_message_id=row.provider_message_id,
        error=row.error,
        created_at=must(row.created_at),
        updated_at=must(row.updated_at),
        attachments=files,
    )


def inbound_event(row: Row[Any]) -> InboundEvent:
    return InboundEvent(
        id=row.id,
        channel_id=row.channel_id,
        provider_event_id=row.provider_event_id,
        payload=row.payload,
        status=EventStatus(row.status),
        attempts=row.attempts,
        received_at=must(row.received_at),
    )
