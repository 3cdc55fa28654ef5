"""The JSON shape of records, shared by the REST API and the realtime events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.domain.records import Attachment, Conversation, Message


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attachment_view(
    item: Attachment, file_url: Callable[[Attachment], str | None]
) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "url": file_url(item),
        "ready": item.storage_key is not None,
    }


def message_view(msg: Message, file_url: Callable[[Attachment], str | None]) -> dict[str, Any]:
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "channel_id": msg.channel_id,
        "direction": msg.direction.value,
        "sender_type": msg.sender_type.value,
        "sender_agent_id": msg.sender_agent_id,
        "kind": msg.kind.value,
        "text": msg.text,
        "data": msg.data,
        "private": msg.private,
        "attachments": [attachment_view(a, file_url) for a in msg.attachments],
        "status": msg.status.value,
        "error": msg.error,
        "provider_message_id": msg.provider_message_id,
        "created_at": iso(msg.created_at),
        "updated_at": iso(msg.updated_at),
    }


def conversation_view(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.id,
        "channel_id": conv.channel_id,
        "contact_id": conv.contact_id,
        "status": conv.status.value,
        "assignee_id": conv.assignee_id,
        "team_id": conv.team_id,
        "unread_count": conv.unread_count,
        "last_message_at": iso(conv.last_message_at),
        "last_inbound_at": iso(conv.last_inbound_at),
        "first_response_at": iso(conv.first_response_at),
        "resolved_at": iso(conv.resolved_at),
        "created_at": iso(conv.created_at),
        "updated_at": iso(conv.updated_at),
    }
