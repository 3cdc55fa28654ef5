"""The live visitor panel: who is browsing the businesses' sites now (访客面板)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.domain.errors import NotFound
from hub.domain.visitors import LiveVisitor
from hub.services import invitations
from hub.services.visitors import TRAIL_IN_EVENTS, visitor_view
from hub.web import visitor_schemas as V
from hub.web.api.common import api, read_body, read_query
from hub.web.keys import VISITORS, agent_of, hub_of


def visitor_out(visitor: LiveVisitor, *, trail: int | None) -> V.VisitorOut:
    view: dict[str, Any] = visitor_view(visitor, trail=trail)
    view.pop("process")
    return V.VisitorOut.model_validate(view)


@api.route(
    "GET",
    "/visitors",
    summary="Who is on the sites now, newest first; live changes come as visitors.changed",
    tag="visitors",
    query=V.VisitorQuery,
    response=V.VisitorList,
)
async def list_visitors(request: web.Request) -> V.VisitorList:
    query = read_query(request, V.VisitorQuery)
    board = request.app[VISITORS]
    found = board.visitors([query.channel_id] if query.channel_id else None)
    return V.VisitorList(items=[visitor_out(v, trail=TRAIL_IN_EVENTS) for v in found])


@api.route(
    "GET",
    "/visitors/trail",
    summary="One visitor on the site now, with the whole trail of the visit",
    tag="visitors",
    query=V.VisitorKey,
    response=V.VisitorOut,
)
async def get_visitor(request: web.Request) -> V.VisitorOut:
    query = read_query(request, V.VisitorKey)
    visitor = request.app[VISITORS].visitor(f"{query.channel_id}:{query.visitor_id}")
    if visitor is None:
        raise NotFound(f"visitor {query.visitor_id!r} is not on the site now")
    return visitor_out(visitor, trail=None)


@api.route(
    "POST",
    "/visitors/invite",
    summary="Invite a visitor on the site to chat (主动邀请): accepting opens a conversation "
    "with the inviting agent; the outcome comes as visitor.invitation",
    tag="visitors",
    body=V.InviteIn,
    response=V.InvitationOut,
    status=202,
)
async def invite_visitor(request: web.Request) -> V.InvitationOut:
    body = await read_body(request, V.InviteIn)
    invitation_id = await invitations.invite(
        hub_of(request).deps,
        request.app[VISITORS],
        agent_of(request),
        body.channel_id,
        body.visitor_id,
        body.text,
    )
    return V.InvitationOut(invitation_id=invitation_id)
