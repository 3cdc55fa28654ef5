"""SMS through Twilio in the inbox, in a real browser: a text arrives, the agent sees what the
reply costs in SMS, replies, and Twilio's signed delivery report shows; a STOP shows too.

Twilio is played by the test: webhooks are signed with the ``twilio`` package's own
``RequestValidator``, and the channel's ``api_base_url`` points at the local fake of Twilio's
REST API (``tests/fakes/twilio_api.py``), run on its own event loop in a thread.
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

import aiohttp
import pytest
from defusedxml import ElementTree

from tests.e2e.conftest import Hub, LoopThread, login
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TWILIO_NUMBER,
    FakeTwilio,
    call_fields,
    inbound_fields,
    recording_fields,
    sid,
    signed_headers,
    transcription_fields,
)

pytestmark = pytest.mark.browser

T = TypeVar("T")
CUSTOMER = "+8613800138000"
VOICEMAIL_MP3 = b"ID3\x03\x00 a voicemail"
GREETING_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(256)


class Twilio(LoopThread):
    """The fake REST API on a loop of its own, and the webhooks Twilio would post."""

    def __init__(self) -> None:
        self.fake = FakeTwilio()
        super().__init__(self.fake.running, "the fake Twilio")

    def text(self, url: str, body: str) -> int:
        """The customer texts the number: Twilio posts the signed webhook."""
        fields = inbound_fields(sid("SM"), CUSTOMER, body)
        request = urllib.request.Request(
            url,
            data=urlencode(fields).encode(),
            headers=signed_headers(url, fields, AUTH_TOKEN),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status

    def call(self, url: str, fields: list[tuple[str, str]]) -> Element:
        """A step of a call: Twilio posts the signed request and reads the TwiML answer."""
        request = urllib.request.Request(
            url,
            data=urlencode(fields).encode(),
            headers=signed_headers(url, fields, AUTH_TOKEN),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        if not body:
            return Element("Response")
        root: Element = ElementTree.fromstring(body)
        assert root.tag == "Response"
        return root

    def channel(self, hub: Hub, name: str, **settings: Any) -> dict[str, Any]:
        """A Twilio channel of the hub that talks to this fake."""
        created: dict[str, Any] = hub.api(
            "POST",
            "/channels",
            {
                "kind": "twilio",
                "name": name,
                "settings": {
                    "account_sid": ACCOUNT_SID,
                    "auth_token": AUTH_TOKEN,
                    "phone_number": TWILIO_NUMBER,
                    "api_base_url": self.fake.base,
                    **settings,
                },
            },
        )
        return created

    def report(self, message_sid: str, status: str) -> tuple[int, str]:
        async def post() -> tuple[int, str]:
            async with aiohttp.ClientSession() as http:
                return await self.fake.report(http, message_sid, status)

        return self.run(post())


@pytest.fixture
def twilio() -> Iterator[Twilio]:
    running = Twilio()
    yield running
    running.close()


def wait_until(check: Callable[[], T | None], what: str, within_s: float = 10) -> T:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {within_s:g} s: {what}")


def test_an_sms_thread_counts_segments_shows_delivery_and_a_stop(
    hub: Hub, new_page: Any, twilio: Twilio
) -> None:
    channel = twilio.channel(hub, "莲记短信")
    sms_url = channel["webhook_urls"]["sms"]
    assert twilio.text(sms_url, "你好，我的快递到哪了？") == 200

    def conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the SMS to open a conversation")

    agent = new_page(locale="zh-CN", width=1440, height=960)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/inbox/{conv['id']}")
    agent.locator(".msg.in", has_text="你好，我的快递到哪了？").wait_for()

    # What the reply costs, before it is sent: Chinese goes as Unicode, 70 to an SMS.
    box = agent.locator(".reply-input")
    segments = agent.locator("[data-testid=sms-segments]")
    box.fill("您" * 71)
    assert segments.inner_text() == "71 字符（Unicode）· 2 条短信"
    assert "warn" in (segments.get_attribute("class") or "")
    box.fill("Your parcel ships today")
    assert segments.inner_text() == "23 字符 · 1 条短信"
    agent.click("button[data-mode=note]")  # a private note is never sent: nothing to count
    assert segments.is_hidden()
    agent.click("button[data-mode=reply]")
    assert segments.is_visible()

    box.fill("您好，快递今天发出 Your parcel ships today")
    box.press("Enter")
    segments.wait_for(state="hidden")  # the box is empty once the reply is in
    sent = agent.locator(".msg.out", has_text="快递今天发出")
    sent.locator("xpath=self::*[@data-status='sent']").wait_for()
    [form] = twilio.fake.sent
    assert form["Body"] == "您好，快递今天发出 Your parcel ships today"
    assert form["To"] == CUSTOMER
    [message_sid] = twilio.fake.callbacks
    assert twilio.report(message_sid, "delivered") == (200, "")
    sent.locator("xpath=self::*[@data-status='delivered']").wait_for()
    assert sent.locator(".delivery-delivered").get_attribute("aria-label") == "已送达"

    # The customer texts 退订: the thread and the contact card say so, and a reply is held back.
    assert twilio.text(sms_url, "退订") == 200
    stop = agent.locator(".msg.event-line[data-event=opted_out]")
    stop.wait_for()
    assert "已退订短信" in stop.inner_text()
    agent.locator(".contact-pane .opted-out", has_text="已退订").wait_for()
    box.fill("还在吗？")
    box.press("Enter")
    held = agent.locator(".msg.out", has_text="还在吗？")
    held.locator("xpath=self::*[@data-status='failed']").wait_for()
    assert "退订" in held.inner_text()
    assert len(twilio.fake.sent) == 1  # it never reached Twilio


def test_the_segment_rule_of_the_reply_box(hub: Hub, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{hub.base}/")
    cases = page.evaluate(
        """async () => {
          const { smsSegments } = await import("/static/inbox/sms.js");
          const at = (s, n) => s.repeat(n);
          return [
            ["", at("a", 0)], ["160 GSM", at("a", 160)], ["161 GSM", at("a", 161)],
            ["306 GSM", at("a", 306)], ["307 GSM", at("a", 307)],
            ["80 braces", at("{", 80)], ["81 braces", at("{", 81)],
            ["70 CJK", at("你", 70)], ["71 CJK", at("你", 71)], ["134 CJK", at("你", 134)],
            ["135 CJK", at("你", 135)], ["35 emoji", at("😀", 35)], ["36 emoji", at("😀", 36)],
            ["GSM and one CJK", at("a", 69) + "你"],
          ].map(([name, text]) => [name, smsSegments(text)]);
        }"""
    )
    got = {name: (r["segments"], r["unicode"]) for name, r in cases}
    assert got == {
        "": (0, False),
        "160 GSM": (1, False),
        "161 GSM": (2, False),
        "306 GSM": (2, False),
        "307 GSM": (3, False),
        "80 braces": (1, False),  # each takes an escape: two septets
        "81 braces": (2, False),
        "70 CJK": (1, True),
        "71 CJK": (2, True),
        "134 CJK": (2, True),
        "135 CJK": (3, True),
        "35 emoji": (1, True),  # each is two UTF-16 units
        "36 emoji": (2, True),
        "GSM and one CJK": (1, True),
    }


def test_a_call_for_after_sales_rings_the_agent_then_the_voicemail_arrives(
    hub: Hub, new_page: Any, twilio: Twilio
) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=960)
    login(agent, hub)
    # The agent gives the number calls should ring, in their account.
    agent.click("[data-action=presence]")
    agent.click("[data-action=account]")
    dialog = agent.get_by_test_id("account-dialog")
    dialog.locator("input[name=phone]").fill("+86 139-0013-9000")
    dialog.get_by_role("button", name="保存号码").click()
    dialog.get_by_text("已保存。").wait_for()
    assert dialog.locator("input[name=phone]").input_value() == "+8613900139000"
    dialog.get_by_role("button", name="取消").click()

    me = hub.api("GET", "/me")
    team = hub.api(
        "POST", "/teams", {"name": f"售后 {uuid.uuid4().hex[:4]}", "agent_ids": [me["id"]]}
    )
    channel = twilio.channel(hub, "客服热线", voice_menu=["1 售前", f"2 {team['name']}"])
    hooks = channel["webhook_urls"]
    call_sid, recording = sid("CA"), sid("RE")
    root = twilio.call(hooks["voice"], call_fields(call_sid, caller=CUSTOMER))
    assert "请按2" in "".join(root.itertext())
    menu_url = root.find("Gather").get("action")  # type: ignore[union-attr]
    dial = twilio.call(menu_url, call_fields(call_sid, caller=CUSTOMER, Digits="2")).find("Dial")
    assert dial is not None
    assert [n.text for n in dial] == ["+8613900139000"]  # the online after-sales agent
    record = twilio.call(
        dial.get("action") or "",
        call_fields(call_sid, caller=CUSTOMER, DialCallStatus="no-answer"),
    ).find("Record")
    assert record is not None
    twilio.fake.recordings[recording] = VOICEMAIL_MP3
    recording_url = twilio.fake.recording_url(recording)
    twilio.call(
        record.get("recordingStatusCallback") or "",
        recording_fields(call_sid, recording, recording_url, 11),
    )
    twilio.call(
        record.get("action") or "",
        call_fields(call_sid, "in-progress", caller=CUSTOMER, RecordingUrl=recording_url,
                    RecordingDuration="11"),
    )  # fmt: skip
    twilio.call(
        record.get("transcribeCallback") or "",
        transcription_fields(call_sid, recording, "My kettle arrived broken.", caller=CUSTOMER),
    )
    twilio.call(hooks["voice_status"], call_fields(call_sid, "completed", caller=CUSTOMER,
                                                   CallDuration="41"))  # fmt: skip

    def conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the call to open a conversation")
    assert conv["team_id"] == team["id"]
    agent.goto(f"{hub.base}/#/inbox/{conv['id']}")
    voicemail = agent.locator(".msg[data-kind=voicemail]")
    voicemail.locator(".transcript", has_text="My kettle arrived broken.").wait_for()
    assert "语音留言" in voicemail.inner_text() or "留言" in voicemail.inner_text()
    audio = voicemail.locator("audio")
    audio.wait_for(state="attached")
    src = audio.get_attribute("src") or ""
    with urllib.request.urlopen(hub.base + src, timeout=10) as response:
        assert response.read() == VOICEMAIL_MP3
    call_line = agent.locator(".msg[data-kind=call]")
    call_line.wait_for()
    assert call_line.locator(".call").get_attribute("data-status") == "voicemail"


def test_an_admin_uploads_the_call_greeting_in_the_channel_form(
    hub: Hub, new_page: Any, twilio: Twilio
) -> None:
    channel = twilio.channel(hub, "热线 greeting e2e")
    admin = new_page(locale="zh-CN", width=1280, height=1600)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    admin.locator(".card", has_text="热线 greeting e2e").click()
    admin.locator(f".card.active[data-id='{channel['id']}']").wait_for()
    field = admin.locator("[data-field=voice_greeting_audio]")
    assert "未设置文件" in field.inner_text()
    # Not a sound: refused, and nothing is set.
    field.locator("input[type=file]").set_input_files(
        {"name": "greeting.mp3", "mimeType": "audio/mpeg", "buffer": b"<html>not a sound</html>"}
    )
    field.get_by_text("文件未被接受").wait_for()
    field.locator("input[type=file]").set_input_files(
        {"name": "欢迎语.mp3", "mimeType": "audio/mpeg", "buffer": GREETING_MP3}
    )
    field.get_by_text("欢迎语.mp3 已上传").wait_for()
    admin.click("form.panel-form button[type=submit]")

    def saved() -> str | None:
        value = hub.api("GET", f"/channels/{channel['id']}")["settings"]["voice_greeting_audio"]
        return str(value) if value else None

    key = wait_until(saved, "the greeting saved with the channel")
    admin.reload()
    admin.locator(".card", has_text="热线 greeting e2e").click()
    player = admin.locator("[data-field=voice_greeting_audio] audio")
    player.wait_for()
    src = player.get_attribute("src")
    assert src == f"/channel-files/{channel['id']}/{key}"
    with urllib.request.urlopen(hub.base + src, timeout=10) as response:
        assert response.read() == GREETING_MP3
    # A caller hears it: Twilio is told to play it from the hub's public address.
    root = twilio.call(channel["webhook_urls"]["voice"], call_fields(sid("CA"), caller=CUSTOMER))
    assert [e.text for e in root.iter("Play")] == [hub.base + src]
