"""An email's original, one click away: the whole mail's headers and text from the API, its
sanitised HTML as a sandboxed page whose policy lets the browser load no remote image until
asked, and its raw bytes to download; mail arrives over real SMTP (aiosmtplib)."""

from __future__ import annotations

import re
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from hub.domain.model import Role
from hub.web.auth import hash_password
from hub.web.keys import HUB
from hub.web.originals import HTML_SALT, RAW_SALT
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import SUPPORT, RunningHub, email_channel

CUSTOMER = "wang.fang@customer.test"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
#: a 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a2b3a2c30000000049454e44ae426082"
)
SECRET = "integration-test-secret-key"  # make_settings' secret_key


@pytest.fixture
async def mail_hub(mail_hub: RunningHub) -> RunningHub:
    await email_channel(mail_hub, 2)  # replies are not sent in these tests: never called
    return mail_hub


def rich_mail() -> bytes:
    """HTML with an inline image, two remote images, a link and quoted history; a Cc."""
    mail = EmailMessage()
    mail["From"] = f"王芳 <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Cc"] = "Li Lei <Li.Lei@Customer.test>, han@customer.test"
    mail["Subject"] = "杯子坏了 Broken mug"
    mail["Date"] = "Mon, 12 Jan 2026 09:30:00 +0800"
    mail["Message-ID"] = "<mug-1@customer.test>"
    mail.set_content("The mug arrived broken.\n\nOn Fri, Support wrote:\n> We shipped your order.")
    mail.add_alternative(
        '<div>The mug arrived broken.<br><img src="cid:mug@customer.test" alt="mug">'
        '<img src="https://images.example/banner.png" alt="banner">'
        '<img src="http://tracker.example/open.gif" width="1" height="1">'
        '<a href="https://shop.example/orders/42">order 42</a></div>'
        "<blockquote>We shipped your order.</blockquote>"
        "<script>alert(1)</script>",
        subtype="html",
    )
    html = mail.get_body(("html",))
    assert html is not None
    html.add_related(PNG, "image", "png", cid="<mug@customer.test>", filename="mug.png")
    mail.add_attachment(b"%PDF-1.4 receipt", "application", "pdf", filename="receipt.pdf")
    return mail.as_bytes(policy=policy.SMTP)


def text_mail(body: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"王芳 <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Plain"
    mail.set_content(body)
    return mail.as_bytes(policy=policy.SMTP)


async def send(hub: RunningHub, raw: bytes) -> None:
    await aiosmtplib.send(
        raw,
        sender=CUSTOMER,
        recipients=[SUPPORT],
        hostname="127.0.0.1",
        port=hub.extras["smtp_port"],
        timeout=10,
    )


async def arrived(hub: RunningHub, raw: bytes, starts: str) -> dict[str, Any]:
    """The message a mail became, whose text starts with ``starts``."""
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await send(hub, raw)
    frame = await agent.next("message.created", lambda f: f["data"]["text"].startswith(starts))
    await agent.close()
    message: dict[str, Any] = frame["data"]
    return message


async def fetch(
    hub: RunningHub, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with hub.http.get(hub.base + path, headers=headers or {}) as response:
        return response.status, dict(response.headers), await response.read()


def directives(header: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parsed}


async def test_the_original_shows_the_whole_mail_and_blocks_remote_images_until_asked(
    mail_hub: RunningHub,
) -> None:
    hub = mail_hub
    raw = rich_mail()
    message = await arrived(hub, raw, "The mug arrived broken.")
    assert message["data"]["cc"] == ["li.lei@customer.test", "han@customer.test"]
    # the mail's own time, 09:30 in Beijing, is stored and given as the same moment in UTC
    assert message["created_at"] == "2026-01-12T01:30:00+00:00"
    # the bulky whole of the mail stays out of the thread's messages and live events
    assert "html" not in message["data"]
    assert "full_text" not in message["data"]
    status, page = await hub.api("GET", f"/conversations/{message['conversation_id']}/messages")
    assert all("html" not in m["data"] and "full_text" not in m["data"] for m in page["items"])

    status, original = await hub.api("GET", f"/messages/{message['id']}/original")
    assert status == 200, original
    assert original["subject"] == "杯子坏了 Broken mug"
    assert original["sender"] == {"name": "王芳", "address": CUSTOMER}
    assert original["to"] == [SUPPORT]
    assert original["cc"] == ["li.lei@customer.test", "han@customer.test"]
    assert original["date"] == "2026-01-12T09:30:00+08:00"  # as the customer's client wrote it
    assert "> We shipped your order." in original["text"]  # the history the thread folds away
    assert original["remote_images"] == 2
    assert original["raw_size"] == len(raw)
    assert original["html_images_url"] == original["html_url"] + "?images=1"

    # The page: no token needed (a frame sends none), the inbox may frame it, nothing else.
    status, headers, body = await fetch(hub, original["html_url"])
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["style-src"] == ["'unsafe-inline'"]
    assert csp["img-src"] == ["data:", f"{hub.base}/files/", "http://127.0.0.1:8080/files/"]
    assert csp["frame-ancestors"] == ["'self'"]
    assert csp["sandbox"] == ["allow-popups", "allow-popups-to-escape-sandbox"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    html = body.decode()
    assert "<script" not in html
    assert "alert(1)" not in html
    assert "<blockquote>We shipped your order.</blockquote>" in html
    assert '<img src="https://images.example/banner.png" alt="banner">' in html
    assert (
        '<a href="https://shop.example/orders/42" target="_blank" rel="noopener noreferrer">'
        in html
    )
    # The inline image is the message's stored file, at the hub's own file link.
    [inline] = re.findall(r'<img src="(/files/[^"]+)" alt="mug">', html)
    status, headers, image = await fetch(hub, inline)
    assert (status, headers["Content-Type"], image) == (200, "image/png", PNG)
    assert "cid:" not in html

    # Asked for, remote images may load from anywhere; the rest of the policy stays.
    status, headers, _again = await fetch(hub, original["html_images_url"])
    assert status == 200
    loose = directives(headers["Content-Security-Policy"])
    assert loose["img-src"][-2:] == ["https:", "http:"]
    assert {k: v for k, v in loose.items() if k != "img-src"} == {
        k: v for k, v in csp.items() if k != "img-src"
    }
    assert "https:" not in csp["img-src"]
    assert "http:" not in csp["img-src"]

    # The raw mail, byte for byte as it was sent.
    status, headers, got = await fetch(hub, original["raw_url"])
    assert status == 200
    assert headers["Content-Type"] == "message/rfc822"
    assert headers["Content-Disposition"] == (
        f'attachment; filename="mail-{message["id"]}.eml"; '
        "filename*=UTF-8''%E6%9D%AF%E5%AD%90%E5%9D%8F%E4%BA%86%20Broken%20mug.eml"
    )
    assert got == raw

    # Its raw mail gone from storage (a restored database), the page still shows, without
    # its inline image; the raw mail and the API answer 404, never 500.
    running = hub.extras["server"].app[HUB]
    (running.settings.files_dir / message["data"]["raw_key"]).unlink()
    status, _, body = await fetch(hub, original["html_url"])
    assert status == 200
    assert '<img alt="mug">' in body.decode()
    status, _, _ = await fetch(hub, original["raw_url"])
    assert status == 404
    status, problem = await hub.api("GET", f"/messages/{message['id']}/original")
    assert status == 404
    assert problem["error"]["reason"] == "the original mail is no longer stored"


async def test_a_hostile_mail_is_served_without_its_scripts(mail_hub: RunningHub) -> None:
    hub = mail_hub
    raw = (FIXTURES / "script-laden.eml").read_bytes().replace(b"\n", b"\r\n")
    message = await arrived(hub, raw, "Please check my order #42.")
    status, original = await hub.api("GET", f"/messages/{message['id']}/original")
    assert status == 200, original
    assert original["remote_images"] == 1  # the logo; "x" is relative and means nothing
    status, _headers, body = await fetch(hub, original["html_url"])
    assert status == 200
    html = body.decode().lower()
    for hostile in ("<script", "javascript:", "onerror", "onload", "<iframe", "<form", "<base"):
        assert hostile not in html, hostile
    assert "expression(" not in html
    assert "url(" not in html
    assert '<img alt="inline logo">' in html  # no such file: its alt text shows, nothing loads


async def test_agents_and_admins_open_originals_with_a_token_and_links_only_as_signed(
    mail_hub: RunningHub,
) -> None:
    hub = mail_hub
    message = await arrived(hub, rich_mail(), "The mug arrived broken.")
    path = f"/api/v1/messages/{message['id']}/original"
    status, _, _ = await fetch(hub, path)
    assert status == 401

    directory = hub.extras["server"].app[HUB].directory
    agent = await directory.create_agent(
        "li.na@shop.test", "Li Na", Role.AGENT, hash_password("agent password")
    )
    token = await directory.create_token(agent.id, "test", None)
    status, _, body = await fetch(hub, path, {"Authorization": f"Bearer {token}"})
    assert status == 200, body  # any agent may read any conversation, as the thread does
    status, _ = await hub.api("PATCH", f"/agents/{agent.id}", json={"active": False})
    assert status == 200
    status, _, _ = await fetch(hub, path, {"Authorization": f"Bearer {token}"})
    assert status == 401

    status, original = await hub.api("GET", f"/messages/{message['id']}/original")
    assert status == 200
    html_sig = original["html_url"].split("/")[2]
    raw_sig = original["raw_url"].split("/")[2]
    # a page link does not open the raw mail, nor the other way round; nor does a forgery
    for forged in (
        f"/mail/{html_sig}/message.eml",
        f"/mail/{raw_sig}/original.html",
        f"/mail/{html_sig[:-2]}xx/original.html",
        "/mail/MQ.abc.def/message.eml",
    ):
        status, _, body = await fetch(hub, forged)
        assert status == 404, (forged, body)
    # a link signed for another message opens that one only
    other = URLSafeTimedSerializer(SECRET, salt=RAW_SALT).dumps(message["id"] + 1000)
    status, _, _ = await fetch(hub, f"/mail/{other}/message.eml")
    assert status == 404

    class TwoDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 24 * 3600

    stale = URLSafeTimedSerializer(SECRET, salt=HTML_SALT, signer=TwoDaysAgo).dumps(message["id"])
    status, _, body = await fetch(hub, f"/mail/{stale}/original.html")
    assert status == 404
    assert b"expired" in body


async def test_what_keeps_no_original_mail_is_404_never_500(mail_hub: RunningHub) -> None:
    hub = mail_hub
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await visitor.say("web chat, no mail")
    chat = await agent.message_created("web chat, no mail")
    await visitor.close()
    await send(hub, text_mail("Only text here."))
    plain = await agent.message_created("Only text here.")
    await agent.close()

    for message_id in (chat["id"], 999_999, 2**63 - 1):
        status, body = await hub.api("GET", f"/messages/{message_id}/original")
        assert status == 404, body
    status, reply = await hub.api(
        "POST", f"/conversations/{plain['conversation_id']}/messages", json={"text": "收到"}
    )
    assert status == 201
    status, body = await hub.api("GET", f"/messages/{reply['id']}/original")
    assert status == 404, body

    # A text-only mail has its text and its raw mail, and no page.
    status, original = await hub.api("GET", f"/messages/{plain['id']}/original")
    assert status == 200, original
    assert (original["html_url"], original["html_images_url"]) == (None, None)
    assert original["text"] == "Only text here."
    assert original["remote_images"] == 0
    page = URLSafeTimedSerializer(SECRET, salt=HTML_SALT).dumps(plain["id"])
    status, _, _ = await fetch(hub, f"/mail/{page}/original.html")
    assert status == 404
