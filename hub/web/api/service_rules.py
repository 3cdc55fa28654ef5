"""Business hours of teams and channels, and channels' service rules (automatic messages and
satisfaction ratings)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from hub.domain.business_hours import (
    WEEKDAYS,
    BusinessHours,
    Schedule,
    is_open,
    make_hours,
    next_opening,
    week_of,
)
from hub.domain.errors import InvalidInput, NotFound
from hub.domain.records import Channel
from hub.domain.service_rules import AutoMessage, Rule, ServiceRules, default_text
from hub.services.ratings import way_of
from hub.services.views import iso
from hub.web import service_schemas as V
from hub.web.api.common import api, path_id, read_body
from hub.web.keys import hub_of

_TAG = "service rules"


def hours_of(body: V.BusinessHoursIn) -> BusinessHours:
    seen: set[object] = set()
    for day in body.working_days:
        if day.date in seen:
            raise InvalidInput(f"working_days: {day.date.isoformat()} is listed twice")
        seen.add(day.date)
    return make_hours(
        body.timezone,
        {
            name: [(i.start, i.end) for i in getattr(body.week, name)]
            for name in WEEKDAYS
            if getattr(body.week, name)
        },
        body.holidays,
        {day.date: [(i.start, i.end) for i in day.intervals] for day in body.working_days},
    )


def _intervals(pairs: list[tuple[str, str]]) -> list[V.IntervalOut]:
    return [V.IntervalOut(start=a, end=b) for a, b in pairs]


def hours_out(schedule: Schedule) -> V.BusinessHoursOut:
    hours = schedule.hours
    now = datetime.now(UTC)
    open_now = is_open(hours, now)
    week = week_of(hours)
    return V.BusinessHoursOut(
        team_id=schedule.team_id,
        channel_id=schedule.channel_id,
        timezone=hours.timezone,
        week=V.WeekOut(**{name: _intervals(week[name]) for name in WEEKDAYS}),
        holidays=sorted(d.isoformat() for d in hours.holidays),
        working_days=[
            V.WorkingDayOut(date=d.isoformat(), intervals=_intervals([i.text() for i in day]))
            for d, day in sorted(hours.working_days.items())
        ],
        open_now=open_now,
        next_opening=None if open_now else iso(next_opening(hours, now)),
        updated_at=iso(schedule.updated_at),
    )


@api.route(
    "GET",
    "/business-hours",
    summary="Every team's and channel's business hours",
    tag=_TAG,
    response=V.BusinessHoursList,
)
async def list_hours(request: web.Request) -> V.BusinessHoursList:
    found = await hub_of(request).service_rules.list_hours()
    return V.BusinessHoursList(items=[hours_out(s) for s in found])


async def _team(request: web.Request) -> int:
    team_id = path_id(request)
    await hub_of(request).directory.get_team(team_id)  # NotFound for another id
    return team_id


async def _channel(request: web.Request) -> Channel:
    return await hub_of(request).directory.get_channel(path_id(request))


@api.route(
    "GET",
    "/teams/{id}/business-hours",
    summary="A team's business hours (404 when it has none: it is always open)",
    tag=_TAG,
    response=V.BusinessHoursOut,
)
async def get_team_hours(request: web.Request) -> V.BusinessHoursOut:
    team_id = await _team(request)
    found = await hub_of(request).service_rules.get_hours(team_id=team_id)
    if found is None:
        raise NotFound(f"team {team_id} has no business hours")
    return hours_out(found)


@api.route(
    "PUT",
    "/teams/{id}/business-hours",
    summary="Set a team's business hours: a time zone, a weekly schedule, holidays and "
    "extra working days",
    tag=_TAG,
    body=V.BusinessHoursIn,
    response=V.BusinessHoursOut,
    admin=True,
)
async def put_team_hours(request: web.Request) -> V.BusinessHoursOut:
    body = await read_body(request, V.BusinessHoursIn)
    team_id = await _team(request)
    saved = await hub_of(request).service_rules.put_hours(Schedule(hours_of(body), team_id=team_id))
    return hours_out(saved)


@api.route(
    "DELETE",
    "/teams/{id}/business-hours",
    summary="Remove a team's business hours: it is always open",
    tag=_TAG,
    admin=True,
)
async def delete_team_hours(request: web.Request) -> None:
    team_id = await _team(request)
    if not await hub_of(request).service_rules.delete_hours(team_id=team_id):
        raise NotFound(f"team {team_id} has no business hours")


@api.route(
    "GET",
    "/channels/{id}/business-hours",
    summary="A channel's own business hours (404 when it has none: its team's apply)",
    tag=_TAG,
    response=V.BusinessHoursOut,
)
async def get_channel_hours(request: web.Request) -> V.BusinessHoursOut:
    channel = await _channel(request)
    found = await hub_of(request).service_rules.get_hours(channel_id=channel.id)
    if found is None:
        raise NotFound(f"channel {channel.id} has no business hours of its own")
    return hours_out(found)


@api.route(
    "PUT",
    "/channels/{id}/business-hours",
    summary="Set a channel's own business hours, which win over its team's",
    tag=_TAG,
    body=V.BusinessHoursIn,
    response=V.BusinessHoursOut,
    admin=True,
)
async def put_channel_hours(request: web.Request) -> V.BusinessHoursOut:
    body = await read_body(request, V.BusinessHoursIn)
    channel = await _channel(request)
    saved = await hub_of(request).service_rules.put_hours(
        Schedule(hours_of(body), channel_id=channel.id)
    )
    return hours_out(saved)


@api.route(
    "DELETE",
    "/channels/{id}/business-hours",
    summary="Remove a channel's own business hours: its team's apply again",
    tag=_TAG,
    admin=True,
)
async def delete_channel_hours(request: web.Request) -> None:
    channel = await _channel(request)
    if not await hub_of(request).service_rules.delete_hours(channel_id=channel.id):
        raise NotFound(f"channel {channel.id} has no business hours of its own")


@api.route(
    "GET",
    "/channels/{id}/service-status",
    summary="Whether a channel serves now by its business hours, and whether agents are online",
    tag=_TAG,
    response=V.ServiceStatusOut,
)
async def service_status(request: web.Request) -> V.ServiceStatusOut:
    hub_ = hub_of(request)
    channel = await _channel(request)
    store = hub_.service_rules
    own = await store.get_hours(channel_id=channel.id)
    team = None
    if own is None and channel.team_id is not None:
        team = await store.get_hours(team_id=channel.team_id)
    found = own or team
    hours = found.hours if found else None
    now = datetime.now(UTC)
    open_now = is_open(hours, now)
    return V.ServiceStatusOut(
        channel_id=channel.id,
        open=open_now,
        source="channel" if own else "team" if team else "none",
        timezone=hours.timezone if hours else None,
        next_opening=None if open_now else iso(next_opening(hours, now)),
        agents_online=bool(await hub_.presence.online()),
    )


def rules_out(request: web.Request, channel: Channel, rules: ServiceRules) -> V.ServiceRulesOut:
    way = way_of(hub_of(request).deps, channel)

    def message(rule: Rule) -> V.AutoMessageOut:
        found = rules.message(rule)
        defaults = default_text(rule, way) if way else default_text(rule)
        return V.AutoMessageOut(
            active=found.active, texts=dict(found.texts), default_texts=defaults
        )

    return V.ServiceRulesOut(
        channel_id=channel.id,
        language=rules.language,
        rating_reply_s=rules.rating_reply_s,
        rating_way=way,
        messages=V.AutoMessagesOut(**{rule.value: message(rule) for rule in Rule}),
        updated_at=iso(rules.updated_at),
    )


@api.route(
    "GET",
    "/channels/{id}/service-rules",
    summary="A channel's automatic messages (welcome, out of hours) and rating request",
    tag=_TAG,
    response=V.ServiceRulesOut,
)
async def get_rules(request: web.Request) -> V.ServiceRulesOut:
    channel = await _channel(request)
    found = await hub_of(request).service_rules.rules_for([channel.id])
    return rules_out(request, channel, found.get(channel.id) or ServiceRules(channel.id))


@api.route(
    "PUT",
    "/channels/{id}/service-rules",
    summary="Set a channel's automatic messages and rating request, in each language",
    tag=_TAG,
    body=V.ServiceRulesIn,
    response=V.ServiceRulesOut,
    admin=True,
)
async def put_rules(request: web.Request) -> V.ServiceRulesOut:
    body = await read_body(request, V.ServiceRulesIn)
    channel = await _channel(request)
    if body.messages.rating_request.active and way_of(hub_of(request).deps, channel) is None:
        raise InvalidInput(f"messages.rating_request: a {channel.kind} channel asks no rating")
    rules = ServiceRules(
        channel_id=channel.id,
        language=body.language,
        rating_reply_s=body.rating_reply_s,
        messages={
            rule: AutoMessage(
                active=getattr(body.messages, rule.value).active,
                texts={
                    lang: value.strip()
                    for lang, value in getattr(body.messages, rule.value).texts.items()
                },
            )
            for rule in Rule
        },
    ).validated()
    saved = await hub_of(request).service_rules.put_rules(rules)
    return rules_out(request, channel, saved)
