"""A customer and an agent talk through the real widget and inbox, in a real browser."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import WIDGET, Hub, login, open_widget

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010101005f0d0a2d0000000049454e44ae426082"
)


def widget_texts(page: Any, selector: str) -> list[str]:
    """Texts of the widget's message bubbles (Playwright's CSS pierces the open shadow root)."""
    return [t.strip() for t in page.locator(f"{WIDGET} >> {selector} .bubble").all_inner_texts()]


def count_in_shadow(page: Any, selector: str) -> int:
    count: int = page.evaluate(
        "sel => document.querySelector('#kefu-hub-widget').shadowRoot.querySelectorAll(sel).length",
        selector,
    )
    return count


def send_in_widget(page: Any, text: str) -> None:
    page.fill(f"{WIDGET} >> textarea", text)
    page.press(f"{WIDGET} >> textarea", "Enter")
    # acked: the pending bubble becomes a sent one
    page.wait_for_function(
        "() => !document.querySelector('#kefu-hub-widget').shadowRoot.querySelector('.msg.pending')"
    )


def test_customer_and_agent_chat_live_and_safely(hub: Hub, new_page: Any, tmp_path: Path) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=880)
    login(agent, hub)
    assert agent.locator(".tab.active").inner_text() == "全部"

    customer = new_page(locale="en-US", width=1200, height=820)
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    customer.on("dialog", on_dialog)
    agent.on("dialog", on_dialog)
    open_widget(customer, f"{hub.base}/demo")
    # an agent is online, so the chat opens (not the leave-a-message form)
    assert customer.locator(f"{WIDGET} >> .composer").is_visible()
    send_in_widget(customer, "Hello, where is my order 1024?")
    send_in_widget(customer, XSS)

    # the agent sees the new conversation live, without a reload
    row = agent.locator(".conv", has_text="Hello, where is my order 1024?").or_(
        agent.locator(".conv", has_text=XSS)
    )
    row.first.wait_for()
    row.first.click()
    agent.locator(".msg.in .text", has_text="where is my order").wait_for()
    agent.locator(".msg.in .text", has_text="alert(2)").wait_for()
    assert XSS in agent.locator(".msg.in .text").all_inner_texts()
    assert agent.locator(".messages img").count() == 0
    assert agent.locator(".messages script").count() == 0

    # the agent replies; the customer sees it without a reload
    agent.fill(".reply-input", "您好！订单 1024 今天发货。")
    agent.press(".reply-input", "Enter")
    agent.locator(".msg.out .text", has_text="今天发货").wait_for()
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="今天发货").wait_for()
    # delivery status: web chat marks replies sent
    agent.locator(".msg.out .delivery-sent").first.wait_for()

    agent.fill(".reply-input", XSS)
    agent.press(".reply-input", "Enter")
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="alert(2)").wait_for()
    assert XSS in widget_texts(customer, ".msg.out")
    assert XSS in widget_texts(customer, ".msg.in")
    assert count_in_shadow(customer, ".body img, .body script") == 0

    # a private note stays in the inbox, shown as a note
    agent.click("[data-mode=note]")
    agent.fill(".reply-input", "内部备注：老客户，优先处理")
    agent.press(".reply-input", "Enter")
    agent.locator(".msg.note .text", has_text="老客户").wait_for()

    agent.screenshot(path=str(tmp_path / "inbox-zh-CN.png"))
    customer.screenshot(path=str(tmp_path / "widget.png"))

    # history survives a reload, on both sides
    customer.reload()
    customer.wait_for_selector(f"{WIDGET}[data-state=ready]", state="attached")
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="今天发货").wait_for(
        state="attached"
    )
    texts = widget_texts(customer, ".msg")
    assert "Hello, where is my order 1024?" in texts
    assert texts.count(XSS) == 2
    assert not any("老客户" in t for t in texts), "a private note reached the customer"
    assert count_in_shadow(customer, ".body img, .body script") == 0

    agent.reload()
    agent.locator(".msg.out .text", has_text="今天发货").wait_for()
    assert agent.locator(".msg.note .text", has_text="老客户").count() == 1
    assert agent.locator(".messages img, .messages script").count() == 0
    assert alerts == []

    # resolve and reopen from the conversation header
    agent.click("[data-action=resolve]")
    agent.locator("[data-testid=conv-status]", has_text="已解决").wait_for()
    agent.click("[data-action=reopen]")
    agent.locator("[data-testid=conv-status]", has_text="进行中").wait_for()


def test_images_travel_both_ways(hub: Hub, new_page: Any) -> None:
    agent = new_page()
    login(agent, hub)
    customer = new_page()
    open_widget(customer, f"{hub.base}/demo?lang=en")
    send_in_widget(customer, "A photo of the damaged box")
    customer.set_input_files(
        f"{WIDGET} >> input[type=file]",
        files=[{"name": "box.png", "mimeType": "image/png", "buffer": PNG}],
    )
    customer.wait_for_function(
        "() => !document.querySelector('#kefu-hub-widget').shadowRoot.querySelector('.msg.pending')"
    )
    agent.locator(".conv", has_text="(attachment)").first.click()
    image = agent.locator(".messages .att.image img")
    image.wait_for()
    assert image.get_attribute("alt") == "box.png"
    for _ in range(50):  # the inbox's CSP forbids wait_for_function's eval: poll instead
        if image.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        agent.wait_for_timeout(100)
    else:
        pytest.fail("the image did not load in the inbox")


def test_forged_visitor_token_starts_fresh(hub: Hub, new_page: Any) -> None:
    first = new_page()
    open_widget(first, f"{hub.base}/demo")
    if first.locator(f"{WIDGET} >> .leave").is_visible():
        first.click(f"{WIDGET} >> .leave .btn.ghost")
    send_in_widget(first, "My secret order is 7788")
    storage_key = f"kefu:{hub.key}:token"
    token = first.evaluate("k => localStorage.getItem(k)", storage_key)
    assert token

    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    other = new_page()
    other.goto(f"{hub.base}/demo")
    other.evaluate("([k, v]) => localStorage.setItem(k, v)", [storage_key, forged])
    other.reload()
    other.wait_for_selector(f"{WIDGET}[data-state=ready]", state="attached")
    assert count_in_shadow(other, ".body .msg.in, .body .msg.out") == 0
    assert "7788" not in other.evaluate(
        "() => document.querySelector('#kefu-hub-widget').shadowRoot.textContent"
    )
    fresh = other.evaluate("k => localStorage.getItem(k)", storage_key)
    assert fresh
    assert fresh not in (token, forged)


def test_widget_refuses_big_or_unaccepted_files_before_upload(hub: Hub, new_page: Any) -> None:
    customer = new_page(locale="zh-CN")
    uploads: list[str] = []
    customer.on("request", lambda r: uploads.append(r.url) if "/uploads" in r.url else None)
    open_widget(customer, f"{hub.base}/demo?lang=zh")
    if customer.locator(f"{WIDGET} >> .leave").is_visible():
        customer.click(f"{WIDGET} >> .leave .btn.ghost")
    customer.set_input_files(
        f"{WIDGET} >> input[type=file]",
        files=[{"name": "huge.pdf", "mimeType": "application/pdf", "buffer": b"%" * 300_000}],
    )
    notice = customer.locator(f"{WIDGET} >> .notice")
    notice.wait_for()
    assert "huge.pdf" in notice.inner_text()
    assert "太大" in notice.inner_text()
    customer.set_input_files(
        f"{WIDGET} >> input[type=file]",
        files=[{"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}],
    )
    customer.locator(f"{WIDGET} >> .notice", has_text="tool.exe").wait_for()
    assert uploads == []

    # the server refuses too, whatever a modified widget would send
    token = customer.evaluate("k => localStorage.getItem(k)", f"kefu:{hub.key}:token")
    status, _ = _multipart(hub, token, "huge.pdf", "application/pdf", b"%" * 300_000)
    assert status == 413
    status, _ = _multipart(hub, token, "tool.exe", "application/x-msdownload", b"MZ")
    assert status == 422


def _multipart(hub: Hub, token: str, name: str, ctype: str, data: bytes) -> tuple[int, bytes]:
    boundary = "kefuboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    try:
        conn.request(
            "POST",
            f"/webchat/{hub.key}/uploads",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Visitor-Token": token,
                "Origin": hub.base,
            },
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_origin_not_allowed_is_refused(hub: Hub, new_page: Any) -> None:
    # the same hub reached as "localhost" is another origin than the allowed 127.0.0.1 one
    page = new_page()
    page.goto(f"http://localhost:{hub.port}/demo")
    page.wait_for_selector(f"{WIDGET}[data-state=refused]", state="attached", timeout=15_000)
    page.click(f"{WIDGET} >> .launcher")
    page.locator(f"{WIDGET} >> .refused").wait_for()

    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    try:
        conn.request(
            "GET",
            f"/webchat/{urllib.parse.quote(hub.key)}/ws",
            headers={
                "Origin": "https://evil.example",
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            },
        )
        response = conn.getresponse()
        assert response.status == 403
        assert "allowed origins" in json.loads(response.read())["error"]["reason"]
    finally:
        conn.close()


def test_admin_sees_embed_code_and_invites_an_agent(hub: Hub, new_page: Any) -> None:
    admin = new_page()
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    admin.locator(".card", has_text="Shop web chat").click()
    embed = admin.locator("[data-testid=embed-html]")
    embed.wait_for()
    assert f'data-kefu-key="{hub.key}"' in embed.inner_text()
    assert f"{hub.base}/assets/webchat/widget.js" in embed.inner_text()

    admin.goto(f"{hub.base}/#/admin/agents")
    admin.fill("input[name=email]", "sam@e2e.kefu")
    admin.fill("input[name=name]", "Sam Carter")
    admin.fill("input[name=password]", "sam-password-1")
    admin.click("form.panel-form button[type=submit]")
    admin.locator("tr", has_text="sam@e2e.kefu").wait_for()
    agents = hub.api("GET", "/agents")["items"]
    assert any(a["email"] == "sam@e2e.kefu" for a in agents)


def test_inbox_page_has_a_strict_csp(hub: Hub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        assert "script-src 'self'" in (response.getheader("Content-Security-Policy") or "")
    finally:
        conn.close()


def test_inbox_resyncs_after_a_dropped_connection(hub: Hub, new_page: Any) -> None:
    agent = new_page()
    routes: list[Any] = []
    blocked = {"on": False}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close(code=1011, reason="network down")
            return
        ws.connect_to_server()
        routes.append(ws)

    agent.route_web_socket(re.compile(r"/api/v1/ws$"), route)
    login(agent, hub)
    customer = new_page()
    open_widget(customer, f"{hub.base}/demo")
    if customer.locator(f"{WIDGET} >> .leave").is_visible():
        customer.click(f"{WIDGET} >> .leave .btn.ghost")
    send_in_widget(customer, "first, while the agent is connected")
    agent.locator(".conv", has_text="first, while the agent").first.click()
    agent.locator(".msg.in .text", has_text="first, while").wait_for()

    # the connection drops; what happens meanwhile arrives through GET /sync after reconnecting
    blocked["on"] = True
    routes[-1].close(code=1006, reason="dropped")
    agent.locator("body[data-live=down]").wait_for(state="attached")
    send_in_widget(customer, "second, sent while the agent was offline")
    blocked["on"] = False
    agent.locator("body[data-live=up]").wait_for(state="attached", timeout=20_000)
    agent.locator(".msg.in .text", has_text="second, sent while").wait_for(timeout=10_000)
    agent.locator(".conv", has_text="second, sent while").wait_for()
