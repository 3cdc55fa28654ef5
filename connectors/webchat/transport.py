"""The widget's endpoints: a websocket for visitors, and the same protocol over plain HTTP.

Mounted by the hub under ``/webchat``; the protocol is documented in
``docs/webchat-protocol.md``. Everything here is framework-free: it takes the hub's transport
``Request``/``Socket`` values and asks the hub for what it needs through ``HubAccess``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.webchat.protocol import (
    MAX_FRAME_BYTES,
    Identify,
    InviteReply,
    LeaveMessage,
    Page,
    Ping,
    Rating,
    SendMessage,
    Typing,
    VisitorFrame,
    parse_frame,
)
from connectors.webchat.settings import origin_allowed
from connectors.webchat.tokens import Visitor, VisitorTokens
from connectors.webchat.visits import device_of
from hub.domain.errors import (
    Forbidden,
    HubError,
    InvalidInput,
    MalformedPayload,
    NotFound,
    TooManyRequests,
)
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.model import AttachmentRef, Inbound, MessageKind
from hub.domain.ports import SubscriberOverflow
from hub.domain.records import Channel, Message
from hub.domain.routing import QueuePlace
from hub.domain.transports import HubAccess, Request, Response, Route, Socket, Transport
from hub.domain.visitors import PageReport

log = logging.getLogger(__name__)

#: the close code that tells a widget it may have missed messages: reconnect and resync
CLOSE_RESYNC = 4000
#: a waiting visitor's place is read again after any conversation changes, and at least this
#: often: the estimate of the wait moves with time, and a change may be missed (a gap)
QUEUE_RECHECK_S = 30.0
#: a burst of changes (a routing of many conversations) costs one read of the place
QUEUE_SETTLE_S = 0.3
#: a first message's conversation is opened by a job a moment after the ack: how long the
#: widget's place is looked for before the visitor is taken as not waiting
QUEUE_PATIENCE_S = 10.0
_NO_SESSION = "start a session first: POST /webchat/{key}/session"


@dataclass
class VisitorSession:
    channel: Channel
    visitor: Visitor
    token: str
    #: the visitor's network address, for the per-address limits
    client: str = "unknown"
    name: str = ""
    email: str | None = None
    agent_names: dict[int, str] = field(default_factory=dict)
    #: this connection (one open page of the site), for the live visitor panel
    connection: str = ""
    user_agent: str = ""
    #: the visitor's latest conversation, looked up once per connection
    conversation_id: int | None = None
    looked_up: bool = False
    #: the last page of the trail already sent with a message
    trail_sent: str = ""
    #: a visitor given their token just now: nothing of theirs can be stored yet
    new: bool = False
    #: an agent's invitation shown on this page and not answered yet
    invitation: dict[str, Any] | None = None
    #: the place in the queue this page was told last (the ``queue`` frame's fields)
    queue: dict[str, int | None] | None = None
    #: what keeps this page's place in the queue up to date while the visitor waits
    following: asyncio.Task[None] | None = None
    #: the language the visitor's client reads (``zh-CN`` or ``en``), when it says
    language: str | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def client_language(request: Request) -> str | None:
    """The language the widget shows (its ``lang``), else the browser's first choice: the
    hub's automatic messages are sent in it where it has them."""
    said = request.query.get("lang") or request.headers.get("Accept-Language", "")
    first = said.split(",", 1)[0].split(";", 1)[0].strip()[:35]
    return first or None


class VisitorTransport:
    """The endpoints of every web chat channel (a channel is chosen by its public key)."""

    def __init__(self, kind: str, hub: HubAccess, tokens: VisitorTokens) -> None:
        self.kind = kind
        self.hub = hub
        self.tokens = tokens
        self._linking: set[asyncio.Task[None]] = set()

    def transport(self) -> Transport:
        # The router tries a prefix's routes in the order given: the busiest goes first.
        return Transport(
            prefix="/webchat",
            routes=(
                Route("POST", "/{key}/messages", handler=self.http_frame),
                Route("GET", "/{key}/ws", socket=self.socket),
                Route("POST", "/{key}/session", handler=self.http_session),
                Route("POST", "/{key}/uploads", handler=self.http_upload, upload=True),
                Route("OPTIONS", "/{key}/{rest:.*}", handler=self.preflight),
            ),
            headers=self.cors,
        )

    # -- shared -----------------------------------------------------------------------------

    async def channel(self, request: Request) -> Channel:
        channel = await self.hub.channel_by_key(request.params.get("key", ""))
        if channel.kind != self.kind or not channel.active:
            raise NotFound("no web chat channel has this key")
        if not origin_allowed(channel.settings, request.headers.get("Origin")):
            raise Forbidden(
                "this site may not embed the chat; add it to the channel's allowed origins"
            )
        return channel

    async def session(
        self, channel: Channel, token: str | None, client: str, *, new_allowed: bool = True
    ) -> VisitorSession:
        visitor = self.tokens.verify(token, channel.id) if token else None
        if visitor is None or token is None:
            if not new_allowed:
                raise InvalidInput(_NO_SESSION)
            # A forged, expired or foreign token is a new anonymous visitor: it reveals nothing.
            limit = int(channel.settings.get("new_visitors_per_minute") or 0)
            if limit:
                await self.hub.throttle([(f"webchat:{channel.id}:new:{client}", limit, 60)])
            visitor, token = self.tokens.new_visitor(channel.id)
            return VisitorSession(channel, visitor, token, client, new=True)
        return VisitorSession(channel, visitor, token, client)

    async def count_message(self, session: VisitorSession) -> None:
        """The channel's limits on messages per visitor and per address (uploads count too)."""
        settings = session.channel.settings
        per_visitor = int(settings.get("messages_per_minute") or 0)
        per_address = int(settings.get("messages_per_address_per_minute") or 0)
        channel_id = session.channel.id
        rules: list[tuple[str, int, float]] = []
        if per_visitor:
            rules.append(
                (f"webchat:{channel_id}:msg:{session.visitor.visitor_id}", per_visitor, 60)
            )
        if per_address:
            rules.append((f"webchat:{channel_id}:addr:{session.client}", per_address, 60))
        if rules:
            await self.hub.throttle(rules)

    async def cors(self, request: Request) -> Mapping[str, str]:
        """The widget runs on the business's site: answer the sites the channel allows."""
        origin = request.headers.get("Origin")
        if not origin:
            return {}
        try:
            channel = await self.hub.channel_by_key(request.params.get("key", ""))
        except NotFound:
            return {}
        if channel.kind != self.kind or not origin_allowed(channel.settings, origin):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Headers": "Content-Type, X-Visitor-Token",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Vary": "Origin",
        }

    def message_frame(self, msg: Message, names: Mapping[int, str]) -> dict[str, Any]:
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
                    "url": self.hub.file_url(a),
                }
                for a in msg.attachments
            ],
            "created_at": iso(msg.created_at),
        }

    async def hello(self, session: VisitorSession) -> dict[str, Any]:
        hub = self.hub
        pending: list[tuple[datetime, Inbound]] = []
        history: list[Message] = []
        if not session.new:
            # Messages acknowledged a moment ago may still wait for their job: show them too.
            # Read before the history, so one processed in between shows up there instead.
            pending = await hub.pending(session.channel.id, f"{session.visitor.visitor_id}:")
            history = await hub.history(session.channel.id, session.visitor.visitor_id)
        # the history names the visitor's latest conversation: the panel needs no query of its own
        session.conversation_id = max((m.conversation_id for m in history), default=None)
        session.looked_up = True
        # agents are named only where the history has their replies (most page loads have none)
        if any(m.sender_agent_id for m in history):
            session.agent_names = await hub.agent_names()
        shown = [self.message_frame(m, session.agent_names) for m in history]
        known = {m.provider_message_id for m in history}
        for received_at, item in pending:
            if item.provider_event_id not in known:
                shown.append(_pending_frame(item, received_at))
        settings = session.channel.settings
        service = await hub.service(session.channel, session.conversation_id, session.language)
        return {
            "type": "hello",
            "visitor_id": session.visitor.visitor_id,
            "visitor_token": session.token,
            "agents_online": await hub.agents_online(),
            # outside business hours the widget offers to leave a message, with this text
            "service": {
                "open": service.open,
                "next_opening": iso(service.next_opening),
                "closed_text": service.closed_text,
            },
            # a resolved conversation waiting for the visitor's stars (满意度评价)
            "rating_request": (
                {"conversation_id": service.rating_request[0], "text": service.rating_request[1]}
                if service.rating_request
                else None
            ),
            "history": shown,
            # 访客队列: where the visitor's conversation waits, or null
            "queue": await self.queue_fields(session),
            "settings": {
                "title": settings.get("title") or session.channel.name,
                "welcome_text": settings.get("welcome_text", ""),
                "prechat_form": bool(settings.get("prechat_form")),
                "color": settings.get("color", "#1f6feb"),
                "position": settings.get("position") or "right",
                "language": settings.get("language") or "auto",
                "launcher_text": settings.get("launcher_text") or "",
                "logo": (
                    f"/channel-files/{session.channel.id}/{settings['logo']}"
                    if settings.get("logo")
                    else None
                ),
                "agent_avatars": settings.get("agent_avatars", True) is not False,
                "offline_phone": bool(settings.get("offline_phone")),
                "max_upload_bytes": hub.max_upload_bytes,
                "upload_types": list(hub.upload_types),
            },
        }

    async def handle(self, session: VisitorSession, frame: VisitorFrame) -> dict[str, Any] | None:
        """Act on one frame; returns the answer frame, if any."""
        if isinstance(frame, Ping):
            return {"type": "pong"}
        if isinstance(frame, Identify):
            session.name = frame.name.strip()
            session.email = str(frame.email) if frame.email else None
            return {"type": "identified"}
        if isinstance(frame, Typing):
            await self.typing(session, frame.on)
            return None
        if isinstance(frame, Page):
            await self.page(session, frame)
            return None
        if isinstance(frame, Rating):
            # asked afresh: a first conversation may have opened since the hello
            session.conversation_id = await self.hub.latest_conversation_id(
                session.channel.id, session.visitor.visitor_id
            )
            session.looked_up = True
            await self.hub.rate(
                session.channel,
                session.visitor.visitor_id,
                session.conversation_id,
                frame.score,
                frame.comment,
            )
            return {
                "type": "rated",
                "conversation_id": session.conversation_id,
                "score": frame.score,
            }
        if isinstance(frame, InviteReply):
            shown = session.invitation
            if shown is None or shown["invitation_id"] != frame.invitation_id:
                raise InvalidInput("no such invitation is open on this page")
            session.invitation = None
            outcome = "accepted" if frame.accepted else "declined"
            found = await self.hub.invitation(
                session.channel, session.visitor.visitor_id, shown, outcome
            )
            if found is not None:
                session.conversation_id = found
            return None
        if isinstance(frame, LeaveMessage):
            await self.count_message(session)
            item = Inbound(
                provider_event_id=f"{session.visitor.visitor_id}:{frame.client_id}",
                sender_id=session.visitor.visitor_id,
                kind=MessageKind.TEXT,
                text=frame.text,
                sender_name=frame.name.strip() or session.name or None,
                sender_email=str(frame.email) if frame.email else session.email,
                sender_phone=" ".join(frame.phone.split()) if frame.phone else None,
                data={"left_offline": True, **self.language_data(session)},
            )
            await self.hub.accept(session.channel, [item])
            return {"type": "ack", "client_id": frame.client_id}
        assert isinstance(frame, SendMessage)
        await self.count_message(session)
        files: list[AttachmentRef] = []
        for token in frame.attachments:
            ref = self.tokens.verify_upload(token, session.visitor)
            if ref is None:
                raise InvalidInput("an attachment is invalid or expired; upload it again")
            files.append(ref)
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
            data={**self.trail_data(session), **self.language_data(session)},
        )
        await self.hub.accept(session.channel, [item])
        if session.conversation_id is None and session.connection:
            self._link_later(session)
        return {"type": "ack", "client_id": frame.client_id}

    async def page(self, session: VisitorSession, frame: Page) -> None:
        """Tell the visitor panel the page the visitor is on; a report over the channel's limit
        is dropped without a word, so it never holds up the chat."""
        settings = session.channel.settings
        if not settings.get("visitor_panel", True):
            return
        limit = int(settings.get("pages_per_minute") or 30)
        try:
            await self.hub.throttle(
                [(f"webchat:{session.channel.id}:page:{session.visitor.visitor_id}", limit, 60)]
            )
        except TooManyRequests:
            return
        if not session.looked_up:
            session.conversation_id = await self.hub.latest_conversation_id(
                session.channel.id, session.visitor.visitor_id
            )
            session.looked_up = True
        self.hub.page_opened(
            session.channel,
            session.visitor.visitor_id,
            session.connection or f"http:{session.visitor.visitor_id}",
            PageReport(
                url=frame.url,
                title=frame.title.strip(),
                referrer=frame.referrer,
                visits=frame.visits,
                device=device_of(session.user_agent),
                address=session.client,
                keep_address=bool(settings.get("keep_addresses")),
                conversation_id=session.conversation_id,
            ),
        )
        if not session.connection:
            # over plain HTTP no connection stays open: the visitor leaves unless pages follow
            self.hub.page_closed(
                session.channel, session.visitor.visitor_id, f"http:{session.visitor.visitor_id}"
            )

    def _link_later(self, session: VisitorSession) -> None:
        """A first message opens a conversation a moment after it is acknowledged: the panel
        then shows the visitor as chatting."""

        async def link() -> None:
            for wait_s in (0.5, 2.0, 5.0):
                await asyncio.sleep(wait_s)
                found = await self.hub.latest_conversation_id(
                    session.channel.id, session.visitor.visitor_id
                )
                if found is not None:
                    session.conversation_id = found
                    self.hub.visitor_chatting(session.channel, session.visitor.visitor_id, found)
                    return

        task = asyncio.create_task(link())
        self._linking.add(task)
        task.add_done_callback(self._linking.discard)

    def language_data(self, session: VisitorSession) -> dict[str, Any]:
        """Kept with the visitor's messages: the hub answers them in this language."""
        return {"language": session.language} if session.language else {}

    def trail_data(self, session: VisitorSession) -> dict[str, Any]:
        """The pages the visitor saw since their last message, kept with the message: the
        conversation shows where on the site they were (足迹)."""
        trail = self.hub.trail(session.channel, session.visitor.visitor_id)
        if not trail:
            return {}
        last = f"{trail[-1].url}@{trail[-1].at.isoformat()}"
        if last == session.trail_sent:
            return {}
        session.trail_sent = last
        return {
            "pages": [{"url": p.url, "title": p.title, "at": p.at.isoformat()} for p in trail[-10:]]
        }

    async def typing(self, session: VisitorSession, on: bool) -> None:
        conversation_id = await self.hub.latest_conversation_id(
            session.channel.id, session.visitor.visitor_id
        )
        await self.hub.publish(
            AGENTS_TOPIC,
            HubEvent(
                "visitor.typing",
                {
                    "channel_id": session.channel.id,
                    "visitor_id": session.visitor.visitor_id,
                    "conversation_id": conversation_id,
                    "on": on,
                },
            ),
        )

    # -- the waiting queue (访客队列) ---------------------------------------------------------

    async def queue_fields(self, session: VisitorSession) -> dict[str, int | None] | None:
        """The visitor's place in the queue, remembered as told; a new visitor has none."""
        place = None
        if not session.new and session.conversation_id is not None:
            place = await self.hub.queue_place(session.channel, session.visitor.visitor_id)
        session.queue = _place_fields(place)
        return session.queue

    def follow_queue(self, socket: Socket, session: VisitorSession, patience_s: float) -> None:
        """Keep the page told of its place while the visitor waits (once per page)."""
        if session.following is not None and not session.following.done():
            return
        session.following = asyncio.create_task(self._follow_queue(socket, session, patience_s))

    async def _follow_queue(
        self, socket: Socket, session: VisitorSession, patience_s: float
    ) -> None:
        """A change of a conversation of the visitor's team may move the queue (an
        assignment, a take, a resolve, a transfer in or out): each is followed by a read of the
        place, told when it changed. A visitor not waiting is looked for ``patience_s`` longer
        (their conversation may not exist yet, nor its team be known), then left until they
        write again."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + patience_s
        try:
            while True:
                async with self.hub.subscribe(AGENTS_TOPIC) as events:
                    changes = _Changes(events)
                    try:
                        while True:
                            place = await self.hub.queue_place(
                                session.channel, session.visitor.visitor_id
                            )
                            await self._tell_place(socket, session, place)
                            left = give_up - loop.time()
                            if place is None and left <= 0:
                                return
                            if place is None:
                                await changes.wait(left, None)
                            else:
                                await changes.wait(QUEUE_RECHECK_S, place.team_id)
                            await asyncio.sleep(QUEUE_SETTLE_S)
                    except SubscriberOverflow:
                        continue  # subscribed afresh; the next read catches up
                    finally:
                        changes.close()
        except ConnectionResetError:
            pass

    async def _tell_place(
        self, socket: Socket, session: VisitorSession, place: QueuePlace | None
    ) -> None:
        fields = _place_fields(place)
        if fields == session.queue:
            return
        if fields is None and session.queue is None:
            return
        session.queue = fields
        await _send(
            socket,
            {"type": "queue", **(fields or {"position": None, "estimated_wait_s": None})},
        )

    # -- websocket --------------------------------------------------------------------------

    async def socket(self, request: Request, socket: Socket) -> None:
        channel = await self.channel(request)
        session = await self.session(channel, request.query.get("token"), request.client)
        session.connection = f"ws:{id(socket):x}"
        session.language = client_language(request)
        session.user_agent = request.headers.get("User-Agent", "")
        await socket.accept()
        topic = visitor_topic(channel.id, session.visitor.visitor_id)
        async with self.hub.subscribe(topic) as events:
            await _send(socket, await self.hello(session))
            if session.queue is not None:
                self.follow_queue(socket, session, 0)
            writer = asyncio.create_task(self.push(socket, session, events))
            try:
                async for raw in socket:
                    try:
                        answer = await self.handle(session, parse_frame(raw))
                    except HubError as exc:
                        answer = {"type": "error", "reason": str(exc), "client_id": _client_id(raw)}
                        if isinstance(exc, TooManyRequests):
                            answer["retry_after"] = max(1, round(exc.retry_after_s))
                    if answer is not None:
                        await _send(socket, answer)
                    if answer is not None and answer["type"] == "ack":
                        # a message may open a conversation that waits
                        self.follow_queue(socket, session, QUEUE_PATIENCE_S)
            finally:
                if session.invitation is not None:
                    # a task of its own: the closing connection may cancel this handler again
                    task = asyncio.create_task(_ignored(self.hub, session))
                    self._linking.add(task)
                    task.add_done_callback(self._linking.discard)
                self.hub.page_closed(channel, session.visitor.visitor_id, session.connection)
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
                if session.following is not None:
                    session.following.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await session.following

    async def push(
        self, socket: Socket, session: VisitorSession, events: AsyncIterator[HubEvent]
    ) -> None:
        try:
            async for event in events:
                if event.type == "message":
                    msg = await self.hub.message(int(event.data["message_id"]))
                    if msg is None or msg.private:
                        continue
                    if msg.sender_agent_id and msg.sender_agent_id not in session.agent_names:
                        session.agent_names = await self.hub.agent_names()
                    frame = self.message_frame(msg, session.agent_names)
                    await _send(socket, {"type": "message", "message": frame})
                elif event.type == "typing":
                    await _send(socket, {"type": "typing", **event.data})
                elif event.type == "invite":
                    # a visitor with several pages open answers on one of them: each shows it
                    session.invitation = dict(event.data)
                    await _send(
                        socket,
                        {
                            "type": "invite",
                            "invitation_id": event.data["invitation_id"],
                            "text": event.data["text"],
                            "agent_name": event.data["agent_name"],
                        },
                    )
                    await self.hub.invitation(
                        session.channel, session.visitor.visitor_id, event.data, "sent"
                    )
                elif event.type == "rating_request":
                    await _send(
                        socket,
                        {
                            "type": "rating_request",
                            "conversation_id": event.data["conversation_id"],
                            "text": event.data["text"],
                        },
                    )
                elif event.type == "rated":
                    # another page of the visitor's rated: this one's stars go too
                    await _send(
                        socket, {"type": "rated", "conversation_id": event.data["conversation_id"]}
                    )
        except SubscriberOverflow:
            await socket.close(CLOSE_RESYNC, "reconnect")
        except ConnectionResetError:
            pass

    # -- the same protocol over plain HTTP, for networks that block websockets ----------------

    async def http_session(self, request: Request) -> Response:
        channel = await self.channel(request)
        token = request.headers.get("X-Visitor-Token") or None
        session = await self.session(channel, token, request.client)
        session.language = client_language(request)
        return Response.json(await self.hello(session))

    async def _http_visitor(self, request: Request) -> VisitorSession:
        channel = await self.channel(request)
        token = request.headers.get("X-Visitor-Token") or None
        session = await self.session(channel, token, request.client, new_allowed=False)
        session.user_agent = request.headers.get("User-Agent", "")
        session.language = client_language(request)
        return session

    async def http_frame(self, request: Request) -> Response:
        session = await self._http_visitor(request)
        frame = parse_frame(request.body)
        if isinstance(frame, Identify):
            raise MalformedPayload("send name and email with leave_message over HTTP")
        answer = await self.handle(session, frame)
        return Response.json(answer or {"type": "ok"}, status=202)

    async def http_upload(self, request: Request) -> Response:
        session = await self._http_visitor(request)
        await self.count_message(session)
        if request.receive_upload is None:
            raise MalformedPayload("send the file as multipart/form-data")
        stored = await request.receive_upload()
        return Response.json(
            {
                "token": self.tokens.issue_upload(session.visitor, stored),
                "filename": stored.filename,
                "content_type": stored.content_type,
                "size": stored.size,
            },
            status=201,
        )

    async def preflight(self, request: Request) -> Response:
        return Response(status=204)


async def _ignored(hub: HubAccess, session: VisitorSession) -> None:
    """The page closed with an invitation unanswered."""
    shown, session.invitation = session.invitation, None
    if shown is None:
        return
    try:
        await hub.invitation(session.channel, session.visitor.visitor_id, shown, "ignored")
    except Exception:
        log.warning("an ignored invitation was not recorded", exc_info=True)


def _place_fields(place: QueuePlace | None) -> dict[str, int | None] | None:
    if place is None:
        return None
    return {"position": place.position, "estimated_wait_s": place.estimated_wait_s}


class _Changes:
    """Waits for a change of a team's conversations on the agents' topic, with a timeout that
    leaves the subscription usable (cancelling a read of an async generator would end it)."""

    def __init__(self, events: AsyncIterator[HubEvent]) -> None:
        self._feed = aiter(events)
        self._next: asyncio.Task[HubEvent] | None = None

    async def _read(self) -> HubEvent:
        return await anext(self._feed)

    async def wait(self, timeout_s: float, team_id: int | None) -> None:
        """Returns at the first change of a conversation of ``team_id`` (of any, when
        ``None``) or after ``timeout_s``; raises ``SubscriberOverflow`` after a gap."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout_s)
        while True:
            if self._next is None:
                self._next = asyncio.create_task(self._read())
            done, _ = await asyncio.wait({self._next}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                return
            read, self._next = self._next, None
            if _moves(read.result(), team_id):
                return

    def close(self) -> None:
        if self._next is not None:
            self._next.cancel()


def _moves(event: HubEvent, team_id: int | None) -> bool:
    """Whether an agents' event may move a queue of ``team_id``: a change of one of its
    conversations, or a transfer out of it (the change names the new team only)."""
    if event.type == "conversation.updated":
        return team_id is None or event.data.get("team_id") == team_id
    if event.type == "conversation.transferred":
        return team_id is None or event.data.get("from_team_id") == team_id
    return False


async def _send(socket: Socket, frame: dict[str, Any]) -> None:
    await socket.send_text(json.dumps(frame, ensure_ascii=False))


def _pending_frame(item: Inbound, received_at: datetime) -> dict[str, Any]:
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


def _client_id(raw: str) -> str | None:
    with contextlib.suppress(ValueError, AttributeError):
        value = json.loads(raw).get("client_id")
        return value if isinstance(value, str) else None
    return None


__all__ = ["CLOSE_RESYNC", "MAX_FRAME_BYTES", "VisitorTransport"]
