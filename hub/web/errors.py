"""Maps the hub's error tree to HTTP answers, once, for every route."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from hub.domain.errors import (
    Conflict,
    Forbidden,
    HubError,
    InvalidInput,
    InvalidSignature,
    MalformedPayload,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    TransientSendError,
    Unauthorized,
)

log = logging.getLogger(__name__)

_STATUS: dict[type[HubError], int] = {
    NotFound: 404,
    Forbidden: 403,
    InvalidSignature: 403,
    Unauthorized: 401,
    Conflict: 409,
    MalformedPayload: 400,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    TooManyRequests: 429,
    # A provider we must ask first (WeCom's sync_msg) is unreachable: its callback retries.
    TransientSendError: 503,
}


def status_for(exc: HubError) -> int:
    return next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)


def error_response(status: int, reason: str) -> web.Response:
    return web.json_response({"error": {"status": status, "reason": reason}}, status=status)


def validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        status = status_for(exc)
        if status == 403 and isinstance(exc, InvalidSignature):
            log.warning("invalid signature", extra={"path": request.path})
        elif status >= 400 and status != 404:
            log.info(
                "request refused",
                extra={"path": request.path, "status": status, "reason": str(exc)},
            )
        response = error_response(status, str(exc) or type(exc).__name__)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    except ValidationError as exc:
        return error_response(422, validation_reason(exc))
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # The database dropped this connection (a restart): the pool has replaced it.
        log.warning("database connection lost", extra={"path": request.path})
        return error_response(503, "the database connection was reset; try again")
    except web.HTTPException as exc:
        if exc.status == 413:
            return error_response(413, "the body is larger than this endpoint accepts")
        if (
            exc.status >= 400
            and exc.content_type != "application/json"
            and request.path.startswith("/api/")
        ):
            return error_response(exc.status, exc.reason)
        raise
