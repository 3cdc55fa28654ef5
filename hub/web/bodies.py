"""Reading request bodies within a size limit."""

from __future__ import annotations

from aiohttp import web

from hub.domain.errors import PayloadTooLarge


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 before reading when its declared length is over ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes")
    raw = await request.read()
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes")
    return raw
