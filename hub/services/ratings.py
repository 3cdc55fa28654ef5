"""Satisfaction ratings (满意度评价): asked for when a conversation is resolved, each channel its
own way, and kept on the conversation with a line in its thread.

A "reply 1-5" channel (WeChat, WeCom, SMS) sends the request as a message; the customer's next
message, if it is only a digit from 1 to 5 and comes in time, is the rating instead of a new
question. An email carries a signed link to a page of the hub that works once. The web chat
widget shows stars and a comment box, and answers with a ``rating`` frame.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.domain.errors import Conflict, Forbidden, NotFound
from hub.domain.events import HubEvent, visitor_topic
from hub.domain.model import (
    ConversationStatus,
    Direction,
    Inbound,
    MessageKind,
    MessageStatus,
    SenderType,
)
from hub.domain.ports import NewMessage, Unit
from hub.domain.records import Channel, Conversation, Message
from hub.domain.service_rules import (
    RATING_LINK_S,
    RatingWay,
    Rule,
    awaits_rating,
    check_rating,
    choose_text,
    parse_rating_reply,
    rating_line,
)
from hub.services import automatic
from hub.services.deps import Deps
from hub.services.publishing import publish_message

log = logging.getLogger(__name__)

#: ``data["event"]`` of the thread's lines: the request (where it is no message of its own)
#: and the rating
REQUESTED = "rating_requested"
RATED = "rating"


class SignedRatingLinks:
    """``RatingLinks`` signed with the hub's secret: a forged or expired one is refused."""

    def __init__(self, secret: str, public_url: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="kefu.rating")
        self._base = public_url.rstrip("/")

    def link(self, conversation_id: int) -> str:
        return f"{self._base}/rate/{self._signer.dumps(conversation_id)}"

    def conversation_of(self, token: str) -> int:
        try:
            found = self._signer.loads(token, max_age=RATING_LINK_S)
        except SignatureExpired:
            raise Forbidden("this rating link has expired") from None
        except BadSignature:
            raise Forbidden("this rating link is not valid") from None
        if not isinstance(found, int) or isinstance(found, bool):
            raise Forbidden("this rating link is not valid")
        return found


def way_of(deps: Deps, channel: Channel) -> RatingWay | None:
    connector = deps.connectors.get(channel.kind)
    return connector.info.rating if connector is not None else None


async def request(deps: Deps, conversation_id: int) -> None:
    """Ask the customer of a resolved conversation for a rating, once, where the channel's
    rules ask for ratings and an agent served the conversation."""
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id)
        channel = await uow.get_channel(conversation.channel_id) if conversation else None
        identity = await uow.get_identity(conversation.identity_id) if conversation else None
    if conversation is None or channel is None or identity is None:
        return
    if (
        conversation.status != ConversationStatus.RESOLVED
        or conversation.first_response_at is None  # nobody answered: nothing to rate
        or conversation.rating_requested_at is not None
        or conversation.rated_at is not None
    ):
        return
    rules = (await deps.rules.rules_for([channel.id])).get(channel.id)
    way = way_of(deps, channel)
    if rules is None or way is None:
        return
    language = await deps.rules.customer_language(conversation.id)
    chosen = choose_text(rules, Rule.RATING_REQUEST, language, way)
    if chosen is None:
        return
    language, text = chosen
    now = datetime.now(UTC)
    lasts = RATING_LINK_S if way == RatingWay.LINK else rules.rating_reply_s
    changes = {"rating_requested_at": now, "rating_expires_at": now + timedelta(seconds=lasts)}
    if way == RatingWay.WIDGET:
        await _ask_in_client(deps, conversation, identity.external_id, text, language, changes)
        return
    if way == RatingWay.LINK:
        if deps.rating_links is None:
            log.warning(
                "no rating link: the hub has no public URL", extra={"channel_id": channel.id}
            )
            return
        text = f"{text}\n{deps.rating_links.link(conversation.id)}"
    await automatic.send(deps, conversation, Rule.RATING_REQUEST, text, language, changes)


async def _ask_in_client(
    deps: Deps,
    conversation: Conversation,
    customer: str,
    text: str,
    language: str,
    changes: Mapping[str, datetime],
) -> None:
    """The customer's client shows the stars: the thread keeps a line saying it asked."""
    sent = await deps.rules.send_once(
        conversation.id,
        Rule.RATING_REQUEST,
        NewMessage(
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction=Direction.OUT,
            sender_type=SenderType.SYSTEM,
            kind=MessageKind.EVENT,
            text=text,
            status=MessageStatus.SENT,
            data={"event": REQUESTED, automatic.AUTOMATIC: Rule.RATING_REQUEST.value},
        ),
        changes,
    )
    if sent is None or sent.message is None:
        return
    await publish_message(deps, "message.created", sent.message, sent.conversation)
    await deps.bus.publish(
        visitor_topic(conversation.channel_id, customer),
        HubEvent(
            "rating_request",
            {"conversation_id": conversation.id, "text": text, "language": language},
        ),
    )


def answers(deps: Deps, channel: Channel, item: Inbound, conversation: Conversation) -> bool:
    """Whether a customer's new message is the rating its resolved conversation asked for by
    "reply 1-5": then it joins that conversation instead of opening a new one."""
    return (
        conversation.status == ConversationStatus.RESOLVED
        and item.thread is None
        and item.kind == MessageKind.TEXT
        and not item.attachments
        and way_of(deps, channel) == RatingWay.REPLY
        and awaits_rating(conversation, item.occurred_at or datetime.now(UTC))
        and parse_rating_reply(item.text) is not None
    )


async def take_replies(
    deps: Deps,
    uow: Unit,
    arrived: Sequence[tuple[Channel, Inbound, Conversation, Message | None]],
    updated: dict[int, Conversation],
) -> list[Message]:
    """In the transaction that stores customers' messages: rate the conversations whose
    awaited "reply 1-5" came, with the rating's line in the thread. ``updated`` is given the
    rated conversations; the lines are returned, to publish after the commit."""
    lines: list[Message] = []
    for channel, item, conversation, message in arrived:
        current = updated.get(conversation.id)
        if message is None or current is None or not answers(deps, channel, item, current):
            continue
        score = parse_rating_reply(item.text)
        assert score is not None
        rated, line = await _rate(uow, current, score, "", message.created_at)
        updated[rated.id] = rated
        lines.append(line)
        log.info("rated by a reply", extra={"conversation_id": rated.id, "score": score})
    return lines


async def thank(deps: Deps, rated: Sequence[Conversation]) -> None:
    """The channel's thanks for a rating given by a reply, where it sends one."""
    if not rated:
        return
    rules = await deps.rules.rules_for(sorted({c.channel_id for c in rated}))
    for conversation in rated:
        channel_rules = rules.get(conversation.channel_id)
        if channel_rules is None:
            continue
        language = await deps.rules.customer_language(conversation.id)
        chosen = choose_text(channel_rules, Rule.RATING_THANKS, language)
        if chosen is not None:
            await automatic.send(deps, conversation, Rule.RATING_THANKS, chosen[1], chosen[0])


async def rate(deps: Deps, conversation_id: int, score: int, comment: str) -> Conversation:
    """The customer's rating from their client or the rating page: refused with the reason
    when out of 1-5, never asked for, given already, or too late."""
    score, comment = check_rating(score, comment)
    now = datetime.now(UTC)
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id, lock=True)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id}")
        if conversation.rated_at is not None:
            raise Conflict("this conversation is rated already")
        if conversation.rating_requested_at is None:
            raise Conflict("this conversation asked for no rating")
        if not awaits_rating(conversation, now):
            raise Conflict("the time to rate this conversation is over")
        rated, line = await _rate(uow, conversation, score, comment, now)
        await uow.commit()
    log.info("rated", extra={"conversation_id": rated.id, "score": score})
    await publish_message(deps, "message.created", line, rated)
    return rated


async def rated_event(deps: Deps, conversation: Conversation, customer: str) -> None:
    """Tell the customer's open pages that the rating is in (each hides its stars)."""
    await deps.bus.publish(
        visitor_topic(conversation.channel_id, customer),
        HubEvent("rated", {"conversation_id": conversation.id}),
    )


async def _rate(
    uow: Unit, conversation: Conversation, score: int, comment: str, at: datetime
) -> tuple[Conversation, Message]:
    rated = await uow.update_conversation(
        conversation.id, rating_score=score, rating_comment=comment, rated_at=at
    )
    line = await uow.add_message(
        NewMessage(
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction=Direction.IN,
            sender_type=SenderType.CONTACT,
            kind=MessageKind.EVENT,
            text=rating_line(score, comment),
            status=MessageStatus.RECEIVED,
            data={"event": RATED, "score": score, "comment": comment},
            created_at=at,
        )
    )
    assert line is not None  # no provider id: nothing to collide with
    return rated, line
