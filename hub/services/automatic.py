"""Automatic messages (自动应答) go out as any reply does, and at most once per rule."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.domain.channels import LimitsReplies
from hub.domain.model import Direction, MessageKind, MessageStatus, SenderType
from hub.domain.ports import NewMessage
from hub.domain.records import Conversation
from hub.domain.service_rules import Rule, Sent
from hub.services.deps import Deps
from hub.services.outbound import enqueue_delivery
from hub.services.publishing import publish_message

log = logging.getLogger(__name__)

#: in an automatic message's data: the rule that sent it
AUTOMATIC = "automatic"


async def send(
    deps: Deps,
    conversation: Conversation,
    rule: Rule,
    text: str,
    language: str,
    changes: Mapping[str, Any] | None = None,
) -> Sent | None:
    """Send ``text`` from the bot unless ``rule`` sent one in this conversation already.

    What keeps any reply from going out keeps this one too, before it is even stored: a
    customer who unsubscribed (an SMS "STOP") and a channel's spent reply allowance (WeChat's
    48 hours) are told nothing. ``changes`` are made to the conversation with it.
    """
    context = {"conversation_id": conversation.id, "rule": rule.value}
    async with deps.store.unit() as uow:
        channel = await uow.get_channel(conversation.channel_id)
        identity = await uow.get_identity(conversation.identity_id)
    if channel is None or identity is None:
        return None
    if identity.opted_out_at is not None:
        log.info("automatic message not sent: the customer opted out", extra=context)
        return None
    connector = deps.connectors.get(channel.kind)
    if isinstance(connector, LimitsReplies):
        activity, replies = await deps.rules.reply_activity(conversation.id)
        window = connector.reply_window(activity, replies, datetime.now(UTC))
        if window.remaining <= 0:
            log.info("automatic message not sent: the channel allows no reply now", extra=context)
            return None
    sent = await deps.rules.send_once(
        conversation.id,
        rule,
        NewMessage(
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction=Direction.OUT,
            sender_type=SenderType.BOT,
            kind=MessageKind.TEXT,
            text=text,
            status=MessageStatus.QUEUED,
            data={AUTOMATIC: rule.value, "language": language},
        ),
        changes,
    )
    if sent is None:
        log.info("automatic message sent before; not again", extra=context)
        return None
    assert sent.message is not None
    log.info("automatic message queued", extra={**context, "message_id": sent.message.id})
    await enqueue_delivery(deps, sent.message.id)
    await publish_message(deps, "message.created", sent.message, sent.conversation)
    return sent
