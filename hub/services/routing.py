"""Routing: waiting conversations go to online agents with room, as their teams' modes say.

Every trigger comes here: a new conversation, a slot that frees (resolve, unassign, transfer,
capacity raised), an agent coming online, a team's settings changed. The decision is made in
one transaction holding the teams' and then their agents' rows locked, so two processes
routing at once never give an agent more than their capacity, and each waiting conversation
is assigned by a conditional update, so it is assigned once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from hub.domain.events import AGENTS_TOPIC
from hub.domain.records import Conversation
from hub.domain.routing import plan
from hub.services.deps import Deps
from hub.services.publishing import conversation_event

log = logging.getLogger(__name__)

#: plans per transaction: a plan falls short only where an agent took a conversation by hand
#: in between, and the next one sees that
MAX_ROUNDS = 5


async def route(
    deps: Deps, team_ids: Iterable[int | None] = (), *, agents: Iterable[int | None] = ()
) -> list[Conversation]:
    """Assign the waiting conversations of these teams, and of every team of these ``agents``
    (who have room now), oldest first, while their agents have room."""
    teams = {team_id for team_id in team_ids if team_id is not None}
    agent_ids = sorted({agent_id for agent_id in agents if agent_id is not None})
    if not teams and not agent_ids:
        return []
    assigned: list[Conversation] = []
    async with deps.store.unit() as uow:
        for agent_id in agent_ids:
            teams.update(await uow.agent_team_ids(agent_id))
        wanted = sorted(teams)
        for _ in range(MAX_ROUNDS if wanted else 0):
            board = await uow.routing_board(wanted)
            picks = plan(board, datetime.now(UTC))
            if not picks:
                break
            done = await uow.assign_waiting(picks)
            assigned += done
            if len(done) == len(picks):
                break
        if not assigned:
            return []
        await uow.commit()
    for conversation in assigned:
        log.info(
            "conversation assigned",
            extra={
                "conversation_id": conversation.id,
                "agent_id": conversation.assignee_id,
                "team_id": conversation.team_id,
            },
        )
    await deps.bus.publish_many([(AGENTS_TOPIC, conversation_event(c)) for c in assigned])
    return assigned


async def route_safely(
    deps: Deps, team_ids: Iterable[int | None] = (), *, agents: Iterable[int | None] = ()
) -> None:
    """``route`` after another change was committed: a failure here must not undo or repeat
    that change; the sweeper routes what is left waiting."""
    try:
        await route(deps, team_ids, agents=agents)
    except Exception:
        log.warning("routing failed; the sweeper tries again", exc_info=True)


async def route_all(deps: Deps) -> int:
    """Route every team in an automatic mode that has conversations waiting (the sweeper's
    safety net for a routing that failed or a process that stopped after a commit)."""
    async with deps.store.unit() as uow:
        team_ids = await uow.waiting_team_ids()
    return len(await route(deps, team_ids))
