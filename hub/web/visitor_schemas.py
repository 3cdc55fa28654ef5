"""The live visitor panel's API bodies (``GET /api/v1/visitors``)."""

from __future__ import annotations

from pydantic import Field

from hub.services.views import Out
from hub.web.schemas import DbId, In


class PageOut(Out):
    url: str
    title: str
    at: str


class DeviceOut(Out):
    kind: str = Field(description="mobile, tablet or desktop")
    browser: str
    os: str


class InvitationStateOut(Out):
    invitation_id: str
    agent_id: int
    outcome: str = Field(description="sent, accepted, declined or ignored")


class VisitorOut(Out):
    id: str = Field(description="channel id and visitor id: '3:v_…'")
    channel_id: int
    visitor_id: str
    current_page: PageOut | None
    pages: list[PageOut] = Field(
        description="the trail of this visit, oldest first (in the list, its last pages)"
    )
    page_count: int
    referrer: str
    search_words: str | None = Field(description="what the visitor searched for, if anything")
    region: dict[str, str] | None = Field(
        description="by language, from the hub's GeoIP database; null without one"
    )
    device: DeviceOut | None
    visits: int = Field(description="visits to the site, this one included")
    online_since: str
    last_seen: str
    ip: str | None = Field(description="only where the channel keeps addresses")
    conversation_id: int | None = Field(description="the visitor's latest conversation")
    invitation: InvitationStateOut | None = Field(
        description="the latest invitation to chat an agent sent this visit, and its outcome"
    )


class VisitorList(Out):
    items: list[VisitorOut]


class VisitorQuery(In):
    channel_id: DbId | None = None


class VisitorKey(In):
    channel_id: DbId
    visitor_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class InviteIn(In):
    channel_id: DbId
    visitor_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=1000, description="the agent's first words")


class InvitationOut(Out):
    invitation_id: str
