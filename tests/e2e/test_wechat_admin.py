"""WeChat in the inbox, in a real browser: the channel form and guide, and a WeChat thread.

WeChat itself is played by the test: callbacks are signed like the Official Account signs them
(plaintext mode), and the channel's ``api_base_url`` points at a tiny fake of api.weixin.qq.com.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from wechatpy.utils import WeChatSigner

from tests.e2e.conftest import Hub, login

pytestmark = pytest.mark.browser

MASK = "********"
#: a few bytes with the AMR magic: enough for the hub to store and offer for download
AMR = b"#!AMR\n" + bytes(64)


class FakeWeChat(BaseHTTPRequestHandler):
    """api.weixin.qq.com as far as the hub uses it: a token, a refused send, a voice download."""

    sent: ClassVar[list[dict[str, Any]]] = []
    #: while set, sends are refused as if the 48-hour window had closed
    refusing: ClassVar[bool] = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/cgi-bin/token":
            self._json({"access_token": "FAKE_ACCESS_TOKEN", "expires_in": 7200})
        elif path == "/cgi-bin/media/get":
            self.send_response(200)
            self.send_header("Content-Type", "audio/amr")
            self.send_header("Content-Disposition", 'attachment; filename="voice.amr"')
            self.send_header("Content-Length", str(len(AMR)))
            self.end_headers()
            self.wfile.write(AMR)
        else:
            self._json({"errcode": 40001, "errmsg": "unexpected call in the test"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if urllib.parse.urlsplit(self.path).path == "/cgi-bin/message/custom/send":
            self.sent.append(body)
            if self.refusing:
                # the 48-hour window closed: the page must explain this in the agent's language
                self._json({"errcode": 45015, "errmsg": "response out of time limit"})
            else:
                self._json({"errcode": 0, "errmsg": "ok"})
        else:
            self._json({"errcode": 40001, "errmsg": "unexpected call in the test"})


@pytest.fixture(scope="module")
def fake_wechat() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def signed_query(token: str, **extra: str) -> str:
    """signature = SHA1 of the sorted [token, timestamp, nonce], as WeChat signs callbacks."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return urllib.parse.urlencode(
        {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, **extra}
    )


def callback(url: str, token: str, fields: str, *, created: int | None = None) -> str:
    """POST one plaintext-mode callback from openid-like users; returns the hub's answer."""
    created = int(time.time()) if created is None else created
    xml = (
        "<xml><ToUserName><![CDATA[gh_e2e_account]]></ToUserName>"
        f"<CreateTime>{created}</CreateTime>{fields}</xml>"
    )
    request = urllib.request.Request(
        f"{url}?{signed_query(token)}", data=xml.encode(), method="POST"
    )
    request.add_header("Content-Type", "text/xml")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: str = response.read().decode()
        return answer


def text_fields(openid: str, text: str) -> str:
    return (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
    )


def wait_until(check: Any, what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_admin_creates_a_wechat_channel_with_guide_and_masked_secrets(
    hub: Hub, new_page: Any, tmp_path: Path
) -> None:
    admin = new_page(locale="zh-CN", width=1280, height=1000)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    admin.click("[data-action=new-channel]")
    admin.select_option("select[name=kind]", "wechat")
    # the form is drawn from the kind's settings schema (GET /channel-kinds)
    fields = admin.locator(".settings-fields[data-kind=wechat]")
    fields.wait_for()
    # secrets are password inputs; the guide is in the UI language and waits for the channel
    for name in ("app_secret", "token", "encoding_aes_key"):
        assert fields.locator(f"input[name={name}]").get_attribute("type") == "password"
    guide = admin.locator("[data-testid=channel-guide][data-kind=wechat]")
    assert "设置与开发 → 基本配置" in guide.inner_text()
    admin.locator("[data-testid=callback-later]").wait_for()

    admin.fill("input[name=name]", "公众号 莲记 e2e")
    fields.locator("input[name=app_id]").fill("wx0123456789abcdef")
    fields.locator("input[name=app_secret]").fill("app-secret-0123456789")
    # a bad token is refused in the page (the schema's pattern), in Chinese, before anything is
    # sent, and the focus goes back to it
    fields.locator("input[name=token]").fill("no!")
    admin.click("form.panel-form button[type=submit]")
    admin.locator(".form-error", has_text="Token（令牌）的格式不正确").wait_for()
    assert fields.locator("input[name=token]").evaluate("el => el === document.activeElement")

    admin.click("[data-action=generate-token]")
    admin.click("[data-action=generate-encoding_aes_key]")
    token = fields.locator("input[name=token]").input_value()
    aes_key = fields.locator("input[name=encoding_aes_key]").input_value()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", token), token
    assert re.fullmatch(r"[A-Za-z0-9]{43}", aes_key), aes_key
    # generated values are shown (the admin pastes them into the console) and can be copied
    assert fields.locator("input[name=token]").get_attribute("type") == "text"
    assert admin.locator("[data-action=copy-token]").is_visible()
    admin.click("[data-action=generate-token]")
    assert fields.locator("input[name=token]").input_value() != token, "not random"
    token = fields.locator("input[name=token]").input_value()
    fields.locator("textarea[name=subscribe_reply]").fill(
        "感谢关注！有问题直接留言，客服会尽快回复。"
    )
    admin.click("form.panel-form button[type=submit]")

    # created: the callback URL to paste, with a copy button, and the guide next to it
    url_el = admin.locator("[data-testid=callback-url]")
    url_el.wait_for()
    url = url_el.inner_text().strip()
    match = re.fullmatch(re.escape(hub.base) + r"/hooks/(\d+)/callback", url)
    assert match, url
    channel_id = int(match.group(1))
    assert admin.locator(".copy-row button", has_text="复制").first.is_visible()
    text = guide.inner_text()
    for words in ("服务器配置", "安全模式", "IP 白名单", "Token", "EncodingAESKey"):
        assert words in text, words
    # the secrets just saved stay readable on this page, once, to paste into the console
    assert fields.locator("input[name=token]").input_value() == token
    assert fields.locator("input[name=encoding_aes_key]").input_value() == aes_key
    # the admin page scrolls inside .main: a tall viewport shows the form and the guide
    admin.set_viewport_size({"width": 1280, "height": 2000})
    admin.screenshot(path=str(tmp_path / "wechat-admin-zh-CN.png"))
    admin.set_viewport_size({"width": 1280, "height": 1000})

    # the console's "submit" check: the hub answers echostr only for the right token
    with urllib.request.urlopen(f"{url}?{signed_query(token, echostr='e2e-echo')}") as answer:
        assert answer.read() == b"e2e-echo"

    admin.reload()
    admin.locator(".card", has_text="公众号 莲记 e2e").click()
    admin.locator(f".card.active[data-id='{channel_id}']").wait_for()
    for name in ("app_secret", "token", "encoding_aes_key"):
        secret = fields.locator(f"input[name={name}]")
        assert secret.input_value() == MASK, name
        assert secret.get_attribute("type") == "password", name
    assert fields.locator("input[name=app_id]").input_value() == "wx0123456789abcdef"
    assert not admin.locator("[data-action=copy-token]").is_visible()
    assert admin.locator("[data-testid=callback-url]").inner_text().strip() == url

    # saving the masked form keeps the stored secrets: the same token still verifies
    admin.fill("input[name=name]", "公众号 莲记 e2e（已改名）")
    admin.click("form.panel-form button[type=submit]")
    admin.locator(".card", has_text="已改名").wait_for()
    settings = hub.api("GET", f"/channels/{channel_id}")["settings"]
    assert settings["token"] == MASK
    assert settings["encoding_aes_key"] == MASK
    assert settings["subscribe_reply"].startswith("感谢关注")
    with urllib.request.urlopen(f"{url}?{signed_query(token, echostr='again')}") as answer:
        assert answer.read() == b"again"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{url}?{signed_query('wrongtoken', echostr='x')}", timeout=10)


def test_wechat_thread_shows_reply_allowance_events_and_failures(
    hub: Hub, new_page: Any, tmp_path: Path, fake_wechat: str
) -> None:
    token = "e2eToken0123456789"
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "wechat",
            "name": "莲记服务号",
            "settings": {
                "app_id": "wxfeedfacecafe0001",
                "app_secret": "secret-for-the-fake",
                "token": token,
                "api_base_url": fake_wechat,
            },
        },
    )
    url = channel["webhook_urls"]["callback"]
    openid = "oE2E_" + uuid.uuid4().hex[:12]
    now = int(time.time())
    # a follow first (it opens only a 3-in-1-minute window), and once it is in, messages
    follow = (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe]]></Event>"
    )
    assert callback(url, token, follow, created=now - 30) == "success"

    def conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the follow to open a conversation")
    location = (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[location]]></MsgType>"
        "<Location_X>31.230416</Location_X><Location_Y>121.473701</Location_Y><Scale>15</Scale>"
        "<Label><![CDATA[上海市黄浦区人民广场 <b>&</b>]]></Label>"
        f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
    )
    link = (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[link]]></MsgType>"
        "<Title><![CDATA[订单 2048 的物流]]></Title>"
        "<Description><![CDATA[顺丰 SF123456 <script>alert(1)</script>]]></Description>"
        "<Url><![CDATA[https://example.com/track?id=2048&x=<y>]]></Url>"
        f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
    )
    bad_link = (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[link]]></MsgType>"
        "<Title><![CDATA[可疑链接]]></Title><Description><![CDATA[]]></Description>"
        "<Url><![CDATA[javascript:alert(document.domain)]]></Url>"
        f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
    )
    voice = (
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><MsgType><![CDATA[voice]]></MsgType>"
        "<MediaId><![CDATA[MEDIA_VOICE_1]]></MediaId><Format><![CDATA[amr]]></Format>"
        f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
    )
    for fields in (location, link, bad_link, voice):
        assert callback(url, token, fields, created=now - 20) == "success"
    assert callback(url, token, text_fields(openid, "你好，订单 2048 什么时候发货？")) == "success"
    wait_until(
        lambda: any(
            m["text"] == "你好，订单 2048 什么时候发货？"
            for m in hub.api("GET", f"/conversations/{conv['id']}/messages")["items"]
        ),
        "the text message",
    )
    window = hub.api("GET", f"/conversations/{conv['id']}")["reply_window"]
    assert window["remaining"] == 5, window
    assert window["limit"] == 5, window

    agent = new_page(locale="zh-CN", width=1440, height=960)
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    agent.on("dialog", on_dialog)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/inbox/{conv['id']}")
    allowance = agent.locator("[data-testid=reply-window][data-remaining='5']")
    allowance.wait_for()
    assert re.fullmatch(
        r"还可回复 5 条，\d{4}-\d\d-\d\d \d\d:\d\d 前", allowance.inner_text().strip()
    ), allowance.inner_text()

    # the follow is a centred, translated system line, not a bubble
    follow_line = agent.locator(".msg.event-line[data-event=subscribe]")
    assert "关注了公众号" in follow_line.inner_text()
    assert follow_line.locator(".bubble").count() == 0

    # a location: the label as text and an AMap link built from the coordinates
    loc = agent.locator(".msg[data-kind=location]")
    assert "人民广场 <b>&</b>" in loc.inner_text()
    href = loc.locator("a.loc-map").get_attribute("href") or ""
    parts = urllib.parse.urlsplit(href)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "uri.amap.com", "/marker")
    query = urllib.parse.parse_qs(parts.query)
    assert query["position"] == ["121.473701,31.230416"]
    assert query["name"] == ["上海市黄浦区人民广场 <b>&</b>"]
    assert loc.locator("a.loc-map").get_attribute("rel") == "noopener noreferrer"

    # a link card: a safe link; a javascript: URL stays plain text
    card = agent.locator(".msg[data-kind=link]", has_text="订单 2048 的物流")
    title = card.locator("a.link-title")
    assert title.get_attribute("href") == "https://example.com/track?id=2048&x=%3Cy%3E"
    assert title.get_attribute("rel") == "noopener noreferrer"
    assert "<script>alert(1)</script>" in card.locator(".link-desc").inner_text()
    bad = agent.locator(".msg[data-kind=link]", has_text="可疑链接")
    assert bad.locator("a").count() == 0
    assert "javascript:alert(document.domain)" in bad.inner_text()

    # AMR voice: no player the browser cannot use, a download with a note instead
    amr = agent.locator(".att.amr")
    amr.wait_for()
    assert "浏览器无法播放" in amr.inner_text()
    assert amr.locator("a[download]").get_attribute("href")
    assert agent.locator(".messages audio").count() == 0
    assert agent.locator(".messages script, .messages b").count() == 0
    agent.screenshot(path=str(tmp_path / "wechat-thread-zh-CN.png"))

    # a reply WeChat refuses (45015): the reason in Chinese, and the refused reply costs nothing
    agent.fill(".reply-input", "您好，今天下午发货。")
    agent.press(".reply-input", "Enter")
    failed = agent.locator(".msg.out.failed .fail-reason")
    failed.wait_for()
    assert "48 小时" in failed.inner_text()
    assert "errcode 45015" in (failed.get_attribute("title") or "")
    assert FakeWeChat.sent
    assert FakeWeChat.sent[-1]["touser"] == openid
    agent.locator("[data-testid=reply-window][data-remaining='5']").wait_for()
    agent.screenshot(path=str(tmp_path / "wechat-thread-failed-zh-CN.png"))

    # WeChat accepts again (say the customer wrote): 重发 sends the same reply, which now counts
    FakeWeChat.refusing = False
    try:
        refused = agent.locator(".msg.out.failed", has_text="您好，今天下午发货。")
        message_id = refused.get_attribute("data-id")
        refused.locator("[data-action=resend]").click()
        agent.locator(f".msg.out[data-id='{message_id}'][data-status=sent]").wait_for()
        assert agent.locator(f".msg[data-id='{message_id}'] .fail-reason").count() == 0
        assert FakeWeChat.sent[-1]["text"] == {"content": "您好，今天下午发货。"}
        agent.locator("[data-testid=reply-window][data-remaining='4']").wait_for()
    finally:
        FakeWeChat.refusing = True

    # a customer whose last message is 49 hours old: a clear warning instead of a count
    old = "oE2E_old_" + uuid.uuid4().hex[:8]
    assert (
        callback(url, token, text_fields(old, "上周的问题"), created=now - 49 * 3600) == "success"
    )

    def old_conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return next((c for c in items if c["id"] != conv["id"]), None)

    stale = wait_until(old_conversation, "the old customer's conversation")
    agent.goto(f"{hub.base}/#/inbox/{stale['id']}")
    warning = agent.locator("[data-testid=reply-window].closed[data-remaining='0']")
    warning.wait_for()
    assert "渠道会拒绝发送回复" in warning.inner_text()
    # the channel's own rule, from the server, is the tooltip
    assert "48 小时" in (warning.get_attribute("title") or "")
    agent.screenshot(path=str(tmp_path / "wechat-thread-closed-zh-CN.png"))

    # English: the same allowance (one reply went out), in English
    agent.click("[data-testid=lang-toggle]")
    agent.goto(f"{hub.base}/#/inbox/{conv['id']}")
    english = agent.locator("[data-testid=reply-window][data-remaining='4']")
    english.wait_for()
    assert "4 replies left until" in english.inner_text()
    assert "Followed the account" in agent.locator(".msg.event-line").first.inner_text()
    assert alerts == []
