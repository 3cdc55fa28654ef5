"""Live events about messages and conversations, for every agent's page."""

from __future__ import annotations

from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.records import Conversation, Message
from hub.services.deps import Deps
from hub.services.views import conversation_view, message_view


async def publish_message(
    deps: Deps, event_type: str, message: Message, conversation: Conversation | None = None
) -> None:
    await deps.bus.publish(AGENTS_TOPIC, message_event(event_type, deps, message))
    if conversation is not None:
        await deps.bus.publish(AGENTS_TOPIC, conversation_event(conversation))


def message_event(event_type: str, deps: Deps, message: Message) -> HubEvent:
    return HubEvent(event_type, message_view(message, deps.file_url))


def conversation_event(conversation: Conversation) -> HubEvent:
    return HubEvent("conversation.updated", conversation_view(conversation))
