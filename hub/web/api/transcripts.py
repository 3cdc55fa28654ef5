"""A conversation's transcript (聊天记录下载): JSON, readable HTML and CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from hub.domain.errors import NotFound
from hub.domain.model import Direction, SenderType
from hub.domain.records import Message
from hub.web import transcript_schemas as X
from hub.web.api.common import api, path_id, read_query
from hub.web.keys import hub_of
from hub.web.transcript_formats import Line, Transcript, as_csv, as_html

#: messages read per query while a transcript is gathered
_PAGE = 500


async def transcript_of(request: web.Request) -> Transcript:
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    internal = read_query(request, X.TranscriptQuery).internal
    item = await hub_.queries.conversation_item(conversation_id)
    if item is None:
        raise NotFound(f"conversation {conversation_id}")
    conversation = item.conversation
    contact = await hub_.queries.contact(conversation.contact_id)
    names = await hub_.queries.agent_names()
    messages: list[Message] = []
    before: int | None = None
    while True:
        page, more = await hub_.queries.messages(
            [conversation_id], before_id=before, limit=_PAGE, include_private=internal
        )
        messages = page + messages
        if not more or not page:
            break
        before = page[0].id
    lines = []
    for m in messages:
        if m.private:
            who = "note"
        elif m.direction == Direction.IN:
            who = "customer"
        elif m.sender_type == SenderType.AGENT:
            who = "agent"
        else:
            who = "bot"
        name = (
            item.contact_name
            if who == "customer"
            else names.get(m.sender_agent_id or 0, "")
            if m.sender_agent_id
            else "🤖"
        )
        event = m.data.get("event") if isinstance(m.data.get("event"), str) else None
        lines.append(
            Line(
                at=m.created_at,
                who=who,
                name=name,
                text=m.text,
                files=tuple(
                    (a.filename or "file", _absolute(request, hub_.deps.file_url(a)))
                    for a in m.attachments
                ),
                event=event,
            )
        )
    return Transcript(
        conversation_id=conversation.id,
        channel=item.channel_name,
        channel_kind=item.channel_kind,
        contact=item.contact_name,
        contact_email=contact.email if contact else None,
        contact_phone=contact.phone if contact else None,
        status=str(getattr(conversation.status, "value", conversation.status)),
        started=conversation.created_at,
        lines=tuple(lines),
        internal=internal,
        made=datetime.now(UTC),
    )


def _absolute(request: web.Request, url: str | None) -> str | None:
    """File links in a downloaded page work away from the inbox: they name the hub."""
    if url is None or not url.startswith("/"):
        return url
    return hub_of(request).settings.public_url.rstrip("/") + url


@api.route(
    "GET",
    "/conversations/{id}/transcript",
    summary="The conversation's transcript (聊天记录), without private notes unless internal",
    tag="conversations",
    query=X.TranscriptQuery,
    response=X.TranscriptOut,
)
async def transcript_json(request: web.Request) -> X.TranscriptOut:
    t = await transcript_of(request)
    return X.TranscriptOut(
        conversation_id=t.conversation_id,
        channel=t.channel,
        channel_kind=t.channel_kind,
        contact=t.contact,
        contact_email=t.contact_email,
        contact_phone=t.contact_phone,
        status=t.status,
        started=t.started.isoformat(),
        internal=t.internal,
        lines=[
            X.TranscriptLineOut(
                at=line.at.isoformat(),
                who=line.who,
                name=line.name,
                text=line.text,
                files=[X.TranscriptFileOut(filename=name, url=link) for name, link in line.files],
                event=line.event,
            )
            for line in t.lines
        ],
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@api.file_route(
    "GET",
    "/conversations/{id}/transcript.html",
    summary="The conversation's transcript as a page to read, print or keep",
    tag="conversations",
    media_type="text/html",
    query=X.TranscriptQuery,
)
async def transcript_html(request: web.Request) -> web.Response:
    t = await transcript_of(request)
    return web.Response(
        text=as_html(t),
        content_type="text/html",
        headers={
            **_attachment(t.filename("html")),
            # a downloaded page runs nothing and loads nothing but its own style
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@api.file_route(
    "GET",
    "/conversations/{id}/transcript.csv",
    summary="The conversation's transcript as CSV (UTF-8 with a BOM, for Excel): time, who, "
    "name, text, files; cells a spreadsheet would run as formulas start with '",
    tag="conversations",
    media_type="text/csv",
    query=X.TranscriptQuery,
)
async def transcript_csv(request: web.Request) -> web.Response:
    t = await transcript_of(request)
    return web.Response(
        body=as_csv(t),
        content_type="text/csv",
        charset="utf-8",
        headers=_attachment(t.filename("csv")),
    )
