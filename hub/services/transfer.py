"""Transfer (转接): hand a conversation to another agent or team, with a note for them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hub.domain.errors import Conflict, InvalidInput, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.model import ConversationStatus, Direction, MessageKind, MessageStatus, SenderType
from hub.domain.ports import NewMessage, Unit
from hub.domain.records import Agent, Conversation, Message, Team
from hub.domain.routing import DEFAULT_CAPACITY
from hub.services.conversations import freed_agent, waiting
from hub.services.deps import Deps
from hub.services.publishing import message_event
from hub.services.routing import route_safely
from hub.services.views import conversation_view

log = logging.getLogger(__name__)

#: in the data of a transfer's note: who handed the conversation to whom
TRANSFER = "transfer"
MAX_NOTE = 2000


@dataclass(frozen=True)
class Transferred:
    conversation: Conversation
    #: the private note the receiver reads in the thread, when the sender wrote one
    note: Message | None


async def transfer(
    deps: Deps,
    actor: Agent,
    conversation_id: int,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
    note: str = "",
    force: bool = False,
) -> Transferred:
    """To an agent (in their team, when a team is named too), or to a team's queue.

    Refused: an unknown or deactivated agent, an unknown team, an agent outside the team
    named, and, unless ``force``, an agent already at capacity.
    """
    if agent_id is None and team_id is None:
        raise InvalidInput("give agent_id, team_id or both")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters")
    async with deps.store.unit() as uow:
        team = await _team(uow, team_id)
        # The agent's row before the conversation's, as routing and take lock them: never the
        # other way round, which could deadlock with them.
        receiver = await _receiver(uow, agent_id, team)
        before = await uow.get_conversation(conversation_id, lock=True)
        if before is None:
            raise NotFound(f"conversation {conversation_id}")
        if before.status == ConversationStatus.RESOLVED:
            raise Conflict(f"conversation {conversation_id} is resolved; reopen it first")
        new_team = team.id if team is not None else before.team_id
        if (
            receiver is not None
            and receiver.id == before.assignee_id
            and new_team == before.team_id
        ):
            raise InvalidInput(f"{receiver.name} (agent {receiver.id}) has it already")
        if receiver is not None and receiver.id != before.assignee_id and not force:
            await _check_room(uow, receiver, team or await _team(uow, before.team_id))
        conversation = await uow.update_conversation(
            conversation_id,
            assignee_id=receiver.id if receiver is not None else None,
            team_id=new_team,
        )
        message = None
        if note:
            message = await uow.add_message(
                NewMessage(
                    conversation_id=conversation.id,
                    channel_id=conversation.channel_id,
                    direction=Direction.OUT,
                    sender_type=SenderType.AGENT,
                    sender_agent_id=actor.id,
                    kind=MessageKind.TEXT,
                    text=note,
                    status=MessageStatus.SENT,
                    private=True,
                    data={TRANSFER: _handover(before, conversation)},
                )
            )
        await uow.commit()
    log.info(
        "conversation transferred",
        extra={
            "conversation_id": conversation.id,
            "actor_id": actor.id,
            "agent_id": conversation.assignee_id,
            "team_id": conversation.team_id,
            "forced": force,
        },
    )
    events = [
        (
            AGENTS_TOPIC,
            HubEvent(
                "conversation.updated", {**conversation_view(conversation), "actor_id": actor.id}
            ),
        ),
        (
            AGENTS_TOPIC,
            HubEvent(
                "conversation.transferred",
                {
                    "conversation_id": conversation.id,
                    "actor_id": actor.id,
                    **_handover(before, conversation),
                    "note_id": message.id if message else None,
                },
            ),
        ),
    ]
    if message is not None:
        events.insert(0, (AGENTS_TOPIC, message_event("message.created", deps, message)))
    await deps.bus.publish_many(events)
    # The sender's slot frees; a conversation sent to a team's queue finds an agent with room.
    await route_safely(
        deps,
        [conversation.team_id] if waiting(conversation) else [],
        agents=[freed_agent(before, conversation)],
    )
    return Transferred(conversation, message)


def _handover(before: Conversation, after: Conversation) -> dict[str, int | None]:
    return {
        "from_agent_id": before.assignee_id,
        "from_team_id": before.team_id,
        "to_agent_id": after.assignee_id,
        "to_team_id": after.team_id,
    }


async def _team(uow: Unit, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = await uow.get_team(team_id)
    if team is None:
        raise InvalidInput(f"team_id: there is no team {team_id}")
    return team


async def _receiver(uow: Unit, agent_id: int | None, team: Team | None) -> Agent | None:
    if agent_id is None:
        return None
    receiver = await uow.lock_agent(agent_id)
    if receiver is None:
        raise InvalidInput(f"agent_id: there is no agent {agent_id}")
    if not receiver.active:
        raise InvalidInput(f"{receiver.name} (agent {agent_id}) is deactivated")
    if team is not None and agent_id not in team.agent_ids:
        raise InvalidInput(f"{receiver.name} (agent {agent_id}) is not in the team {team.name}")
    return receiver


async def _check_room(uow: Unit, receiver: Agent, team: Team | None) -> None:
    """A full agent is refused, with the reason; the sender may force it (``force``)."""
    capacity = receiver.capacity
    if capacity is None:
        in_team = team is not None and receiver.id in team.agent_ids
        capacity = team.agent_capacity if team is not None and in_team else DEFAULT_CAPACITY
    load = await uow.agent_load(receiver.id)
    if load >= capacity:
        raise Conflict(
            f"{receiver.name} (agent {receiver.id}) is full: {load} of {capacity} open "
            "conversations; send force: true to transfer anyway"
        )
