"""Proactive invitations (主动邀请): an agent invites a visitor browsing the site to chat.

The invitation goes to the visitor's page over their live topic, wherever their widget is
connected. Accepting opens a conversation with the visitor assigned to the inviting agent,
whose invitation is its first message; declining, or leaving it unanswered until the page
closes, is recorded on the visitor and told to the agents.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any, Literal

from hub.domain.errors import InvalidInput, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.ports import NewContact
from hub.domain.records import Agent, Channel
from hub.services.deps import Deps
from hub.services.outreach import open_conversation
from hub.services.visitors import VisitorBoard

log = logging.getLogger(__name__)

MAX_TEXT = 1000
Outcome = Literal["accepted", "declined", "ignored"]


async def invite(
    deps: Deps, board: VisitorBoard, agent: Agent, channel_id: int, visitor_id: str, text: str
) -> str:
    """Send the invitation to the visitor's page; gives its id."""
    text = text.strip()
    if not text:
        raise InvalidInput("text: an invitation needs a message")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text: at most {MAX_TEXT} characters")
    if board.visitor(f"{channel_id}:{visitor_id}") is None:
        raise NotFound(f"visitor {visitor_id!r} is not on the site now")
    invitation_id = "inv_" + secrets.token_urlsafe(9)
    await deps.bus.publish(
        visitor_topic(channel_id, visitor_id),
        HubEvent(
            "invite",
            {
                "invitation_id": invitation_id,
                "text": text,
                "agent_id": agent.id,
                "agent_name": agent.name,
            },
        ),
    )
    log.info(
        "visitor invited",
        extra={"channel_id": channel_id, "agent_id": agent.id, "invitation_id": invitation_id},
    )
    return invitation_id


async def answered(
    deps: Deps,
    channel: Channel,
    visitor_id: str,
    invitation: Mapping[str, Any],
    outcome: Outcome,
) -> int | None:
    """What the visitor did with the invitation; on acceptance, the conversation opened."""
    conversation_id = None
    if outcome == "accepted":
        async with deps.store.unit() as uow:
            agent = await uow.get_agent(int(invitation["agent_id"]))
        if agent is not None and agent.active:
            connector = deps.connectors.get(channel.kind)
            label = (
                connector.info.contact_label if connector else {"en": "Visitor", "zh-CN": "访客"}
            )
            name = f"{label['en']} {label['zh-CN']} #{visitor_id[-6:]}"
            conversation, _ = await open_conversation(
                deps,
                agent,
                channel,
                visitor_id,
                NewContact(name),
                str(invitation["text"]),
                fresh=False,
            )
            conversation_id = conversation.id
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent(
            "visitor.invitation",
            {
                "channel_id": channel.id,
                "visitor_id": visitor_id,
                "invitation_id": str(invitation["invitation_id"]),
                "agent_id": int(invitation["agent_id"]),
                "outcome": outcome,
                "conversation_id": conversation_id,
            },
        ),
    )
    log.info(
        "invitation answered",
        extra={
            "channel_id": channel.id,
            "invitation_id": str(invitation["invitation_id"]),
            "outcome": outcome,
            "conversation_id": conversation_id,
        },
    )
    return conversation_id
