"""A local fake of the WeChat Official Account and WeCom 微信客服 APIs, served by aiohttp."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

OA_APP_ID = "wx0123456789abcdef"
OA_SECRET = "oa-secret"
CORP_ID = "ww0123456789abcdef"
KF_SECRET = "kf-secret"


@dataclass
class Upload:
    media_type: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class FakeWeChatApi:
    """Issues and checks tokens, records bodies, answers errcodes on demand, serves media/pages.

    ``fail_next[path]`` is a queue of errcodes the next calls to ``path`` answer, e.g.
    ``fake.fail_next["/cgi-bin/message/custom/send"].append(45015)``.
    """

    token_requests: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    #: (path, JSON body) of every token-checked POST, in order
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    fail_next: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    #: every message sync_msg serves; the cursor is the index of the next one
    kf_messages: list[dict[str, Any]] = field(default_factory=list)
    kf_page_size: int = 1000
    sync_bodies: list[dict[str, Any]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def revoke_tokens(self) -> None:
        """Make every issued token stale, as when another server fetched a new one."""
        self.valid_tokens.clear()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._oa_token)
        app.router.add_get("/cgi-bin/gettoken", self._wecom_token)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/kf/sync_msg", self._sync_msg)
        for path in (
            "/cgi-bin/message/custom/send",
            "/cgi-bin/kf/send_msg",
            "/cgi-bin/kf/send_msg_on_event",
            "/cgi-bin/kf/service_state/trans",
        ):
            app.router.add_post(path, self._json_call)
        return app

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 with a free port; yields the base URL to put in api_base_url."""
        server = TestServer(self.app(), host="127.0.0.1", port=0)
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()

    # -- handlers ---------------------------------------------------------------------------

    def _issue(self) -> web.Response:
        self.token_requests += 1
        token = f"token-{next(self._ids)}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _oa_token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != OA_APP_ID:
            return _error(40013, "invalid appid")
        if q.get("secret") != OA_SECRET:
            return _error(40125, "invalid appsecret")
        return self._issue()

    async def _wecom_token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("corpid") != CORP_ID:
            return _error(40013, "invalid corpid")
        if q.get("corpsecret") != KF_SECRET:
            return _error(40001, "invalid secret")
        return self._issue()

    def _check(self, request: web.Request) -> web.Response | None:
        """A token error (in each product's own code) or a queued failure, else ``None``."""
        if request.query.get("access_token") not in self.valid_tokens:
            wecom = request.path.startswith("/cgi-bin/kf/")
            return _error(42001 if wecom else 40001, "access_token expired or invalid")
        queue = self.fail_next.get(request.path)
        if queue:
            code = queue.pop(0)
            return _error(code, f"fake failure {code}")
        return None

    async def _json_call(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = self._check(request)
        if refused is not None:
            return refused
        self.calls.append((request.path, body))
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if request.path.startswith("/cgi-bin/kf/send_msg"):
            answer["msgid"] = f"kfmsg-{next(self._ids)}"
        return web.json_response(answer)

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return _error(41005, "media data missing")
        data = media.file.read()
        media_type = request.query.get("type", "")
        self.uploads.append(Upload(media_type, media.filename, media.content_type, data))
        media_id = f"media-{next(self._ids)}"
        self.media[media_id] = (data, media.content_type, media.filename)
        return web.json_response({"type": media_type, "media_id": media_id, "created_at": 1})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        refused = self._check(request)
        if refused is not None:
            return refused
        media_id = request.query.get("media_id", "")
        if media_id not in self.media:
            return _error(40007, "invalid media_id")
        data, content_type, filename = self.media[media_id]
        return web.Response(
            body=data,
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def _sync_msg(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sync_bodies.append(body)  # refused calls too: what the client asked for
        refused = self._check(request)
        if refused is not None:
            return refused
        start = int(body.get("cursor") or 0)
        size = min(int(body.get("limit", 1000)), self.kf_page_size)
        page = self.kf_messages[start : start + size]
        end = start + len(page)
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": str(end),
                "has_more": 1 if end < len(self.kf_messages) else 0,
                "msg_list": page,
            }
        )


def _error(code: int, message: str) -> web.Response:
    # WeChat answers errors with HTTP 200 and a JSON errcode.
    return web.json_response({"errcode": code, "errmsg": message})
