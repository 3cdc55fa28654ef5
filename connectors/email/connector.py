"""The email connector: a support mailbox's mail in, agents' replies out as threaded mail.

Mail arrives through the SMTP receiver (``connectors.email.smtp``, a ``Listens`` listener)
or is read from the business's mailbox over IMAP (``connectors.email.imap``, a poller); there
are no webhooks. Replies go out through the channel's SMTP server (``send``). Every file
of an incoming mail is stored when the mail is, so there is nothing to fetch later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import parseaddr

from pydantic import TypeAdapter, ValidationError

from connectors.email.imap import ImapPoller
from connectors.email.kind import INFO
from connectors.email.send import compose, deliver
from connectors.email.smtp import SmtpListener
from hub.domain.channels import (
    FetchedMedia,
    Poller,
    Recipient,
    SendContext,
    WebhookRequest,
    WebhookResult,
)
from hub.domain.errors import InvalidInput, NotFound, PermanentSendError
from hub.domain.model import AttachmentRef, Email, Outbound, SendReceipt
from hub.domain.records import Channel
from hub.domain.texts import text
from hub.domain.transports import HubAccess, Listener

log = logging.getLogger(__name__)

_ADDRESS: TypeAdapter[str] = TypeAdapter(Email)


class EmailConnector:
    info = INFO

    def __init__(self, *, allow_private: bool = False) -> None:
        self._allow_private = allow_private

    def listeners(self, hub: HubAccess) -> Sequence[Listener]:
        return (SmtpListener(hub, INFO.kind),)

    def recipient(self, channel: Channel, address: str) -> Recipient:
        """A customer's mail address as inbound mail names its sender: bare and lowercase."""
        _, bare = parseaddr(address.strip())
        try:
            bare = _ADDRESS.validate_python(bare).lower()
        except ValidationError:
            raise InvalidInput(f"to: {address.strip()[:100]!r} is not an email address") from None
        if bare == str(channel.settings.get("address", "")).lower():
            raise InvalidInput("to: that is the channel's own address")
        return Recipient(external_id=bare, email=bare)

    def pollers(self, channel: Channel) -> Sequence[Poller]:
        if not channel.settings.get("imap_host"):
            return ()
        return (ImapPoller(allow_private=self._allow_private),)

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        raise NotFound("email channels have no webhooks: mail comes in by SMTP or IMAP")

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        files = []
        for attachment in out.attachments:
            if attachment.storage_key is None:
                continue
            data = await ctx.blobs.get(attachment.storage_key)
            files.append((attachment.filename or "file", attachment.content_type, data))
        mail = compose(channel.settings, out, files)
        await deliver(channel.settings, mail, allow_private=self._allow_private)
        message_id = str(mail["Message-ID"]).strip().strip("<>")
        log.info(
            "email sent",
            extra={
                "channel_id": channel.id,
                "message_id": out.message_id,
                "provider_message_id": message_id,
            },
        )
        return SendReceipt(provider_message_id=message_id)

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        raise PermanentSendError(
            "a mail's files are stored when it arrives",
            "email.no_media",
            text("The mail's file was not stored with it", "该邮件的文件未随邮件保存"),
        )
