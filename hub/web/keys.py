"""Typed application and request keys."""

from __future__ import annotations

import weakref

from aiohttp import web

from hub.bootstrap import Hub
from hub.domain.records import Agent

HUB = web.AppKey("hub", Hub)
#: open websockets, closed on shutdown so that a stopping server does not wait on them
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])
AGENT_KEY = web.RequestKey("agent", Agent)


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def agent_of(request: web.Request) -> Agent:
    agent = request.get(AGENT_KEY)
    assert isinstance(agent, Agent), "route is missing the auth requirement"
    return agent


def track(request: web.Request, ws: web.WebSocketResponse) -> None:
    request.app[SOCKETS].add(ws)
