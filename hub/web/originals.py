"""A kept mail's original at signed addresses that expire (``KEFU_FILE_URL_TTL_S``): its HTML
as a page for a sandboxed frame of the inbox, and its raw bytes to download.

They are links, not API calls with a bearer token, because a frame and a download link cannot
send one; the API's ``GET /messages/{id}/original`` hands them out to an agent who may read
the message, as the thread hands out file links.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.bootstrap import Hub
from hub.domain.errors import NotFound
from hub.domain.records import Message
from hub.web.keys import hub_of
from hub.web.mail_view import KeptMail, content_policy, inline_urls, kept_mail, page, serve_html

#: a link to a mail's page does not open its raw bytes, nor the other way round
HTML_SALT = "kefu.mail.html"
RAW_SALT = "kefu.mail.raw"
EXPIRED = "this link to the original mail has expired; open the original again for a fresh one"
#: what a Host header may hold to be named in a policy: a name or address and a port
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


@dataclass(frozen=True)
class OriginalLinks:
    html: str
    #: the same page with remote images allowed
    html_with_images: str
    raw: str


def links(hub_: Hub, message_id: int) -> OriginalLinks:
    html = f"/mail/{_signer(hub_, HTML_SALT).dumps(message_id)}/original.html"
    return OriginalLinks(
        html=html,
        html_with_images=html + "?images=1",
        raw=f"/mail/{_signer(hub_, RAW_SALT).dumps(message_id)}/message.eml",
    )


def _signer(hub_: Hub, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(hub_.secret, salt=salt)


async def kept(hub_: Hub, message_id: int) -> tuple[Message, KeptMail]:
    """A message and the mail it keeps; 404 for a message that keeps none."""
    message = await hub_.queries.message(message_id)
    mail = kept_mail(message.data) if message is not None else None
    if message is None or mail is None:
        raise NotFound(f"message {message_id} has no original mail")
    return message, mail


async def raw_of(hub_: Hub, mail: KeptMail) -> bytes:
    try:
        return await hub_.deps.blobs.get(mail.raw_key)
    except (FileNotFoundError, ValueError):
        # The message outlived its file (a restored database, a cleaned-up disk).
        raise NotFound("the original mail is no longer stored") from None


async def _signed(request: web.Request, salt: str) -> tuple[Hub, Message, KeptMail]:
    hub_ = hub_of(request)
    try:
        message_id = _signer(hub_, salt).loads(
            request.match_info["sig"], max_age=int(hub_.settings.file_url_ttl_s)
        )
    except SignatureExpired:
        raise NotFound(EXPIRED) from None
    except BadSignature:
        raise NotFound("no such mail") from None
    if not isinstance(message_id, int):
        raise NotFound("no such mail")
    message, mail = await kept(hub_, message_id)
    return hub_, message, mail


async def original_html(request: web.Request) -> web.Response:
    """The mail's sanitised HTML, its inline images from the hub's file links; remote images
    only with ``?images=1``."""
    hub_, message, mail = await _signed(request, HTML_SALT)
    if mail.html is None:
        raise NotFound("this mail has no HTML; its text is in the original view")
    html = mail.html
    raw = b""
    if "cid:" in html.lower() and message.attachments:
        # Without its raw mail the page still shows, its inline images as their alt text.
        with contextlib.suppress(NotFound):
            raw = await raw_of(hub_, mail)

    def render() -> str:
        urls = inline_urls(raw, message.attachments, hub_.deps.file_url) if raw else {}
        return page(serve_html(html, urls).html)

    # A mail's HTML and MIME can be megabytes: read them off the event loop.
    body = await asyncio.to_thread(render)
    policy = content_policy(
        _file_sources(request, hub_.settings.public_url),
        remote_images=request.query.get("images") == "1",
    )
    return web.Response(
        text=body,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": policy,
            # for browsers that know no frame-ancestors: the inbox frames it, nobody else
            "X-Frame-Options": "SAMEORIGIN",
            # the address carries the link's signature: no image or link may be told it
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def _file_sources(request: web.Request, public_url: str) -> list[str]:
    """Where the page's inline images come from: the hub's ``/files/`` links, at the address
    the browser used and at the public one."""
    origins = []
    if _HOST.fullmatch(request.host):
        origins.append(f"{request.scheme}://{request.host}")
    public = urlsplit(public_url)
    if public.scheme in ("http", "https") and _HOST.fullmatch(public.netloc):
        origins.append(f"{public.scheme}://{public.netloc}")
    return [f"{origin}/files/" for origin in dict.fromkeys(origins)]


async def original_raw(request: web.Request) -> web.Response:
    """The mail as it was received, to save as a .eml file."""
    hub_, message, mail = await _signed(request, RAW_SALT)
    raw = await raw_of(hub_, mail)
    return web.Response(
        body=raw,
        content_type="message/rfc822",
        headers={
            "Content-Disposition": _disposition(mail.subject, message.id),
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        },
    )


_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|]+')


def _disposition(subject: str, message_id: int) -> str:
    """An attachment named after the subject (RFC 6266), with a plain fallback name."""
    fallback = f"mail-{message_id}.eml"
    name = "".join(c for c in subject if not unicodedata.category(c).startswith("C"))
    name = _UNSAFE_IN_NAME.sub("_", name).strip(" .")[:80].strip()
    if not name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name + '.eml', safe='')}"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/mail/{sig}/original.html", original_html)
    app.router.add_get("/mail/{sig}/message.eml", original_raw)
