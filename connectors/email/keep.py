"""A received mail kept in the hub's file storage, as what the hub records of it.

Both ways in (the SMTP receiver and the IMAP reader) keep a mail the same way: a delivery
failure report becomes the failure of the reply it reports on; any other mail is stored raw,
with each of its files, and becomes the customer's message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connectors.email.mail import bounce_update, inbound_from_mail
from connectors.email.parse import ParsedMail
from hub.domain.model import AttachmentRef, Inbound, StatusUpdate, file_kind

#: stores bytes under a file name and content type; gives back their storage key
StoreFile = Callable[[bytes, str, str], Awaitable[str]]


@dataclass(frozen=True)
class KeptMail:
    inbound: Inbound | None = None
    status: StatusUpdate | None = None


async def keep_mail(mail: ParsedMail, raw: bytes, store: StoreFile) -> KeptMail:
    report = bounce_update(mail)
    if report is not None:
        return KeptMail(status=report)
    raw_key = await store(raw, "message.eml", "message/rfc822")
    refs = []
    for file in mail.attachments:
        key = await store(file.data, file.filename, file.content_type)
        refs.append(
            (
                key,
                AttachmentRef(
                    kind=file_kind(file.content_type),
                    filename=file.filename,
                    content_type=file.content_type,
                    size=len(file.data),
                    storage_key=key,
                ),
            )
        )
    return KeptMail(inbound=inbound_from_mail(mail, raw_key, refs))
