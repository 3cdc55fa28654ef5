"""Websocket clients that speak the agent and visitor protocols, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(
        self,
        type_: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        within_s: float = 15.0,
    ) -> dict[str, Any]:
        """The next frame of this type matching ``where``; earlier frames are kept in ``seen``."""
        async with asyncio.timeout(within_s):
            while True:
                frame: dict[str, Any] = await self.ws.receive_json()
                self.seen.append(frame)
                if frame.get("type") == type_ and where(frame):
                    return frame

    async def close(self) -> None:
        await self.ws.close()


class AgentSocket(Socket):
    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, base: str, token: str) -> AgentSocket:
        ws = await http.ws_connect(base.replace("http", "ws", 1) + "/api/v1/ws")
        await ws.send_json({"type": "auth", "token": token})
        socket = cls(ws)
        await socket.next("ready")
        return socket

    async def message_created(self, text: str, within_s: float = 15.0) -> dict[str, Any]:
        frame = await self.next(
            "message.created", lambda f: f["data"]["text"] == text, within_s=within_s
        )
        data: dict[str, Any] = frame["data"]
        return data


class VisitorSocket(Socket):
    hello: dict[str, Any]

    @classmethod
    async def connect(
        cls,
        http: aiohttp.ClientSession,
        base: str,
        key: str,
        token: str | None = None,
        origin: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> VisitorSocket:
        url = base.replace("http", "ws", 1) + f"/webchat/{key}/ws"
        params = {"token": token} if token else {}
        headers = {**(headers or {}), **({"Origin": origin} if origin else {})}
        ws = await http.ws_connect(url, params=params, headers=headers)
        socket = cls(ws)
        socket.hello = await socket.next("hello")
        return socket

    async def open_page(
        self, url: str, title: str = "", referrer: str = "", visits: int = 1
    ) -> None:
        """Report a page of the site, as the widget does on each page."""
        frame = {"type": "page", "url": url, "title": title, "referrer": referrer}
        await self.ws.send_json({**frame, "visits": visits})

    async def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or uuid.uuid4().hex
        await self.ws.send_json({"type": "message", "client_id": client_id, "text": text})
        await self.next("ack", lambda f: f["client_id"] == client_id)
        return client_id

    async def reply_with(self, text: str, within_s: float = 15.0) -> dict[str, Any]:
        frame = await self.next(
            "message", lambda f: f["message"]["text"] == text, within_s=within_s
        )
        message: dict[str, Any] = frame["message"]
        return message
