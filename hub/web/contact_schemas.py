"""The contacts directory's API bodies (``GET /api/v1/contacts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hub.services.views import Out
from hub.web.schemas import DbId, DbTime, In


class ContactQuery(In):
    q: str = Field(default="", max_length=200, description="in the name, email or phone")
    channel_id: DbId | None = Field(default=None, description="contacts known on this channel")
    contacted_after: DbTime | None = Field(default=None, description="last wrote at or after")
    contacted_before: DbTime | None = Field(default=None, description="last wrote before")
    sort: Literal["recent", "created", "name"] = Field(
        default="recent", description="who wrote last, the newest contact, or by name"
    )
    cursor: str | None = Field(default=None, max_length=500)
    limit: int = Field(default=50, ge=1, le=200)


class ContactExportQuery(In):
    q: str = Field(default="", max_length=200)
    channel_id: DbId | None = None


class ContactEntryOut(Out):
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: str
    last_contact_at: str | None
    conversations: int
    channel_ids: list[int]


class ContactList(Out):
    items: list[ContactEntryOut]
    next: str | None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
