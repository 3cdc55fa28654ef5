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
    agent_id: int | None = Field(description="null for a channel's automatic invitation")
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


class InvitationRuleIn(In):
    channel_id: DbId
    name: str = Field(min_length=1, max_length=100)
    active: bool = True
    message: str = Field(min_length=1, max_length=1000, description="what the invitation says")
    page: str = Field(
        default="",
        max_length=300,
        description="a glob over the page's path and query, e.g. /checkout*; empty: any page",
    )
    delay_s: int = Field(default=0, ge=0, le=3600, description="seconds on the page first")
    min_visits: int = Field(default=1, ge=1, le=1000, description="3: from the third visit on")
    search_words: str = Field(
        default="", max_length=200, description="any of these words searched for (space-separated)"
    )
    cooldown_s: int = Field(
        default=86400, ge=0, le=365 * 86400, description="not again to the same visitor within"
    )


class InvitationRulePatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None
    message: str | None = Field(default=None, min_length=1, max_length=1000)
    page: str | None = Field(default=None, max_length=300)
    delay_s: int | None = Field(default=None, ge=0, le=3600)
    min_visits: int | None = Field(default=None, ge=1, le=1000)
    search_words: str | None = Field(default=None, max_length=200)
    cooldown_s: int | None = Field(default=None, ge=0, le=365 * 86400)


class RuleCountsOut(Out):
    sent: int
    accepted: int
    declined: int
    ignored: int


class InvitationRuleOut(Out):
    id: int
    channel_id: int
    name: str
    active: bool
    message: str
    page: str
    delay_s: int
    min_visits: int
    search_words: str
    cooldown_s: int
    counts: RuleCountsOut


class InvitationRuleList(Out):
    items: list[InvitationRuleOut]


class InvitationRuleQuery(In):
    channel_id: DbId | None = None
