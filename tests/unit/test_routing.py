"""Automatic assignment, the waiting queue and taking by hand, through the services on fakes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from hub.domain.errors import Conflict, NotFound
from hub.domain.model import AssignmentMode, ConversationStatus, Inbound, PresenceStatus
from hub.domain.records import Agent, Channel, Conversation, Team
from hub.services import conversations, inbound, presence, routing, sweeper
from tests.fakes.hub import Pipeline, fake_pipeline

ROUND_ROBIN, LEAST_BUSY, MANUAL = (
    AssignmentMode.ROUND_ROBIN,
    AssignmentMode.LEAST_BUSY,
    AssignmentMode.MANUAL,
)


@pytest.fixture
def p() -> Pipeline:
    return fake_pipeline()


def team_with(
    p: Pipeline, mode: AssignmentMode, agents: int = 2, **routing_settings: Any
) -> tuple[Channel, Team, list[Agent]]:
    members = [p.store.add_agent(f"Agent {n}") for n in range(agents)]
    team = p.store.add_team(
        "售后", tuple(a.id for a in members), assignment_mode=mode, **routing_settings
    )
    channel = replace(p.store.add_channel(), team_id=team.id)
    p.store.tables.channels[channel.id] = channel
    return channel, team, members


async def online(p: Pipeline, *agents: Agent) -> None:
    for agent in agents:
        await presence.connected(p.deps, agent.id, f"page-{agent.id}")


async def writes(p: Pipeline, channel: Channel, *customers: str) -> list[Conversation]:
    """Each customer writes once, in one batch as a burst arrives: their conversations."""
    accepted = await inbound.accept(
        p.deps,
        channel,
        [Inbound(provider_event_id=uuid4().hex, sender_id=c, text="在吗") for c in customers],
        queue_processing=False,
    )
    await inbound.process_inbound_batch(p.deps, [a.event_id for a in accepted])
    found = {c.identity_id: c for c in p.store.tables.conversations.values()}
    identities = {i.external_id: i.id for i in p.store.tables.identities.values()}
    return [p.store.tables.conversations[found[identities[c]].id] for c in customers]


def now_of(p: Pipeline, conversation: Conversation) -> Conversation:
    return p.store.tables.conversations[conversation.id]


def loads(p: Pipeline) -> Counter[int | None]:
    return Counter(
        c.assignee_id
        for c in p.store.tables.conversations.values()
        if c.status == ConversationStatus.OPEN
    )


async def test_round_robin_deals_new_conversations_out_in_turn(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, ROUND_ROBIN)
    await online(p, a, b)
    first = await writes(p, channel, "c1", "c2", "c3")
    second = await writes(p, channel, "c4")
    assert [c.assignee_id for c in first + second] == [a.id, b.id, a.id, b.id]
    # the inbox learns of each assignment as of any other change
    assigned = [
        e.data["assignee_id"] for _, e in p.bus.published if e.type == "conversation.updated"
    ]
    assert assigned[-1] == b.id


async def test_least_busy_gives_to_the_agent_with_the_fewest_open(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, LEAST_BUSY)
    await online(p, a)
    await writes(p, channel, "c1", "c2")
    await online(p, b)
    third, fourth, fifth = await writes(p, channel, "c3", "c4", "c5")
    assert [third.assignee_id, fourth.assignee_id] == [b.id, b.id]
    assert fifth.assignee_id == a.id  # 2 each: the one assigned least recently
    assert loads(p) == {a.id: 3, b.id: 2}


async def test_in_manual_mode_conversations_wait_to_be_taken(p: Pipeline) -> None:
    channel, _, (a, _b) = team_with(p, MANUAL)
    await online(p, a)
    [conv] = await writes(p, channel, "c1")
    assert conv.assignee_id is None
    taken = await conversations.take(p.deps, a, conv.id)
    assert taken.assignee_id == a.id


async def test_away_offline_and_inactive_agents_are_given_nothing(p: Pipeline) -> None:
    channel, _, (away, gone, inactive, here) = team_with(p, ROUND_ROBIN, agents=4)
    await online(p, away, inactive, here)
    await presence.choose(p.deps, away.id, PresenceStatus.AWAY)
    p.store.tables.agents[inactive.id] = replace(p.store.tables.agents[inactive.id], active=False)
    convs = await writes(p, channel, "c1", "c2", "c3")
    assert {c.assignee_id for c in convs} == {here.id}
    assert gone.id not in loads(p)


async def test_nobody_with_room_means_the_conversation_waits_then_goes_when_a_slot_frees(
    p: Pipeline,
) -> None:
    channel, _, (a, b) = team_with(p, ROUND_ROBIN, agent_capacity=2)
    await online(p, a, b)
    convs = await writes(p, channel, *[f"c{n}" for n in range(7)])
    assert loads(p) == {a.id: 2, b.id: 2, None: 3}
    waiting = [c for c in convs if c.assignee_id is None]
    assert [c.id for c in waiting] == [c.id for c in convs[4:]]
    # b resolves one: the oldest waiting conversation is b's at once
    mine = next(c for c in convs if c.assignee_id == b.id)
    await conversations.update(p.deps, b, mine.id, status=ConversationStatus.RESOLVED)
    assert now_of(p, waiting[0]).assignee_id == b.id
    assert [now_of(p, c).assignee_id for c in waiting[1:]] == [None, None]
    # a puts one aside (pending): it no longer counts, and the next waiting one goes to a
    theirs = next(c for c in convs if c.assignee_id == a.id)
    await conversations.update(p.deps, a, theirs.id, status=ConversationStatus.PENDING)
    assert now_of(p, waiting[1]).assignee_id == a.id
    assert loads(p) == {a.id: 2, b.id: 2, None: 1}


async def test_an_agents_own_capacity_and_a_raised_one(p: Pipeline) -> None:
    channel, team, (a,) = team_with(p, LEAST_BUSY, agents=1, agent_capacity=5)
    p.store.tables.agents[a.id] = replace(p.store.tables.agents[a.id], capacity=1)
    await online(p, a)
    first, second = await writes(p, channel, "c1", "c2")
    assert (first.assignee_id, second.assignee_id) == (a.id, None)
    p.store.tables.agents[a.id] = replace(p.store.tables.agents[a.id], capacity=None)
    assigned = await routing.route(p.deps, agents=[a.id])  # as PATCH /agents does
    assert [c.id for c in assigned] == [second.id]
    assert now_of(p, second).assignee_id == a.id
    assert team.agent_capacity == 5


async def test_an_agent_coming_online_is_given_the_waiting_conversations(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, ROUND_ROBIN, agent_capacity=3)
    convs = await writes(p, channel, "c1", "c2", "c3", "c4")
    assert {c.assignee_id for c in convs} == {None}
    await online(p, a)
    assert [now_of(p, c).assignee_id for c in convs] == [a.id, a.id, a.id, None]
    await online(p, b)
    assert now_of(p, convs[3]).assignee_id == b.id


async def test_unassigning_puts_a_conversation_back_in_the_queue(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, ROUND_ROBIN, agent_capacity=1)
    await online(p, a)
    first, second = await writes(p, channel, "c1", "c2")
    assert (first.assignee_id, second.assignee_id) == (a.id, None)
    await online(p, b)
    assert now_of(p, second).assignee_id == b.id
    # the admin unassigns a's: a's slot frees and the conversation waits again, the oldest
    await conversations.update(p.deps, b, first.id, assignee_id=None)
    assert now_of(p, first).assignee_id == a.id  # a had room and waited longest


async def test_a_reopened_conversation_nobody_has_is_routed_again(p: Pipeline) -> None:
    channel, _, (a,) = team_with(p, ROUND_ROBIN, agents=1)
    [conv] = await writes(p, channel, "c1")
    await conversations.update(p.deps, a, conv.id, status=ConversationStatus.PENDING)
    await online(p, a)
    assert now_of(p, conv).assignee_id is None  # pending: not waiting
    await writes(p, channel, "c1")  # the customer writes again: open, and waiting
    assert now_of(p, conv).status == ConversationStatus.OPEN
    assert now_of(p, conv).assignee_id == a.id


async def test_a_conversation_without_a_team_is_left_alone(p: Pipeline) -> None:
    a = p.store.add_agent()
    await online(p, a)
    [conv] = await writes(p, p.store.add_channel(), "c1")
    assert conv.assignee_id is None
    assert await routing.route(p.deps, [None]) == []


async def test_the_sweeper_assigns_what_a_failed_routing_left_waiting(p: Pipeline) -> None:
    channel, _, (a,) = team_with(p, ROUND_ROBIN, agents=1)
    [conv] = await writes(p, channel, "c1")
    p.store.tables.agents[a.id] = replace(
        p.store.tables.agents[a.id], presence=PresenceStatus.ONLINE
    )
    await p.deps.presence.touch(a.id, "page")  # online without routing having run
    assert now_of(p, conv).assignee_id is None
    await sweeper.sweep(p.deps, older_than_s=-1)
    assert now_of(p, conv).assignee_id == a.id


async def test_take_gives_the_conversation_to_whoever_takes_it_first(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, MANUAL)
    [conv] = await writes(p, channel, "c1")
    taken = await conversations.take(p.deps, a, conv.id)
    assert taken.assignee_id == a.id
    again = await conversations.take(p.deps, a, conv.id)  # a second click changes nothing
    assert again == taken
    with pytest.raises(Conflict, match=rf"taken already: Agent 0 \(agent {a.id}\) has it"):
        await conversations.take(p.deps, b, conv.id)
    assert now_of(p, conv).assignee_id == a.id
    with pytest.raises(NotFound):
        await conversations.take(p.deps, b, 4242)
    [event] = [e for _, e in p.bus.published if e.data.get("actor_id") == a.id]
    assert (event.type, event.data["assignee_id"]) == ("conversation.updated", a.id)


async def test_a_taken_conversation_counts_for_round_robin(p: Pipeline) -> None:
    channel, _, (a, b) = team_with(p, ROUND_ROBIN)
    [conv] = await writes(p, channel, "c1")
    await conversations.take(p.deps, b, conv.id)
    await online(p, a, b)
    [nxt] = await writes(p, channel, "c2")
    assert nxt.assignee_id == a.id  # b was given one last
