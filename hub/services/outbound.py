"""Outbound: an agent's reply is stored as queued, then a job delivers it with retries."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hub.domain.channels import EndsSessions
from hub.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermanentSendError,
    TransientSendError,
)
from hub.domain.model import (
    AttachmentRef,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
    Outbound,
    SenderType,
)
from hub.domain.ports import NewMessage, Retrying
from hub.domain.records import Agent, Message
from hub.domain.texts import text
from hub.services import metrics
from hub.services.deps import Deps
from hub.services.publishing import publish_message

log = logging.getLogger(__name__)

MAX_TEXT = 20_000


def deliver_job_id(message_id: int) -> str:
    return f"deliver:{message_id}"


def backoff_s(attempt: int) -> float:
    """2, 4, 8, ... seconds, capped at ten minutes."""
    return float(min(2**attempt, 600))


async def reply(
    deps: Deps,
    agent: Agent,
    conversation_id: int,
    text: str,
    *,
    private: bool = False,
    attachments: Sequence[AttachmentRef] = (),
    data: Mapping[str, Any] | None = None,
) -> Message:
    """Store an agent's reply (or private note) and queue its delivery; ``data`` is kept with
    the message (the title of a thread an agent starts)."""
    text = text.strip()
    if not text and not attachments:
        raise InvalidInput("a reply needs text or an attachment")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a reply is at most {MAX_TEXT} characters")
    kind = attachments[0].kind if attachments else MessageKind.TEXT
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id, lock=True)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id}")
        message = await uow.add_message(
            NewMessage(
                conversation_id=conversation.id,
                channel_id=conversation.channel_id,
                direction=Direction.OUT,
                sender_type=SenderType.AGENT,
                sender_agent_id=agent.id,
                kind=kind,
                text=text,
                private=private,
                status=MessageStatus.SENT if private else MessageStatus.QUEUED,
                attachments=tuple(attachments),
                data=dict(data or {}),
            )
        )
        assert message is not None  # outbound messages have no provider id yet
        changes: dict[str, object] = {"unread_count": 0}
        if not private:
            changes["last_message_at"] = message.created_at
            if conversation.first_response_at is None:
                changes["first_response_at"] = message.created_at
            if conversation.assignee_id is None:
                changes["assignee_id"] = agent.id
            if conversation.status != ConversationStatus.OPEN:
                changes["status"] = ConversationStatus.OPEN
                changes["resolved_at"] = None
        before = conversation
        conversation = await uow.update_conversation(conversation.id, **changes)
        await uow.commit()
    log.info(
        "reply stored",
        extra={
            "conversation_id": conversation.id,
            "message_id": message.id,
            "private": private,
        },
    )
    if not private:
        await enqueue_delivery(deps, message.id)
    await publish_message(deps, "message.created", message, conversation)
    await metrics.conversation_changed(deps, before, conversation)
    return message


#: in a message's data: how many delivery attempts came before an agent sent it again
RESENT_AFTER = "resent_after"
#: in a failed message's data: ``{"code": "wechat.45015", "text": {"en": …, "zh-CN": …}}``
FAILURE = "failure"
#: how many of a conversation's earlier messages a reply names (email's References)
THREAD_REFERENCES = 50
#: why a reply to a customer who unsubscribed from the channel is not sent
OPTED_OUT = text(
    "the customer unsubscribed from messages on this channel; nothing is sent to them until "
    "they subscribe again",
    "客户已退订该渠道的消息，在其重新订阅之前不会向其发送",
)


def gave_up_texts(tries: int, reason: str) -> dict[str, str]:
    return {
        "en": f"Not delivered after {tries} attempts: {reason}",
        "zh-CN": f"尝试 {tries} 次后仍未发出：{reason}",
    }


async def resend(deps: Deps, agent: Agent, message_id: int) -> Message:
    """Queue a failed reply again, with a fresh series of attempts (重发).

    For when the cause is gone: the provider is back, or the customer wrote again and reopened
    WeChat's reply window. The message keeps its place in the conversation.
    """
    async with deps.store.unit() as uow:
        message = await uow.get_message(message_id, lock=True)
        if message is None:
            raise NotFound(f"message {message_id}")
        if message.direction != Direction.OUT or message.private:
            raise InvalidInput("only a reply to the customer can be sent again")
        if message.status != MessageStatus.FAILED:
            raise Conflict(f"only a failed reply can be sent again; this one is {message.status}")
        data = {k: v for k, v in message.data.items() if k != FAILURE}
        data[RESENT_AFTER] = await uow.count_deliveries(message_id)
        message = await uow.update_message(
            message_id, status=MessageStatus.QUEUED, error=None, data=data
        )
        await uow.commit()
    log.info(
        "reply queued again",
        extra={
            "conversation_id": message.conversation_id,
            "message_id": message.id,
            "agent_id": agent.id,
        },
    )
    await enqueue_delivery(deps, message.id)
    await publish_message(deps, "message.updated", message)
    return message


async def send_system_message(
    deps: Deps, conversation_id: int, text: str, data: dict[str, Any] | None = None
) -> Message:
    """An automatic message (welcome, out of hours) sent like a reply, from the bot."""
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id}")
        message = await uow.add_message(
            NewMessage(
                conversation_id=conversation.id,
                channel_id=conversation.channel_id,
                direction=Direction.OUT,
                sender_type=SenderType.BOT,
                kind=MessageKind.TEXT,
                text=text,
                status=MessageStatus.QUEUED,
                data=data or {},
            )
        )
        assert message is not None
        conversation = await uow.update_conversation(
            conversation.id, last_message_at=message.created_at
        )
        await uow.commit()
    await enqueue_delivery(deps, message.id)
    await publish_message(deps, "message.created", message, conversation)
    return message


async def enqueue_delivery(deps: Deps, message_id: int, defer_s: float | None = None) -> None:
    try:
        await deps.queue.enqueue(
            "deliver", message_id, job_id=deliver_job_id(message_id), defer_s=defer_s
        )
    except Exception:
        log.warning(
            "enqueue failed; the sweeper will retry",
            extra={"message_id": message_id},
            exc_info=True,
        )


async def deliver(deps: Deps, message_id: int) -> None:
    """Send one queued message through its channel's connector."""
    async with deps.store.unit() as uow:
        message = await uow.get_message(message_id)
        if message is None or message.status != MessageStatus.QUEUED:
            return
        conversation = await uow.get_conversation(message.conversation_id)
        channel = await uow.get_channel(message.channel_id)
        identity = await uow.get_identity(conversation.identity_id) if conversation else None
        attempt = await uow.count_deliveries(message_id) + 1
        references, title = await uow.thread_facts(message.conversation_id, THREAD_REFERENCES)
        agent = await uow.get_agent(message.sender_agent_id) if message.sender_agent_id else None
    # Counted since the agent last sent it again: a resend gets every attempt afresh.
    tries = attempt - int(message.data.get(RESENT_AFTER, 0))
    if conversation is None or channel is None or identity is None:
        return
    if identity.opted_out_at is not None:
        # The customer unsubscribed (an SMS "STOP"): sending anyway would break the law in
        # many countries, and the provider would refuse it after all.
        log.info("not sent: the customer opted out", extra={"message_id": message.id})
        reason = OPTED_OUT["en"]
        await _record(
            deps,
            message,
            attempt,
            MessageStatus.FAILED,
            reason,
            None,
            final=True,
            failure={"code": "hub.opted_out", "text": OPTED_OUT},
        )
        return
    outbound = Outbound(
        message_id=message.id,
        conversation_id=conversation.id,
        recipient_id=identity.external_id,
        kind=message.kind,
        text=message.text,
        attachments=tuple(
            AttachmentRef(
                kind=a.kind,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                storage_key=a.storage_key,
                url=deps.public_file_url(a),
            )
            for a in message.attachments
        ),
        data=message.data,
        references=tuple(references),
        title=title,
        sender_name=agent.name if agent else "",
    )
    context = {
        "channel_id": channel.id,
        "conversation_id": conversation.id,
        "message_id": message.id,
    }
    try:
        receipt = await deps.connector(channel.kind).send(
            channel, outbound, deps.send_context(channel.id)
        )
    except PermanentSendError as exc:
        log.warning("delivery refused", extra={**context, "code": exc.code})
        if exc.opted_out:
            # A STOP the hub never saw (sent while the webhook was not set up): remembered now,
            # so the contact card shows it and the next reply is not even tried.
            async with deps.store.unit() as uow:
                await uow.set_opted_out({identity.id: datetime.now(UTC)})
                await uow.commit()
        failure = {"code": exc.code or f"{channel.kind}.refused", "text": exc.texts}
        await _record(
            deps,
            message,
            attempt,
            MessageStatus.FAILED,
            exc.reason,
            None,
            final=True,
            failure=failure,
        )
        return
    except Exception as exc:
        reason = str(exc) if isinstance(exc, TransientSendError) else f"{type(exc).__name__}: {exc}"
        final = tries >= deps.limits.max_delivery_attempts
        log.warning(
            "delivery failed", extra={**context, "attempt": attempt, "final": final}, exc_info=True
        )
        gave_up: dict[str, Any] | None = None
        if final:
            gave_up = {"code": "hub.gave_up", "text": gave_up_texts(tries, reason)}
        await _record(
            deps, message, attempt, MessageStatus.FAILED, reason, None, final=final, failure=gave_up
        )
        if not final:
            raise Retrying(backoff_s(tries)) from exc
        return
    log.info(
        "delivered",
        extra={**context, "provider_message_id": receipt.provider_message_id, "attempt": attempt},
    )
    await _record(
        deps, message, attempt, receipt.status, None, receipt.provider_message_id, final=True
    )


async def _record(
    deps: Deps,
    message: Message,
    attempt: int,
    status: MessageStatus,
    error: str | None,
    provider_message_id: str | None,
    *,
    final: bool,
    failure: dict[str, Any] | None = None,
) -> None:
    async with deps.store.unit() as uow:
        await uow.add_delivery(message.id, attempt, status, error, provider_message_id)
        if final:
            changes: dict[str, Any] = {
                "status": status,
                "error": error,
                "provider_message_id": provider_message_id,
            }
            if failure:
                # The thread shows the reason in the agent's language.
                changes["data"] = {**message.data, FAILURE: failure}
            message = await uow.update_message(message.id, **changes)
        else:
            message = await uow.update_message(message.id, error=error)
        await uow.commit()
    await publish_message(deps, "message.updated", message)


async def end_session(deps: Deps, conversation_id: int) -> None:
    """Close the provider's session too, where the provider keeps one (WeCom 微信客服)."""
    async with deps.store.unit() as uow:
        conversation = await uow.get_conversation(conversation_id)
        channel = await uow.get_channel(conversation.channel_id) if conversation else None
        identity = await uow.get_identity(conversation.identity_id) if conversation else None
    if conversation is None or channel is None or identity is None:
        return
    if conversation.status != ConversationStatus.RESOLVED:
        return  # reopened since
    connector = deps.connector(channel.kind)
    if isinstance(connector, EndsSessions):
        await connector.end_session(channel, identity.external_id, deps.send_context(channel.id))
        log.info(
            "provider session ended",
            extra={"channel_id": channel.id, "conversation_id": conversation.id},
        )
