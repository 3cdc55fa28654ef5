"""Agents' presence on fakes: chosen, connected, stored as intervals, reaped."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from hub.domain.model import PresenceStatus
from hub.services import presence
from hub.services.deps import Limits
from tests.fakes.hub import Pipeline, fake_pipeline

ONLINE, AWAY, OFFLINE = PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE


@pytest.fixture
def p() -> Pipeline:
    return fake_pipeline()


def history(p: Pipeline, agent_id: int) -> list[tuple[PresenceStatus, bool]]:
    """The agent's stored intervals: (status, still open)."""
    return [
        (i.status, i.ended_at is None)
        for i in p.store.tables.presence_intervals
        if i.agent_id == agent_id
    ]


async def test_a_connected_agent_is_online_and_the_change_is_stored(p: Pipeline) -> None:
    agent = p.store.add_agent()
    assert agent.presence == OFFLINE
    now = await presence.connected(p.deps, agent.id, "page-1")
    assert now is not None
    assert now.presence == ONLINE
    assert p.store.tables.agents[agent.id].presence == ONLINE
    assert history(p, agent.id) == [(ONLINE, True)]
    [(_, event)] = p.bus.published
    assert event.type == "agent.presence"
    assert event.data == {"agent_id": agent.id, "presence": "online", "chosen_presence": "online"}


async def test_a_second_page_changes_nothing(p: Pipeline) -> None:
    agent = p.store.add_agent()
    await presence.connected(p.deps, agent.id, "page-1")
    await presence.connected(p.deps, agent.id, "page-2")
    await presence.disconnected(p.deps, agent.id, "page-1")
    assert p.store.tables.agents[agent.id].presence == ONLINE
    assert history(p, agent.id) == [(ONLINE, True)]
    assert len(p.bus.published) == 1


async def test_away_counts_while_connected_and_offline_once_the_last_page_closes(
    p: Pipeline,
) -> None:
    agent = p.store.add_agent()
    await presence.connected(p.deps, agent.id, "page-1")
    chosen = await presence.choose(p.deps, agent.id, AWAY)
    assert (chosen.presence, chosen.chosen_presence) == (AWAY, AWAY)
    await presence.disconnected(p.deps, agent.id, "page-1")
    stored = p.store.tables.agents[agent.id]
    assert (stored.presence, stored.chosen_presence) == (OFFLINE, AWAY)
    assert history(p, agent.id) == [(ONLINE, False), (AWAY, False), (OFFLINE, True)]
    intervals = [i for i in p.store.tables.presence_intervals if i.agent_id == agent.id]
    # each interval ends where the next one starts: the history has no gaps
    for before, after in pairwise(intervals):
        assert before.ended_at == after.started_at
    # back again: the choice is kept
    again = await presence.connected(p.deps, agent.id, "page-2")
    assert again is not None
    assert again.presence == AWAY


async def test_a_choice_made_without_a_connection_leaves_the_agent_offline(p: Pipeline) -> None:
    agent = p.store.add_agent()
    chosen = await presence.choose(p.deps, agent.id, ONLINE)
    assert (chosen.presence, chosen.chosen_presence) == (OFFLINE, ONLINE)
    assert history(p, agent.id) == []
    assert p.bus.published == []


async def test_offline_by_choice_while_connected(p: Pipeline) -> None:
    agent = p.store.add_agent()
    await presence.connected(p.deps, agent.id, "api")
    chosen = await presence.choose(p.deps, agent.id, OFFLINE)
    assert chosen.presence == OFFLINE
    back = await presence.choose(p.deps, agent.id, ONLINE)
    assert back.presence == ONLINE
    assert history(p, agent.id) == [(ONLINE, False), (OFFLINE, False), (ONLINE, True)]


async def test_after_the_last_page_closes_the_grace_period_is_a_deferred_job(
    p: Pipeline,
) -> None:
    deps = replace(p.deps, limits=Limits(presence_grace_s=30))
    agent = p.store.add_agent()
    await presence.connected(deps, agent.id, "page-1")
    await presence.disconnected(deps, agent.id, "page-1")
    [(job, args, _, defer_s)] = p.queue.jobs
    assert (job, args, defer_s) == ("refresh_presence", (agent.id,), 30)
    assert p.store.tables.agents[agent.id].presence == ONLINE  # a reload would be in time
    await presence.connected(deps, agent.id, "page-2")  # the page reloaded
    await presence.refresh(deps, agent.id)  # the job runs: nothing changes
    assert history(p, agent.id) == [(ONLINE, True)]
    await presence.disconnected(deps, agent.id, "page-2")
    await presence.refresh(deps, agent.id)
    assert history(p, agent.id) == [(ONLINE, False), (OFFLINE, True)]


async def test_the_sweeper_reaps_agents_whose_connections_are_gone(p: Pipeline) -> None:
    gone, here, idle = p.store.add_agent("Gone"), p.store.add_agent("Here"), p.store.add_agent()
    await presence.connected(p.deps, gone.id, "page-1")
    await presence.connected(p.deps, here.id, "page-2")
    await p.deps.presence.leave(gone.id, "page-1")  # its process died: no goodbye
    assert await presence.reap(p.deps) == 1
    agents = p.store.tables.agents
    assert (agents[gone.id].presence, agents[here.id].presence) == (OFFLINE, ONLINE)
    assert agents[idle.id].presence == OFFLINE
    assert history(p, idle.id) == []
    assert await presence.reap(p.deps) == 0


async def test_a_deactivated_agent_is_offline_even_while_connected(p: Pipeline) -> None:
    agent = p.store.add_agent()
    await presence.connected(p.deps, agent.id, "page-1")
    p.store.tables.agents[agent.id] = replace(p.store.tables.agents[agent.id], active=False)
    assert await presence.reap(p.deps) == 1
    assert p.store.tables.agents[agent.id].presence == OFFLINE


async def test_an_unknown_agent_has_no_presence(p: Pipeline) -> None:
    assert await presence.refresh(p.deps, 4242) is None
