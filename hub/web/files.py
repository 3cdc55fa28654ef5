"""Serves stored attachments at unguessable signed URLs that expire (``KEFU_FILE_URL_TTL_S``)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from itsdangerous import BadSignature, SignatureExpired

from hub.domain.errors import NotFound
from hub.domain.settings import file_names
from hub.web.keys import hub_of
from hub.web.uploads import channel_file_type

EXPIRED = "this file link has expired; reload the conversation for a fresh one"

INLINE = ("image/", "audio/", "video/")


async def file(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    ttl = hub_.settings.file_url_ttl_s
    try:
        attachment_id = hub_.file_signer.loads(request.match_info["sig"], max_age=int(ttl))
    except SignatureExpired:
        # 404 like any unknown file, with a reason that tells the agent what to do
        raise NotFound(
            "this file link has expired; reload the conversation for a fresh one"
        ) from None
    except BadSignature:
        raise NotFound("no such file") from None
    item = await hub_.queries.attachment(int(attachment_id))
    if item is None or item.storage_key is None:
        raise NotFound("no such file")
    try:
        data = await hub_.deps.blobs.get(item.storage_key)
    except FileNotFoundError:
        # The record outlived its file (a restored database, a cleaned-up disk).
        raise NotFound("the file is no longer stored") from None
    disposition = "inline" if item.content_type.startswith(INLINE) else "attachment"
    return web.Response(
        body=data,
        content_type=item.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{_quote(item.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            # never cached past the link's own life
            "Cache-Control": f"private, max-age={int(min(ttl, 86400))}",
        },
    )


async def channel_file(request: web.Request) -> web.Response:
    """A file an admin uploaded for a channel's setting (a phone greeting, a widget's logo),
    for a provider or the business's visitors to fetch: served only while one of the
    channel's file settings names it."""
    hub_ = hub_of(request)
    try:
        channel_id = int(request.match_info["channel_id"])
    except ValueError:
        raise NotFound("no such file") from None
    key = f"{request.match_info['shard']}/{request.match_info['name']}"
    channel = await hub_.directory.channel_by_id(channel_id)
    connector = hub_.deps.connectors.get(channel.kind)
    names = file_names(connector.info.settings) if connector else frozenset()
    if not channel.active or not any(channel.settings.get(name) == key for name in names):
        raise NotFound("no such file")
    try:
        data = await hub_.deps.blobs.get(key)
    except FileNotFoundError:
        raise NotFound("the file is no longer stored") from None
    content_type = channel_file_type(data)
    if content_type is None:
        raise NotFound("no such file")
    return web.Response(
        body=data,
        content_type=content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            # a new upload gets a new key: what one key names never changes
            "Cache-Control": "public, max-age=86400",
        },
    )


def _quote(name: str) -> str:
    return quote(name, safe="")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/files/{sig}/{name}", file)
    app.router.add_get("/channel-files/{channel_id}/{shard}/{name}", channel_file)
