"""Accepted inbound events whose processing failed for good: list, retry, dismiss."""

from __future__ import annotations

from typing import cast

from aiohttp import web

from adapters.db.queries import EventItem
from hub.domain.errors import InvalidInput
from hub.services import failed_events
from hub.web import schemas as S
from hub.web.api.common import api, read_body, read_query
from hub.web.keys import hub_of


def event_out(item: EventItem) -> S.EventOut:
    event = item.event
    payload = event.payload

    def text(key: str, limit: int = 255) -> str | None:
        value = payload.get(key)
        return value[:limit] if isinstance(value, str) else None

    return S.EventOut(
        id=event.id,
        channel=S.ChannelRef(id=event.channel_id, kind=item.channel_kind, name=item.channel_name),
        provider_event_id=event.provider_event_id,
        # the query lists reviewed events only; the model checks it
        status=cast(S.ReviewedStatus, event.status.value),
        attempts=event.attempts,
        error=item.error,
        received_at=event.received_at.isoformat(),
        summary=S.EventSummary(
            sender_id=text("sender_id"),
            sender_name=text("sender_name"),
            kind=text("kind"),
            text=text("text", 500),
        ),
        payload=payload,
    )


@api.route(
    "GET",
    "/inbound-events",
    summary="Accepted events whose processing failed for good (or that were dismissed)",
    tag="events",
    query=S.EventQuery,
    response=S.EventList,
    admin=True,
)
async def list_events(request: web.Request) -> S.EventList:
    query = read_query(request, S.EventQuery)
    page = await hub_of(request).queries.inbound_events(
        query.status, channel_id=query.channel_id, cursor=query.cursor, limit=query.limit
    )
    return S.EventList(items=[event_out(i) for i in page.items], next=page.next)


@api.route(
    "POST",
    "/inbound-events/retry",
    summary="Process failed events again, as if they had just arrived",
    tag="events",
    body=S.EventIdsIn,
    response=S.EventIdsOut,
    admin=True,
)
async def retry_events(request: web.Request) -> S.EventIdsOut:
    body = await read_body(request, S.EventIdsIn)
    if body.all == bool(body.ids):
        raise InvalidInput("give either ids or all: true")
    ids = await failed_events.retry(hub_of(request).deps, None if body.all else body.ids)
    return S.EventIdsOut(ids=ids)


@api.route(
    "POST",
    "/inbound-events/dismiss",
    summary="Set failed events aside for good; they stay stored",
    tag="events",
    body=S.EventIdsIn,
    response=S.EventIdsOut,
    admin=True,
)
async def dismiss_events(request: web.Request) -> S.EventIdsOut:
    body = await read_body(request, S.EventIdsIn)
    if body.all or not body.ids:
        raise InvalidInput("give the ids of the events to dismiss")
    ids = await failed_events.dismiss(hub_of(request).deps, body.ids)
    return S.EventIdsOut(ids=ids)
