"""Agents and teams."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from hub.domain.errors import Forbidden, InvalidInput
from hub.domain.model import Role
from hub.domain.records import Agent, Team
from hub.services import presence, routing
from hub.web import schemas as S
from hub.web.api.common import api, changes_of, path_id, read_body
from hub.web.auth import hash_password
from hub.web.keys import agent_of, hub_of

log = logging.getLogger(__name__)


def agent_body(agent: Agent, online: bool = False, load: int | None = None) -> S.AgentOut:
    return S.AgentOut(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role,
        active=agent.active,
        locale=agent.locale,
        online=online,
        phone=agent.phone,
        capacity=agent.capacity,
        presence=agent.presence,
        chosen_presence=agent.chosen_presence,
        load=load,
    )


def team_out(team: Team) -> S.TeamOut:
    return S.TeamOut(
        id=team.id,
        name=team.name,
        agent_ids=list(team.agent_ids),
        assignment_mode=team.assignment_mode,
        agent_capacity=team.agent_capacity,
        answer_timeout_s=team.answer_timeout_s,
        queue_limit=team.queue_limit,
    )


#: a team's settings for routing, which a PUT leaves as they are when it does not name them
ROUTING_FIELDS = ("assignment_mode", "agent_capacity", "answer_timeout_s", "queue_limit")


@api.route("GET", "/agents", summary="List agents", tag="agents", response=S.AgentList)
async def list_agents(request: web.Request) -> S.AgentList:
    hub_ = hub_of(request)
    online = await hub_.presence.online()
    agents = await hub_.directory.list_agents()
    loads = await hub_.queries.agent_loads()
    return S.AgentList(items=[agent_body(a, a.id in online, loads.get(a.id, 0)) for a in agents])


@api.route(
    "POST",
    "/agents",
    summary="Invite an agent",
    tag="agents",
    body=S.AgentIn,
    response=S.AgentOut,
    status=201,
    admin=True,
)
async def create_agent(request: web.Request) -> S.AgentOut:
    body = await read_body(request, S.AgentIn)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    agent = await hub_of(request).directory.create_agent(
        body.email, body.name, body.role, password_hash
    )
    return agent_body(agent)


@api.route(
    "PATCH",
    "/agents/{id}",
    summary="Change an agent's name, role, password or state",
    tag="agents",
    body=S.AgentPatch,
    response=S.AgentOut,
)
async def patch_agent(request: web.Request) -> S.AgentOut:
    body = await read_body(request, S.AgentPatch)
    actor = agent_of(request)
    agent_id = path_id(request)
    changes = changes_of(body, not_null=("name", "role", "active", "locale", "password"))
    if actor.id != agent_id and actor.role != Role.ADMIN:
        raise Forbidden("only an admin may change another agent")
    if actor.role != Role.ADMIN and ({"role", "active", "capacity"} & changes.keys()):
        raise Forbidden("only an admin may change roles or capacities or deactivate agents")
    password = changes.pop("password", None)
    if password is not None and actor.id == agent_id:
        raise InvalidInput(
            "change your own password with POST /api/v1/me/password, which asks for the current one"
        )
    hub_ = hub_of(request)
    if password is not None:
        changes["password_hash"] = await asyncio.to_thread(hash_password, password)
    agent = await hub_.directory.update_agent(agent_id, **changes)
    if "active" in changes:
        # A deactivated agent counts as offline at once; one activated again as connected.
        agent = await presence.refresh(hub_.deps, agent_id) or agent
    if "capacity" in changes:
        await routing.route_safely(hub_.deps, agents=[agent_id])
    if password is not None:
        # An admin's reset: whoever knew the old password is signed out everywhere.
        revoked = await hub_.tokens.revoke_all(agent_id)
        log.info(
            "password reset by an admin",
            extra={"agent_id": agent_id, "admin_id": actor.id, "revoked": revoked},
        )
    return agent_body(agent)


@api.route("GET", "/teams", summary="List teams", tag="agents", response=S.TeamList)
async def list_teams(request: web.Request) -> S.TeamList:
    teams = await hub_of(request).directory.list_teams()
    return S.TeamList(items=[team_out(t) for t in teams])


@api.route(
    "POST",
    "/teams",
    summary="Create a team",
    tag="agents",
    body=S.TeamIn,
    response=S.TeamOut,
    status=201,
    admin=True,
)
async def create_team(request: web.Request) -> S.TeamOut:
    body = await read_body(request, S.TeamIn)
    await _check_agents(request, body.agent_ids)
    settings = body.model_dump(include=set(ROUTING_FIELDS))
    hub_ = hub_of(request)
    team = await hub_.directory.create_team(body.name, body.agent_ids, **settings)
    await routing.route_safely(hub_.deps, [team.id])
    return team_out(team)


async def _check_agents(request: web.Request, agent_ids: list[int]) -> None:
    """A team's members exist (the database would refuse them too, less clearly)."""
    known = {agent.id for agent in await hub_of(request).directory.list_agents()}
    unknown = [agent_id for agent_id in agent_ids if agent_id not in known]
    if unknown:
        raise InvalidInput(f"agent_ids: there is no agent {unknown[0]}")


@api.route(
    "PUT",
    "/teams/{id}",
    summary="Rename a team and set its members; routing settings left out stay as they are",
    tag="agents",
    body=S.TeamIn,
    response=S.TeamOut,
    admin=True,
)
async def put_team(request: web.Request) -> S.TeamOut:
    body = await read_body(request, S.TeamIn)
    await _check_agents(request, body.agent_ids)
    # The admin page's team form sends the name and members only: renaming a team there
    # must not switch its routing back to the defaults.
    settings = body.model_dump(include=set(ROUTING_FIELDS) & body.model_fields_set)
    hub_ = hub_of(request)
    team = await hub_.directory.set_team(path_id(request), body.name, body.agent_ids, **settings)
    # Members added, capacity raised or a mode turned automatic: the queue may move now.
    await routing.route_safely(hub_.deps, [team.id])
    return team_out(team)


@api.route(
    "PATCH",
    "/teams/{id}",
    summary="Change some of a team's settings or members",
    tag="agents",
    body=S.TeamPatch,
    response=S.TeamOut,
    admin=True,
)
async def patch_team(request: web.Request) -> S.TeamOut:
    body = await read_body(request, S.TeamPatch)
    changes = changes_of(body, not_null=("name", "agent_ids", "assignment_mode", "agent_capacity"))
    agent_ids = changes.pop("agent_ids", None)
    if agent_ids is not None:
        await _check_agents(request, agent_ids)
    hub_ = hub_of(request)
    team = await hub_.directory.set_team(
        path_id(request), changes.pop("name", None), agent_ids, **changes
    )
    await routing.route_safely(hub_.deps, [team.id])
    return team_out(team)
