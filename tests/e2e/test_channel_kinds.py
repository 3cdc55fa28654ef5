"""A kind of channel the inbox pages never heard of, in a real browser: installed, it just works.

The hub here has one more connector package than this project ships: Sample Chat
(``tests/contract/sample_connector``, a package of its own), installed with pip into a folder on
``kefu serve``'s ``PYTHONPATH``, and a broken package next to it. Everything
the pages show of Sample Chat (its name, colour, settings form, console guide, event labels,
refusal reasons) comes from the server. Calls and voicemails, which no shipped connector
produces yet, are drawn from their normalised data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.e2e.conftest import Hub, login, serving

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PACKAGE = ROOT / "tests" / "contract" / "sample_connector"
MASK = "********"
SECRET = "sample-signing-secret"


def _dist_info(site: Path, name: str, entry_point: str) -> None:
    """What installing a connector package leaves behind for ``importlib.metadata``."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[kefu.connectors]\n{entry_point}\n")


@pytest.fixture(scope="module")
def sample_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with the Sample Chat connector installed, and a package that fails to load."""
    data_dir = tmp_path_factory.mktemp("kefu-kinds")
    site = data_dir / "site"
    source = data_dir / "sample-src"
    shutil.copytree(SAMPLE_PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, source],
        check=True,
        capture_output=True,
        timeout=180,
    )
    _dist_info(site, "kefu-broken", "broken = kefu_broken_missing:connector")
    with serving(data_dir, PYTHONPATH=str(site)) as (base, port, token, _):
        yield Hub(base, port, "", 0, token, data_dir)


class FakeSampleChat(BaseHTTPRequestHandler):
    """The Sample Chat API as far as sending goes: refuses while ``refusing`` names a code."""

    sent: ClassVar[list[dict[str, Any]]] = []
    refusing: ClassVar[str | None] = "blocked"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.sent.append(body)
        answer: dict[str, Any] = {"id": f"sc-{len(self.sent)}"}
        status = 200
        if self.refusing:
            status, answer = 400, {"error": {"code": self.refusing, "message": "refused"}}
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture(scope="module")
def fake_sample() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSampleChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def post_message(url: str, secret: str, **fields: Any) -> int:
    """One signed Sample Chat webhook; returns the hub's HTTP status."""
    body = json.dumps({"id": uuid.uuid4().hex, **fields}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("X-Sample-Signature", signature)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until(check: Any, what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_installed_kind_gets_its_form_guide_chip_events_and_reasons(
    sample_hub: Hub, fake_sample: str, new_page: Any, tmp_path: Path
) -> None:
    admin = new_page(locale="zh-CN", width=1280, height=1100)
    login(admin, sample_hub)
    admin.goto(f"{sample_hub.base}/#/admin/channels")

    # the package the hub left out is named, with its reason
    problems = admin.get_by_test_id("kind-problems")
    problems.wait_for()
    assert "kefu-broken" in problems.inner_text()
    assert "kefu_broken_missing" in problems.inner_text()

    admin.click("[data-action=new-channel]")
    option = admin.locator("select[name=kind] option[value=sample_chat]")
    assert option.inner_text() == "示例聊天"
    admin.select_option("select[name=kind]", "sample_chat")
    fields = admin.locator(".settings-fields[data-kind=sample_chat]")
    fields.wait_for()
    assert "账号名称" in fields.locator("[data-field=account]").inner_text()
    assert fields.locator("[data-field=account].required").count() == 1
    assert fields.locator("input[name=signing_secret]").get_attribute("type") == "password"
    assert fields.locator("input[name=poll]").get_attribute("type") == "checkbox"
    assert fields.locator("textarea[name=signature]").count() == 1
    guide = admin.locator("[data-testid=channel-guide][data-kind=sample_chat]")
    assert "在示例聊天后台完成配置" in guide.inner_text()
    assert guide.locator("strong", has_text="设置 → Webhooks").count() == 1
    admin.locator("[data-testid=callback-later]").wait_for()

    # the schema's constraints are checked in the page, in the page's language
    admin.fill("input[name=name]", "示例聊天 e2e")
    fields.locator("input[name=account]").fill("Acme!")
    fields.locator("input[name=signing_secret]").fill(SECRET)
    admin.click("form.panel-form button[type=submit]")
    admin.locator(".form-error", has_text="账号名称的格式不正确").wait_for()
    fields.locator("input[name=account]").fill("acme")
    fields.locator("input[name=api_base_url]").fill(fake_sample)
    fields.locator("textarea[name=signature]").fill("\n—— 莲记客服")
    admin.click("form.panel-form button[type=submit]")

    # created: the guide shows the webhook it names, to copy; it is not listed twice
    url_el = admin.get_by_test_id("callback-url")
    url_el.wait_for()
    url = url_el.inner_text().strip()
    match = re.fullmatch(re.escape(sample_hub.base) + r"/hooks/(\d+)/messages", url)
    assert match, url
    channel_id = int(match.group(1))
    assert admin.get_by_test_id("webhook-messages").count() == 0
    chip = admin.locator(f".card[data-id='{channel_id}'] .chip.kind")
    assert chip.inner_text() == "示例聊天"
    color = chip.evaluate("el => getComputedStyle(el).getPropertyValue('--kind-color').trim()")
    assert color == "#8e24aa"
    admin.screenshot(path=str(tmp_path / "sample-chat-admin-zh-CN.png"))

    # edited with its secret masked: the stored secret stays, the webhook still verifies
    admin.reload()
    admin.locator(f".card[data-id='{channel_id}']").click()
    admin.locator(f".card.active[data-id='{channel_id}']").wait_for()
    assert fields.locator("input[name=signing_secret]").input_value() == MASK
    admin.fill("input[name=name]", "示例聊天 e2e（已改名）")
    admin.click("form.panel-form button[type=submit]")
    admin.locator(".card", has_text="已改名").wait_for()
    settings = sample_hub.api("GET", f"/channels/{channel_id}")["settings"]
    assert settings["signing_secret"] == MASK
    assert settings["signature"] == "—— 莲记客服"
    assert post_message(url, "wrong-secret", **{"from": "u-1", "text": "x"}) == 403

    # a customer joins and writes: the inbox names the kind and labels its event
    sender = "u-" + uuid.uuid4().hex[:8]
    assert post_message(url, SECRET, **{"from": sender, "name": "周婷", "event": "joined"}) == 200
    text = "你好，我想退货 " + uuid.uuid4().hex[:6]
    assert post_message(url, SECRET, **{"from": sender, "name": "周婷", "text": text}) == 200
    admin.goto(f"{sample_hub.base}/#/inbox")
    row = admin.locator(".conv", has_text=text)
    row.wait_for()
    assert row.locator(".chip.kind").inner_text() == "示例聊天"
    assert admin.locator("select[name=channel] optgroup[label='示例聊天']").count() == 1
    row.click()
    event = admin.locator(".msg.event-line[data-event=joined]")
    event.wait_for()
    assert "加入了聊天" in event.inner_text()

    # a reply the provider refuses: the reason the connector gave, in the agent's language
    admin.fill(".reply-input", "您好，请提供订单号。")
    admin.press(".reply-input", "Enter")
    reason = admin.locator(".msg.out.failed .fail-reason")
    reason.wait_for()
    assert "客户已在示例聊天中屏蔽此账号" in reason.inner_text()
    # no reply allowance for a channel that does not limit replies
    assert admin.get_by_test_id("reply-window").is_hidden()
    admin.screenshot(path=str(tmp_path / "sample-chat-thread-zh-CN.png"))

    admin.click("[data-testid=lang-toggle]")
    admin.locator(".msg.event-line[data-event=joined]", has_text="Joined the chat").wait_for()
    assert admin.locator(".thread-head .chip.kind").inner_text() == "Sample Chat"
    assert "blocked this account" in admin.locator(".msg.out.failed .fail-reason").inner_text()

    # the customer unblocks the account: sent again, the reply goes out through the connector
    FakeSampleChat.refusing = None
    admin.click(".msg.out.failed [data-action=resend]")
    admin.locator(".msg.out[data-status=sent]", has_text="您好，请提供订单号。").wait_for()
    assert FakeSampleChat.sent[-1] == {"to": sender, "text": "您好，请提供订单号。\n—— 莲记客服"}


def _injected(base: dict[str, Any], start_id: int) -> list[dict[str, Any]]:
    """Calls, a voicemail and a GPS location, as a telephony or maps-aware connector gives them."""
    now = datetime.now(UTC).isoformat()

    def message(offset: int, kind: str, text: str, data: dict[str, Any], **extra: Any) -> Any:
        return {
            **base,
            "id": start_id + offset,
            "kind": kind,
            "text": text,
            "data": data,
            "direction": "in",
            "sender_type": "contact",
            "sender_agent_id": None,
            "private": False,
            "attachments": [],
            "status": "delivered",
            "error": None,
            "failure": None,
            "created_at": now,
            "updated_at": now,
            **extra,
        }

    call = {"from_number": "+8613800138000", "to_number": "+862161234567"}
    return [
        message(
            1, "call", "", {**call, "direction": "in", "status": "completed", "duration_s": 125}
        ),
        message(2, "call", "", {**call, "direction": "in", "status": "missed", "duration_s": None}),
        message(
            3,
            "voicemail",
            "请回电，关于订单 2048。",
            {**call, "direction": "in", "status": "voicemail", "duration_s": 42},
            attachments=[
                {
                    "id": 1,
                    "kind": "audio",
                    "filename": "voicemail.mp3",
                    "content_type": "audio/mpeg",
                    "size": 6720,
                    "url": "/static/inbox/voicemail-that-is-not-there.mp3",
                }
            ],
        ),
        message(
            4,
            "location",
            "Brandenburger Tor",
            {
                "latitude": 52.5163,
                "longitude": 13.3777,
                "label": "Brandenburger Tor",
                "datum": "wgs84",
            },
        ),
    ]


def test_calls_voicemail_and_gps_locations_are_drawn_from_normalised_data(
    sample_hub: Hub, fake_sample: str, new_page: Any
) -> None:
    channel = sample_hub.api(
        "POST",
        "/channels",
        {
            "kind": "sample_chat",
            "name": "电话 e2e",
            "settings": {"account": "calls", "signing_secret": SECRET, "api_base_url": fake_sample},
        },
    )
    url = channel["webhook_urls"]["messages"]
    text = "来电之前 " + uuid.uuid4().hex[:6]
    assert post_message(url, SECRET, **{"from": "u-call", "text": text}) == 200

    def conversation() -> Any:
        items = sample_hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the conversation")
    agent = new_page(locale="zh-CN", width=1440, height=960)

    def with_calls(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        first = body["timeline"][0]
        top = max(m["id"] for m in body["timeline"])
        body["timeline"].extend(_injected(first, top + 1000))
        route.fulfill(response=response, json=body)

    agent.route(re.compile(r"/api/v1/contacts/\d+$"), with_calls)
    login(agent, sample_hub)
    agent.goto(f"{sample_hub.base}/#/inbox/{conv['id']}")
    calls = agent.locator(".msg[data-kind=call]")
    calls.first.wait_for()
    assert "来电 · 2 分 5 秒" in calls.nth(0).inner_text()
    assert "来自 +8613800138000" in calls.nth(0).inner_text()
    assert "未接来电" in calls.nth(1).inner_text()
    voicemail = agent.locator(".msg[data-kind=voicemail]")
    assert "语音留言 · 0:42" in voicemail.inner_text()
    assert "请回电，关于订单 2048。" in voicemail.locator(".transcript").inner_text()
    assert voicemail.locator(".att.audio audio").count() == 1
    # GPS (WGS 84) coordinates open in OpenStreetMap
    href = agent.locator(".msg[data-kind=location] a.loc-map").get_attribute("href") or ""
    assert href == "https://www.openstreetmap.org/?mlat=52.5163&mlon=13.3777#map=16/52.5163/13.3777"

    agent.click("[data-testid=lang-toggle]")
    agent.locator(".msg[data-kind=call]", has_text="Incoming call · 2 min 5 s").wait_for()
    assert "Missed call" in agent.locator(".msg[data-kind=call]").nth(1).inner_text()
    assert "Voicemail · 0:42" in agent.locator(".msg[data-kind=voicemail]").inner_text()
