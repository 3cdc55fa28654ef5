"""The accept → process → reply → deliver pipeline, on fakes."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta

import pytest

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
    EventStatus,
    Failure,
    Inbound,
    MessageKind,
    MessageStatus,
    StatusUpdate,
    Thread,
)
from hub.domain.ports import Retrying
from hub.services import conversations, inbound, outbound, service_rules, sweeper
from hub.services.jobs import JOBS
from tests.fakes.hub import Pipeline, fake_pipeline


@pytest.fixture
def p() -> Pipeline:
    return fake_pipeline()


def text(event_id: str, body: str = "你好，我的订单还没到", sender: str = "openid-1") -> Inbound:
    return Inbound(
        provider_event_id=event_id,
        sender_id=sender,
        text=body,
        sender_name="王小明",
        provider_message_id=f"msg-{event_id}",
    )


async def run_jobs(p: Pipeline) -> None:
    """Run what was queued, like a worker would, until the queue is empty."""
    jobs = {
        "process_inbound": inbound.process_inbound,
        "process_inbound_many": inbound.process_inbound_batch,
        "deliver": outbound.deliver,
        "fetch_media": inbound.fetch_media,
        "end_session": outbound.end_session,
        "measure_conversation": service_rules.measure,
        "conversation_resolved": service_rules.resolved,
    }
    await inbound.enqueues_settled(p.deps)
    while taken := p.queue.take():
        for name, args in taken:
            await jobs[name](p.deps, *args)


async def test_accept_stores_once_and_enqueues_once(p: Pipeline) -> None:
    channel = p.store.add_channel()
    first = await inbound.accept(p.deps, channel, [text("e1")])
    again = await inbound.accept(p.deps, channel, [text("e1")])
    assert first[0].created
    assert not again[0].created
    assert first[0].event_id == again[0].event_id
    await inbound.enqueues_settled(p.deps)  # queued right after the answer, not before it
    assert p.queue.take() == [("process_inbound", (first[0].event_id,))]


async def test_processing_builds_contact_conversation_and_message(p: Pipeline) -> None:
    channel = p.store.add_channel()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    [message] = p.store.tables.messages.values()
    [contact] = p.store.tables.contacts.values()
    assert contact.name == "王小明"
    assert message.text == "你好，我的订单还没到"
    assert message.conversation_id == conv.id
    assert message.provider_message_id == "msg-e1"
    assert conv.unread_count == 1
    assert conv.status == ConversationStatus.OPEN
    assert conv.last_inbound_at == message.created_at
    assert p.bus.types() == ["message.created", "conversation.updated"]
    assert [e.status for e in p.store.tables.events.values()] == [EventStatus.DONE]


async def test_a_job_run_twice_makes_one_message(p: Pipeline) -> None:
    channel = p.store.add_channel()
    [accepted] = await inbound.accept(p.deps, channel, [text("e1")])
    await inbound.process_inbound(p.deps, accepted.event_id)
    await inbound.process_inbound(p.deps, accepted.event_id)
    assert len(p.store.tables.messages) == 1


async def test_same_provider_message_under_another_event_id_is_dropped(p: Pipeline) -> None:
    channel = p.store.add_channel()
    retry = text("e2").model_copy(update={"provider_message_id": "msg-e1"})
    await inbound.accept(p.deps, channel, [text("e1"), retry])
    await run_jobs(p)
    assert len(p.store.tables.messages) == 1
    assert {e.status for e in p.store.tables.events.values()} == {EventStatus.DONE}


async def test_follow_up_joins_the_open_conversation(p: Pipeline) -> None:
    channel = p.store.add_channel()
    await inbound.accept(p.deps, channel, [text("e1"), text("e2", "还在吗？")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    assert conv.unread_count == 2
    assert len(p.store.tables.contacts) == 1


async def test_after_resolution_a_new_message_starts_a_new_conversation(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [first] = p.store.tables.conversations.values()
    await conversations.update(p.deps, agent, first.id, status=ConversationStatus.RESOLVED)
    assert p.store.tables.conversations[first.id].resolved_at is not None
    await inbound.accept(p.deps, channel, [text("e2", "又有一个问题")])
    await run_jobs(p)
    assert len(p.store.tables.conversations) == 2
    assert len(p.store.tables.contacts) == 1
    assert p.store.tables.conversations[first.id].status == ConversationStatus.RESOLVED


async def test_pending_conversation_reopens_on_a_new_message(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    await conversations.update(p.deps, agent, conv.id, status=ConversationStatus.PENDING)
    await inbound.accept(p.deps, channel, [text("e2")])
    await run_jobs(p)
    assert p.store.tables.conversations[conv.id].status == ConversationStatus.OPEN


async def test_a_dead_queue_loses_nothing_and_the_sweeper_requeues(p: Pipeline) -> None:
    channel = p.store.add_channel()
    p.queue.fail = True
    [accepted] = await inbound.accept(p.deps, channel, [text("e1")])
    assert accepted.created
    p.queue.fail = False
    result = await sweeper.sweep(p.deps, older_than_s=-1)
    assert result.events == 1
    await run_jobs(p)
    assert len(p.store.tables.messages) == 1


async def test_reply_is_queued_then_delivered_to_the_right_recipient(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    message = await outbound.reply(p.deps, agent, conv.id, "  您好，马上帮您查 ")
    assert message.status == MessageStatus.QUEUED
    assert message.text == "您好，马上帮您查"
    updated = p.store.tables.conversations[conv.id]
    assert updated.assignee_id == agent.id
    assert updated.first_response_at == message.created_at
    assert updated.unread_count == 0
    await run_jobs(p)
    [sent] = p.connector.sent
    assert sent.recipient_id == "openid-1"
    assert sent.text == "您好，马上帮您查"
    stored = p.store.tables.messages[message.id]
    assert stored.status == MessageStatus.SENT
    assert stored.provider_message_id == f"prov-{message.id}"
    assert p.bus.types()[-1] == "message.updated"


async def test_private_note_is_never_sent(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    note = await outbound.reply(p.deps, agent, conv.id, "VIP customer", private=True)
    assert note.private
    assert p.queue.take() == []
    assert p.store.tables.conversations[conv.id].first_response_at is None


async def test_empty_reply_is_refused(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    with pytest.raises(InvalidInput):
        await outbound.reply(p.deps, agent, conv.id, "   ")


async def _queued_reply(p: Pipeline) -> int:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    await inbound.accept(p.deps, channel, [text("e1")])
    await run_jobs(p)
    [conv] = p.store.tables.conversations.values()
    message = await outbound.reply(p.deps, agent, conv.id, "hello")
    p.queue.take()
    return message.id


async def test_transient_errors_retry_with_growing_backoff_then_fail(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    p.connector.errors = [TransientSendError("timeout")] * 3
    delays = []
    for _ in range(2):
        with pytest.raises(Retrying) as retry:
            await outbound.deliver(p.deps, message_id)
        delays.append(retry.value.defer_s)
        assert p.store.tables.messages[message_id].status == MessageStatus.QUEUED
    assert delays == [2.0, 4.0]
    await outbound.deliver(p.deps, message_id)  # the third of three attempts is final
    failed = p.store.tables.messages[message_id]
    assert failed.status == MessageStatus.FAILED
    assert failed.error == "timeout"
    assert len(p.store.tables.deliveries) == 3


async def test_a_refusal_fails_at_once_with_the_reason_in_both_languages(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    texts = {"en": "the 48-hour reply window has closed", "zh-CN": "已超过 48 小时回复时限"}
    p.connector.errors = [PermanentSendError(texts["en"], "fake.45015", texts)]
    await outbound.deliver(p.deps, message_id)
    failed = p.store.tables.messages[message_id]
    assert failed.status == MessageStatus.FAILED
    assert failed.error == "the 48-hour reply window has closed"
    assert failed.data["failure"] == {"code": "fake.45015", "text": texts}


async def test_giving_up_after_the_attempts_says_so_in_both_languages(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    p.connector.errors = [TransientSendError("timeout")] * 3
    for _ in range(3):
        with contextlib.suppress(Retrying):
            await outbound.deliver(p.deps, message_id)
    failure = p.store.tables.messages[message_id].data["failure"]
    assert failure["code"] == "hub.gave_up"
    assert "3" in failure["text"]["en"]
    assert "timeout" in failure["text"]["zh-CN"]


async def test_delivering_twice_sends_once(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    await outbound.deliver(p.deps, message_id)
    await outbound.deliver(p.deps, message_id)
    assert len(p.connector.sent) == 1


async def test_receipts_move_status_forward_only(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    await outbound.deliver(p.deps, message_id)
    channel = next(iter(p.store.tables.channels.values()))
    provider_id = f"prov-{message_id}"
    await inbound.apply_statuses(
        p.deps,
        channel,
        [
            StatusUpdate(provider_message_id=provider_id, status=MessageStatus.READ),
            StatusUpdate(provider_message_id=provider_id, status=MessageStatus.DELIVERED),
            StatusUpdate(provider_message_id="unknown", status=MessageStatus.DELIVERED),
        ],
    )
    assert p.store.tables.messages[message_id].status == MessageStatus.READ


async def test_provider_media_is_fetched_and_stored(p: Pipeline) -> None:
    channel = p.store.add_channel()
    photo = Inbound(
        provider_event_id="img-1",
        sender_id="openid-1",
        kind=MessageKind.IMAGE,
        attachments=(AttachmentRef(kind=MessageKind.IMAGE, provider_ref="media-123"),),
    )
    await inbound.accept(p.deps, channel, [photo])
    await run_jobs(p)
    [file] = p.store.tables.attachments.values()
    assert file.storage_key is not None
    assert file.size == len(p.connector.media)
    assert p.blobs.files[file.storage_key][0] == p.connector.media
    updated = [e for _, e in p.bus.published if e.type == "message.updated"]
    assert updated[-1].data["attachments"][0]["url"] == f"/files/{file.id}"


async def test_sweeper_requeues_stuck_deliveries(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    result = await sweeper.sweep(p.deps, older_than_s=-1)
    assert result.deliveries == 1
    assert p.queue.take() == [("deliver", (message_id,))]


async def test_a_failed_reply_sent_again_gets_fresh_attempts_and_goes_out(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    agent = next(iter(p.store.tables.agents.values()))
    p.connector.errors = [TransientSendError("timeout")] * 3
    for _ in range(2):
        with pytest.raises(Retrying):
            await outbound.deliver(p.deps, message_id)
    await outbound.deliver(p.deps, message_id)
    assert p.store.tables.messages[message_id].status == MessageStatus.FAILED

    p.bus.published.clear()
    queued = await outbound.resend(p.deps, agent, message_id)
    assert (queued.status, queued.error) == (MessageStatus.QUEUED, None)
    assert p.queue.take() == [("deliver", (message_id,))]
    assert p.bus.types() == ["message.updated"]
    # three fresh attempts: the first after the resend is not the (overall) fourth and final
    p.connector.errors = [TransientSendError("still down")]
    with pytest.raises(Retrying) as retry:
        await outbound.deliver(p.deps, message_id)
    assert retry.value.defer_s == 2.0
    await outbound.deliver(p.deps, message_id)
    sent = p.store.tables.messages[message_id]
    assert (sent.status, sent.error) == (MessageStatus.SENT, None)
    assert [o.text for o in p.connector.sent] == ["hello"]

    with pytest.raises(Conflict):
        await outbound.resend(p.deps, agent, message_id)  # only a failed reply


async def test_a_refused_reply_sent_again_forgets_the_refusal_code(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    agent = next(iter(p.store.tables.agents.values()))
    p.connector.errors = [PermanentSendError("the 48-hour reply window has closed", "fake.1")]
    await outbound.deliver(p.deps, message_id)
    assert p.store.tables.messages[message_id].data["failure"]["code"] == "fake.1"
    queued = await outbound.resend(p.deps, agent, message_id)
    assert "failure" not in queued.data
    await outbound.deliver(p.deps, message_id)
    assert p.store.tables.messages[message_id].status == MessageStatus.SENT


async def test_only_failed_customer_replies_can_be_sent_again(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    agent = next(iter(p.store.tables.agents.values()))
    with pytest.raises(Conflict):
        await outbound.resend(p.deps, agent, message_id)  # still queued
    conv = next(iter(p.store.tables.conversations.values()))
    note = await outbound.reply(p.deps, agent, conv.id, "internal", private=True)
    with pytest.raises(InvalidInput):
        await outbound.resend(p.deps, agent, note.id)
    with pytest.raises(NotFound):
        await outbound.resend(p.deps, agent, 999_999)


async def test_an_unsubscribed_customer_gets_nothing_until_they_subscribe_again(
    p: Pipeline,
) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    stop = Inbound(
        provider_event_id="stop",
        sender_id="openid-1",
        kind=MessageKind.EVENT,
        text="STOP",
        opt_out=True,
        data={"event": "opted_out"},
    )
    await inbound.accept(p.deps, channel, [text("e1"), stop])
    await run_jobs(p)
    [identity] = p.store.tables.identities.values()
    assert identity.opted_out_at is not None
    [conv] = p.store.tables.conversations.values()
    # The STOP stays in the thread for the agent to see.
    assert [m.text for m in p.store.tables.messages.values()] == ["你好，我的订单还没到", "STOP"]

    refused = await outbound.reply(p.deps, agent, conv.id, "您好？")
    await run_jobs(p)
    failed = p.store.tables.messages[refused.id]
    assert failed.status == MessageStatus.FAILED
    assert failed.data["failure"]["code"] == "hub.opted_out"
    assert "退订" in failed.data["failure"]["text"]["zh-CN"]
    assert "unsubscribed" in failed.data["failure"]["text"]["en"]
    assert p.connector.sent == []

    start = stop.model_copy(
        update={"provider_event_id": "start", "text": "START", "opt_out": False}
    )
    await inbound.accept(p.deps, channel, [start])
    await run_jobs(p)
    assert p.store.tables.identities[identity.id].opted_out_at is None
    sent = await outbound.reply(p.deps, agent, conv.id, "欢迎回来")
    await run_jobs(p)
    assert p.store.tables.messages[sent.id].status == MessageStatus.SENT
    assert [o.text for o in p.connector.sent] == ["欢迎回来"]


async def test_a_failed_delivery_report_carries_the_reason_for_the_thread(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    await outbound.deliver(p.deps, message_id)
    channel = next(iter(p.store.tables.channels.values()))
    reason = {"en": "the phone is unreachable", "zh-CN": "手机无法接通"}
    await inbound.apply_statuses(
        p.deps,
        channel,
        [
            StatusUpdate(
                provider_message_id=f"prov-{message_id}",
                status=MessageStatus.FAILED,
                error="the phone is unreachable (fake.30003)",
                failure=Failure(code="fake.30003", text=reason),
            )
        ],
    )
    failed = p.store.tables.messages[message_id]
    assert failed.status == MessageStatus.FAILED
    assert failed.data["failure"] == {"code": "fake.30003", "text": reason}


async def test_a_provider_saying_the_customer_unsubscribed_is_remembered(p: Pipeline) -> None:
    message_id = await _queued_reply(p)
    texts = {"en": "the customer replied STOP", "zh-CN": "客户已回复 STOP 退订"}
    p.connector.errors = [PermanentSendError(texts["en"], "fake.21610", texts, opted_out=True)]
    await outbound.deliver(p.deps, message_id)
    assert p.store.tables.messages[message_id].data["failure"]["code"] == "fake.21610"
    [identity] = p.store.tables.identities.values()
    assert identity.opted_out_at is not None

    agent = next(iter(p.store.tables.agents.values()))
    [conv] = p.store.tables.conversations.values()
    again = await outbound.reply(p.deps, agent, conv.id, "hello?")
    await run_jobs(p)
    assert p.store.tables.messages[again.id].data["failure"]["code"] == "hub.opted_out"
    assert p.connector.sent == []


async def test_a_chosen_team_takes_the_new_conversation(p: Pipeline) -> None:
    channel = p.store.add_channel()
    after_sales = p.store.add_team("售后 After-sales")
    call = text("call-1").model_copy(update={"team": "售后 After-sales"})
    stranger = text("call-2", sender="openid-2").model_copy(update={"team": "no such team"})
    await inbound.accept(p.deps, channel, [call, stranger])
    await run_jobs(p)
    teams = {c.identity_id: c.team_id for c in p.store.tables.conversations.values()}
    assert sorted(teams.values(), key=str) == sorted([after_sales.id, None], key=str)


async def test_a_transcript_completes_its_voicemail_or_stands_alone(p: Pipeline) -> None:
    channel = p.store.add_channel()
    voicemail = Inbound(
        provider_event_id="RE1",
        provider_message_id="RE1",
        sender_id="+8613800138000",
        kind=MessageKind.VOICEMAIL,
        data={"status": "voicemail", "duration_s": 12},
    )
    transcript = Inbound(
        provider_event_id="transcript:RE1",
        sender_id="+8613800138000",
        kind=MessageKind.VOICEMAIL,
        text="我的快递还没到",
        completes="RE1",
        data={"transcript": "completed"},
    )
    # In one batch (the recording processed with its transcript) …
    await inbound.accept(p.deps, channel, [voicemail, transcript])
    await run_jobs(p)
    [message] = p.store.tables.messages.values()
    assert message.text == "我的快递还没到"
    assert message.data == {"status": "voicemail", "duration_s": 12, "transcript": "completed"}
    updated = [e for _, e in p.bus.published if e.type == "message.updated"]
    assert [e.data["text"] for e in updated] == ["我的快递还没到"]

    # … or later; a transcript of a recording the hub never got is a message of its own.
    late = transcript.model_copy(update={"provider_event_id": "transcript:RE2", "completes": "RE2"})
    await inbound.accept(p.deps, channel, [late])
    await run_jobs(p)
    assert [m.text for m in p.store.tables.messages.values()] == ["我的快递还没到"] * 2


async def _photo_waiting(p: Pipeline) -> int:
    channel = p.store.add_channel()
    photo = Inbound(
        provider_event_id="img-1",
        sender_id="openid-1",
        kind=MessageKind.IMAGE,
        attachments=(AttachmentRef(kind=MessageKind.IMAGE, provider_ref="media-123"),),
    )
    await inbound.accept(p.deps, channel, [photo])
    await inbound.enqueues_settled(p.deps)
    for name, args in p.queue.take():
        assert name.startswith("process_inbound")
        await inbound.process_inbound_batch(
            p.deps, list(args[0]) if name.endswith("many") else [args[0]]
        )
    [file] = p.store.tables.attachments.values()
    return file.id


async def test_a_file_the_provider_refuses_for_good_shows_why_and_is_not_tried_again(
    p: Pipeline,
) -> None:
    attachment_id = await _photo_waiting(p)
    texts = {"en": "the file is no longer at the provider", "zh-CN": "该文件已不在服务商"}
    p.connector.media_errors = [PermanentSendError(texts["en"], "fake.media_gone", texts)]
    await JOBS["fetch_media"](p.deps, attachment_id)
    file = p.store.tables.attachments[attachment_id]
    assert file.storage_key is None
    assert file.failure == {"code": "fake.media_gone", "text": texts}
    [event] = [e for _, e in p.bus.published if e.type == "message.updated"]
    assert event.data["attachments"][0]["failure"] == {"code": "fake.media_gone", "text": texts}
    result = await sweeper.sweep(p.deps, older_than_s=-1)
    assert result.media == 0  # not fetched again


async def test_a_file_still_not_fetched_after_days_is_given_up(p: Pipeline) -> None:
    attachment_id = await _photo_waiting(p)
    p.connector.media_errors = [TransientSendError("provider down")]
    with pytest.raises(Retrying):
        await JOBS["fetch_media"](p.deps, attachment_id)
    file = p.store.tables.attachments[attachment_id]
    message = p.store.tables.messages[file.message_id]
    p.store.tables.messages[message.id] = replace(
        message, created_at=message.created_at - sweeper.MEDIA_KEPT_FOR - timedelta(minutes=1)
    )
    result = await sweeper.sweep(p.deps, older_than_s=-1)
    assert result.media == 0
    failure = p.store.tables.attachments[attachment_id].failure
    assert failure is not None
    assert failure["code"] == "hub.media_expired"
    assert "服务商" in failure["text"]["zh-CN"]
    [event] = [e for _, e in p.bus.published if e.type == "message.updated"]
    assert event.data["attachments"][0]["failure"]["code"] == "hub.media_expired"


def mail(event_id: str, *, sender: str = "wang@customer.cn", **thread: object) -> Inbound:
    return Inbound(
        provider_event_id=event_id,
        provider_message_id=event_id,
        sender_id=sender,
        text=f"mail {event_id}",
        thread=Thread.model_validate(thread),
    )


async def test_a_threaded_channel_keeps_one_conversation_per_thread(p: Pipeline) -> None:
    channel = p.store.add_channel()
    agent = p.store.add_agent("Li Na 李娜")

    async def conversation_of(item: Inbound) -> int:
        await inbound.accept(p.deps, channel, [item])
        await run_jobs(p)
        [message] = [
            m
            for m in p.store.tables.messages.values()
            if m.provider_message_id == item.provider_event_id
        ]
        return message.conversation_id

    first = await conversation_of(mail("a@x", title="退货 return"))
    other = await conversation_of(mail("b@x", title="发票 invoice"))
    assert other != first  # no reference: a new thread, though the first is open
    assert await conversation_of(mail("c@x", replies_to=("a@x",))) == first

    # Our reply goes out naming the thread: its messages' ids, its title, the agent.
    sent = await outbound.reply(p.deps, agent, first, "已为您办理退货")
    await run_jobs(p)
    [out] = p.connector.sent
    assert out.references == ("a@x", "c@x")
    assert out.title == "退货 return"
    assert out.sender_name == "Li Na 李娜"
    p.store.tables.messages[sent.id] = replace(
        p.store.tables.messages[sent.id], provider_message_id="ours@hub"
    )

    # The customer answers our reply after the thread was resolved: it opens again.
    await conversations.update(p.deps, agent, first, status=ConversationStatus.RESOLVED)
    assert await conversation_of(mail("d@x", replies_to=("unknown@x", "ours@hub"))) == first
    assert p.store.tables.conversations[first].status == ConversationStatus.OPEN

    # A client that dropped the headers kept the subject's token.
    assert await conversation_of(mail("e@x", conversation_id=other)) == other
    # Another customer's token, or their reply into this thread, starts their own.
    stranger = await conversation_of(mail("f@x", sender="zhao@other.cn", conversation_id=other))
    assert stranger not in (first, other)
    cc = await conversation_of(mail("g@x", sender="zhao@other.cn", replies_to=("a@x",)))
    assert cc not in (first, other)


async def test_a_mail_and_its_answer_in_one_batch_share_their_new_thread(p: Pipeline) -> None:
    channel = p.store.add_channel()
    await inbound.accept(
        p.deps, channel, [mail("h@x", title="急"), mail("i@x", replies_to=("h@x",))]
    )
    await run_jobs(p)
    assert len({m.conversation_id for m in p.store.tables.messages.values()}) == 1
