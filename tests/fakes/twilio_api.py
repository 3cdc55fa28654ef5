"""A local fake of Twilio's Messages API and media, served by aiohttp, and Twilio's webhooks.

It checks what Twilio checks (basic auth with the Account SID and Auth Token, the form fields of
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``) and answers as Twilio does: 201 with a
``sid`` and ``status: queued``, or ``{"code", "message", "more_info", "status"}``. Media URLs
answer a redirect to a file store, as Twilio's do. Webhooks and status callbacks are signed
with the package's own ``RequestValidator``, exactly as Twilio signs them.
"""

from __future__ import annotations

import base64
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import MultiDict
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "5ef8732a3c49700934481addd5ce1659"
AUTH_TOKEN = "9f3b4a1c2d5e6f708192a3b4c5d6e7f8"
#: the channel's number, and a customer's
TWILIO_NUMBER = "+14155550100"
CUSTOMER = "+8613800138000"
SERVICE_SID = "MG" + "2c6b2b5d4e0f4a6c8e1d3f5a7b9c0d2e"

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
#: Twilio's error codes answered with another HTTP status than 400
_HTTP_STATUS = {20003: 401, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
    "number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number is not a valid, SMS-capable inbound phone number or short "
    "code for your account.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


def sid(prefix: str) -> str:
    """A Twilio-like SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def sign(url: str, fields: Iterable[tuple[str, str]], auth_token: str = AUTH_TOKEN) -> str:
    """The ``X-Twilio-Signature`` Twilio puts on a request to ``url`` with these form fields."""
    return str(RequestValidator(auth_token).compute_signature(url, MultiDict(list(fields))))


def inbound_fields(
    message_sid: str,
    sender: str = CUSTOMER,
    body: str = "",
    *,
    to: str = TWILIO_NUMBER,
    media: Sequence[tuple[str, str]] = (),
    account_sid: str = ACCOUNT_SID,
) -> list[tuple[str, str]]:
    """What Twilio posts to a number's "A message comes in" webhook; ``media`` is
    ``(url, content type)`` pairs (an MMS)."""
    fields = [
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", message_sid),
        ("NumMedia", str(len(media))),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", ""),
        ("SmsSid", message_sid),
        ("FromState", ""),
        ("SmsStatus", "received"),
        ("FromCity", ""),
        ("Body", body),
        ("FromCountry", "CN"),
        ("To", to),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", message_sid),
        ("AccountSid", account_sid),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    for n, (url, content_type) in enumerate(media):
        fields += [(f"MediaContentType{n}", content_type), (f"MediaUrl{n}", url)]
    return fields


def status_fields(
    message_sid: str,
    status: str,
    error_code: int | None = None,
    *,
    to: str = CUSTOMER,
    sender: str = TWILIO_NUMBER,
    account_sid: str = ACCOUNT_SID,
) -> list[tuple[str, str]]:
    """What Twilio posts to a message's ``StatusCallback``."""
    fields = [
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", to),
        ("MessageSid", message_sid),
        ("AccountSid", account_sid),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    if error_code is not None:
        fields.append(("ErrorCode", str(error_code)))
    return fields


def call_fields(
    call_sid: str,
    status: str = "ringing",
    *,
    caller: str = CUSTOMER,
    to: str = TWILIO_NUMBER,
    account_sid: str = ACCOUNT_SID,
    **extra: str,
) -> list[tuple[str, str]]:
    """What Twilio posts to a number's voice webhook and each step of the call (``extra``:
    ``Digits``, ``DialCallStatus``, ``CallDuration``, ``RecordingUrl``…)."""
    fields = [
        ("AccountSid", account_sid),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", status),
        ("Called", to),
        ("CalledCountry", "US"),
        ("Caller", caller),
        ("CallerCountry", "CN"),
        ("Direction", "inbound"),
        ("From", caller),
        ("FromCountry", "CN"),
        ("To", to),
        ("ToCountry", "US"),
    ]
    return fields + list(extra.items())


def recording_fields(
    call_sid: str, recording_sid: str, recording_url: str, duration_s: int = 14
) -> list[tuple[str, str]]:
    """What Twilio posts to a ``<Record>``'s ``recordingStatusCallback`` (no From or To)."""
    return [
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call_sid),
        ("RecordingSid", recording_sid),
        ("RecordingUrl", recording_url),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", str(duration_s)),
        ("RecordingChannels", "1"),
        ("RecordingStartTime", formatdate(usegmt=True)),
        ("RecordingSource", "RecordVerb"),
    ]


def transcription_fields(
    call_sid: str, recording_sid: str, text: str, *, caller: str = CUSTOMER
) -> list[tuple[str, str]]:
    """What Twilio posts to a ``<Record>``'s ``transcribeCallback``."""
    return call_fields(
        call_sid,
        "completed",
        caller=caller,
        TranscriptionSid=sid("TR"),
        TranscriptionText=text,
        TranscriptionStatus="completed",
        TranscriptionType="fast",
        RecordingSid=recording_sid,
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/"
        f"{recording_sid}",
    )


def signed_headers(
    url: str, fields: Iterable[tuple[str, str]], token: str = AUTH_TOKEN
) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "X-Twilio-Signature": sign(url, fields, token),
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }


def _error(code: int, message: str | None = None) -> web.Response:
    status = _HTTP_STATUS.get(code, 400)
    return web.json_response(
        {
            "code": code,
            "message": message or _MESSAGES.get(code, f"fake failure {code}"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


@dataclass
class FakeTwilio:
    """Records sends, refuses them on demand, serves media, posts signed status callbacks.

    ``refuse`` is a queue of error codes the next sends answer with (21610 → 400, 20429 → 429,
    20500 → 500...); ``media_failures`` makes that many media downloads answer 503.
    """

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    #: the numbers of the account (``From`` must be one of them)
    numbers: set[str] = field(default_factory=lambda: {TWILIO_NUMBER})
    #: the form fields of every accepted send, in order
    sent: list[dict[str, str]] = field(default_factory=list)
    #: every send's fields as posted (repeated fields kept), refused ones included
    posted: list[list[tuple[str, str]]] = field(default_factory=list)
    refuse: list[int] = field(default_factory=list)
    #: media SID → (bytes, content type)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_failures: int = 0
    #: the account's "enforce HTTP auth on media URLs" setting
    media_auth: bool = True
    #: (path, whether it came with the account's credentials) of every media request
    media_requests: list[tuple[str, bool]] = field(default_factory=list)
    #: media SIDs the file store served, after the redirect
    files_served: list[str] = field(default_factory=list)
    #: recording SID → the call's audio (MP3)
    recordings: dict[str, bytes] = field(default_factory=dict)
    #: message SID → the StatusCallback its send asked for
    callbacks: dict[str, str] = field(default_factory=dict)
    #: (MediaUrl, HTTP status, content type, bytes) of every file a send made it fetch
    fetched: list[tuple[str, int, str, bytes]] = field(default_factory=list)
    #: where a public URL is served (the hub under test listens elsewhere than its public URL)
    reach: Callable[[str], str] = field(default=lambda url: url)
    base: str = ""
    _count: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._send)
        app.router.add_get(
            "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", self._media
        )
        app.router.add_get("/files/{media}", self._file)
        app.router.add_get("/2010-04-01/Accounts/{account}/Recordings/{name}", self._recording)
        return app

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 with a free port; yields the base URL to put in api_base_url."""
        server = TestServer(self.app(), host="127.0.0.1", port=0)
        await server.start_server()
        self.base = str(server.make_url("")).rstrip("/")
        try:
            yield self.base
        finally:
            await server.close()

    def media_url(self, media_sid: str, message_sid: str | None = None) -> str:
        """Where Twilio says an MMS's file is (``MediaUrlN``)."""
        assert self.base, "the fake is not running"
        message = message_sid or sid("MM")
        account = f"{self.base}/2010-04-01/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message}/Media/{media_sid}"

    def add_media(self, data: bytes, content_type: str, message_sid: str | None = None) -> str:
        """Keep a file as an MMS's media; its ``MediaUrlN``."""
        media_sid = sid("ME")
        self.media[media_sid] = (data, content_type)
        return self.media_url(media_sid, message_sid)

    # -- handlers ---------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return scheme == "Basic" and (login, password) == (self.account_sid, self.auth_token)

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request) or request.match_info["account"] != self.account_sid:
            return _error(20003)
        form = await request.post()
        pairs = [(name, str(value)) for name, value in form.items()]
        self.posted.append(pairs)
        fields = {name: str(value) for name, value in form.items()}
        to, sender = fields.get("To", ""), fields.get("From", "")
        service, body = fields.get("MessagingServiceSid", ""), fields.get("Body", "")
        if not to:
            return _error(21604)
        if not E164.match(to):
            return _error(21211)
        if not sender and not service:
            return _error(21603)
        if sender and sender not in self.numbers:
            return _error(21606)
        if not body and "MediaUrl" not in fields:
            return _error(21602)
        if len(body) > 1600:
            return _error(21617)
        if self.refuse:
            return _error(self.refuse.pop(0))
        media_urls = form.getall("MediaUrl", [])
        if len(media_urls) > 10:
            return _error(21623)
        # Twilio fetches each file from the sender's URL, without credentials.
        async with aiohttp.ClientSession() as http:
            for url in media_urls:
                async with http.get(self.reach(str(url))) as got:
                    self.fetched.append((str(url), got.status, got.content_type, await got.read()))
        message_sid = sid("SM")
        self.sent.append(fields)
        if "StatusCallback" in fields:
            self.callbacks[message_sid] = fields["StatusCallback"]
        now = formatdate(usegmt=True)
        return web.json_response(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "num_media": str(len(media_urls)),
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": message_sid,
                "status": "accepted" if service and not sender else "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}"
                    "/Media.json"
                },
                "to": to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}.json",
            },
            status=201,
        )

    async def _media(self, request: web.Request) -> web.Response:
        authorised = self._authorised(request)
        self.media_requests.append((request.path, authorised))
        if self.media_auth and not authorised:
            return _error(20003)
        if self.media_failures > 0:
            self.media_failures -= 1
            return web.Response(status=503, text="Service Unavailable")
        media_sid = request.match_info["media"]
        if media_sid not in self.media:
            return _error(20404, "The requested resource was not found")
        # Twilio answers with a redirect to its file store, whose signed URL needs no auth.
        raise web.HTTPFound(f"/files/{media_sid}?Expires={next(self._count)}&Signature=fake")

    def recording_url(self, recording_sid: str) -> str:
        """Where Twilio says a recording is (``RecordingUrl``: without an extension)."""
        return f"{self.base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"

    async def _recording(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(20003)
        recording_sid, _, extension = request.match_info["name"].partition(".")
        audio = self.recordings.get(recording_sid)
        if audio is None:
            return _error(20404, "The requested resource was not found")
        if extension != "mp3":
            return _error(20404, "only .mp3 is served by this fake")
        return web.Response(body=audio, content_type="audio/mpeg")

    async def _file(self, request: web.Request) -> web.Response:
        found = self.media.get(request.match_info["media"])
        if found is None:
            return web.Response(status=404, text="NoSuchKey")
        self.files_served.append(request.match_info["media"])
        return web.Response(body=found[0], content_type=found[1])

    # -- Twilio calling the hub -------------------------------------------------------------

    async def report(
        self,
        http: aiohttp.ClientSession,
        message_sid: str,
        status: str,
        error_code: int | None = None,
        *,
        reach: Callable[[str], str] = lambda url: url,
    ) -> tuple[int, str]:
        """Post a signed status callback for a sent message to the StatusCallback it asked for.

        ``reach`` maps that public address to where the hub listens (a reverse proxy's job).
        """
        url = self.callbacks[message_sid]
        fields = status_fields(message_sid, status, error_code, account_sid=self.account_sid)
        async with http.post(
            reach(url), data=fields, headers=signed_headers(url, fields, self.auth_token)
        ) as response:
            return response.status, await response.text()
