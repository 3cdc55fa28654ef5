"""The web application factory: one process serving the API, websockets, hooks and pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from hub.bootstrap import Hub, build_hub, settle_heap
from hub.config import Settings
from hub.listening import listener_ports, start_listeners, stop_listeners
from hub.services.inbound import enqueues_settled
from hub.services.invitations import AutoInviter
from hub.services.polling import PollingSupervisor
from hub.services.sweeper import sweep
from hub.services.visitors import VisitorBoard
from hub.web import files, hooks, originals, pages, rating_page, security, transports
from hub.web.agent_ws import agent_socket
from hub.web.api import api
from hub.web.errors import error_middleware
from hub.web.health import healthz
from hub.web.keys import AGENT_SOCKETS, HUB, SOCKETS, VISITORS, OpenSockets

log = logging.getLogger(__name__)


async def _embedded_sweeper(hub_: Hub) -> None:
    """Embedded mode has no worker: this process re-runs what a restart left unfinished."""
    await sweep(hub_.deps, older_than_s=0)
    while True:
        await asyncio.sleep(hub_.settings.sweep_every_s)
        try:
            await sweep(hub_.deps)
        except Exception:
            log.exception("sweep failed")


def pollers(hub_: Hub) -> PollingSupervisor:
    return PollingSupervisor(
        hub_.deps,
        check_every_s=hub_.settings.poll_check_s,
        lease_s=hub_.settings.poll_lease_s,
    )


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes + 64 * 1024),
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with build_hub(settings, listen=True) as hub_:
            app[HUB] = hub_
            visitors = app[VISITORS] = VisitorBoard(hub_.bus, hub_.regions)
            await visitors.start()
            transports.start(app, hub_, visitors)

            async def first_time(key: str, window_s: float) -> bool:
                count, _ = await hub_.limiter.count(key, window_s)
                return count == 1

            inviter = AutoInviter(hub_.deps, visitors, hub_.invitation_rules, first_time=first_time)
            settle_heap()
            background: list[asyncio.Task[None]] = [asyncio.create_task(inviter.run())]
            if hub_.inprocess_queue is not None:
                # Embedded mode has no worker: this process does the background work too.
                background.append(asyncio.create_task(_embedded_sweeper(hub_)))
                background.append(asyncio.create_task(pollers(hub_).run()))
            listeners = await start_listeners(hub_, listener_ports(settings))
            yield
            await stop_listeners(listeners)
            await enqueues_settled(hub_.deps)  # events accepted a moment ago get their jobs queued
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await visitors.stop()

    app[SOCKETS] = OpenSockets()
    app[AGENT_SOCKETS] = {}

    async def close_sockets(app: web.Application) -> None:
        for ws in app[SOCKETS].all():
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    app.on_shutdown.append(close_sockets)
    security.install(app, settings.public_url)
    app.cleanup_ctx.append(lifecycle)
    api.add_to(app)
    app.router.add_get("/api/v1/ws", agent_socket)
    app.router.add_get("/healthz", healthz)
    hooks.add_routes(app)
    files.add_routes(app)
    originals.add_routes(app)
    rating_page.add_routes(app)
    pages.add_routes(app)
    transports.add_routes(app)  # last: its catch-all route must not hide the others
    return app
