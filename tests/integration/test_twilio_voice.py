"""A call to a Twilio number through the whole hub: signed webhooks step by step, the online
after-sales agent's phone rung, a voicemail with its recording fetched from the twilio Twilio API
and its transcript, and the call in the caller's history."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree.ElementTree import Element

import aiohttp
from defusedxml import ElementTree

from tests.clients import AgentSocket
from tests.fakes.twilio_api import (
    AUTH_TOKEN,
    CUSTOMER,
    FakeTwilio,
    call_fields,
    recording_fields,
    sid,
    signed_headers,
    transcription_fields,
)
from tests.integration.conftest import RunningHub
from tests.integration.test_twilio_sms import eventually, local, sms_channel

AUDIO = b"ID3\x03\x00 a voicemail in MP3"
AGENT_PHONE = "+8613900139000"


async def twilio_calls(hub: RunningHub, url: str, fields: list[tuple[str, str]]) -> tuple[int, str]:
    """Post as Twilio does: signed for the public URL, query included."""
    async with hub.http.post(
        local(hub, url) + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""),
        data=urlencode(fields).encode(),
        headers=signed_headers(url, fields, AUTH_TOKEN),
    ) as response:
        return response.status, await response.text()


def twiml(body: str) -> Element:
    root: Element = ElementTree.fromstring(body)
    assert root.tag == "Response"
    return root


async def test_a_call_for_after_sales_rings_its_agent_then_leaves_a_voicemail(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    status, me = await hub.api("GET", "/me")
    status, me = await hub.api("PATCH", f"/agents/{me['id']}", json={"phone": "+86 139 0013 9000"})
    assert status == 200, me
    assert me["phone"] == AGENT_PHONE
    status, team = await hub.api("POST", "/teams", json={"name": "售后", "agent_ids": [me["id"]]})
    assert status == 201, team
    channel = await sms_channel(hub, twilio, voice_menu=["1 售前", "2 售后"])
    hooks: dict[str, str] = channel["webhook_urls"]
    assert {"voice", "voice_status", "recording_status"} <= hooks.keys()
    # The agent is online: the inbox is open.
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)

    call_sid = sid("CA")
    status, body = await twilio_calls(hub, hooks["voice"], call_fields(call_sid))
    assert status == 200, body
    gather = twiml(body).find("Gather")
    assert gather is not None
    menu_url = gather.get("action") or ""
    assert menu_url == hooks["voice"] + "?step=menu"

    status, body = await twilio_calls(hub, menu_url, call_fields(call_sid, Digits="2"))
    dial = twiml(body).find("Dial")
    assert dial is not None, body
    [number] = list(dial)
    assert number.text == AGENT_PHONE
    assert parse_qs(urlsplit(number.get("url") or "").query)["agent"] == [str(me["id"])]

    # Nobody picks up: voicemail.
    status, body = await twilio_calls(
        hub, dial.get("action") or "", call_fields(call_sid, DialCallStatus="no-answer")
    )
    record = twiml(body).find("Record")
    assert record is not None, body
    recording = sid("RE")
    twilio.recordings[recording] = AUDIO
    status, _ = await twilio_calls(
        hub,
        record.get("recordingStatusCallback") or "",
        recording_fields(call_sid, recording, twilio.recording_url(recording), 9),
    )
    assert status == 200
    status, body = await twilio_calls(
        hub,
        record.get("action") or "",
        call_fields(
            call_sid,
            "in-progress",
            RecordingUrl=twilio.recording_url(recording),
            RecordingDuration="9",
        ),
    )
    assert twiml(body).find("Hangup") is not None

    voicemail = await agent.next(
        "message.created", lambda f: f["data"]["kind"] == "voicemail", within_s=15
    )
    conversation_id = voicemail["data"]["conversation_id"]
    status, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
    assert conversation["team_id"] == team["id"]  # the caller chose after-sales

    # The recording is fetched with the account's credentials and stored by the hub.
    async def stored() -> dict[str, Any] | None:
        _status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages")
        [message] = [m for m in page["items"] if m["kind"] == "voicemail"]
        [audio] = message["attachments"]
        return message if audio["url"] else None

    message = await eventually(stored, "the recording is stored")
    [audio] = message["attachments"]
    assert audio["content_type"] == "audio/mpeg"
    async with hub.http.get(hub.base + audio["url"]) as response:
        assert await response.read() == AUDIO

    # The transcript completes the voicemail; Twilio's retry of it changes nothing more.
    transcript = transcription_fields(call_sid, recording, "My kettle arrived broken.")
    for _ in range(2):
        status, _ = await twilio_calls(hub, record.get("transcribeCallback") or "", transcript)
        assert status == 200
    updated = await agent.next(
        "message.updated",
        lambda f: f["data"]["id"] == message["id"] and f["data"]["text"] != "",
        within_s=15,
    )
    assert updated["data"]["text"] == "My kettle arrived broken."
    assert updated["data"]["attachments"][0]["url"], "the transcript kept the recording"

    # The call ends: one call event with its outcome, also when Twilio retries.
    for _ in range(2):
        status, _ = await twilio_calls(
            hub, hooks["voice_status"], call_fields(call_sid, "completed", CallDuration="37")
        )
        assert status == 200
    ended = await agent.next("message.created", lambda f: f["data"]["kind"] == "call")
    await agent.close()
    assert ended["data"]["conversation_id"] == conversation_id
    assert ended["data"]["data"]["status"] == "voicemail"
    assert ended["data"]["data"]["duration_s"] == 37
    assert ended["data"]["data"]["from_number"] == CUSTOMER
    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    kinds = [m["kind"] for m in page["items"]]
    assert sorted(kinds) == ["call", "voicemail"]
    [final] = [m for m in page["items"] if m["kind"] == "voicemail"]
    assert final["text"] == "My kettle arrived broken."


async def test_a_call_nobody_can_take_is_a_missed_call_in_the_inbox(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    channel = await sms_channel(hub, twilio)
    hooks = channel["webhook_urls"]
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    call_sid = sid("CA")
    status, body = await twilio_calls(hub, hooks["voice"], call_fields(call_sid))
    assert status == 200, body
    assert twiml(body).find("Gather") is None  # no menu set
    redirect = twiml(body).find("Redirect")
    assert redirect is not None
    # No agent has a phone number: straight to voicemail, and the caller hangs up.
    _status, body = await twilio_calls(hub, redirect.text or "", call_fields(call_sid))
    assert twiml(body).find("Record") is not None
    await twilio_calls(hub, hooks["voice_status"], call_fields(call_sid, "completed"))
    missed = await agent.next("message.created", lambda f: f["data"]["kind"] == "call")
    await agent.close()
    # Offered voicemail, the caller left none: a missed call.
    assert missed["data"]["data"]["status"] == "missed"
    _status, conversation = await hub.api(
        "GET", f"/conversations/{missed['data']['conversation_id']}"
    )
    assert conversation["status"] == "open"


async def test_a_forged_call_is_refused(hub: RunningHub, twilio: FakeTwilio) -> None:
    channel = await sms_channel(hub, twilio)
    url = channel["webhook_urls"]["voice"]
    fields = call_fields(sid("CA"))
    async with hub.http.post(
        local(hub, url),
        data=urlencode(fields).encode(),
        headers=signed_headers(url, fields, "0" * 32),
    ) as response:
        assert response.status == 403


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64)


async def upload_channel_file(
    hub: RunningHub, data: bytes, filename: str, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="audio/mpeg")
    headers = {"Authorization": f"Bearer {token or hub.token}"}
    async with hub.http.post(
        hub.base + "/api/v1/channel-files", data=form, headers=headers
    ) as response:
        return response.status, await response.json()


async def test_an_uploaded_greeting_is_played_and_served_only_while_a_channel_uses_it(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    status, stored = await upload_channel_file(hub, MP3, "欢迎语.mp3")
    assert status == 201, stored
    assert stored["content_type"] == "audio/mpeg"
    # A page or a script named .mp3 is no sound: the public must never be served it.
    status, refused = await upload_channel_file(hub, b"<script>alert(1)</script>", "x.mp3")
    assert status == 422, refused
    assert "MP3 or WAV" in refused["error"]["reason"]
    status, agent = await hub.api(
        "POST",
        "/agents",
        json={"email": "li.na@shop.test", "name": "Li Na", "password": "agent-pass-1"},
    )
    assert status == 201, agent
    status, login = await hub.api(
        "POST", "/auth/login", json={"email": "li.na@shop.test", "password": "agent-pass-1"}
    )
    status, _ = await upload_channel_file(hub, MP3, "mine.mp3", token=login["token"])
    assert status == 403  # only admins set up channels

    channel = await sms_channel(hub, twilio)
    public = f"/channel-files/{channel['id']}/{stored['key']}"
    async with hub.http.get(hub.base + public) as response:
        assert response.status == 404  # no setting names it yet
    status, patched = await hub.api(
        "PATCH",
        f"/channels/{channel['id']}",
        json={"settings": {**channel["settings"], "voice_greeting_audio": stored["key"]}},
    )
    assert status == 200, patched
    async with hub.http.get(hub.base + public) as response:
        assert response.status == 200
        assert response.content_type == "audio/mpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.read() == MP3
    async with hub.http.get(hub.base + f"/channel-files/{channel['id'] + 1}/{stored['key']}") as r:
        assert r.status == 404

    status, body = await twilio_calls(hub, channel["webhook_urls"]["voice"], call_fields(sid("CA")))
    play = twiml(body).find("Play")
    assert play is not None, body
    assert play.text == "http://127.0.0.1:8080" + public  # at KEFU_PUBLIC_URL, for Twilio
