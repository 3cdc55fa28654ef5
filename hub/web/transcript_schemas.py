"""The transcript's API bodies (``GET /api/v1/conversations/{id}/transcript``)."""

from __future__ import annotations

from pydantic import Field

from hub.services.views import Out
from hub.web.schemas import In


class TranscriptQuery(In):
    internal: bool = Field(
        default=False, description="the internal version: with the agents' private notes"
    )


class TranscriptFileOut(Out):
    filename: str
    url: str | None = Field(description="a signed link, working as long as file links do")


class TranscriptLineOut(Out):
    at: str
    who: str = Field(description="customer, agent, bot, or note (internal version only)")
    name: str
    text: str
    files: list[TranscriptFileOut]
    event: str | None


class TranscriptOut(Out):
    conversation_id: int
    channel: str
    channel_kind: str
    contact: str
    contact_email: str | None
    contact_phone: str | None
    status: str
    started: str
    internal: bool
    lines: list[TranscriptLineOut]
