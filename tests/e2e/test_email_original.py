"""An email's original in a real browser: a mail with a Cc, an inline image, a remote image and
quoted history arrives over SMTP; the agent sees its addresses in the thread, opens the
original, and the browser loads the remote image only once the agent asks; the .eml link
downloads the mail as it was sent."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Hub, _free_port, login, serving
from tests.e2e.test_email import wait_until

pytestmark = pytest.mark.browser

SUPPORT = "support@lotus.test"
CUSTOMER = "wang.fang@customer.test"
AGENT = ("zhao.lei@lotus.test", "agent-password-2")
#: a 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a2b3a2c30000000049454e44ae426082"
)


class ImageServer:
    """Somebody else's server a mail's remote image points at: it notes every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture
def mail_hub(tmp_path: Path) -> Iterator[tuple[Hub, int]]:
    smtp_port = _free_port()
    with serving(tmp_path, KEFU_SMTP_PORT=str(smtp_port)) as (base, port, token, _env):
        yield Hub(base, port, "", 0, token, tmp_path), smtp_port


def the_mail(image_port: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"王芳 <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Cc"] = "li.lei@customer.test, han@customer.test"
    mail["Subject"] = "The mug arrived broken"
    mail["Message-ID"] = "<mug-e2e@customer.test>"
    mail.set_content("The mug arrived broken, photo below.\n\n> Your order has shipped.")
    mail.add_alternative(
        "<p>The mug arrived broken, photo below.</p>"
        '<p><img src="cid:mug@customer.test" alt="mug photo"></p>'
        f'<p><img src="http://127.0.0.1:{image_port}/banner.png" alt="shop banner"></p>'
        '<p><a href="https://shop.example/orders/42">order 42</a></p>'
        "<blockquote>Your order has shipped.</blockquote>",
        subtype="html",
    )
    html = mail.get_body(("html",))
    assert html is not None
    html.add_related(PNG, "image", "png", cid="<mug@customer.test>", filename="mug.png")
    return mail.as_bytes(policy=policy.SMTP)


def test_the_original_mail_with_its_images_only_when_asked_and_its_eml(
    mail_hub: tuple[Hub, int], images: ImageServer, new_page: Any
) -> None:
    hub, smtp_port = mail_hub
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "email",
            "name": "Support mailbox",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "smtp_port": 2,
                "smtp_security": "none",
            },
        },
    )
    hub.api("POST", "/agents", {"email": AGENT[0], "name": "Zhao Lei", "password": AGENT[1]})
    raw = the_mail(images.port)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.sendmail(CUSTOMER, [SUPPORT], raw)

    def conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the mail to open a conversation")
    page = new_page(locale="en-US", width=1440, height=960)
    # what the original's frame loaded from the hub's files (the thread shows them too)
    framed: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: framed.append((r.url, r.status)) if "/mail/" in r.frame.url else None,
    )
    login(page, hub, *AGENT)
    page.goto(f"{hub.base}/#/inbox/{conv['id']}")
    mail = page.locator(".msg.in", has_text="The mug arrived broken")
    mail.wait_for()
    addresses = mail.locator("[data-testid=mail-addrs]")
    assert addresses.inner_text().split("\n") == [
        f"to {SUPPORT}",
        "cc li.lei@customer.test, han@customer.test",
    ]
    assert "Your order has shipped" not in mail.inner_text()  # the thread folds the history

    mail.locator("[data-action=original]").click()
    dialog = page.locator("[data-testid=mail-original]")
    dialog.locator(".mail-frame").wait_for()
    assert dialog.locator(".mail-subject").inner_text() == "The mug arrived broken"
    assert dialog.locator(".mail-field[data-field=from] dd").inner_text() == (f"王芳 <{CUSTOMER}>")
    cc = dialog.locator(".mail-field[data-field=cc] dd").inner_text()
    assert cc == "li.lei@customer.test, han@customer.test"
    frame = page.frame_locator(".mail-frame")
    assert frame.locator("blockquote").inner_text() == "Your order has shipped."
    link = frame.locator("a", has_text="order 42")
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")
    # The inline image comes from the hub's own files; the remote one is not even asked for.
    mug = frame.locator("img[alt='mug photo']")
    wait_until(lambda: mug.evaluate("img => img.complete && img.naturalWidth"), "the mug photo")
    assert [(url.split("/")[3], status) for url, status in framed] == [("files", 200)]
    time.sleep(0.5)
    assert images.paths == []
    notice = dialog.locator(".mail-images")
    assert "remote images (1)" in notice.inner_text()

    dialog.locator("[data-action=show-images]").click()
    wait_until(lambda: images.paths == ["/banner.png"], "the remote image to be requested")
    assert "Remote images are shown." in notice.inner_text()
    frame.locator("img[alt='shop banner']").wait_for()

    with page.expect_download() as download:
        dialog.locator("[data-action=download-eml]").click()
    saved = download.value
    assert saved.suggested_filename == "The mug arrived broken.eml"
    assert Path(saved.path()).read_bytes() == raw

    dialog.locator(".mail-foot button", has_text="Close").click()
    dialog.wait_for(state="detached")
