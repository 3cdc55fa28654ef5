"""Proactive invitations (主动邀请): an agent, or a channel's rule, invites a visitor to chat.

The invitation goes to the visitor's page over their live topic, wherever their widget is
connected. Accepting an agent's invitation opens a conversation assigned to that agent, whose
invitation is its first message; accepting a rule's opens one with the rule's message, routed
as any new conversation. Declining, or leaving it unanswered until the page closes, is
recorded on the visitor and told to the agents; a rule counts what became of its invitations.

The automatic inviter runs in every web process beside its visitor board, for the visitors
connected there: once a second it checks them against their channel's rules
(``hub.domain.invitation_rules.due``), while some agent is online, and at most once per rule
and visitor in the rule's cooldown (counted across processes).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hub.domain.errors import InvalidInput, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.invitation_rules import InvitationRule, InvitationRules, check_pattern, due
from hub.domain.ports import NewContact
from hub.domain.records import Agent, Channel
from hub.services.deps import Deps
from hub.services.outbound import send_system_message
from hub.services.outreach import customer_conversation, open_conversation
from hub.services.routing import route_safely
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


def _visitor_contact(deps: Deps, channel: Channel, visitor_id: str) -> NewContact:
    connector = deps.connectors.get(channel.kind)
    label = connector.info.contact_label if connector else {"en": "Visitor", "zh-CN": "访客"}
    return NewContact(f"{label['en']} {label['zh-CN']} #{visitor_id[-6:]}")


async def answered(
    deps: Deps,
    channel: Channel,
    visitor_id: str,
    invitation: Mapping[str, Any],
    outcome: Outcome,
    rules: InvitationRules | None = None,
) -> int | None:
    """What the visitor did with the invitation; on acceptance, the conversation opened."""
    conversation_id = None
    agent_id = invitation.get("agent_id")
    rule_id = invitation.get("rule_id")
    if outcome == "accepted" and agent_id is not None:
        async with deps.store.unit() as uow:
            agent = await uow.get_agent(int(agent_id))
        if agent is not None and agent.active:
            conversation, _ = await open_conversation(
                deps,
                agent,
                channel,
                visitor_id,
                _visitor_contact(deps, channel, visitor_id),
                str(invitation["text"]),
                fresh=False,
            )
            conversation_id = conversation.id
    elif outcome == "accepted":
        # a rule's invitation: the conversation is routed like any new one
        conversation = await customer_conversation(
            deps,
            channel,
            visitor_id,
            _visitor_contact(deps, channel, visitor_id),
            fresh=False,
            assignee_id=None,
        )
        await send_system_message(
            deps, conversation.id, str(invitation["text"]), {"invitation_rule": rule_id}
        )
        await route_safely(deps, [conversation.team_id])
        conversation_id = conversation.id
    if rule_id is not None and rules is not None:
        try:
            await rules.count(int(rule_id), outcome)
        except Exception:
            log.warning("an invitation's outcome was not counted", exc_info=True)
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent(
            "visitor.invitation",
            {
                "channel_id": channel.id,
                "visitor_id": visitor_id,
                "invitation_id": str(invitation["invitation_id"]),
                "agent_id": int(agent_id) if agent_id is not None else None,
                "rule_id": int(rule_id) if rule_id is not None else None,
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


# -- rules ------------------------------------------------------------------------------------

MAX_COOLDOWN = timedelta(days=365)


def checked_rule(rule: InvitationRule) -> InvitationRule:
    """The rule as stored, or ``InvalidInput`` with the reason."""
    name, message = rule.name.strip(), rule.message.strip()
    if not name:
        raise InvalidInput("name: a rule needs a name")
    if not message:
        raise InvalidInput("message: a rule needs the message its invitation shows")
    if len(message) > MAX_TEXT:
        raise InvalidInput(f"message: at most {MAX_TEXT} characters")
    if not 0 <= rule.delay_s <= 3600:
        raise InvalidInput("delay_s: between 0 and 3600 seconds")
    if not 1 <= rule.min_visits <= 1000:
        raise InvalidInput("min_visits: between 1 and 1000")
    if not timedelta(0) <= rule.cooldown <= MAX_COOLDOWN:
        raise InvalidInput("cooldown_s: between 0 and a year")
    return replace(
        rule,
        name=name,
        message=message,
        page=check_pattern(rule.page),
        search_words=" ".join(rule.search_words.split())[:200],
    )


class AutoInviter:
    """Invites this process's visitors as their channels' rules say."""

    def __init__(
        self,
        deps: Deps,
        board: VisitorBoard,
        rules: InvitationRules,
        *,
        first_time: Callable[[str, float], Awaitable[bool]],
        every_s: float = 1.0,
        reload_every_s: float = 5.0,
    ) -> None:
        self._deps = deps
        self._board = board
        self._rules = rules
        #: true the first time a key is counted in the window (shared by every process)
        self._first_time = first_time
        self._every_s = every_s
        self._reload_every_s = reload_every_s
        self._by_channel: dict[int, list[InvitationRule]] = {}
        self._loaded_at = -1e9

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await self.check()
            except Exception:
                log.exception("automatic invitations: a check failed")

    async def check(self) -> int:
        """One look at this process's visitors; gives how many were invited."""
        if time.monotonic() - self._loaded_at > self._reload_every_s:
            by_channel: dict[int, list[InvitationRule]] = {}
            for rule in await self._rules.list():
                if rule.active:
                    by_channel.setdefault(rule.channel_id, []).append(rule)
            self._by_channel, self._loaded_at = by_channel, time.monotonic()
        if not self._by_channel:
            return 0
        now = datetime.now(UTC)
        candidates = [
            (rule, visitor)
            for visitor in self._board.local_visitors()
            for rule in self._by_channel.get(visitor.channel_id, ())
            if due(rule, visitor, now)
        ]
        if not candidates or not await self._deps.presence.online():
            return 0  # nobody would answer: no invitation
        invited = 0
        done: set[str] = set()
        for rule, visitor in candidates:
            if visitor.key in done:
                continue  # one invitation at a time, from the first rule that matches
            window = max(1.0, rule.cooldown.total_seconds())
            if not await self._first_time(f"invite:{rule.id}:{visitor.key}", window):
                continue
            await self._send(rule, visitor.channel_id, visitor.visitor_id)
            done.add(visitor.key)
            invited += 1
        return invited

    async def _send(self, rule: InvitationRule, channel_id: int, visitor_id: str) -> None:
        async with self._deps.store.unit() as uow:
            channel = await uow.get_channel(channel_id)
        title = str(channel.settings.get("title") or channel.name) if channel else ""
        invitation_id = "inv_" + secrets.token_urlsafe(9)
        await self._deps.bus.publish(
            visitor_topic(channel_id, visitor_id),
            HubEvent(
                "invite",
                {
                    "invitation_id": invitation_id,
                    "text": rule.message,
                    "agent_id": None,
                    "agent_name": title,
                    "rule_id": rule.id,
                },
            ),
        )
        await self._rules.count(rule.id, "sent")
        log.info(
            "visitor invited by a rule",
            extra={"channel_id": channel_id, "rule_id": rule.id, "invitation_id": invitation_id},
        )
