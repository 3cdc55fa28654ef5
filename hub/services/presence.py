"""Agents' presence: what they chose, whether they are connected, and its history.

An agent is online only while a websocket of theirs (an inbox page, an API client) is
connected and they chose online; away while connected and they chose away; offline otherwise.
Every change is stored as an interval, for reports of online time; an agent who comes online
is given waiting conversations at once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.model import PresenceStatus
from hub.domain.records import Agent
from hub.services import routing
from hub.services.deps import Deps

log = logging.getLogger(__name__)


def effective(agent: Agent, connected: bool) -> PresenceStatus:
    """What an agent counts as: their choice while connected and active, else offline."""
    if not connected or not agent.active:
        return PresenceStatus.OFFLINE
    return agent.chosen_presence


async def connected(deps: Deps, agent_id: int, connection: str) -> Agent | None:
    """A websocket of the agent opened: the agent as they count now."""
    await deps.presence.touch(agent_id, connection)
    return await refresh(deps, agent_id)


async def disconnected(deps: Deps, agent_id: int, connection: str) -> None:
    """A websocket of the agent closed: without another, they go offline after a grace period
    (a page reloading connects again within it, and changes nothing)."""
    await deps.presence.leave(agent_id, connection)
    if agent_id in await deps.presence.online():
        return
    grace = deps.limits.presence_grace_s
    if grace <= 0:
        await refresh(deps, agent_id)
        return
    # A job, so that the change happens even if this process stops meanwhile.
    await deps.queue.enqueue(
        "refresh_presence",
        agent_id,
        job_id=f"presence:{agent_id}:{uuid.uuid4().hex}",
        defer_s=grace,
    )


async def choose(deps: Deps, agent_id: int, status: PresenceStatus) -> Agent:
    """The agent's own choice: online, away (busy) or offline; it counts while connected."""
    async with deps.store.unit() as uow:
        await uow.lock_agent(agent_id)
        await uow.update_agent(agent_id, chosen_presence=status)
        await uow.commit()
    agent = await refresh(deps, agent_id)
    assert agent is not None
    return agent


async def refresh(deps: Deps, agent_id: int) -> Agent | None:
    """Bring the agent's stored presence in line with their choice and connections.

    The connections are read while the agent's row is locked: of two processes refreshing at
    once (a page opening here, another closing there), the later one reads what both did.
    """
    async with deps.store.unit() as uow:
        agent = await uow.lock_agent(agent_id)
        if agent is None:
            return None
        status = effective(agent, agent_id in await deps.presence.online())
        changed = status != agent.presence
        if changed:
            agent = await uow.set_presence(agent_id, status, datetime.now(UTC))
            await uow.commit()
    if not changed:
        return agent
    log.info("presence changed", extra={"agent_id": agent_id, "presence": status.value})
    await deps.bus.publish(
        AGENTS_TOPIC,
        HubEvent(
            "agent.presence",
            {
                "agent_id": agent_id,
                "presence": status.value,
                "chosen_presence": agent.chosen_presence.value,
            },
        ),
    )
    if status == PresenceStatus.ONLINE:
        await routing.route_safely(deps, agents=[agent_id])
    return agent


async def reap(deps: Deps) -> int:
    """Refresh the agents whose stored presence disagrees with their connections now (a web
    process that died, a grace period whose job was lost); returns how many changed."""
    online = await deps.presence.online()
    async with deps.store.unit() as uow:
        agents = await uow.list_agents()
    stale = [a for a in agents if a.presence != effective(a, a.id in online)]
    for agent in stale:
        await refresh(deps, agent.id)
    return len(stale)
