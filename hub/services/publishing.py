"""Live events about messages, conversations and failed events, for every agent's page."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.records import Conversation, Message
from hub.services.deps import Deps
from hub.services.views import conversation_view, message_view

log = logging.getLogger(__name__)


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


async def publish_failed_events_changed(deps: Deps, change: str, event_ids: Sequence[int]) -> None:
    """Admins' pages keep their count of failed events live; a lost event only costs that."""
    try:
        await deps.bus.publish(
            AGENTS_TOPIC,
            HubEvent("failed_events.changed", {"change": change, "ids": list(event_ids)}),
        )
    except Exception:
        log.warning("could not publish a change of failed events", exc_info=True)
