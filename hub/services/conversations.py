"""Agents' actions on a conversation: assign, take, change status, mark read."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain.errors import Conflict, InvalidInput, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.model import ConversationStatus
from hub.domain.records import Agent, Conversation
from hub.services import metrics
from hub.services.deps import Deps
from hub.services.routing import route_safely
from hub.services.views import conversation_view

UNSET: object = object()


def waiting(conversation: Conversation) -> bool:
    """In its team's queue: nobody has it and it is open."""
    return conversation.assignee_id is None and conversation.status == ConversationStatus.OPEN


def freed_agent(before: Conversation, after: Conversation) -> int | None:
    """The agent who had this open conversation and no longer has it open: a slot of theirs
    freed."""
    if before.assignee_id is None or before.status != ConversationStatus.OPEN:
        return None
    if after.assignee_id == before.assignee_id and after.status == ConversationStatus.OPEN:
        return None
    return before.assignee_id


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
        before = await uow.get_conversation(conversation_id, lock=True)
        if before is None:
            raise NotFound(f"conversation {conversation_id}")
        changes: dict[str, object] = {}
        if status is not None and status != before.status:
            changes["status"] = status
            changes["resolved_at"] = (
                datetime.now(UTC) if status == ConversationStatus.RESOLVED else None
            )
        if assignee_id is not UNSET and assignee_id != before.assignee_id:
            if assignee_id is not None:
                assert isinstance(assignee_id, int)
                assignee = await uow.get_agent(assignee_id)
                if assignee is None or not assignee.active:
                    raise InvalidInput(f"no active agent {assignee_id}")
            changes["assignee_id"] = assignee_id
        if read and before.unread_count:
            changes["unread_count"] = 0
        if not changes:
            return before
        conversation = await uow.update_conversation(conversation_id, **changes)
        await uow.commit()
    if changes.get("status") == ConversationStatus.RESOLVED:
        await deps.queue.enqueue(
            "end_session",
            conversation.id,
            job_id=f"end:{conversation.id}:{conversation.updated_at}",
        )
    await metrics.conversation_changed(deps, before, conversation)
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent("conversation.updated", {**conversation_view(conversation), "actor_id": actor.id}),
    )
    # A freed slot goes to the oldest waiting conversation of the agent's teams at once, and a
    # conversation put back in its queue finds an agent if one has room.
    await route_safely(
        deps,
        [conversation.team_id] if waiting(conversation) and not waiting(before) else [],
        agents=[freed_agent(before, conversation)],
    )
    return conversation


async def take(deps: Deps, actor: Agent, conversation_id: int) -> Conversation:
    """接入: the agent starts serving the conversation, unless another agent has it.

    Decided by one conditional update: of agents taking the same conversation at the same
    moment, exactly one gets it and the others are told who.
    """
    async with deps.store.unit() as uow:
        # As routing does before it counts the agent's load: the two never overlap.
        await uow.lock_agent(actor.id)
        current = await uow.get_conversation(conversation_id)
        if current is None:
            raise NotFound(f"conversation {conversation_id}")
        if current.assignee_id == actor.id:
            return current
        taken = await uow.take_conversation(conversation_id, actor.id, datetime.now(UTC))
        if taken is None:
            holder = await uow.get_conversation(conversation_id)
            holder_id = holder.assignee_id if holder else None
            agent = await uow.get_agent(holder_id) if holder_id is not None else None
            who = f"{agent.name} (agent {agent.id})" if agent else "another agent"
            raise Conflict(f"conversation {conversation_id} is taken already: {who} has it")
        await uow.commit()
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent("conversation.updated", {**conversation_view(taken), "actor_id": actor.id}),
    )
    return taken
