"""Bodies of the service-rules API: business hours, automatic messages and ratings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from hub.domain.business_hours import MAX_DATES, MAX_INTERVALS
from hub.domain.service_rules import (
    DEFAULT_RATING_REPLY_S,
    MAX_MESSAGE,
    MAX_RATING_REPLY_S,
    MIN_RATING_REPLY_S,
    RatingWay,
)
from hub.web.schemas import In, Out

#: a wall-clock time; 24:00 ends a day
Clock = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", examples=["09:00"])
]
Language = Literal["zh-CN", "en"]
Texts = dict[Language, Annotated[str, Field(max_length=MAX_MESSAGE)]]

_TIMEZONE = "an IANA time zone, such as Asia/Shanghai or Europe/Berlin"
_DAY = "the day's intervals; none: closed all day"


class IntervalIn(In):
    start: Clock
    end: Clock = Field(description="after start; 24:00 for midnight")


Day = Annotated[list[IntervalIn], Field(max_length=MAX_INTERVALS, description=_DAY)]


class WeekIn(In):
    """Open intervals per weekday in local time; a day left out is closed."""

    mon: Day = Field(default_factory=list)
    tue: Day = Field(default_factory=list)
    wed: Day = Field(default_factory=list)
    thu: Day = Field(default_factory=list)
    fri: Day = Field(default_factory=list)
    sat: Day = Field(default_factory=list)
    sun: Day = Field(default_factory=list)


class WorkingDayIn(In):
    """A date worked with hours of its own, whatever its weekday (调休)."""

    date: date
    intervals: list[IntervalIn] = Field(min_length=1, max_length=MAX_INTERVALS)


class BusinessHoursIn(In):
    timezone: str = Field(min_length=1, max_length=64, description=_TIMEZONE)
    week: WeekIn = Field(default_factory=WeekIn)
    holidays: list[date] = Field(
        default_factory=list, max_length=MAX_DATES, description="local dates it is closed"
    )
    working_days: list[WorkingDayIn] = Field(default_factory=list, max_length=MAX_DATES)


class IntervalOut(Out):
    start: str
    end: str


class WeekOut(Out):
    mon: list[IntervalOut]
    tue: list[IntervalOut]
    wed: list[IntervalOut]
    thu: list[IntervalOut]
    fri: list[IntervalOut]
    sat: list[IntervalOut]
    sun: list[IntervalOut]


class WorkingDayOut(Out):
    date: str
    intervals: list[IntervalOut]


class BusinessHoursOut(Out):
    """A team's or a channel's business hours; a channel's own win over its team's."""

    team_id: int | None
    channel_id: int | None
    timezone: str
    week: WeekOut
    holidays: list[str]
    working_days: list[WorkingDayOut]
    open_now: bool
    next_opening: str | None = Field(description="when it opens next, while closed")
    updated_at: str | None


class BusinessHoursList(Out):
    items: list[BusinessHoursOut]


class ServiceStatusOut(Out):
    """Whether a channel serves now: by the business hours that apply to it, if any."""

    channel_id: int
    open: bool
    source: Literal["channel", "team", "none"] = Field(
        description="whose business hours apply: the channel's own, its team's, or none (open)"
    )
    timezone: str | None
    next_opening: str | None
    agents_online: bool


class AutoMessageIn(In):
    active: bool = False
    texts: Texts = Field(
        default_factory=dict,
        description="by language; a language left out or empty sends the hub's own text",
    )


class AutoMessagesIn(In):
    welcome: AutoMessageIn = Field(
        default_factory=AutoMessageIn,
        description="欢迎语: sent when a customer opens a conversation in business hours",
    )
    out_of_hours: AutoMessageIn = Field(
        default_factory=AutoMessageIn,
        description="sent when a customer writes outside business hours",
    )
    rating_request: AutoMessageIn = Field(
        default_factory=AutoMessageIn,
        description="满意度评价: active asks for a rating when a conversation is resolved",
    )
    rating_thanks: AutoMessageIn = Field(
        default_factory=AutoMessageIn,
        description="sent when a customer rated by a reply",
    )


class ServiceRulesIn(In):
    language: Language = Field(
        default="zh-CN",
        description="for customers whose language the hub does not know",
    )
    rating_reply_s: int = Field(
        default=DEFAULT_RATING_REPLY_S,
        ge=MIN_RATING_REPLY_S,
        le=MAX_RATING_REPLY_S,
        description="how long after the request a reply of 1-5 or the widget's stars count",
    )
    messages: AutoMessagesIn = Field(default_factory=AutoMessagesIn)


class AutoMessageOut(Out):
    active: bool
    texts: dict[str, str] = Field(description="as written, by language; empty: the default")
    default_texts: dict[str, str] = Field(description="the hub's own text, by language")


class AutoMessagesOut(Out):
    welcome: AutoMessageOut
    out_of_hours: AutoMessageOut
    rating_request: AutoMessageOut
    rating_thanks: AutoMessageOut


class ServiceRulesOut(Out):
    """Each automatic message is sent at most once per conversation."""

    channel_id: int
    language: str
    rating_reply_s: int
    rating_way: RatingWay | None = Field(
        description="how the channel asks: a reply of 1-5, a link, or stars in the widget"
    )
    messages: AutoMessagesOut
    updated_at: str | None
