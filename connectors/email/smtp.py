"""The SMTP receiver: mail for a channel's address, stored before it is acknowledged.

A sending server that gets no 250 keeps the mail and tries again later, so the receiver
answers 250 only once the mail and its item are stored (the same durable accept as a webhook's),
451 when storing failed (try again), 550 at RCPT for an address no channel has, 552 past the
size limit (aiosmtpd's own check) and 554 for bytes that are no mail. It runs on the hub's event
loop (``loop.create_server`` with aiosmtpd's protocol), not in a thread of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.email.keep import keep_mail
from connectors.email.mail import MAX_MAIL_BYTES
from connectors.email.parse import MalformedMail, ParsedMail, parse_mail
from hub.domain.records import Channel
from hub.domain.transports import HubAccess

log = logging.getLogger(__name__)

LISTENER = "smtp"


class SmtpListener:
    name = LISTENER

    def __init__(self, hub: HubAccess, kind: str) -> None:
        self._hub = hub
        self._kind = kind
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        handler = _Handler(self._hub, self._kind)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(
                handler,
                data_size_limit=MAX_MAIL_BYTES,
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname="kefu-hub",
                ident="Kefu Hub",
            ),
            host=host,
            port=port,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _Handler:
    def __init__(self, hub: HubAccess, kind: str) -> None:
        self._hub = hub
        self._kind = kind

    async def _channels_for(self, addresses: list[str]) -> dict[int, Channel]:
        """The active channels these addresses belong to, in one look at the channels."""
        wanted = {a.strip().lower() for a in addresses}
        return {
            c.id: c
            for c in await self._hub.channels_of_kind(self._kind)
            if c.active and str(c.settings.get("address", "")).lower() in wanted
        }

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not await self._channels_for([address]):
            log.info("smtp: unknown recipient refused")
            return "550 5.1.1 No mailbox here by that name"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        try:
            mail = await asyncio.to_thread(parse_mail, raw)
        except MalformedMail as exc:
            log.warning("smtp: mail refused as unreadable", extra={"reason": str(exc)[:200]})
            return f"554 5.6.0 The message cannot be read: {str(exc)[:100]}"
        try:
            await self._store(mail, raw, envelope.rcpt_tos)
        except Exception:
            # The sender keeps the mail and tries again: nothing it was told we have is lost.
            log.exception("smtp: mail not stored; the sender is asked to retry")
            return "451 4.3.0 The message could not be stored now; try again later"
        return "250 2.0.0 Message accepted"

    async def _store(self, mail: ParsedMail, raw: bytes, recipients: list[str]) -> None:
        channels = await self._channels_for(recipients)

        async def store(data: bytes, filename: str, content_type: str) -> str:
            return await self._hub.store_file(data, filename=filename, content_type=content_type)

        kept = await keep_mail(mail, raw, store)
        for channel in channels.values():
            if kept.status is not None:
                log.info("smtp: bounce report", extra={"channel_id": channel.id})
                await self._hub.apply_statuses(channel, [kept.status])
            if kept.inbound is not None:
                await self._hub.accept(channel, [kept.inbound])
                log.info(
                    "smtp: mail accepted",
                    extra={
                        "channel_id": channel.id,
                        "provider_message_id": kept.inbound.provider_message_id,
                    },
                )
