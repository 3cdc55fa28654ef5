"""Replies as mail: composed with the standard library, sent through the channel's SMTP server.

The reply names its thread (``In-Reply-To`` and ``References``) so the customer's client shows
it under their mail, carries the conversation's token in the subject for clients that drop
those headers, and gets a ``Message-ID`` of the support address's domain, which the customer's
answer will name in turn.
"""

from __future__ import annotations

import asyncio
import html
import socket
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

import aiosmtplib

from connectors.email.mail import thread_title
from hub.domain.destinations import address_problem, host_problem
from hub.domain.errors import PermanentSendError, TransientSendError
from hub.domain.model import Outbound
from hub.domain.texts import text

TIMEOUT_S = 30.0


def compose(
    settings: Mapping[str, Any], out: Outbound, files: Sequence[tuple[str, str, bytes]]
) -> EmailMessage:
    """The reply to ``out.recipient_id``; ``files``: (name, content type, bytes) to attach."""
    address = str(settings["address"])
    shop = str(settings.get("display_name") or "")
    sender = " · ".join(p for p in (out.sender_name, shop) if p) or address
    mail = EmailMessage()
    mail["From"] = formataddr((sender, address))
    mail["To"] = out.recipient_id
    mail["Subject"] = subject(out.title, out.conversation_id, answering=bool(out.references))
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    if out.references:
        mail["In-Reply-To"] = f"<{out.references[-1]}>"
        mail["References"] = " ".join(f"<{ref}>" for ref in out.references)
    mail["Auto-Submitted"] = "no"
    mail.set_content(out.text or " ")
    mail.add_alternative(_html(out.text), subtype="html")
    for name, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        mail.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream",
            filename=name,
        )  # fmt: skip
    return mail


def subject(title: str, conversation_id: int, *, answering: bool = True) -> str:
    """``Re: <what it is about> [#id]`` (without ``Re:`` for a thread the hub starts): the
    token finds the thread if headers are lost."""
    about = thread_title(title)
    if not about:
        return f"[#{conversation_id}]"
    return f"{'Re: ' if answering else ''}{about} [#{conversation_id}]"


def _html(body: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n")
    )
    return f'<!doctype html><html><body style="font-family:sans-serif">{paragraphs}</body></html>'


async def deliver(settings: Mapping[str, Any], mail: EmailMessage, *, allow_private: bool) -> None:
    """Hand the mail to the channel's SMTP server; raise the hub's retry-or-fail errors."""
    host = str(settings["smtp_host"])
    await _check_host(host, int(settings["smtp_port"]), allow_private=allow_private)
    security = str(settings.get("smtp_security") or "starttls")
    username = str(settings.get("smtp_username") or "") or None
    try:
        await aiosmtplib.send(
            mail,
            hostname=host,
            port=int(settings["smtp_port"]),
            use_tls=security == "ssl",
            start_tls=security == "starttls",
            username=username,
            password=str(settings.get("smtp_password") or "") if username else None,
            timeout=TIMEOUT_S,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusal = next(iter(exc.recipients), None)
        raise _refused(
            refusal.code if refusal else 550, refusal.message if refusal else ""
        ) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise PermanentSendError(
            f"the mail server refused the login: {exc.code} {exc.message}",
            "email.auth",
            text(
                "The mail server refused the channel's SMTP user name or password",
                "邮件服务器拒绝了渠道的 SMTP 用户名或密码（授权码）",
            ),
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _refused(exc.code, exc.message) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientSendError(f"the mail server could not be reached: {exc}") from None


def _refused(code: int, message: str) -> Exception:
    """4xx: try again later; 5xx: refused for good, with the server's reason."""
    said = f"{code} {message}".strip()
    if 400 <= code < 500:
        return TransientSendError(f"the mail server said to try later: {said}")
    return PermanentSendError(
        f"the mail server refused the reply: {said}",
        f"email.{code}",
        text(
            f"The mail server refused the reply: {said}"[:500],
            f"邮件服务器拒绝了这封回复：{said}"[:500],
        ),
    )


async def _check_host(host: str, port: int, *, allow_private: bool) -> None:
    """The channel's secrets go only to a mail server the hub may reach (not a metadata
    service or, unless allowed, a private address): checked on what the name resolves to."""
    problem = host_problem(host, allow_private=allow_private)
    if problem is None:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise TransientSendError(f"the mail server's name does not resolve: {exc}") from None
        problem = next(
            (
                p
                for *_, sockaddr in found
                if (p := address_problem(str(sockaddr[0]), allow_private=allow_private))
            ),
            None,
        )
    if problem is not None:
        raise PermanentSendError(
            f"the mail server may not be used: {problem}",
            "email.server_not_allowed",
            text(
                f"The channel's SMTP server may not be used: {problem}",
                f"不能使用渠道的 SMTP 服务器：{problem}",
            ),
        )
