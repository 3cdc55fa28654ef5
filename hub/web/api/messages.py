"""One message on its own: the whole mail an email message came as."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.web import originals
from hub.web import schemas as S
from hub.web.api.common import api, path_id
from hub.web.keys import hub_of
from hub.web.mail_view import mail_headers, serve_html


@api.route(
    "GET",
    "/messages/{id}/original",
    summary="The whole mail a message came as: its headers, its full text, and links to its "
    "sanitised HTML and its raw bytes",
    tag="conversations",
    response=S.MailOriginalOut,
)
async def get_original(request: web.Request) -> S.MailOriginalOut:
    hub_ = hub_of(request)
    message, mail = await originals.kept(hub_, path_id(request))
    raw = await originals.raw_of(hub_, mail)
    headers = mail_headers(raw)
    name = headers.from_name
    if not name:
        # The channel read the sender's name with more care (mislabelled charsets) when it
        # named the contact.
        item = await hub_.queries.conversation_item(message.conversation_id)
        name = item.contact_name if item is not None else ""
    remote = (await asyncio.to_thread(serve_html, mail.html, {})).remote_images if mail.html else 0
    links = originals.links(hub_, message.id)
    return S.MailOriginalOut(
        id=message.id,
        subject=mail.subject,
        sender=S.MailAddressOut(name=name, address=headers.from_address),
        to=list(mail.to),
        cc=list(mail.cc),
        date=(headers.date or message.created_at).isoformat(),
        text=mail.full_text,
        html_url=links.html if mail.html else None,
        html_images_url=links.html_with_images if mail.html else None,
        remote_images=remote,
        raw_url=links.raw,
        raw_size=len(raw),
    )
