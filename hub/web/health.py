"""``/healthz``: can this process reach its database and its queue?

Anyone may ask whether the hub is up (a load balancer, a monitor): they get the status alone.
The details (what failed, the mode, the number of failed events) need an agent's token.
"""

from __future__ import annotations

import logging

from aiohttp import web

from hub.domain.errors import Unauthorized
from hub.domain.model import EventStatus
from hub.web.auth import authenticate, bearer_token
from hub.web.keys import hub_of

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    database = queue = "ok"
    failed: int | None = None
    try:
        await hub_.queries.ping()
    except Exception as exc:
        log.warning("database health check failed", exc_info=True)
        database = f"error: {type(exc).__name__}"
    else:
        # Not this process's health (it never makes the answer 503), but what monitoring
        # should alert an admin about.
        try:
            failed = await hub_.queries.count_events(EventStatus.FAILED.value)
        except Exception:
            log.warning("could not count failed events", exc_info=True)
    if hub_.redis is not None:
        try:
            await hub_.redis.ping()
        except Exception as exc:
            log.warning("redis health check failed", exc_info=True)
            queue = f"error: {type(exc).__name__}"
    else:
        queue = "ok (in-process)"
    healthy = database == "ok" and queue.startswith("ok")
    status = 200 if healthy else 503
    if not await _known(request):
        return web.json_response({"status": "ok" if healthy else "degraded"}, status=status)
    return web.json_response(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "queue": queue,
            "mode": "redis" if hub_.redis is not None else "embedded",
            "failed_events": failed,
        },
        status=status,
    )


async def _known(request: web.Request) -> bool:
    if bearer_token(request) is None:
        return False
    try:
        await authenticate(request)
    except Unauthorized:
        return False
    return True
