"""Realtime events published after a commit, and the topics they travel on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

AGENTS_TOPIC = "agents"


def visitor_topic(channel_id: int, visitor_id: str) -> str:
    return f"visitor:{channel_id}:{visitor_id}"


@dataclass(frozen=True)
class HubEvent:
    """``type`` is past tense in dotted form (``message.created``); ``data`` is JSON-ready."""

    type: str
    data: dict[str, Any]
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "data": self.data, "ts": self.ts}

    @cached_property
    def text(self) -> str:
        """The event as JSON text: encoded once, however many sockets send it."""
        return json.dumps(self.as_json(), ensure_ascii=False)

    @classmethod
    def from_text(cls, text: str) -> HubEvent:
        """An event received as JSON text (from another process); keeps the text to resend."""
        raw = json.loads(text)
        event = cls(raw["type"], raw["data"], raw["ts"])
        event.__dict__["text"] = text
        return event
