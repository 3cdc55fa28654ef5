"""Inbound: accept a provider's events durably, then turn each into a message in a job."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.domain.channels import AutoReplies
from hub.domain.errors import NotFound, PermanentSendError
from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.model import (
    THREAD_TITLE,
    AttachmentRef,
    ConversationStatus,
    Direction,
    Inbound,
    MessageStatus,
    SenderType,
    StatusUpdate,
)
from hub.domain.ports import AcceptedEvent, NewContact, NewConversation, NewMessage, Unit
from hub.domain.records import Attachment, Channel, Conversation, Identity, Message
from hub.services import ratings, service_rules
from hub.services.deps import Deps
from hub.services.outbound import FAILURE, send_system_message
from hub.services.publishing import conversation_event, message_event, publish_message
from hub.services.routing import route_safely
from hub.services.threads import thread_sessions

log = logging.getLogger(__name__)

#: Statuses a later report may not undo: "delivered" arriving after "read" changes nothing.
_STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.FAILED: 4,
}


async def accept(
    deps: Deps, channel: Channel, items: Sequence[Inbound], *, queue_processing: bool = True
) -> list[AcceptedEvent]:
    """Store the raw events (one shared commit) and queue their processing.

    When this returns, the events are committed: the provider may be told "received". Their
    job is queued right after, without making the provider wait for the queue: a failed or
    unfinished enqueue loses nothing, since the sweeper re-enqueues pending events. A caller
    that processes them itself (a poller, in a process that processes events) says
    ``queue_processing=False``.
    """
    accepted = await deps.store.accept_events(channel.id, items)
    for item, result in zip(items, accepted, strict=True):
        log.info(
            "inbound accepted",
            extra={
                "channel_id": channel.id,
                "event_id": result.event_id,
                "provider_event_id": item.provider_event_id,
                "duplicate": not result.created,
            },
        )
    created = [r.event_id for r in accepted if r.created]
    if created and queue_processing:
        deps.enqueues.add(deps, created)
    return accepted


async def enqueues_settled(deps: Deps) -> None:
    """Wait until every accepted event's job is in the queue (for shutdown and tests)."""
    await deps.enqueues.settled()


@dataclass(frozen=True)
class _Processed:
    channel: Channel
    item: Inbound
    message: Message
    conversation: Conversation


async def process_inbound(deps: Deps, event_id: int) -> Message | None:
    """Contact → conversation → message, exactly once per accepted event."""
    processed = await process_inbound_batch(deps, [event_id])
    return processed[0].message if processed else None


async def process_inbound_batch(deps: Deps, event_ids: Sequence[int]) -> list[_Processed]:
    """Process several accepted events in one transaction, in the order they were accepted.

    The work is set-based (one lookup of the customers, one insert of the messages, one update
    of the conversations) so a burst costs a few statements, not a few per message. Events
    that were processed already (a job run twice) are skipped; if anything fails, the whole
    batch rolls back and the caller retries its events one by one.
    """
    async with deps.store.unit() as uow:
        events = await uow.claim_pending_events(sorted(set(event_ids)))
        if not events:
            return []
        work: list[tuple[Channel, Inbound]] = []
        channels: dict[int, Channel] = {}
        for event in events:
            channel = channels.get(event.channel_id) or await uow.get_channel(event.channel_id)
            if channel is None:
                raise NotFound(f"channel {event.channel_id}")
            channels[channel.id] = channel
            item = Inbound.model_validate(event.payload)
            if item.data.get("about_customer") is False:
                # Provider housekeeping (a servicer went offline): a log line, not a contact.
                log.info("provider event kept out of the inbox", extra={"event_id": event.id})
                continue
            work.append((channel, item))
        work, completions = await _completions(uow, work)
        customers = await uow.find_customers([(c.id, item.sender_id) for c, item in work])
        await _add_customers(deps, uow, customers, work)
        teams = await uow.team_ids([item.team for _, item in work if item.team])
        sessions = [w for w in work if w[1].thread is None and not _rates(deps, customers, w)]
        await _open_sessions(uow, customers, sessions, teams)
        threads = await thread_sessions(
            uow, work, {key: identity for key, (identity, _) in customers.items()}, teams
        )
        drafts = [
            (channel, item, threads.get(n) or _session(customers, channel, item))
            for n, (channel, item) in enumerate(work)
        ]
        messages = await uow.add_inbound_messages(
            [_new_message(item, conversation) for _, item, conversation in drafts]
        )
        touches: dict[int, tuple[datetime, int, bool]] = {}
        for (_, item, conversation), message in zip(drafts, messages, strict=True):
            if message is None:  # the same provider message under another event id
                continue
            _, added, reopen = touches.get(conversation.id, (message.created_at, 0, False))
            reopen = reopen or conversation.status in _REOPENED_BY_CUSTOMER
            # A threaded channel's answer to a resolved thread opens that thread again.
            reopen = reopen or (
                item.thread is not None and conversation.status == ConversationStatus.RESOLVED
            )
            touches[conversation.id] = (message.created_at, added + 1, reopen)
        updated = await uow.touch_inbound_many(touches)
        completed = await _complete(uow, completions)
        rated = await ratings.take_replies(
            deps,
            uow,
            [(c, i, conv, m) for (c, i, conv), m in zip(drafts, messages, strict=True)],
            updated,
        )
        opted = _opt_outs(customers, work)
        if opted:
            await uow.set_opted_out(opted)
        await uow.commit()
    done = [
        _Processed(channel, item, message, updated[conversation.id])
        for (channel, item, conversation), message in zip(drafts, messages, strict=True)
        if message is not None
    ]
    outgoing: list[tuple[str, HubEvent]] = []
    for result in done:
        outgoing.append((AGENTS_TOPIC, message_event("message.created", deps, result.message)))
        log.info(
            "inbound processed",
            extra={
                "channel_id": result.channel.id,
                "conversation_id": result.conversation.id,
                "message_id": result.message.id,
                "provider_message_id": result.message.provider_message_id,
            },
        )
    outgoing += [(AGENTS_TOPIC, message_event("message.updated", deps, m)) for m in completed]
    outgoing += [(AGENTS_TOPIC, message_event("message.created", deps, m)) for m in rated]
    outgoing += [(AGENTS_TOPIC, conversation_event(c)) for c in updated.values()]
    if outgoing:
        await deps.bus.publish_many(outgoing)
    await route_safely(deps, _started_waiting(drafts, updated))
    for result in done:
        for file in result.message.attachments:
            if file.storage_key is None and file.provider_ref:
                await deps.queue.enqueue("fetch_media", file.id, job_id=f"media:{file.id}")
        await _auto_reply(deps, result.channel, result.item, result.conversation)
    await service_rules.after_batch(
        deps,
        [(r.channel, r.item, r.conversation) for r in done],
        opened={
            conversation.id for _, _, conversation in drafts if not conversation.last_message_at
        },
        rated=[updated[line.conversation_id] for line in rated],
    )
    return done


_REOPENED_BY_CUSTOMER = (ConversationStatus.PENDING, ConversationStatus.SNOOZED)


def _rates(deps: Deps, customers: _Customers, work: tuple[Channel, Inbound]) -> bool:
    """A "reply 1-5" to the rating request of the customer's resolved conversation: it joins
    that conversation instead of opening a new one."""
    channel, item = work
    found = customers.get((channel.id, item.sender_id))
    return (
        found is not None
        and found[1] is not None
        and ratings.answers(deps, channel, item, found[1])
    )


def _started_waiting(
    drafts: Sequence[tuple[Channel, Inbound, Conversation]], updated: Mapping[int, Conversation]
) -> set[int | None]:
    """The teams of the conversations this batch put in a queue: new ones (no message before
    this batch) and reopened ones, that nobody has."""
    teams: set[int | None] = set()
    for _, _, before in drafts:
        after = updated.get(before.id)
        if (
            after is None
            or after.assignee_id is not None
            or after.status != ConversationStatus.OPEN
        ):
            continue
        if before.last_message_at is None or before.status != ConversationStatus.OPEN:
            teams.add(after.team_id)
    return teams


_Customers = dict[tuple[int, str], tuple[Identity, Conversation | None]]


async def _add_customers(
    deps: Deps, uow: Unit, customers: _Customers, work: Sequence[tuple[Channel, Inbound]]
) -> None:
    """Create the customers met for the first time; fill in what known ones tell of themselves."""
    new: dict[tuple[int, str], NewContact] = {}
    told: dict[int, NewContact] = {}
    for channel, item in work:
        key = (channel.id, item.sender_id)
        if key in customers:
            if item.sender_name or item.sender_email or item.sender_phone:
                contact_id = customers[key][0].contact_id
                before = told.get(contact_id, NewContact(""))
                told[contact_id] = NewContact(
                    item.sender_name or before.name,
                    item.sender_email or before.email,
                    item.sender_phone or before.phone,
                )
        elif key not in new:
            new[key] = NewContact(
                item.sender_name or _default_name(deps, channel, item),
                email=item.sender_email,
                phone=item.sender_phone,
            )
    if told:
        # One statement for the batch, which leaves a contact that already says so untouched:
        # an SMS brings its sender's number every time.
        await uow.fill_contacts(told)
    if not new:
        return
    created = await uow.create_customers(new)
    customers.update((key, (identity, None)) for key, identity in created.items())
    raced = [key for key in new if key not in created]
    if raced:  # another worker created these customers a moment ago
        customers.update(await uow.find_customers(raced))


async def _completions(
    uow: Unit, work: list[tuple[Channel, Inbound]]
) -> tuple[list[tuple[Channel, Inbound]], list[tuple[Channel, Inbound]]]:
    """Split off the items that complete an earlier message (a voicemail's transcript).

    One whose message is neither stored nor in this batch becomes a message of its own: a
    transcript whose recording never arrived is still worth reading.
    """
    in_batch = {
        (channel.id, item.provider_message_id or item.provider_event_id)
        for channel, item in work
        if item.completes is None
    }
    rest: list[tuple[Channel, Inbound]] = []
    completions: list[tuple[Channel, Inbound]] = []
    for channel, item in work:
        if item.completes is None:
            rest.append((channel, item))
        elif (channel.id, item.completes) in in_batch or await uow.find_inbound_by_provider_id(
            channel.id, item.completes
        ):
            completions.append((channel, item))
        else:
            rest.append((channel, item))
    return rest, completions


async def _complete(uow: Unit, completions: Sequence[tuple[Channel, Inbound]]) -> list[Message]:
    """Write the completing items' text and data into the messages they complete."""
    done: list[Message] = []
    for channel, item in completions:
        assert item.completes is not None
        target = await uow.find_inbound_by_provider_id(channel.id, item.completes)
        if target is None:
            continue
        done.append(
            await uow.update_message(
                target.id, text=item.text or target.text, data={**target.data, **item.data}
            )
        )
    return done


async def _open_sessions(
    uow: Unit,
    customers: _Customers,
    work: Sequence[tuple[Channel, Inbound]],
    teams: Mapping[str, int],
) -> None:
    """Give every customer in ``work`` an open conversation to write into."""
    needed: dict[tuple[int, str], NewConversation] = {}
    for channel, item in work:
        key = (channel.id, item.sender_id)
        identity, conversation = customers[key]
        # A resolved conversation stays closed with its metrics; the customer's new message
        # starts a new session that still shows the whole history.
        if conversation is None or conversation.status == ConversationStatus.RESOLVED:
            team_id = teams.get(item.team or "", channel.team_id)
            needed[key] = NewConversation(channel.id, identity.contact_id, identity.id, team_id)
    if needed:
        opened = await uow.create_conversations(list(needed.values()))
        for key, conversation in zip(needed, opened, strict=True):
            customers[key] = (customers[key][0], conversation)


def _opt_outs(
    customers: _Customers, work: Sequence[tuple[Channel, Inbound]]
) -> dict[int, datetime | None]:
    """Per identity, its newest opt-out or opt-in in this batch (in the order accepted)."""
    changes: dict[int, datetime | None] = {}
    for channel, item in work:
        if item.opt_out is not None:
            identity = customers[(channel.id, item.sender_id)][0]
            changes[identity.id] = (item.occurred_at or datetime.now(UTC)) if item.opt_out else None
    return changes


def _session(customers: _Customers, channel: Channel, item: Inbound) -> Conversation:
    conversation = customers[(channel.id, item.sender_id)][1]
    assert conversation is not None, "_open_sessions gives every customer a conversation"
    return conversation


def _new_message(item: Inbound, conversation: Conversation) -> NewMessage:
    data = item.data
    if item.thread is not None and item.thread.title:
        data = {**data, THREAD_TITLE: item.thread.title}
    return NewMessage(
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction=Direction.IN,
        sender_type=SenderType.CONTACT,
        kind=item.kind,
        text=item.text,
        status=MessageStatus.RECEIVED,
        provider_message_id=item.provider_message_id or item.provider_event_id,
        data=data,
        attachments=item.attachments,
        created_at=item.occurred_at,
    )


async def _auto_reply(
    deps: Deps, channel: Channel, item: Inbound, conversation: Conversation
) -> None:
    """The channel's automatic answer to an event that deserves one (关注回复, 欢迎语)."""
    connector = deps.connectors.get(channel.kind)
    if not isinstance(connector, AutoReplies):
        return
    reply = connector.auto_reply(channel, item)
    if reply is not None:
        await send_system_message(deps, conversation.id, reply.text, dict(reply.data))


async def fetch_media(deps: Deps, attachment_id: int) -> None:
    """Download a provider-held file into our storage, so the inbox can show it."""
    async with deps.store.unit() as uow:
        file = await uow.get_attachment(attachment_id)
        if file is None or file.storage_key is not None or not file.provider_ref:
            return
        message = await uow.get_message(file.message_id)
        channel = await uow.get_channel(message.channel_id) if message else None
    if message is None or channel is None:
        return
    connector = deps.connector(channel.kind)
    media = await connector.fetch_media(
        channel,
        _ref(file),
        deps.send_context(channel.id),
    )
    key = await deps.blobs.put(media.data, filename=media.filename, content_type=media.content_type)
    async with deps.store.unit() as uow:
        await uow.update_attachment(
            attachment_id,
            storage_key=key,
            size=len(media.data),
            content_type=media.content_type,
            filename=file.filename or media.filename,
        )
        updated = await uow.update_message(message.id)
        await uow.commit()
    await publish_message(deps, "message.updated", updated)


async def fail_media(deps: Deps, attachment_id: int, error: PermanentSendError) -> None:
    """A provider file that cannot be fetched, for good: the reason goes on the attachment."""
    failure = {"code": error.code or "hub.media_failed", "text": error.texts}
    async with deps.store.unit() as uow:
        file = await uow.update_attachment(attachment_id, failure=failure)
        message = await uow.update_message(file.message_id)
        await uow.commit()
    log.warning(
        "provider file not fetched",
        extra={"attachment_id": attachment_id, "message_id": message.id, "code": failure["code"]},
    )
    await publish_message(deps, "message.updated", message)


async def apply_statuses(deps: Deps, channel: Channel, updates: Sequence[StatusUpdate]) -> None:
    """Record a provider's delivery receipts; unknown ids and stale reports change nothing."""
    for update in updates:
        async with deps.store.unit() as uow:
            message = await uow.find_outbound_by_provider_id(channel.id, update.provider_message_id)
            if message is None:
                # Answered 200 all the same: the provider must not retry a report forever.
                log.warning(
                    "status report for a message the hub did not send",
                    extra={
                        "channel_id": channel.id,
                        "provider_message_id": update.provider_message_id,
                    },
                )
                continue
            if _STATUS_RANK.get(message.status, 0) >= _STATUS_RANK.get(update.status, 0):
                continue
            changes: dict[str, Any] = {"status": update.status, "error": update.error}
            if update.failure is not None and update.status == MessageStatus.FAILED:
                # Shown in the thread in the agent's language, as a refused send's reason is.
                changes["data"] = {**message.data, FAILURE: update.failure.model_dump()}
            message = await uow.update_message(message.id, **changes)
            await uow.commit()
        await publish_message(deps, "message.updated", message)


def _default_name(deps: Deps, channel: Channel, item: Inbound) -> str:
    """Until a customer tells us their name: "Visitor 访客 #a1b2c3", "WeChat user 微信用户 #…"."""
    connector = deps.connectors.get(channel.kind)
    label = connector.info.contact_label if connector else {"en": "Customer", "zh-CN": "客户"}
    return f"{label['en']} {label['zh-CN']} #{item.sender_id[-6:]}"


def _ref(file: Attachment) -> AttachmentRef:
    return AttachmentRef(
        kind=file.kind,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        provider_ref=file.provider_ref,
    )
