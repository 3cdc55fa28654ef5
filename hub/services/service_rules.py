"""Service rules at work: welcome and out-of-hours messages, what a widget shows of the service,
and conversations' times counted in business hours."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from hub.domain.business_hours import BusinessHours, business_seconds, is_open, next_opening
from hub.domain.events import AGENTS_TOPIC
from hub.domain.model import ConversationStatus, Inbound
from hub.domain.records import Channel, Conversation
from hub.domain.service_rules import (
    RatingWay,
    Rule,
    ServiceRules,
    VisitorService,
    awaits_rating,
    choose_text,
)
from hub.services import automatic, ratings
from hub.services.deps import Deps
from hub.services.publishing import conversation_event

log = logging.getLogger(__name__)

#: ``data["language"]`` of a customer's message: the language their client says they read
LANGUAGE = "language"


async def after_batch(
    deps: Deps,
    arrived: Sequence[tuple[Channel, Inbound, Conversation]],
    *,
    opened: Collection[int],
    rated: Sequence[Conversation],
) -> None:
    """What a batch of customers' messages asks of the rules, once it is committed: thanks for
    ratings given by a reply, welcomes and out-of-hours messages. A failure is logged, never
    raised: the messages are stored, and processing them again would change nothing."""
    try:
        await ratings.thank(deps, rated)
    except Exception:
        log.warning("rating thanks failed", exc_info=True)
    try:
        await after_inbound(deps, arrived, opened)
    except Exception:
        log.warning("automatic messages failed", exc_info=True)


async def after_inbound(
    deps: Deps,
    arrived: Sequence[tuple[Channel, Inbound, Conversation]],
    opened: Collection[int],
) -> None:
    """The welcome (欢迎语) for conversations customers just ``opened`` in business hours, and
    the out-of-hours message for those they wrote to outside them; each once per
    conversation, and never one that failed stops the others."""
    first: dict[int, tuple[Channel, Inbound, Conversation]] = {}
    for channel, item, conversation in arrived:
        # a resolved conversation took a rating; it starts nothing
        if conversation.status != ConversationStatus.RESOLVED:
            first.setdefault(conversation.id, (channel, item, conversation))
    if not first:
        return
    rules = await deps.rules.rules_for(sorted({channel.id for channel, _, _ in first.values()}))
    wanted = {
        channel_id: found
        for channel_id, found in rules.items()
        if found.message(Rule.WELCOME).active or found.message(Rule.OUT_OF_HOURS).active
    }
    if not wanted:
        return
    now = datetime.now(UTC)
    schedules: dict[tuple[int, int | None], BusinessHours | None] = {}
    for conversation_id, (channel, item, conversation) in first.items():
        channel_rules = wanted.get(channel.id)
        if channel_rules is None:
            continue
        key = (channel.id, conversation.team_id)
        try:
            if key not in schedules:
                schedules[key] = await deps.rules.hours_for(*key)
            if not is_open(schedules[key], item.occurred_at or now):
                rule = Rule.OUT_OF_HOURS
            elif conversation_id in opened:
                rule = Rule.WELCOME
            else:
                continue
            chosen = choose_text(channel_rules, rule, _language(item))
            if chosen is not None:
                await automatic.send(deps, conversation, rule, chosen[1], chosen[0])
        except Exception:
            log.warning(
                "automatic message failed",
                extra={"conversation_id": conversation_id},
                exc_info=True,
            )


def _language(item: Inbound) -> str | None:
    value = item.data.get(LANGUAGE)
    return value if isinstance(value, str) else None


async def measure(deps: Deps, conversation_id: int) -> Conversation | None:
    """Store the conversation's first response and resolution times counting business hours
    only (a reopened conversation has no resolution time until it is resolved again)."""
    seen = await deps.rules.conversation(conversation_id)
    if seen is None:
        return None
    hours = await deps.rules.hours_for(seen.channel_id, seen.team_id)
    async with deps.store.unit() as uow:
        current = await uow.get_conversation(conversation_id, lock=True)
        if current is None:
            return None
        changes: dict[str, Any] = {}
        first = current.first_response_at
        done = current.resolved_at
        first_s = business_seconds(hours, current.created_at, first) if first else None
        done_s = business_seconds(hours, current.created_at, done) if done else None
        if first_s != current.first_response_business_s:
            changes["first_response_business_s"] = first_s
        if done_s != current.resolution_business_s:
            changes["resolution_business_s"] = done_s
        if not changes:
            return current
        # The update stamp moves on: live pages and resyncs learn the new times.
        measured = await uow.update_conversation(conversation_id, **changes)
        await uow.commit()
    await deps.bus.publish(AGENTS_TOPIC, conversation_event(measured))
    return measured


async def resolved(deps: Deps, conversation_id: int) -> None:
    """A conversation was resolved: its times in business hours, and the rating request."""
    await measure(deps, conversation_id)
    await ratings.request(deps, conversation_id)


async def visitor_service(
    deps: Deps, channel: Channel, conversation_id: int | None, language: str | None
) -> VisitorService:
    """What a customer's client shows: whether the service is open, the out-of-hours text for
    its leave-a-message form, and a rating its latest conversation waits for."""
    hours, rules = await deps.rules.service_of(channel.id, channel.team_id)
    rules = rules or ServiceRules(channel.id)
    now = datetime.now(UTC)
    open_now = is_open(hours, now)
    chosen = choose_text(rules, Rule.OUT_OF_HOURS, language, even_inactive=True)
    assert chosen is not None
    waiting: tuple[int, str] | None = None
    if conversation_id is not None:
        conversation = await deps.rules.conversation(conversation_id)
        if (
            conversation is not None
            and conversation.channel_id == channel.id
            and conversation.status == ConversationStatus.RESOLVED
            and awaits_rating(conversation, now)
        ):
            way = ratings.way_of(deps, channel)
            request = choose_text(
                rules,
                Rule.RATING_REQUEST,
                language,
                way or RatingWay.WIDGET,
                even_inactive=True,
            )
            assert request is not None
            waiting = (conversation.id, request[1])
    return VisitorService(
        open=open_now,
        next_opening=None if open_now else next_opening(hours, now),
        closed_text=chosen[1],
        rating_request=waiting,
    )
