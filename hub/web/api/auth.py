"""Logging in and out, and who this token belongs to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import web

from hub.domain.errors import Unauthorized
from hub.web import schemas as S
from hub.web.api.agents import agent_body
from hub.web.api.common import api, read_body
from hub.web.auth import bearer_token, check_password, hash_password
from hub.web.keys import agent_of, hub_of

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
    found = await hub_.directory.agent_with_hash(body.email)
    password_hash = found[1] if found else _DUMMY_HASH
    ok = await asyncio.to_thread(check_password, password_hash, body.password)
    if not found or not ok or not found[0].active:
        raise Unauthorized("wrong email or password")
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
