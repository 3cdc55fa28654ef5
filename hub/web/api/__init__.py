"""The REST API under ``/api/v1``: one module per resource, all registered on ``api``."""

from __future__ import annotations

# Importing the resource modules registers their routes.
from hub.web.api import (
    agents,
    auth,
    canned_replies,
    channels,
    contacts,
    conversations,
    events,
    invitation_rules,
    messages,
    meta,
    outreach,
    service_rules,
    transcripts,
    visitors,
)
from hub.web.api.common import api

__all__ = [
    "agents",
    "api",
    "auth",
    "canned_replies",
    "channels",
    "contacts",
    "conversations",
    "events",
    "invitation_rules",
    "messages",
    "meta",
    "outreach",
    "service_rules",
    "transcripts",
    "visitors",
]
