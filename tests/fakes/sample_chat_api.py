"""A local fake of the Sample Chat provider's API (see tests/contract/sample_connector)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


def sign(secret: str, body: bytes) -> str:
    """The ``X-Sample-Signature`` the provider puts on a webhook."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message(event_id: str, sender: str, text: str = "", **extra: Any) -> bytes:
    return json.dumps({"id": event_id, "from": sender, "text": text, **extra}).encode()


@dataclass
class FakeSampleChat:
    """Records sends, refuses them on demand, serves media and the ``/updates`` feed.

    ``refuse`` is a queue of error codes the next sends answer with a 400 (``"blocked"``) or,
    for ``"busy"``, a 503; ``media_failures`` makes that many media downloads answer 503.
    """

    sent: list[dict[str, Any]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_failures: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    update_requests: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/messages", self._send)
        app.router.add_get("/media/{id}", self._media)
        app.router.add_get("/updates", self._updates)
        return app

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = TestServer(self.app(), host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.refuse:
            code = self.refuse.pop(0)
            status = 503 if code == "busy" else 400
            return web.json_response(
                {"error": {"code": code, "message": f"refused: {code}"}}, status=status
            )
        self.sent.append(body)
        return web.json_response({"id": f"sc-{next(self._ids)}"})

    async def _media(self, request: web.Request) -> web.Response:
        if self.media_failures > 0:
            self.media_failures -= 1
            return web.Response(status=503, text="try later")
        found = self.media.get(request.match_info["id"])
        if found is None:
            return web.Response(status=404, text="gone")
        return web.Response(body=found[0], content_type=found[1])

    async def _updates(self, request: web.Request) -> web.Response:
        self.update_requests += 1
        after = int(request.query.get("after") or 0)
        return web.json_response(
            {"messages": self.updates[after:], "cursor": str(len(self.updates))}
        )
