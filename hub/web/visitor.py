"""The web chat's visitor endpoints: a websocket, and an HTTP fallback for the same protocol.

The protocol is documented in ``docs/webchat-protocol.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from adapters.realtime.local import SubscriberOverflow
from connectors.webchat.connector import origin_allowed
from connectors.webchat.protocol import (
    MAX_FRAME_BYTES,
    Identify,
    LeaveMessage,
    Ping,
    SendMessage,
    Typing,
    VisitorFrame,
    parse_frame,
)
from connectors.webchat.tokens import Visitor
from hub.domain.errors import Forbidden, HubError, InvalidInput, MalformedPayload, NotFound
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.model import AttachmentRef, Inbound, MessageKind
from hub.domain.records import Channel, Message
from hub.services.inbound import accept
from hub.services.views import iso
from hub.web.bodies import read_limited
from hub.web.errors import error_response
from hub.web.keys import hub_of, track
from hub.web.uploads import attachment_ref, receive_upload

log = logging.getLogger(__name__)

CLOSE_RESYNC = 4000


@dataclass
class VisitorSession:
    channel: Channel
    visitor: Visitor
    token: str
    name: str = ""
    email: str | None = None
    agent_names: dict[int, str] = field(default_factory=dict)


async def _channel(request: web.Request) -> Channel:
    channel = await hub_of(request).directory.channel_by_key(request.match_info["key"])
    if channel.kind != "webchat":
        raise NotFound("no web chat channel has this key")
    if not origin_allowed(channel.settings, request.headers.get("Origin")):
        raise Forbidden("this site may not embed the chat; add it to the channel's allowed origins")
    return channel


def _session(request: web.Request, channel: Channel, token: str | None) -> VisitorSession:
    tokens = hub_of(request).visitor_tokens
    visitor = tokens.verify(token, channel.id) if token else None
    if visitor is None:
        # A forged, expired or foreign token is a new anonymous visitor: it reveals nothing.
        visitor, token = tokens.new_visitor(channel.id)
    assert token is not None
    return VisitorSession(channel, visitor, token)


def visitor_message(msg: Message, request: web.Request, names: dict[int, str]) -> dict[str, Any]:
    file_url = hub_of(request).deps.file_url
    return {
        "id": msg.id,
        "direction": msg.direction.value,
        "sender_type": msg.sender_type.value,
        "sender_name": names.get(msg.sender_agent_id or 0, ""),
        "kind": msg.kind.value,
        "text": msg.text,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "kind": a.kind.value,
                "size": a.size,
                "url": file_url(a),
            }
            for a in msg.attachments
        ],
        "created_at": iso(msg.created_at),
    }


def pending_message(item: Inbound, received_at: datetime) -> dict[str, Any]:
    return {
        "id": None,
        "direction": "in",
        "sender_type": "contact",
        "sender_name": "",
        "kind": item.kind.value,
        "text": item.text,
        "attachments": [],
        "created_at": iso(received_at),
    }


async def _hello(request: web.Request, session: VisitorSession) -> dict[str, Any]:
    hub_ = hub_of(request)
    # Messages acknowledged a moment ago may still wait for their job: show them too. Read
    # before the history, so one processed in between shows up there instead of nowhere.
    pending = await hub_.queries.pending_events(
        session.channel.id, f"{session.visitor.visitor_id}:"
    )
    history, _ = await hub_.queries.identity_history(session.channel.id, session.visitor.visitor_id)
    session.agent_names = await hub_.queries.agent_names()
    shown = [visitor_message(m, request, session.agent_names) for m in history]
    known = {m.provider_message_id for m in history}
    for received_at, payload in pending:
        item = Inbound.model_validate(payload)
        if item.provider_event_id not in known:
            shown.append(pending_message(item, received_at))
    settings = session.channel.settings
    return {
        "type": "hello",
        "visitor_id": session.visitor.visitor_id,
        "visitor_token": session.token,
        "agents_online": bool(await hub_.presence.online()),
        "history": shown,
        "settings": {
            "title": settings.get("title") or session.channel.name,
            "welcome_text": settings.get("welcome_text", ""),
            "prechat_form": bool(settings.get("prechat_form")),
            "color": settings.get("color", "#1f6feb"),
            "max_upload_bytes": hub_.settings.max_upload_bytes,
            "upload_types": hub_.settings.upload_types,
        },
    }


async def _handle(
    request: web.Request, session: VisitorSession, frame: VisitorFrame
) -> dict[str, Any] | None:
    """Act on one frame; returns the answer frame, if any."""
    hub_ = hub_of(request)
    if isinstance(frame, Ping):
        return {"type": "pong"}
    if isinstance(frame, Identify):
        session.name = frame.name.strip()
        session.email = str(frame.email) if frame.email else None
        return {"type": "identified"}
    if isinstance(frame, Typing):
        await hub_.bus.publish(
            AGENTS_TOPIC,
            HubEvent(
                "visitor.typing",
                {
                    "channel_id": session.channel.id,
                    "visitor_id": session.visitor.visitor_id,
                    "conversation_id": await hub_.queries.latest_conversation_id(
                        session.channel.id, session.visitor.visitor_id
                    ),
                    "on": frame.on,
                },
            ),
        )
        return None
    if isinstance(frame, LeaveMessage):
        item = Inbound(
            provider_event_id=f"{session.visitor.visitor_id}:{frame.client_id}",
            sender_id=session.visitor.visitor_id,
            kind=MessageKind.TEXT,
            text=frame.text,
            sender_name=frame.name.strip() or session.name or None,
            sender_email=str(frame.email) if frame.email else session.email,
            data={"left_offline": True},
        )
        await accept(hub_.deps, session.channel, [item])
        return {"type": "ack", "client_id": frame.client_id}
    assert isinstance(frame, SendMessage)
    files: list[AttachmentRef] = []
    for token in frame.attachments:
        upload = hub_.visitor_tokens.verify_upload(token, session.visitor)
        if upload is None:
            raise InvalidInput("an attachment is invalid or expired; upload it again")
        files.append(attachment_ref(*upload))
    if not frame.text.strip() and not files:
        raise InvalidInput("a message needs text or a file")
    item = Inbound(
        provider_event_id=f"{session.visitor.visitor_id}:{frame.client_id}",
        sender_id=session.visitor.visitor_id,
        kind=files[0].kind if files and not frame.text.strip() else MessageKind.TEXT,
        text=frame.text,
        sender_name=session.name or None,
        sender_email=session.email,
        attachments=tuple(files),
    )
    await accept(hub_.deps, session.channel, [item])
    return {"type": "ack", "client_id": frame.client_id}


async def visitor_socket(request: web.Request) -> web.StreamResponse:
    try:
        channel = await _channel(request)
    except HubError as exc:
        status = 403 if isinstance(exc, Forbidden) else 404
        return error_response(status, str(exc))
    session = _session(request, channel, request.query.get("token"))
    ws = web.WebSocketResponse(heartbeat=25.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    track(request, ws)
    hub_ = hub_of(request)
    topic = visitor_topic(channel.id, session.visitor.visitor_id)
    async with hub_.bus.subscribe(topic) as events:
        await ws.send_json(await _hello(request, session))
        writer = asyncio.create_task(_push(request, ws, session, events))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    answer = await _handle(request, session, parse_frame(msg.data))
                except HubError as exc:
                    answer = {
                        "type": "error",
                        "reason": str(exc),
                        "client_id": _client_id(msg.data),
                    }
                if answer is not None:
                    await ws.send_json(answer)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
    return ws


def _client_id(raw: str) -> str | None:
    with contextlib.suppress(ValueError, AttributeError):
        value = json.loads(raw).get("client_id")
        return value if isinstance(value, str) else None
    return None


async def _push(
    request: web.Request, ws: web.WebSocketResponse, session: VisitorSession, events: Any
) -> None:
    hub_ = hub_of(request)
    try:
        async for event in events:
            if event.type == "message":
                msg = await hub_.queries.message(int(event.data["message_id"]))
                if msg is None or msg.private:
                    continue
                if msg.sender_agent_id and msg.sender_agent_id not in session.agent_names:
                    session.agent_names = await hub_.queries.agent_names()
                await ws.send_json(
                    {
                        "type": "message",
                        "message": visitor_message(msg, request, session.agent_names),
                    }
                )
            elif event.type == "typing":
                await ws.send_json({"type": "typing", **event.data})
    except SubscriberOverflow:
        await ws.close(code=CLOSE_RESYNC, message=b"reconnect")
    except (ConnectionResetError, RuntimeError):
        pass


# -- the same protocol over plain HTTP, for networks that block websockets --------------------


def _visitor_token(request: web.Request) -> str | None:
    return request.headers.get("X-Visitor-Token") or None


async def http_session(request: web.Request) -> web.Response:
    channel = await _channel(request)
    session = _session(request, channel, _visitor_token(request))
    return web.json_response(await _hello(request, session))


async def http_frame(request: web.Request) -> web.Response:
    channel = await _channel(request)
    token = _visitor_token(request)
    session = _session(request, channel, token)
    if token is None or session.token != token:
        raise InvalidInput("start a session first: POST /webchat/{key}/session")
    frame = parse_frame(await read_limited(request, MAX_FRAME_BYTES))
    if isinstance(frame, Identify):
        raise MalformedPayload("send name and email with leave_message over HTTP")
    answer = await _handle(request, session, frame)
    return web.json_response(answer or {"type": "ok"}, status=202)


async def http_upload(request: web.Request) -> web.Response:
    channel = await _channel(request)
    token = _visitor_token(request)
    session = _session(request, channel, token)
    if token is None or session.token != token:
        raise InvalidInput("start a session first: POST /webchat/{key}/session")
    hub_ = hub_of(request)
    stored = await receive_upload(
        request,
        hub_.deps.blobs,
        max_bytes=hub_.settings.max_upload_bytes,
        allowed_types=hub_.settings.upload_types,
    )
    return web.json_response(
        {
            "token": hub_.visitor_tokens.issue_upload(
                session.visitor, stored.storage_key, stored.meta()
            ),
            "filename": stored.filename,
            "content_type": stored.content_type,
            "size": stored.size,
        },
        status=201,
    )


@web.middleware
async def webchat_cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """The widget runs on the business's site, so its HTTP calls are cross-origin."""
    if not request.path.startswith("/webchat/"):
        return await handler(request)  # type: ignore[no-any-return]
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
    else:
        response = await handler(request)
    if origin and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Visitor-Token"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Vary"] = "Origin"
    return response


def add_routes(app: web.Application) -> None:
    # The router tries a prefix's routes in the order added: the busiest goes first.
    app.router.add_post("/webchat/{key}/messages", http_frame)
    app.router.add_get("/webchat/{key}/ws", visitor_socket)
    app.router.add_post("/webchat/{key}/session", http_session)
    app.router.add_post("/webchat/{key}/uploads", http_upload)
    app.router.add_route("OPTIONS", "/webchat/{key}/{rest:.*}", _preflight)


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)
