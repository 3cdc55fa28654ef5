"""Logging in and out, and who this token belongs to."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import Field

from hub.domain.errors import Forbidden, Unauthorized
from hub.domain.model import PresenceStatus
from hub.services import presence
from hub.web import schemas as S
from hub.web.api.agents import agent_body
from hub.web.api.common import api, read_body
from hub.web.auth import bearer_token, check_password, hash_password
from hub.web.client import client_address
from hub.web.keys import agent_of, hub_of

log = logging.getLogger(__name__)

# Hashed for unknown emails too, so that timing does not tell which emails exist.
_DUMMY_HASH = hash_password("not a real password, only for timing")


@api.route(
    "POST",
    "/auth/login",
    summary="Log in; returns a bearer token",
    tag="auth",
    body=S.LoginIn,
    response=S.LoginOut,
    auth=False,
)
async def login(request: web.Request) -> S.LoginOut:
    body = await read_body(request, S.LoginIn)
    hub_ = hub_of(request)
    address = client_address(request, hub_.settings.trusted_proxies)
    await hub_.login_guard.check(body.email, address)
    found = await hub_.directory.agent_with_hash(body.email)
    password_hash = found[1] if found else _DUMMY_HASH
    ok = await asyncio.to_thread(check_password, password_hash, body.password)
    if not found or not ok or not found[0].active:
        await hub_.login_guard.failed(body.email, address)
        raise Unauthorized("wrong email or password")
    await hub_.login_guard.succeeded(body.email, address)
    agent = found[0]
    ttl = timedelta(hours=hub_.settings.session_hours)
    token = await hub_.directory.create_token(agent.id, "login", ttl)
    return S.LoginOut(
        token=token,
        expires_at=(datetime.now(UTC) + ttl).isoformat(),
        agent=agent_body(agent),
    )


@api.route(
    "POST", "/auth/logout", summary="Revoke the token of this request", tag="auth", status=204
)
async def logout(request: web.Request) -> None:
    token = bearer_token(request)
    if token:
        await hub_of(request).directory.revoke_token(token)


@api.route("GET", "/me", summary="The agent this token belongs to", tag="auth", response=S.AgentOut)
async def me(request: web.Request) -> S.AgentOut:
    return agent_body(agent_of(request))


class PresenceIn(S.In):
    status: PresenceStatus = Field(
        description="online: give me conversations; away: busy, give me none for now; "
        "offline. It counts while a websocket of mine is open; without one I am offline."
    )


@api.route(
    "PUT",
    "/me/presence",
    summary="Choose one's presence: online, away (busy) or offline",
    tag="auth",
    body=PresenceIn,
    response=S.AgentOut,
)
async def put_presence(request: web.Request) -> S.AgentOut:
    body = await read_body(request, PresenceIn)
    hub_ = hub_of(request)
    agent = await presence.choose(hub_.deps, agent_of(request).id, body.status)
    return agent_body(agent, agent.id in await hub_.presence.online())


class PasswordChangeIn(S.In):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class PasswordChangeOut(S.Out):
    revoked: int = Field(description="other login and API tokens of this agent, now revoked")


@api.route(
    "POST",
    "/me/password",
    summary="Change one's own password; the agent's other tokens are revoked",
    tag="auth",
    body=PasswordChangeIn,
    response=PasswordChangeOut,
)
async def change_password(request: web.Request) -> PasswordChangeOut:
    body = await read_body(request, PasswordChangeIn)
    hub_ = hub_of(request)
    agent = agent_of(request)
    address = client_address(request, hub_.settings.trusted_proxies)
    # Guessing the current password through this route counts like failed logins.
    await hub_.login_guard.check(agent.email, address)
    found = await hub_.directory.agent_with_hash(agent.email)
    ok = found is not None and await asyncio.to_thread(
        check_password, found[1], body.current_password
    )
    if not ok:
        await hub_.login_guard.failed(agent.email, address)
        raise Forbidden("the current password is wrong")
    new_hash = await asyncio.to_thread(hash_password, body.new_password)
    await hub_.directory.update_agent(agent.id, password_hash=new_hash)
    revoked = await hub_.tokens.revoke_all(agent.id, keep=bearer_token(request))
    log.info("password changed", extra={"agent_id": agent.id, "revoked": revoked})
    return PasswordChangeOut(revoked=revoked)
