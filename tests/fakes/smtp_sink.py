"""A real SMTP server (aiosmtpd) on loopback that keeps what the hub sends, or refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session


class SmtpSink:
    """``received``: each mail as the standard library parses it, with its envelope.

    ``refuse`` is a queue of replies for the next RCPT commands (``"550 5.1.1 no such user"``,
    ``"451 4.2.0 busy"``), played before the mail is taken.
    """

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.refuse: list[str] = []
        self.port = 0
        self._arrived = asyncio.Event()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        mail = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        self.received.append((envelope, mail))
        self._arrived.set()
        return "250 OK"

    async def next_mail(self, within_s: float = 10) -> EmailMessage:
        """The next mail that arrives (or the first not taken yet)."""
        while not self.received:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), within_s)
        return self.received.pop(0)[1]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SmtpSink]:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(self, enable_SMTPUTF8=True, decode_data=False), "127.0.0.1", 0
        )
        self.port = int(server.sockets[0].getsockname()[1])
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()
