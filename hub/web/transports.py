"""Mounts the connectors' own endpoints (``ServesCustomers``) and serves their static assets.

Connectors are loaded when the hub starts, after aiohttp has frozen its router, so their routes
live in a router of their own, consulted by one catch-all route added last.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from hub.access import ProcessHubAccess
from hub.bootstrap import Hub
from hub.domain.errors import HubError, NotFound
from hub.domain.model import AttachmentRef
from hub.domain.transports import Request, Response, Route, ServesCustomers, Transport
from hub.services.visitors import VisitorBoard
from hub.web.bodies import read_limited
from hub.web.client import client_address
from hub.web.errors import hub_error_answer
from hub.web.keys import hub_of, track
from hub.web.uploads import receive_upload

log = logging.getLogger(__name__)

#: static assets change with each release; a short cache plus revalidation keeps updates quick
ASSET_CACHE = "public, max-age=300, must-revalidate"


class WebSocket:
    """A transport's ``Socket`` on an aiohttp websocket."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._ws: web.WebSocketResponse | None = None

    @property
    def response(self) -> web.WebSocketResponse | None:
        return self._ws

    async def accept(self) -> None:
        ws = web.WebSocketResponse(heartbeat=25.0, max_msg_size=64 * 1024)
        await ws.prepare(self._request)
        track(self._request, ws)
        self._ws = ws

    async def send_text(self, text: str) -> None:
        assert self._ws is not None, "accept() first"
        try:
            await self._ws.send_str(text)
        except (ConnectionResetError, RuntimeError) as exc:
            # aiohttp says "closed" in several ways; a transport hears it as one.
            raise ConnectionResetError(str(exc)) from None

    def __aiter__(self) -> AsyncIterator[str]:
        assert self._ws is not None, "accept() first"
        return _TextFrames(self._ws)

    async def close(self, code: int, reason: str) -> None:
        if self._ws is not None:
            await self._ws.close(code=code, message=reason.encode())


class _TextFrames:
    """The text frames a peer sends, until it closes.

    An iterator object rather than an async generator: a handler cancelled while it waits for
    a frame (the peer went away) leaves no generator behind to be closed while it still runs.
    """

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    def __aiter__(self) -> _TextFrames:
        return self

    async def __anext__(self) -> str:
        while True:
            msg = await self._ws.receive()
            if msg.type == WSMsgType.TEXT:
                return str(msg.data)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                raise StopAsyncIteration


class TransportRouter:
    """Every transport's routes, matched with aiohttp's own dispatcher."""

    def __init__(self, hub: Hub, visitors: VisitorBoard) -> None:
        self._hub = hub
        self._router = web.UrlDispatcher()
        self._routes: dict[int, tuple[Transport, Route]] = {}
        access = ProcessHubAccess(hub, visitors)
        for connector in hub.deps.connectors.values():
            if isinstance(connector, ServesCustomers):
                self._mount(connector.transport(access))

    def _mount(self, transport: Transport) -> None:
        for route in transport.routes:
            method = "GET" if route.socket is not None else route.method
            # One handler object per route, so a match tells which route it was.
            handler = _marker()
            self._router.add_route(method, transport.prefix + route.path, handler)
            self._routes[id(handler)] = (transport, route)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        match = await self._router.resolve(request)
        if match.http_exception is not None:
            raise NotFound("no such page")
        transport, route = self._routes[id(match.handler)]
        params = {key: value for key, value in match.items() if isinstance(value, str)}
        hub = self._hub
        body = b""
        if route.socket is None and not route.upload and request.can_read_body:
            body = await read_limited(request, hub.settings.max_body_bytes)

        async def upload() -> AttachmentRef:
            stored = await receive_upload(
                request,
                hub.deps.blobs,
                max_bytes=hub.settings.max_upload_bytes,
                allowed_types=hub.settings.upload_types,
            )
            return stored.ref()

        framed = Request(
            method=request.method,
            path=request.path,
            params=params,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            client=client_address(request, hub.settings.trusted_proxies),
            receive_upload=upload if route.upload else None,
        )
        headers: Mapping[str, str] = {}
        if transport.headers is not None:
            headers = await transport.headers(framed)
        if route.socket is not None:
            return await _socket(request, framed, route, headers)
        assert route.handler is not None
        try:
            answer: Response = await route.handler(framed)
        except HubError as exc:
            response = hub_error_answer(request, exc)
            response.headers.update(headers)
            return response
        return web.Response(
            status=answer.status,
            body=answer.body,
            content_type=answer.content_type,
            headers={**headers, **answer.headers},
        )


async def _socket(
    request: web.Request, framed: Request, route: Route, headers: Mapping[str, str]
) -> web.StreamResponse:
    assert route.socket is not None
    socket = WebSocket(request)
    try:
        await route.socket(framed, socket)
    except HubError as exc:
        if socket.response is None:
            response = hub_error_answer(request, exc)
            response.headers.update(headers)
            return response
        log.info("socket closed on error", extra={"path": request.path, "reason": str(exc)})
        await socket.close(1008, str(exc)[:100])
    return socket.response or web.Response(status=204)


def _marker() -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise AssertionError("transport routes are dispatched by TransportRouter")

    return handler


class Transports:
    """Holds the router once the hub has started (the app's state is fixed before that)."""

    router: TransportRouter | None = None


TRANSPORTS = web.AppKey("transports", Transports)


async def transport_route(request: web.Request) -> web.StreamResponse:
    router = request.app[TRANSPORTS].router
    if router is None:
        raise NotFound("no such page")
    return await router.dispatch(request)


async def asset(request: web.Request) -> web.FileResponse:
    """A file from a connector's ``assets`` folder (the widget's script)."""
    connector = hub_of(request).deps.connectors.get(request.match_info["kind"])
    folder = connector.info.assets if connector else None
    if folder is None:
        raise NotFound("no such file")
    path = (folder / request.match_info["path"]).resolve()
    if not path.is_file() or not path.is_relative_to(folder.resolve()):
        raise NotFound("no such file")
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": ASSET_CACHE,
            # An embed snippet loads these from the business's own site.
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_routes(app: web.Application) -> None:
    """The asset route, and the catch-all for transports: add it after every other route."""
    app[TRANSPORTS] = Transports()
    app.router.add_get("/assets/{kind}/{path:.+}", asset)
    app.router.add_route("*", "/{path:.*}", transport_route)


def start(app: web.Application, hub: Hub, visitors: VisitorBoard) -> None:
    app[TRANSPORTS].router = TransportRouter(hub, visitors)
