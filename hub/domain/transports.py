"""A connector's own endpoints (a widget's HTTP calls and websocket), without a web framework.

Webhooks cover providers that call the hub. A channel whose customers talk to the hub directly
(web chat's visitors) declares a ``Transport``: routes whose handlers take a framework-free
``Request`` and give a ``Response``, and websocket handlers that get a ``Socket``. The web layer
mounts them under the transport's prefix and maps the hub's errors to answers; the connector
asks the hub for what it needs through ``HubAccess``, so it stays testable without a server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from hub.domain.events import HubEvent
from hub.domain.model import AttachmentRef, Inbound, StatusUpdate
from hub.domain.records import Attachment, Channel, Message
from hub.domain.routing import QueuePlace
from hub.domain.service_rules import VisitorService
from hub.domain.visitors import PageReport, PageView


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    #: the route's path parameters, e.g. ``{"key": "…"}`` for ``/{key}/session``
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    #: the client's network address (a trusted proxy's ``X-Forwarded-For`` considered)
    client: str = "unknown"
    #: on routes declared with ``upload=True``: reads the multipart ``file`` field, stores it
    #: within the hub's size and type limits, and gives it back with its ``storage_key``
    receive_upload: Callable[[], Awaitable[AttachmentRef]] | None = None


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False).encode())


class Socket(Protocol):
    """A websocket: ``accept`` opens it; errors raised before that become HTTP answers."""

    async def accept(self) -> None: ...
    async def send_text(self, text: str) -> None: ...
    def __aiter__(self) -> AsyncIterator[str]:
        """The text frames received, until the peer closes."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]
SocketHandler = Callable[[Request, Socket], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    #: ``GET``, ``POST``, ``OPTIONS``…; a ``socket`` route is always a GET upgrade
    method: str
    #: under the transport's prefix, with ``{name}`` parameters: ``/{key}/messages``
    path: str
    handler: Handler | None = None
    socket: SocketHandler | None = None
    #: the body is a multipart upload, read by ``Request.receive_upload`` (not into ``body``)
    upload: bool = False


@dataclass(frozen=True)
class Transport:
    #: where the routes are mounted, e.g. ``/webchat``
    prefix: str
    routes: tuple[Route, ...]
    #: headers for every answer of these routes, errors included (e.g. CORS for allowed sites)
    headers: Callable[[Request], Awaitable[Mapping[str, str]]] | None = None


class HubAccess(Protocol):
    """What a transport may ask of the hub."""

    max_upload_bytes: int
    upload_types: Sequence[str]

    async def channel_by_key(self, key: str) -> Channel:
        """The channel with this public key, or ``NotFound``."""
        ...

    async def accept(self, channel: Channel, items: Sequence[Inbound]) -> None:
        """Store inbound events durably (deduplicated on their provider event ids)."""
        ...

    async def history(self, channel_id: int, sender_id: str) -> list[Message]:
        """The messages of this customer's conversations on the channel, oldest first."""
        ...

    async def pending(
        self, channel_id: int, event_id_prefix: str
    ) -> list[tuple[datetime, Inbound]]:
        """Accepted events not processed yet whose provider event id starts with the prefix."""
        ...

    async def agent_names(self) -> dict[int, str]: ...
    async def agents_online(self) -> bool: ...
    async def latest_conversation_id(self, channel_id: int, sender_id: str) -> int | None: ...
    async def queue_place(self, channel: Channel, customer: str) -> QueuePlace | None:
        """Where the customer's latest conversation on the channel waits for an agent (访客队列),
        with an estimate of the wait; ``None`` when it does not wait."""
        ...

    async def message(self, message_id: int) -> Message | None: ...
    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[HubEvent]]:
        """Live events of a topic; iterating raises ``SubscriberOverflow`` after a gap."""
        ...

    async def publish(self, topic: str, event: HubEvent) -> None: ...
    def file_url(self, attachment: Attachment) -> str | None: ...
    async def apply_statuses(self, channel: Channel, updates: Sequence[StatusUpdate]) -> None:
        """Record reports on messages the hub sent (a bounce: the reply failed)."""
        ...

    async def channels_of_kind(self, kind: str) -> list[Channel]:
        """Every channel of this kind (a listener routes what arrives to one of them)."""
        ...

    async def store_file(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Keep bytes in the hub's file storage (a mail as received); returns their key."""
        ...

    async def throttle(self, rules: Sequence[tuple[str, int, float]]) -> None:
        """Count one event for each ``(key, limit, window_s)`` (shared by every process, in
        one round trip); ``TooManyRequests`` when one is over its limit in its window."""
        ...

    def page_opened(
        self, channel: Channel, visitor_id: str, connection: str, report: PageReport
    ) -> None:
        """A visitor's widget (``connection``: one open page) reports the page it is on, for
        the live visitor panel."""
        ...

    def visitor_chatting(self, channel: Channel, visitor_id: str, conversation_id: int) -> None:
        """The visitor's conversation, for the panel (they wrote)."""
        ...

    async def invitation(
        self, channel: Channel, visitor_id: str, invitation: Mapping[str, Any], outcome: str
    ) -> int | None:
        """An agent's invitation reached the visitor's page (``sent``), or the visitor
        ``accepted``, ``declined`` or ``ignored`` it; on acceptance, the conversation opened
        with the inviting agent."""
        ...

    def page_closed(self, channel: Channel, visitor_id: str, connection: str) -> None:
        """That page of the visitor's closed (the visitor leaves once every page has)."""
        ...

    def trail(self, channel: Channel, visitor_id: str) -> tuple[PageView, ...]:
        """The pages of the visitor's current visit, oldest first (empty when unknown)."""
        ...

    async def service(
        self, channel: Channel, conversation_id: int | None, language: str | None
    ) -> VisitorService:
        """What the customer's client shows of the service now: open or closed by business
        hours, the out-of-hours text, and whether ``conversation_id`` (their latest) waits for
        their rating."""
        ...

    async def rate(
        self, channel: Channel, customer: str, conversation_id: int | None, score: int, comment: str
    ) -> None:
        """The customer's rating (满意度评价) of their latest conversation on the channel;
        ``InvalidInput`` or ``Conflict`` with the reason when it is refused."""
        ...


@runtime_checkable
class ServesCustomers(Protocol):
    """A connector with its own endpoints for customers (web chat's widget)."""

    def transport(self, hub: HubAccess) -> Transport: ...


class Listener(Protocol):
    """A server of a connector's own protocol (an SMTP receiver), started by the hub.

    ``kefu serve`` starts it when the port of its name is set (``KEFU_SMTP_PORT`` for
    ``smtp``), and ``kefu listen smtp`` runs it alone.
    """

    name: str

    async def start(self, host: str, port: int) -> None: ...
    async def stop(self) -> None: ...


@runtime_checkable
class Listens(Protocol):
    """A connector whose customers reach the hub over a protocol of its own, not HTTP."""

    def listeners(self, hub: HubAccess) -> Sequence[Listener]: ...
