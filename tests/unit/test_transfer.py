"""Transfer (转接) on fakes: to an agent, to a team, its note, and its refusals."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from hub.domain.errors import Conflict, InvalidInput, NotFound
from hub.domain.model import AssignmentMode, ConversationStatus, Inbound
from hub.domain.records import Agent, Channel, Conversation
from hub.services import conversations, inbound, presence
from hub.services.transfer import TRANSFER, transfer
from tests.fakes.hub import Pipeline, fake_pipeline


@pytest.fixture
def p() -> Pipeline:
    return fake_pipeline()


def channel_of(p: Pipeline, team_id: int) -> Channel:
    channel = replace(p.store.add_channel(), team_id=team_id)
    p.store.tables.channels[channel.id] = channel
    return channel


async def writes(p: Pipeline, channel: Channel, *customers: str) -> list[Conversation]:
    accepted = await inbound.accept(
        p.deps,
        channel,
        [Inbound(provider_event_id=uuid4().hex, sender_id=c, text="我要退货") for c in customers],
        queue_processing=False,
    )
    await inbound.process_inbound_batch(p.deps, [a.event_id for a in accepted])
    return sorted(p.store.tables.conversations.values(), key=lambda c: c.id)[-len(customers) :]


def now_of(p: Pipeline, conversation: Conversation) -> Conversation:
    return p.store.tables.conversations[conversation.id]


async def online(p: Pipeline, *agents: Agent) -> None:
    for agent in agents:
        await presence.connected(p.deps, agent.id, f"page-{agent.id}")


async def test_to_an_agent_with_a_note_the_receiver_reads(p: Pipeline) -> None:
    li, wang = p.store.add_agent("Li Na"), p.store.add_agent("Wang Fang")
    sales = p.store.add_team("售前", (li.id,))
    [conv] = await writes(p, channel_of(p, sales.id), "c1")
    await conversations.take(p.deps, li, conv.id)
    p.bus.published.clear()
    done = await transfer(p.deps, li, conv.id, agent_id=wang.id, note=" 客户要退货，订单 1234 ")
    assert (done.conversation.assignee_id, done.conversation.team_id) == (wang.id, sales.id)
    assert done.note is not None
    assert (done.note.text, done.note.private, done.note.sender_agent_id) == (
        "客户要退货，订单 1234",
        True,
        li.id,
    )
    handover = {
        "from_agent_id": li.id,
        "from_team_id": sales.id,
        "to_agent_id": wang.id,
        "to_team_id": sales.id,
    }
    assert done.note.data == {TRANSFER: handover}
    assert p.bus.types() == ["message.created", "conversation.updated", "conversation.transferred"]
    notice = p.bus.published[-1][1].data
    assert notice == {
        "conversation_id": conv.id,
        "actor_id": li.id,
        **handover,
        "note_id": done.note.id,
    }
    assert p.store.tables.messages[done.note.id].private


async def test_to_a_team_the_conversation_waits_in_its_queue_or_is_routed(p: Pipeline) -> None:
    li, wang = p.store.add_agent("Li Na"), p.store.add_agent("Wang Fang")
    sales = p.store.add_team("售前", (li.id,))
    after_sales = p.store.add_team("售后", (wang.id,), assignment_mode=AssignmentMode.ROUND_ROBIN)
    first, second = await writes(p, channel_of(p, sales.id), "c1", "c2")
    await conversations.take(p.deps, li, first.id)
    done = await transfer(p.deps, li, first.id, team_id=after_sales.id)
    assert (done.conversation.assignee_id, done.conversation.team_id) == (None, after_sales.id)
    assert done.note is None
    await online(p, wang)  # the after-sales team's agent comes online: it is theirs
    assert now_of(p, first).assignee_id == wang.id
    done = await transfer(p.deps, li, second.id, team_id=after_sales.id)
    assert done.conversation.team_id == after_sales.id
    assert now_of(p, second).assignee_id == wang.id  # routed at once: wang has room


async def test_the_senders_freed_slot_goes_to_the_oldest_waiting(p: Pipeline) -> None:
    li, wang = p.store.add_agent("Li Na"), p.store.add_agent("Wang Fang")
    team = p.store.add_team(
        "售后", (li.id,), assignment_mode=AssignmentMode.ROUND_ROBIN, agent_capacity=1
    )
    await online(p, li)
    mine, queued = await writes(p, channel_of(p, team.id), "c1", "c2")
    assert (now_of(p, mine).assignee_id, now_of(p, queued).assignee_id) == (li.id, None)
    await transfer(p.deps, li, mine.id, agent_id=wang.id)
    assert now_of(p, mine).assignee_id == wang.id
    assert now_of(p, queued).assignee_id == li.id


async def test_a_full_agent_is_refused_unless_forced(p: Pipeline) -> None:
    li, wang = p.store.add_agent("Li Na"), p.store.add_agent("Wang Fang")
    team = p.store.add_team("售后", (li.id, wang.id), agent_capacity=1)
    first, second = await writes(p, channel_of(p, team.id), "c1", "c2")
    await conversations.take(p.deps, wang, first.id)
    await conversations.take(p.deps, li, second.id)
    with pytest.raises(
        Conflict,
        match=rf"Wang Fang \(agent {wang.id}\) is full: 1 of 1 open conversations; "
        "send force: true",
    ):
        await transfer(p.deps, li, second.id, agent_id=wang.id)
    assert now_of(p, second).assignee_id == li.id
    done = await transfer(p.deps, li, second.id, agent_id=wang.id, force=True)
    assert done.conversation.assignee_id == wang.id
    # an agent's own capacity counts first
    p.store.tables.agents[li.id] = replace(p.store.tables.agents[li.id], capacity=3)
    back = await transfer(p.deps, wang, second.id, agent_id=li.id)
    assert back.conversation.assignee_id == li.id


async def test_refusals_say_why_and_change_nothing(p: Pipeline) -> None:
    li, wang = p.store.add_agent("Li Na"), p.store.add_agent("Wang Fang")
    gone = p.store.add_agent("Zhao Lei")
    p.store.tables.agents[gone.id] = replace(gone, active=False)
    sales = p.store.add_team("售前", (li.id,))
    [conv] = await writes(p, channel_of(p, sales.id), "c1")
    await conversations.take(p.deps, li, conv.id)
    before = now_of(p, conv)
    for kwargs, reason in [
        ({}, "give agent_id, team_id or both"),
        ({"agent_id": 4242}, "agent_id: there is no agent 4242"),
        ({"agent_id": gone.id}, rf"Zhao Lei \(agent {gone.id}\) is deactivated"),
        ({"team_id": 4242}, "team_id: there is no team 4242"),
        (
            {"agent_id": wang.id, "team_id": sales.id},
            rf"Wang Fang \(agent {wang.id}\) is not in the team 售前",
        ),
        ({"agent_id": li.id}, rf"Li Na \(agent {li.id}\) has it already"),
        ({"agent_id": wang.id, "note": "x" * 2001}, "a note is at most 2000 characters"),
    ]:
        with pytest.raises(InvalidInput, match=reason):
            await transfer(p.deps, li, conv.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await transfer(p.deps, li, 4242, agent_id=wang.id)
    await conversations.update(p.deps, li, conv.id, status=ConversationStatus.RESOLVED)
    with pytest.raises(Conflict, match="is resolved; reopen it first"):
        await transfer(p.deps, li, conv.id, agent_id=wang.id)
    assert replace(now_of(p, conv), status=before.status, resolved_at=None) == replace(
        before, updated_at=now_of(p, conv).updated_at
    )
    assert [m for m in p.store.tables.messages.values() if m.private] == []
