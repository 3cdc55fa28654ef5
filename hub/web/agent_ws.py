"""The agents' live channel: every hub event, one writer task per socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

from hub.domain.errors import HubError
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.ports import SubscriberOverflow
from hub.domain.records import Agent
from hub.services import presence
from hub.web.api.agents import agent_body
from hub.web.auth import authenticate, bearer_token
from hub.web.keys import AGENT_SOCKETS, hub_of, track

log = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0
HEARTBEAT_S = 20.0
#: close code telling the page it missed events and must resync before going on
CLOSE_RESYNC = 4000
CLOSE_UNAUTHORIZED = 4001


async def agent_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=64 * 1024)
    await ws.prepare(request)
    track(request, ws)
    hub_ = hub_of(request)
    agent = await _authenticate(request, ws)
    if agent is None:
        return ws
    connection = uuid.uuid4().hex
    try:
        agent = await presence.connected(hub_.deps, agent.id, connection) or agent
    except Exception:
        # The live channel matters more than the presence row: the sweeper sets it right.
        log.warning("presence not updated on connect", extra={"agent_id": agent.id}, exc_info=True)
    sockets = request.app[AGENT_SOCKETS]
    sockets[agent.id] = sockets.get(agent.id, 0) + 1
    # Also for API clients that send no pings: the connection counts while it is open.
    heartbeat = asyncio.create_task(_stay_present(request, agent.id, connection))
    try:
        await _serve(request, ws, agent, connection)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        sockets[agent.id] -= 1
        if not sockets[agent.id]:
            del sockets[agent.id]
        try:
            # Without another connection the agent goes offline after a grace period; visitors
            # see "leave a message" at once.
            await presence.disconnected(hub_.deps, agent.id, connection)
        except Exception:
            log.warning(
                "presence not updated on close", extra={"agent_id": agent.id}, exc_info=True
            )
    return ws


async def _stay_present(request: web.Request, agent_id: int, connection: str) -> None:
    hub_ = hub_of(request)
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            await hub_.presence.touch(agent_id, connection)
        except Exception:
            log.warning("presence heartbeat failed", extra={"agent_id": agent_id}, exc_info=True)


async def _serve(
    request: web.Request, ws: web.WebSocketResponse, agent: Agent, connection: str
) -> None:
    hub_ = hub_of(request)
    async with hub_.bus.subscribe(AGENTS_TOPIC) as events:
        await ws.send_json(
            {
                "type": "ready",
                "agent": agent_body(agent).model_dump(mode="json"),
                "now": datetime.now(UTC).isoformat(),
            }
        )
        writer = asyncio.create_task(_forward(ws, events))
        try:
            await _read(request, ws, agent, connection)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


async def _authenticate(request: web.Request, ws: web.WebSocketResponse) -> Agent | None:
    """An ``Authorization`` header, or (for browsers, which cannot set one) a first frame."""
    try:
        token = bearer_token(request)
        if token is None:
            msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
            frame = json.loads(msg.data) if msg.type == WSMsgType.TEXT else {}
            token = frame.get("token") if frame.get("type") == "auth" else None
        return await authenticate(request, token)
    except (HubError, TimeoutError, ValueError, AttributeError):
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")
        return None


async def _forward(ws: web.WebSocketResponse, events: object) -> None:
    try:
        async for event in events:  # type: ignore[attr-defined]
            await ws.send_str(event.text)
    except SubscriberOverflow:
        await ws.close(code=CLOSE_RESYNC, message=b"too slow; resync")
    except (ConnectionResetError, RuntimeError):
        pass


async def _read(
    request: web.Request, ws: web.WebSocketResponse, agent: Agent, connection: str
) -> None:
    hub_ = hub_of(request)
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            frame = json.loads(msg.data)
        except ValueError:
            await ws.send_json({"type": "error", "reason": "frames are JSON objects"})
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await hub_.presence.touch(agent.id, connection)
            await ws.send_json({"type": "pong"})
        elif kind == "typing":
            await _typing(request, agent, frame)
        else:
            await ws.send_json({"type": "error", "reason": f"unknown frame type {kind!r}"})


async def _typing(request: web.Request, agent: Agent, frame: dict[str, object]) -> None:
    conversation_id = frame.get("conversation_id")
    if not isinstance(conversation_id, int):
        return
    hub_ = hub_of(request)
    target = await hub_.queries.visitor_of(conversation_id)
    if target is None:
        return
    channel_id, external_id = target
    on = bool(frame.get("on", True))
    await hub_.bus.publish(
        visitor_topic(channel_id, external_id),
        HubEvent("typing", {"on": on, "name": agent.name}),
    )
    await hub_.bus.publish(
        AGENTS_TOPIC,
        HubEvent(
            "agent.typing",
            {"conversation_id": conversation_id, "agent_id": agent.id, "on": on},
        ),
    )
