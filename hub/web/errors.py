"""Maps the hub's error tree to HTTP answers, once, for every route."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError

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


@dataclass(frozen=True)
class Violation:
    """A constraint the database refused a write for, in the terms of either database."""

    #: ``foreign_key``, ``unique``, ``not_null``, ``check`` or ``other``
    kind: str
    #: the columns, where the database said (``team_id``; ``teams.name``)
    columns: str | None = None
    #: the table a foreign key points to, where the database said
    refers_to: str | None = None
    #: a foreign key failed the other way: the row is still referred to from ``refers_to``
    in_use: bool = False


# PostgreSQL's SQLSTATEs and SQLite's extended result codes for the same four constraints.
_PG_KINDS = {"23503": "foreign_key", "23505": "unique", "23502": "not_null", "23514": "check"}
_SQLITE_KINDS = {787: "foreign_key", 2067: "unique", 1555: "unique", 1299: "not_null", 275: "check"}


def violation(exc: IntegrityError) -> Violation:
    """What an ``IntegrityError`` from SQLite or PostgreSQL (asyncpg) says was violated."""
    orig = exc.orig
    if isinstance(orig, sqlite3.IntegrityError):
        kind = _SQLITE_KINDS.get(getattr(orig, "sqlite_errorcode", -1), "other")
        # "UNIQUE constraint failed: teams.name"; a foreign key failure names nothing
        _, _, columns = str(orig).partition(" constraint failed: ")
        return Violation(kind, columns or None)
    kind = _PG_KINDS.get(str(getattr(orig, "sqlstate", "") or ""), "other")
    # asyncpg's own exception, under SQLAlchemy's adapter, has the server's details
    detail = str(getattr(orig.__cause__ if orig else None, "detail", None) or "")
    # 'Key (team_id)=(99) is not present in table "teams".'; 'Key (name)=(x) already exists.'
    key = re.match(r"Key \((?P<columns>[^)]*)\)=", detail)
    table = re.search(r'(?:in|from) table "(?P<table>[^"]+)"', detail)
    return Violation(
        kind,
        key.group("columns") if key else None,
        table.group("table") if table else None,
        in_use="still referenced" in detail,
    )


def integrity_answer(exc: IntegrityError) -> tuple[int, str]:
    """A write the database refused, as a 409 (a duplicate) or a 422 (names nothing)."""
    found = violation(exc)
    if found.in_use:
        return 409, f"this is still in use in {found.refers_to or 'other records'}"
    if found.kind == "foreign_key":
        if found.columns:
            where = f" in {found.refers_to}" if found.refers_to else ""
            return 422, f"{found.columns}: no such record{where}"
        return 422, "the request names a record that does not exist (a team or an agent, say)"
    if found.kind == "unique":
        if found.columns:
            return 409, f"{found.columns}: the value is taken"
        return 409, "this conflicts with a record that exists (a name that is taken, say)"
    if found.kind == "not_null":
        return 422, "a value the record needs is missing"
    return 422, "the database refused the change as invalid"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def hub_error_answer(request: web.Request, exc: HubError) -> web.Response:
    """The one answer to the hub's own errors, for the routes and the connectors' transports."""
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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        return hub_error_answer(request, exc)
    except ValidationError as exc:
        return error_response(422, validation_reason(exc))
    except IntegrityError as exc:
        # The routes check what they can; a race or a check they lack still ends here.
        status, reason = integrity_answer(exc)
        log.info(
            "write refused by the database",
            extra={"path": request.path, "status": status, "reason": reason},
        )
        return error_response(status, reason)
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
