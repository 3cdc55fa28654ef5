"""The widget's and inbox's finer points, in a real browser: the pre-chat form, typing
indicators both ways, the unread badge and title notification, and the admin teams page."""

from __future__ import annotations

import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import AGENT_EMAIL, WIDGET, Hub, login, open_widget

pytestmark = pytest.mark.browser

NO_PENDING = (
    "() => !document.querySelector('#kefu-hub-widget').shadowRoot.querySelector('.msg.pending')"
)


class Shop(BaseHTTPRequestHandler):
    """Another site embedding the widget: ``/?hub=BASE&key=KEY`` is a page with that widget.

    A real server, not ``page.route``: Chromium counts a page Playwright made up as a public one,
    and then refuses its websocket to 127.0.0.1 (local network access checks)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        hub_base, key = query["hub"][0], query["key"][0]
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Pre-chat shop</title></head><body><h1>Shop</h1>"
            f'<script src="{escape(hub_base)}/assets/webchat/widget.js" '
            f'data-kefu-key="{escape(key)}" async></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


#: lets a test drop the widget's connection the way a network blip would
KEEP_SOCKETS = """
window.__sockets = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


def chat_anyway(page: Any) -> None:
    """Past the leave-a-message form, should the hub think no agent is online."""
    if page.locator(f"{WIDGET} >> .leave").is_visible():
        page.click(f"{WIDGET} >> .leave .btn.ghost")


def send_in_widget(page: Any, text: str) -> None:
    page.fill(f"{WIDGET} >> textarea", text)
    page.press(f"{WIDGET} >> textarea", "Enter")
    page.wait_for_function(NO_PENDING)  # acked: stored by the hub


def start_chat(hub: Hub, new_page: Any, first_message: str) -> tuple[Any, Any]:
    """An agent with the inbox open on a conversation a customer just started on /demo."""
    agent = new_page()
    login(agent, hub)
    customer = new_page()
    open_widget(customer, f"{hub.base}/demo?lang=en")
    chat_anyway(customer)
    send_in_widget(customer, first_message)
    agent.locator(".conv", has_text=first_message).first.click()
    agent.locator(".msg.in .text", has_text=first_message).wait_for()
    return agent, customer


def test_prechat_form_names_the_contact(hub: Hub, shop: str, new_page: Any) -> None:
    # a channel of its own: channel settings are cached for a few seconds, so no PATCH here
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "webchat",
            "name": unique("Pre-chat web chat"),
            "settings": {
                "title": "Pre-chat shop",
                "prechat_form": True,
                "allowed_origins": [hub.base, shop],
            },
        },
    )
    agent = new_page()
    login(agent, hub)

    customer = new_page()
    customer.add_init_script(KEEP_SOCKETS)
    page_url = f"{shop}/?" + urllib.parse.urlencode({"hub": hub.base, "key": channel["public_key"]})
    open_widget(customer, page_url)
    chat_anyway(customer)

    # the form comes first: no composer until the visitor says who they are
    form = customer.locator(f"{WIDGET} >> form.form.inner")
    form.wait_for()
    assert "Before we start" in form.inner_text()
    assert not customer.locator(f"{WIDGET} >> .composer").is_visible()

    name = unique("Zhao Lei 赵磊")
    email = f"zhao.{uuid.uuid4().hex[:6]}@example.com"
    customer.fill(f"{WIDGET} >> form.inner input[name=name]", name)
    # the connection drops and comes back while they type (a new hello): what they typed stays
    customer.evaluate("window.__sockets.at(-1).close()")
    customer.locator(f"{WIDGET} >> .conn").wait_for()
    customer.locator(f"{WIDGET} >> .conn").wait_for(state="hidden", timeout=15_000)
    assert customer.evaluate("window.__sockets.length") == 2
    assert customer.input_value(f"{WIDGET} >> form.inner input[name=name]") == name
    customer.fill(f"{WIDGET} >> form.inner input[name=email]", "not-an-email")
    customer.click(f"{WIDGET} >> form.inner button[type=submit]")
    assert form.is_visible(), "an invalid email was accepted"
    assert not customer.locator(f"{WIDGET} >> .composer").is_visible()

    customer.fill(f"{WIDGET} >> form.inner input[name=email]", email)
    customer.click(f"{WIDGET} >> form.inner button[type=submit]")
    customer.locator(f"{WIDGET} >> .composer").wait_for()
    text = unique("Do you ship to Chengdu?")
    send_in_widget(customer, text)

    # the inbox shows the contact by the name they gave
    row = agent.locator(".conv", has_text=text).first
    row.wait_for()
    assert name in row.inner_text()
    row.click()
    agent.locator(".thread-head h2", has_text=name).wait_for()
    agent.locator(".contact-card dd", has_text=email).wait_for()

    items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
    assert [c["contact"]["name"] for c in items] == [name]


def test_typing_indicators_both_ways(hub: Hub, new_page: Any) -> None:
    agent, customer = start_chat(hub, new_page, unique("Is the teapot in stock?"))
    agent_typing = agent.locator(".typing-line")
    widget_typing = customer.locator(f"{WIDGET} >> .typing")
    assert agent_typing.inner_text() == ""

    # the customer types (without sending): the agent sees it in the open conversation
    customer.locator(f"{WIDGET} >> textarea").press_sequentially("one more")
    agent_typing.filter(has_text="is typing").wait_for()

    # the agent types (without sending): the customer sees it in the widget, with the name
    agent.locator(".reply-input").press_sequentially("Let me check")
    widget_typing.filter(has_text="Wang Fang 王芳 is typing").wait_for()

    # a message ends the indicator
    agent.press(".reply-input", "Enter")
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="Let me check").wait_for()
    assert widget_typing.inner_text() == ""


def test_unread_badge_and_title_while_minimised(hub: Hub, new_page: Any) -> None:
    agent, customer = start_chat(hub, new_page, unique("Can I change the address?"))
    base_title = customer.title()
    badge = customer.locator(f"{WIDGET} >> .launcher .badge")
    assert badge.is_hidden()

    # the customer minimises the widget; the agent replies twice
    customer.click(f"{WIDGET} >> .head .icon-btn")
    customer.wait_for_selector(f"{WIDGET} >> .panel:not(.open)", state="attached")
    for reply in ("Yes, of course.", "Which address?"):
        agent.fill(".reply-input", reply)
        agent.press(".reply-input", "Enter")
        agent.locator(".msg.out .text", has_text=reply).wait_for()
        customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text=reply).wait_for(state="attached")
    badge.wait_for()
    assert badge.inner_text() == "2"
    customer.wait_for_function("() => document.title === '(2) New message'")

    # opening the panel clears the badge and gives the page its title back
    customer.click(f"{WIDGET} >> .launcher")
    customer.wait_for_selector(f"{WIDGET} >> .panel.open")
    badge.wait_for(state="hidden")
    assert customer.title() == base_title
    customer.wait_for_timeout(1300)  # longer than one flip of the title: it stays put
    assert customer.title() == base_title


def test_admin_creates_a_team_with_an_agent(hub: Hub, new_page: Any) -> None:
    admin = new_page()
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/teams")
    new_team = admin.locator("form.team", has=admin.locator("h3", has_text="New team"))
    name = unique("After-sales 售后")
    new_team.locator("input[name=name]").fill(name)
    new_team.locator("label.check", has_text="Li Na 李娜").locator("input").check()
    new_team.locator("button[type=submit]").click()
    admin.locator("form.team h3", has_text=name).wait_for()

    admin.reload()
    team = admin.locator("form.team", has=admin.locator("h3", has_text=name))
    team.wait_for()
    assert team.locator("input[name=name]").input_value() == name
    assert team.locator("label.check", has_text="Li Na 李娜").locator("input").is_checked()
    assert not team.locator("label.check", has_text="Wang Fang 王芳").locator("input").is_checked()

    agents = {a["email"]: a["id"] for a in hub.api("GET", "/agents")["items"]}
    teams = {t["name"]: t["agent_ids"] for t in hub.api("GET", "/teams")["items"]}
    assert teams[name] == [agents[AGENT_EMAIL]]


def test_a_visitor_over_the_limit_is_asked_to_wait_and_loses_nothing(
    hub: Hub, shop: str, new_page: Any
) -> None:
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "webchat",
            "name": unique("Limited web chat"),
            "settings": {"allowed_origins": [hub.base, shop], "messages_per_minute": 1},
        },
    )
    customer = new_page()
    page_url = f"{shop}/?" + urllib.parse.urlencode({"hub": hub.base, "key": channel["public_key"]})
    open_widget(customer, page_url)
    chat_anyway(customer)
    send_in_widget(customer, unique("first"))
    second = unique("second")
    customer.fill(f"{WIDGET} >> textarea", second)
    customer.press(f"{WIDGET} >> textarea", "Enter")
    notice = customer.locator(f"{WIDGET} >> .notice")
    notice.wait_for()
    assert "sending messages quickly" in notice.inner_text()
    # still queued to go out after the wait, not marked as failed
    pending = customer.locator(f"{WIDGET} >> .msg.pending", has_text=second)
    assert pending.count() == 1
    assert customer.locator(f"{WIDGET} >> .msg.failed").count() == 0
