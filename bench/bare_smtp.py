"""The bare baseline for ``bench/smtp_ingest.py``: an aiosmtpd server that parses each mail with
the standard library (``policy.default``, its text part read) and answers 250, storing nothing.

    python bench/bare_smtp.py --port 2526
"""

from __future__ import annotations

import argparse
import asyncio
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Handler:
    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        mail: Any = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        body = mail.get_body(("plain", "html"))
        if body is not None:
            body.get_content()
        return "250 2.0.0 OK"


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Handler(), enable_SMTPUTF8=True, decode_data=False), "127.0.0.1", port
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
