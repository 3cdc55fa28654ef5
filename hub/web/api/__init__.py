"""The REST API under ``/api/v1``: one module per resource, all registered on ``api``."""

from __future__ import annotations

# Importing the resource modules registers their routes.
from hub.web.api import agents, auth, channels, contacts, conversations, events, meta
from hub.web.api.agents import agent_out
from hub.web.api.common import api

__all__ = [
    "agent_out",
    "agents",
    "api",
    "auth",
    "channels",
    "contacts",
    "conversations",
    "events",
    "meta",
]
