"""Typed application and request keys."""

from __future__ import annotations

import weakref

from aiohttp import web

from hub.bootstrap import Hub
from hub.domain.records import Agent
from hub.services.visitors import VisitorBoard

HUB = web.AppKey("hub", Hub)
#: who is on the businesses' sites now (the live visitor panel), in a web process
VISITORS = web.AppKey("visitors", VisitorBoard)


class OpenSockets:
    """Open websockets, closed on shutdown so that a stopping server does not wait on them."""

    def __init__(self) -> None:
        self._items: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._items.add(ws)

    def all(self) -> list[web.WebSocketResponse]:
        return list(self._items)


SOCKETS = web.AppKey("sockets", OpenSockets)
#: how many agent websockets each agent has open in this process
AGENT_SOCKETS = web.AppKey("agent_sockets", dict[int, int])
AGENT_KEY = web.RequestKey("agent", Agent)


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def agent_of(request: web.Request) -> Agent:
    agent = request.get(AGENT_KEY)
    assert isinstance(agent, Agent), "route is missing the auth requirement"
    return agent


def track(request: web.Request, ws: web.WebSocketResponse) -> None:
    request.app[SOCKETS].add(ws)
