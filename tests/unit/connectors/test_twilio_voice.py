"""Calls to a Twilio number, step by step: each request signed as Twilio signs it, each TwiML
answer parsed as XML and checked element by element."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree.ElementTree import Element

import aiohttp
import pytest
from defusedxml import ElementTree

from connectors.twilio import TwilioConnector
from connectors.twilio.settings import TwilioSettings
from hub.domain.channels import AgentPhone, WebhookRequest, WebhookResult
from hub.domain.errors import InvalidSignature, MalformedPayload
from hub.domain.model import MessageKind
from hub.domain.records import Channel
from hub.domain.settings import validate_settings
from tests.fakes.memory import FakeChannelState
from tests.fakes.twilio_api import (
    AUTH_TOKEN,
    CUSTOMER,
    TWILIO_NUMBER,
    call_fields,
    recording_fields,
    sid,
    signed_headers,
    transcription_fields,
)
from tests.unit.connectors.test_twilio_webhook import HUB, channel

AFTER_SALES = AgentPhone(7, "李娜 Li Na", "+8613900139000")
NIGHT_SHIFT = AgentPhone(9, "Wang Fang", "+14155550199")


class Phones:
    """Who is online, by team, as the hub would say; records what it was asked."""

    def __init__(self, teams: dict[str | None, list[AgentPhone]]) -> None:
        self.teams = teams
        self.asked: list[str | None] = []

    async def reachable(self, channel: Channel, team: str | None) -> list[AgentPhone]:
        self.asked.append(team)
        return self.teams.get(team, [])


def voice_channel(**settings: Any) -> Channel:
    """A channel with its settings as the hub stores them: validated, defaults filled in."""
    raw = channel(**settings)
    return replace(raw, settings=validate_settings(TwilioSettings, raw.settings))


def menu_channel(**settings: Any) -> Channel:
    return voice_channel(voice_menu=["1 售前", "2 售后"], **settings)


def url(webhook: str, /, **query: str) -> str:
    base = f"{HUB}/hooks/7/{webhook}"
    return f"{base}?{urlencode(query)}" if query else base


def post(address: str, fields: list[tuple[str, str]]) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=address,
        query={k: v[0] for k, v in parse_qs(urlsplit(address).query).items()},
        headers=signed_headers(address, fields, AUTH_TOKEN),
        body=urlencode(fields).encode(),
    )


def twiml(result: WebhookResult) -> Element:
    assert result.response.status == 200
    assert result.response.content_type == "text/xml"
    root: Element = ElementTree.fromstring(result.response.body)
    assert root.tag == "Response"
    return root


def tags(root: Element) -> list[str]:
    return [child.tag for child in root]


@pytest.fixture
def phones() -> Phones:
    return Phones({"售后": [AFTER_SALES], None: [NIGHT_SHIFT]})


@pytest.fixture
def connector(phones: Phones) -> TwilioConnector:
    state = FakeChannelState()
    return TwilioConnector(
        cast(aiohttp.ClientSession, None), HUB, phones=phones, state_for=lambda _id: state
    )


async def call(
    connector: TwilioConnector,
    ch: Channel,
    call_sid: str,
    name: str = "voice",
    status: str = "ringing",
    query: dict[str, str] | None = None,
    **extra: str,
) -> WebhookResult:
    address = url(name, **(query or {}))
    return await connector.handle_webhook(
        ch, name, post(address, call_fields(call_sid, status, **extra))
    )


async def test_a_call_is_greeted_and_offered_the_menu(connector: TwilioConnector) -> None:
    root = twiml(await call(connector, menu_channel(), sid("CA")))
    assert tags(root) == ["Say", "Gather", "Redirect"]
    greeting, gather, redirect = root
    assert greeting.get("language") == "zh-CN"
    assert greeting.text == "您好，欢迎致电。"
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == url("voice", step="menu")
    assert gather.get("method") == "POST"
    [prompt] = list(gather)
    assert prompt.tag == "Say"
    assert prompt.text == "售前请按1。售后请按2。"
    # No digit: on as if none was chosen.
    assert redirect.text == url("voice", step="menu")


async def test_a_recorded_greeting_in_english_and_no_menu(connector: TwilioConnector) -> None:
    key = "ab12/" + "K" * 24  # an uploaded file's storage key
    ch = voice_channel(voice_language="en-US", voice_greeting_audio=key)
    root = twiml(await call(connector, ch, sid("CA")))
    assert tags(root) == ["Play", "Redirect"]
    assert root[0].text == f"{HUB}/channel-files/7/{key}"


async def test_the_digit_rings_that_team_s_online_agents(
    connector: TwilioConnector, phones: Phones
) -> None:
    ch, call_sid = menu_channel(ring_seconds=25), sid("CA")
    await call(connector, ch, call_sid)
    root = twiml(await call(connector, ch, call_sid, query={"step": "menu"}, Digits="2"))
    assert phones.asked == ["售后"]
    [dial] = list(root)
    assert dial.tag == "Dial"
    assert dial.get("timeout") == "25"
    assert dial.get("action") == url("voice", step="dialed")
    [number] = list(dial)
    assert number.text == AFTER_SALES.phone
    answered = parse_qs(urlsplit(number.get("url") or "").query)
    assert answered == {"step": ["answered"], "agent": ["7"], "name": ["李娜 Li Na"]}


async def test_no_digit_or_an_unknown_one_goes_to_the_channel_s_team(
    connector: TwilioConnector, phones: Phones
) -> None:
    ch = menu_channel()
    for digits in ("", "9"):
        root = twiml(await call(connector, ch, sid("CA"), query={"step": "menu"}, Digits=digits))
        assert root[0].get("action") == url("voice", step="dialed")
        assert [n.text for n in root[0]] == [NIGHT_SHIFT.phone]
    assert phones.asked == [None, None]


def assert_voicemail(root: Element, language: str = "zh-CN") -> None:
    assert tags(root) == ["Say", "Record"]
    assert root[0].get("language") == language
    record = root[1]
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == url("voice", step="transcribed")
    assert record.get("recordingStatusCallback") == url("recording_status")
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert record.get("action") == url("voice", step="recorded")
    assert record.get("maxLength") == "120"
    assert record.get("playBeep") == "true"


async def test_nobody_online_means_voicemail(connector: TwilioConnector, phones: Phones) -> None:
    phones.teams = {}
    root = twiml(await call(connector, menu_channel(), sid("CA"), query={"step": "menu"}))
    assert_voicemail(root)
    assert "留言" in (root[0].text or "")


async def test_an_unanswered_ring_goes_to_voicemail_an_answered_one_ends(
    connector: TwilioConnector,
) -> None:
    ch = menu_channel()
    for status in ("no-answer", "busy", "failed"):
        root = twiml(
            await call(connector, ch, sid("CA"), query={"step": "dialed"}, DialCallStatus=status)
        )
        assert_voicemail(root)
    root = twiml(
        await call(connector, ch, sid("CA"), query={"step": "dialed"}, DialCallStatus="completed")
    )
    assert tags(root) == ["Hangup"]
    root = twiml(await call(connector, ch, sid("CA"), query={"step": "recorded"}))
    assert tags(root) == ["Say", "Hangup"]
    assert root[0].text == "谢谢您的留言，再见。"


async def test_a_voicemail_becomes_a_message_with_its_recording_then_its_transcript(
    connector: TwilioConnector,
) -> None:
    ch, call_sid, recording = menu_channel(), sid("CA"), sid("RE")
    await call(connector, ch, call_sid)
    await call(connector, ch, call_sid, query={"step": "menu"}, Digits="2")
    await call(connector, ch, call_sid, query={"step": "dialed"}, DialCallStatus="no-answer")
    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{recording}"
    result = await connector.handle_webhook(
        ch,
        "recording_status",
        post(url("recording_status"), recording_fields(call_sid, recording, recording_url, 14)),
    )
    [voicemail] = result.inbound
    assert voicemail.kind == MessageKind.VOICEMAIL
    assert voicemail.provider_event_id == recording
    assert voicemail.sender_id == CUSTOMER
    assert voicemail.team == "售后"
    assert voicemail.data["status"] == "voicemail"
    assert voicemail.data["duration_s"] == 14
    assert voicemail.data["to_number"] == TWILIO_NUMBER
    [audio] = voicemail.attachments
    assert audio.provider_ref == recording_url + ".mp3"
    assert audio.content_type == "audio/mpeg"
    assert audio.kind == MessageKind.AUDIO

    address = url("voice", step="transcribed")
    fields = transcription_fields(call_sid, recording, "My parcel has not arrived.")
    [transcript] = (await connector.handle_webhook(ch, "voice", post(address, fields))).inbound
    assert transcript.completes == recording
    assert transcript.text == "My parcel has not arrived."
    assert transcript.provider_event_id == f"transcript:{recording}"


@pytest.mark.parametrize(
    ("steps", "outcome"),
    [
        ([("answered", {"agent": "7", "name": "李娜 Li Na"})], "completed"),
        (
            [
                ("dialed", {"DialCallStatus": "no-answer"}),
                (
                    "recorded",
                    {"RecordingUrl": "https://api.twilio.com/RE1", "RecordingDuration": "9"},
                ),
            ],
            "voicemail",
        ),
        # Offered voicemail, but hung up without a message.
        ([("dialed", {"DialCallStatus": "no-answer"})], "missed"),
        ([], "missed"),
    ],
)
async def test_the_end_of_a_call_is_a_call_event_with_its_outcome(
    connector: TwilioConnector, steps: Sequence[tuple[str, dict[str, str]]], outcome: str
) -> None:
    ch, call_sid = menu_channel(), sid("CA")
    await call(connector, ch, call_sid)
    for step, extra in steps:
        query = {"step": step, **{k: v for k, v in extra.items() if k in ("agent", "name")}}
        fields = {k: v for k, v in extra.items() if k not in ("agent", "name")}
        await call(connector, ch, call_sid, query=query, **fields)
    result = await call(connector, ch, call_sid, "voice_status", "completed", CallDuration="42")
    assert result.response.body == b""
    [event] = result.inbound
    assert event.kind == MessageKind.CALL
    assert event.provider_event_id == f"call:{call_sid}"
    assert event.data["status"] == outcome
    assert event.data["duration_s"] == 42
    assert event.data["from_number"] == CUSTOMER
    if outcome == "completed":
        assert event.data["answered_by"] == "李娜 Li Na"
        assert event.data["agent_id"] == 7


async def test_a_call_still_going_makes_no_event(connector: TwilioConnector) -> None:
    result = await call(connector, menu_channel(), sid("CA"), "voice_status", "in-progress")
    assert result.inbound == ()


async def test_call_requests_are_signed_and_steps_known(connector: TwilioConnector) -> None:
    ch = menu_channel()
    address = url("voice", step="menu")
    fields = call_fields(sid("CA"), Digits="2")
    forged = post(address, fields)
    # Signed for another step: the query is part of what Twilio signs.
    moved = WebhookRequest("POST", url("voice", step="dialed"), {"step": "dialed"},
                           forged.headers, forged.body)  # fmt: skip
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(ch, "voice", moved)
    with pytest.raises(MalformedPayload, match="step"):
        await call(connector, ch, sid("CA"), query={"step": "fax"})
    no_sid = [(k, v) for k, v in fields if k != "CallSid"]
    with pytest.raises(MalformedPayload, match="CallSid"):
        await connector.handle_webhook(ch, "voice", post(url("voice"), no_sid))
