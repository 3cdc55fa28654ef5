"""Calls to a Twilio number: greeting, menu, ringing the online agents, voicemail, history.

A call is a conversation between Twilio and the ``voice`` webhook: each answer is TwiML that
says what to do next and where to post the outcome (``voice?step=…``). Twilio signs every one
of those requests, query included, so each step is checked like an SMS.

1. ``voice``: the greeting (read, or a recording played) and the menu (``<Gather>`` of one
   digit); no digit goes on as if the channel's team was chosen.
2. ``step=menu``: the digit picks a team; its agents who are online in the inbox and have a
   phone number ring at once (``<Dial>`` with a ``<Number>`` each). Nobody to ring: voicemail.
3. ``step=answered&agent=…``: one of them picked up (Twilio fetches this for the number that
   answers before putting the call through).
4. ``step=dialed``: the ringing ended; unanswered goes to voicemail (``<Record>`` with a
   transcript), answered hangs up when the agent does.
5. ``step=recorded``: the caller finished the message.

Three callbacks bring the history: ``recording_status`` (the voicemail's recording: a message
with the audio, fetched by the hub), ``step=transcribed`` (its transcript, which completes that
message) and ``voice_status`` (the call ended: a call event with its outcome, which opens or
reopens the caller's conversation like any message). What a call went through (the team, who
answered, whether a message was left) is kept per ``CallSid`` in the channel's state for a day,
since the final status callback does not say it.

https://www.twilio.com/docs/voice/twiml, https://www.twilio.com/docs/voice/api/call-resource
(status callbacks), https://www.twilio.com/docs/voice/twiml/record (recording and transcription)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.twilio import sdk
from connectors.twilio.kind import RECORDING_STATUS_WEBHOOK, VOICE_WEBHOOK
from connectors.twilio.settings import menu_choices
from hub.domain.channels import ChannelState, Phones, WebhookResponse, WebhookResult
from hub.domain.errors import MalformedPayload
from hub.domain.model import E164, AttachmentRef, Inbound, MessageKind
from hub.domain.records import Channel

log = logging.getLogger(__name__)

#: how long what a call went through is kept for its last callbacks
CALL_MEMORY = timedelta(days=1)
GOODBYE = {"zh-CN": "谢谢您的留言，再见。", "en-US": "Thank you for your message. Goodbye."}
#: how the menu is read: one sentence per choice
MENU_LINE = {"zh-CN": "{team}请按{digit}。", "en-US": "For {team}, press {digit}."}


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise MalformedPayload(f"the webhook has no {name}")
    return value


def _twiml(body: bytes) -> WebhookResult:
    return WebhookResult(response=WebhookResponse(body=body, content_type="text/xml"))


def _seconds(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


class CallDesk:
    """Answers one channel's calls; ``hook`` is the channel's webhook address maker."""

    def __init__(self, phones: Phones | None, state: ChannelState, public_url: str) -> None:
        self._phones = phones
        self._state = state
        self._public_url = public_url.rstrip("/")

    def _url(self, channel: Channel, webhook: str, **query: str) -> str:
        url = f"{self._public_url}/hooks/{channel.id}/{webhook}"
        return f"{url}?{urlencode(query)}" if query else url

    def _file_url(self, channel: Channel, key: object) -> str | None:
        """Where Twilio fetches a file the admin uploaded for the channel (``widget="audio"``)."""
        return f"{self._public_url}/channel-files/{channel.id}/{key}" if key else None

    async def _call(self, sid: str) -> dict[str, Any]:
        raw = await self._state.get(f"call:{sid}")
        return dict(json.loads(raw)) if raw else {}

    async def _remember(self, sid: str, **facts: Any) -> dict[str, Any]:
        call = {**await self._call(sid), **facts}
        expires = datetime.now(UTC) + CALL_MEMORY
        await self._state.set(f"call:{sid}", json.dumps(call, ensure_ascii=False), expires)
        return call

    # -- the call's steps --------------------------------------------------------------------

    async def handle(
        self, channel: Channel, fields: Mapping[str, str], query: Mapping[str, str]
    ) -> WebhookResult:
        sid = _required(fields, "CallSid")
        step = query.get("step", "")
        if step == "":
            return await self._incoming(channel, sid, fields)
        if step == "menu":
            choice = menu_choices(list(channel.settings.get("voice_menu") or [])).get(
                fields.get("Digits", "").strip()[:1]
            )
            await self._remember(sid, team=choice)
            return await self._ring(channel, sid, choice)
        if step == "answered":
            agent = query.get("agent", "")
            await self._remember(sid, answered_by=agent, answered_name=query.get("name", ""))
            log.info("call answered", extra={"channel_id": channel.id, "call_sid": sid})
            return _twiml(sdk.connect())
        if step == "dialed":
            if fields.get("DialCallStatus", "") == "completed":
                return _twiml(sdk.goodbye(language=self._language(channel), words=""))
            return await self._voicemail(channel, sid)
        if step == "recorded":
            if fields.get("RecordingUrl") and _seconds(fields.get("RecordingDuration")):
                await self._remember(sid, recorded=True)
            language = self._language(channel)
            return _twiml(sdk.goodbye(language=language, words=GOODBYE[language]))
        if step == "transcribed":
            return self._transcript(fields)
        raise MalformedPayload(f"no call step {step!r}")

    def _language(self, channel: Channel) -> str:
        language = str(channel.settings.get("voice_language") or "zh-CN")
        return language if language in GOODBYE else "zh-CN"

    async def _incoming(
        self, channel: Channel, sid: str, fields: Mapping[str, str]
    ) -> WebhookResult:
        caller, called = _required(fields, "From"), fields.get("To", "")
        await self._remember(sid, caller=caller, called=called)
        log.info("call in", extra={"channel_id": channel.id, "call_sid": sid})
        settings = channel.settings
        language = self._language(channel)
        choices = menu_choices(list(settings.get("voice_menu") or []))
        prompt = "".join(
            MENU_LINE[language].format(team=team, digit=digit) for digit, team in choices.items()
        )
        return _twiml(
            sdk.answer(
                language=language,
                greeting=str(settings.get("voice_greeting") or ""),
                greeting_audio=self._file_url(channel, settings.get("voice_greeting_audio")),
                menu_prompt=prompt,
                menu_action=self._url(channel, VOICE_WEBHOOK, step="menu"),
                then=self._url(channel, VOICE_WEBHOOK, step="menu"),
            )
        )

    async def _ring(self, channel: Channel, sid: str, team: str | None) -> WebhookResult:
        agents = await self._phones.reachable(channel, team) if self._phones else []
        if not agents:
            log.info("call: nobody to ring", extra={"channel_id": channel.id, "call_sid": sid})
            return await self._voicemail(channel, sid)
        numbers = [
            (
                agent.phone,
                self._url(
                    channel,
                    VOICE_WEBHOOK,
                    step="answered",
                    agent=str(agent.agent_id),
                    name=agent.name,
                ),
            )
            for agent in agents
        ]
        return _twiml(
            sdk.ring(
                numbers,
                timeout_s=int(channel.settings.get("ring_seconds") or 20),
                action=self._url(channel, VOICE_WEBHOOK, step="dialed"),
            )
        )

    async def _voicemail(self, channel: Channel, sid: str) -> WebhookResult:
        await self._remember(sid, voicemail=True)
        settings = channel.settings
        return _twiml(
            sdk.voicemail(
                language=self._language(channel),
                prompt=str(settings.get("voicemail_prompt") or ""),
                max_s=int(settings.get("voicemail_max_seconds") or 120),
                action=self._url(channel, VOICE_WEBHOOK, step="recorded"),
                recording_status=self._url(channel, RECORDING_STATUS_WEBHOOK),
                transcription=self._url(channel, VOICE_WEBHOOK, step="transcribed"),
            )
        )

    def _transcript(self, fields: Mapping[str, str]) -> WebhookResult:
        """The voicemail's transcript completes its message (``Inbound.completes``)."""
        recording = _required(fields, "RecordingSid")
        caller = _required(fields, "From")
        status = fields.get("TranscriptionStatus", "").strip().lower() or "completed"
        words = fields.get("TranscriptionText", "") if status == "completed" else ""
        item = Inbound(
            provider_event_id=f"transcript:{recording}",
            sender_id=caller,
            kind=MessageKind.VOICEMAIL,
            text=words,
            completes=recording,
            data={"transcript": status},
        )
        return WebhookResult(response=WebhookResponse(body=b""), inbound=(item,))

    # -- the history -------------------------------------------------------------------------

    async def recording(self, channel: Channel, fields: Mapping[str, str]) -> WebhookResult:
        """A voicemail's recording is ready: a message with the audio (fetched by the hub)."""
        ok = WebhookResult(response=WebhookResponse(body=b""))
        if fields.get("RecordingStatus", "completed").strip().lower() != "completed":
            return ok
        sid = _required(fields, "CallSid")
        recording = _required(fields, "RecordingSid")
        url = _required(fields, "RecordingUrl")
        call = await self._call(sid)
        caller = str(call.get("caller") or fields.get("From") or "")
        if not caller:
            raise MalformedPayload("a recording of a call the hub did not answer")
        duration = _seconds(fields.get("RecordingDuration"))
        item = Inbound(
            provider_event_id=recording,
            provider_message_id=recording,
            sender_id=caller,
            sender_phone=caller if E164.match(caller) else None,
            kind=MessageKind.VOICEMAIL,
            team=call.get("team"),
            attachments=(
                AttachmentRef(
                    kind=MessageKind.AUDIO,
                    filename=f"voicemail-{recording}.mp3",
                    content_type="audio/mpeg",
                    # The recording resource answers the audio in the format its name asks for.
                    provider_ref=f"{url}.mp3",
                ),
            ),
            data={
                "direction": "in",
                "status": "voicemail",
                "duration_s": duration,
                "from_number": caller,
                "to_number": call.get("called") or None,
                "call_sid": sid,
            },
        )
        log.info("voicemail", extra={"channel_id": channel.id, "call_sid": sid})
        return WebhookResult(response=ok.response, inbound=(item,))

    async def ended(self, channel: Channel, fields: Mapping[str, str]) -> WebhookResult:
        """The call's final status: one call event with its outcome, once per call."""
        ok = WebhookResult(response=WebhookResponse(body=b""))
        status = fields.get("CallStatus", "").strip().lower()
        if status not in ("completed", "busy", "no-answer", "failed", "canceled"):
            return ok  # ringing, in-progress: the call goes on
        sid = _required(fields, "CallSid")
        call = await self._call(sid)
        caller = str(call.get("caller") or _required(fields, "From"))
        if call.get("answered_by"):
            outcome = "completed"
        elif call.get("recorded"):
            outcome = "voicemail"
        else:
            outcome = "missed"
        data: dict[str, Any] = {
            "direction": "in",
            "status": outcome,
            "duration_s": _seconds(fields.get("CallDuration")),
            "from_number": caller,
            "to_number": str(call.get("called") or fields.get("To") or "") or None,
            "call_sid": sid,
        }
        if call.get("answered_by"):
            data["answered_by"] = call.get("answered_name") or None
            data["agent_id"] = int(call["answered_by"]) if call["answered_by"].isdigit() else None
        item = Inbound(
            provider_event_id=f"call:{sid}",
            provider_message_id=sid,
            sender_id=caller,
            sender_phone=caller if E164.match(caller) else None,
            kind=MessageKind.CALL,
            team=call.get("team"),
            data=data,
        )
        log.info(
            "call ended", extra={"channel_id": channel.id, "call_sid": sid, "outcome": outcome}
        )
        return WebhookResult(response=ok.response, inbound=(item,))
