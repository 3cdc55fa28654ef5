"""Agents' actions on a conversation: assign, change status, mark read."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain.errors import InvalidInput, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.model import ConversationStatus
from hub.domain.records import Agent, Conversation
from hub.services.deps import Deps
from hub.services.views import conversation_view

UNSET: object = object()


async def update(
    deps: Deps,
    actor: Agent,
    conversation_id: int,
    *,
    status: ConversationStatus | None = None,
    assignee_id: int | object | None = UNSET,
    read: bool = False,
) -> Conversation:
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id, lock=True)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id}")
        changes: dict[str, object] = {}
        if status is not None and status != conversation.status:
            changes["status"] = status
            changes["resolved_at"] = (
                datetime.now(UTC) if status == ConversationStatus.RESOLVED else None
            )
        if assignee_id is not UNSET and assignee_id != conversation.assignee_id:
            if assignee_id is not None:
                assert isinstance(assignee_id, int)
                assignee = await uow.get_agent(assignee_id)
                if assignee is None or not assignee.active:
                    raise InvalidInput(f"no active agent {assignee_id}")
            changes["assignee_id"] = assignee_id
        if read and conversation.unread_count:
            changes["unread_count"] = 0
        if not changes:
            return conversation
        conversation = await uow.update_conversation(conversation_id, **changes)
        await uow.commit()
    if changes.get("status") == ConversationStatus.RESOLVED:
        await deps.queue.enqueue(
            "end_session",
            conversation.id,
            job_id=f"end:{conversation.id}:{conversation.updated_at}",
        )
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent("conversation.updated", {**conversation_view(conversation), "actor_id": actor.id}),
    )
    return conversation
