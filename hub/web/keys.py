"""Typed application and request keys."""

from __future__ import annotations

from aiohttp import web

from hub.bootstrap import Hub
from hub.domain.records import Agent

HUB = web.AppKey("hub", Hub)
AGENT_KEY = web.RequestKey("agent", Agent)


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def agent_of(request: web.Request) -> Agent:
    agent = request.get(AGENT_KEY)
    assert isinstance(agent, Agent), "route is missing the auth requirement"
    return agent
