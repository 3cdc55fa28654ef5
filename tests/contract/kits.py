"""One kit per kind of channel: what the contract suite needs to play that channel's provider.

A kit starts the provider's fake API, gives settings that point at it, writes to the hub as
the provider (or, for web chat, the visitor's browser) does — correctly signed, wrongly signed
or malformed — and makes the fake refuse a send or fail a media download for a while. A kind
the hub registers without a kit here fails the suite: a new connector cannot skip the contract.

A capability a kind does not have is declared, not skipped: ``webhook is None`` (web chat's
visitors talk to its own transport), ``refusable = False`` (nobody can refuse a web chat
reply), ``media is None`` (no file is kept at a provider); the suite then checks that fact.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import aiosmtplib
import xmltodict
from wechatpy.crypto import WeChatCrypto as OACrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from tests.clients import VisitorSocket
from tests.fakes.sample_chat_api import FakeSampleChat, message
from tests.fakes.sample_chat_api import sign as sample_sign
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TWILIO_NUMBER,
    FakeTwilio,
    inbound_fields,
    signed_headers,
)
from tests.fakes.wechat_api import CORP_ID, KF_SECRET, OA_APP_ID, OA_SECRET, FakeWeChatApi
from tests.integration.conftest import make_settings
from tests.unit.connectors.wechat_support import AES_KEY, TOKEN
from tests.unit.connectors.wechat_support import sign as wechat_sign


@dataclass(frozen=True)
class Call:
    """One HTTP request to the hub, as a provider or a visitor's browser makes it."""

    method: str
    #: relative to the hub's base URL: ``/hooks/7/callback``
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Target:
    """The hub under test and the channel a kit writes to."""

    base: str
    http: aiohttp.ClientSession
    channel_id: int
    public_key: str
    #: the hub's SMTP receiver (email channels)
    smtp_port: int = 0

    def hook(self, name: str) -> str:
        return f"/hooks/{self.channel_id}/{name}"

    async def send(self, call: Call) -> tuple[int, bytes]:
        async with self.http.request(
            call.method,
            self.base + call.path,
            params=dict(call.query),
            headers=dict(call.headers),
            data=call.body,
        ) as response:
            return response.status, await response.read()


@dataclass(frozen=True)
class Media:
    """The file a kit's fake keeps for an inbound item's provider media reference."""

    data: bytes
    content_type: str


SAMPLE_PHOTO = Media(b"\x89PNG\r\n\x1a\n sample chat photo", "image/png")
OA_PHOTO = Media(b"\xff\xd8\xff official account photo", "image/jpeg")
KF_PHOTO = Media(b"\xff\xd8\xff wecom photo", "image/jpeg")
MMS_PHOTO = Media(b"\xff\xd8\xff twilio mms photo", "image/jpeg")


class NotApplicable(AssertionError):
    """A kit was asked for something its kind does not have (the suite checks the flags)."""


class ContractKit(Protocol):
    kind: str
    #: the webhook inbound messages arrive at; ``None``: the kind has no webhooks
    webhook: str | None
    #: whether the provider can refuse a send (``refuse_next_send`` then works)
    refusable: bool
    #: the file behind ``with_media``'s reference; ``None``: the kind has no provider media
    media: Media | None

    def provider(self) -> AbstractAsyncContextManager[str]:
        """Run the provider's fake API; yields its base URL (``""`` when there is none)."""
        ...

    def settings(self, api_base: str) -> dict[str, Any]:
        """Valid settings for a channel that talks to the fake at ``api_base``."""
        ...

    def normalised(self, api_base: str) -> dict[str, Any]:
        """Values ``settings`` gives in a form the hub must normalise, as it must store them."""
        ...

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        """The customer ``sender`` writes ``text``; the same delivery is made ``times`` times,
        as a provider retries a webhook (or a widget re-sends after a lost ack)."""
        ...

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        """Webhook requests for a text message whose signature does not check."""
        ...

    async def malformed(self, to: Target) -> list[Call]:
        """Requests whose body is no message, correctly signed where the scheme signs it."""
        ...

    def refuse_next_send(self) -> None:
        """Make the provider refuse the next send for good."""
        ...

    def fail_media(self, times: int) -> None:
        """Make the provider's media endpoint fail transiently ``times`` times, then serve."""
        ...

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        """A correctly signed webhook for an inbound item carrying ``media``'s reference."""
        ...


async def _accepted(to: Target, call: Call, times: int) -> None:
    for attempt in range(1, times + 1):
        status, body = await to.send(call)
        assert 200 <= status < 300, (
            f"delivery {attempt} of {call.method} {call.path} answered {status}: {body[:300]!r}"
        )


# -- Sample Chat (tests/contract/sample_connector) ------------------------------------------


class SampleChatKit:
    kind: str = "sample_chat"
    webhook: str | None = "messages"
    refusable: bool = True
    media: Media | None = SAMPLE_PHOTO

    SECRET = "contract-signing-secret"
    MEDIA_ID = "contract-photo-1"

    def __init__(self) -> None:
        self.fake = FakeSampleChat()
        self.fake.media[self.MEDIA_ID] = (SAMPLE_PHOTO.data, SAMPLE_PHOTO.content_type)

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self.fake.running()

    def settings(self, api_base: str) -> dict[str, Any]:
        # poll and signature are left out: the hub stores their defaults
        return {"account": "contract-shop", "signing_secret": self.SECRET, "api_base_url": api_base}

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {"poll": False, "signature": ""}

    def _signed(self, to: Target, body: bytes, secret: str | None = None) -> Call:
        return Call(
            "POST",
            to.hook("messages"),
            headers={
                "Content-Type": "application/json",
                "X-Sample-Signature": sample_sign(secret or self.SECRET, body),
            },
            body=body,
        )

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        await _accepted(to, self._signed(to, message(event_id, sender, text)), times)

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        body = message(event_id, sender, text)
        unsigned = Call("POST", to.hook("messages"), body=body)
        return [self._signed(to, body, secret="not-the-signing-secret"), unsigned]

    async def malformed(self, to: Target) -> list[Call]:
        bodies = [
            b"not json",
            b"",
            b"[]",
            json.dumps({"id": "", "from": "someone", "text": "empty id"}).encode(),
            json.dumps({"id": "7000000090", "text": "no sender"}).encode(),
            json.dumps({"id": "7000000091", "from": "x", "media": "not a list"}).encode(),
        ]
        return [self._signed(to, body) for body in bodies]

    def refuse_next_send(self) -> None:
        self.fake.refuse.append("blocked")

    def fail_media(self, times: int) -> None:
        self.fake.media_failures = times

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        media = [{"id": self.MEDIA_ID, "type": SAMPLE_PHOTO.content_type}]
        return self._signed(to, message(event_id, sender, "", media=media))


# -- WeChat Official Account (公众号), safe mode ----------------------------------------------


def _cdata(name: str, value: str) -> str:
    return f"<{name}><![CDATA[{value}]]></{name}>"


def _nonce() -> str:
    return uuid.uuid4().hex[:10]


class WeChatKit:
    kind: str = "wechat"
    webhook: str | None = "callback"
    refusable: bool = True
    media: Media | None = OA_PHOTO

    MEDIA_ID = "MEDIA_CONTRACT_OA"

    def __init__(self) -> None:
        self.fake = FakeWeChatApi()
        self.fake.media[self.MEDIA_ID] = (OA_PHOTO.data, OA_PHOTO.content_type, "photo.jpg")

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self.fake.running()

    def settings(self, api_base: str) -> dict[str, Any]:
        return {
            "app_id": f"  {OA_APP_ID} ",
            "app_secret": OA_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "subscribe_reply": "   ",
            "api_base_url": api_base + "/",
        }

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {"app_id": OA_APP_ID, "subscribe_reply": None, "api_base_url": api_base}

    @staticmethod
    def _xml(msg_type: str, event_id: str, sender: str, created: str = "", **fields: str) -> str:
        parts = "".join(
            _cdata(name, value) if name != "MsgId" else f"<MsgId>{value}</MsgId>"
            for name, value in {**fields, "MsgId": event_id}.items()
        )
        return (
            f"<xml>{_cdata('ToUserName', 'gh_contract')}{_cdata('FromUserName', sender)}"
            f"<CreateTime>{created or int(time.time())}</CreateTime>{_cdata('MsgType', msg_type)}"
            f"{parts}</xml>"
        )

    @staticmethod
    def _plain_query(nonce: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "signature": wechat_sign(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def _safe_mode(self, to: Target, plain: str, sender: str = "oContract") -> Call:
        """What WeChat POSTs in safe mode, encrypted and signed with wechatpy's own crypto."""
        nonce = _nonce()
        query = self._plain_query(nonce)
        packed = xmltodict.parse(
            OACrypto(TOKEN, AES_KEY, OA_APP_ID).encrypt_message(plain, nonce, query["timestamp"])
        )["xml"]
        return self._encrypted(to, query, packed["Encrypt"], packed["MsgSignature"], sender)

    def _encrypted(
        self,
        to: Target,
        query: Mapping[str, str],
        encrypted: str,
        msg_signature: str,
        sender: str = "oContract",
    ) -> Call:
        return Call(
            "POST",
            to.hook("callback"),
            query={
                **query,
                "openid": sender,
                "encrypt_type": "aes",
                "msg_signature": msg_signature,
            },
            headers={"Content-Type": "text/xml"},
            body=(
                f"<xml>{_cdata('ToUserName', 'gh_contract')}{_cdata('Encrypt', encrypted)}</xml>"
            ).encode(),
        )

    def _signed_garbage(self, to: Target, encrypted: str) -> Call:
        query = self._plain_query(_nonce())
        signature = wechat_sign(TOKEN, query["timestamp"], query["nonce"], encrypted)
        return self._encrypted(to, query, encrypted, signature)

    def signed(self, to: Target, event_id: str, sender: str, text: str) -> Call:
        return self._safe_mode(to, self._xml("text", event_id, sender, Content=text), sender)

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        await _accepted(to, self.signed(to, event_id, sender, text), times)

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        good = self.signed(to, event_id, sender, text)
        return [
            replace(good, query={**good.query, "signature": "0" * 40}),
            replace(good, query={**good.query, "msg_signature": "0" * 40}),
        ]

    async def malformed(self, to: Target) -> list[Call]:
        # The plain signature covers only the token, timestamp and nonce; msg_signature also
        # covers the ciphertext, so each of these passes every check a body can pass.
        def plain(body: bytes) -> Call:
            query = self._plain_query(_nonce())
            return Call("POST", to.hook("callback"), query, {"Content-Type": "text/xml"}, body)

        return [
            plain(b"<xml><unclosed>"),
            plain(b""),
            plain(b"not xml at all"),
            plain(b"<notxml><MsgType>text</MsgType></notxml>"),
            plain(self._xml("text", "7000000092", "oContract", "yesterday", Content="x").encode()),
            self._signed_garbage(to, "this is not base64 ciphertext"),
            self._signed_garbage(to, "QUJD"),
            self._safe_mode(to, "<xml><Unexpected>1</Unexpected></xml>"),
            self._safe_mode(to, "plain words, not XML"),
        ]

    def refuse_next_send(self) -> None:
        self.fake.fail_next["/cgi-bin/message/custom/send"].append(45015)

    def fail_media(self, times: int) -> None:
        # errcode -1: "system busy, try later"
        self.fake.fail_next["/cgi-bin/media/get"].extend([-1] * times)

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        plain = self._xml(
            "image", event_id, sender, PicUrl="http://mmbiz.invalid/p", MediaId=self.MEDIA_ID
        )
        return self._safe_mode(to, plain, sender)


# -- WeCom 微信客服: encrypted callbacks, then kf/sync_msg pulls ------------------------------


class WeComKfKit:
    kind: str = "wecom_kf"
    webhook: str | None = "callback"
    refusable: bool = True
    media: Media | None = KF_PHOTO

    OPEN_KFID = "wkContractAccount01"
    MEDIA_ID = "MEDIA_CONTRACT_KF"

    def __init__(self) -> None:
        self.fake = FakeWeChatApi()
        self.fake.media[self.MEDIA_ID] = (KF_PHOTO.data, KF_PHOTO.content_type, "photo.jpg")

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self.fake.running()

    def settings(self, api_base: str) -> dict[str, Any]:
        return {
            "corp_id": CORP_ID,
            "secret": KF_SECRET,
            "token": TOKEN,
            "encoding_aes_key": f" {AES_KEY} ",
            "open_kfid": self.OPEN_KFID,
            "welcome_text": "",
            "api_base_url": api_base + "/",
        }

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {"encoding_aes_key": AES_KEY, "welcome_text": None, "api_base_url": api_base}

    def _queue(self, event_id: str, sender: str, msgtype: str, body: dict[str, Any]) -> None:
        """Put a customer's message where ``kf/sync_msg`` serves it."""
        self.fake.kf_messages.append(
            {
                "msgid": event_id,
                "open_kfid": self.OPEN_KFID,
                "external_userid": sender,
                "send_time": int(time.time()),
                "origin": 3,
                "msgtype": msgtype,
                msgtype: body,
            }
        )

    def _callback_xml(self) -> str:
        """The callback WeCom posts to say "there is something new": it carries no message."""
        return (
            f"<xml>{_cdata('ToUserName', CORP_ID)}<CreateTime>{int(time.time())}</CreateTime>"
            f"{_cdata('MsgType', 'event')}{_cdata('Event', 'kf_msg_or_event')}"
            f"{_cdata('Token', 'ENC' + uuid.uuid4().hex)}{_cdata('OpenKfId', self.OPEN_KFID)}"
            "</xml>"
        )

    def _call(self, to: Target, query: Mapping[str, str], encrypted: str) -> Call:
        body = (
            f"<xml>{_cdata('ToUserName', CORP_ID)}{_cdata('Encrypt', encrypted)}"
            f"{_cdata('AgentID', '')}</xml>"
        )
        return Call("POST", to.hook("callback"), query, {"Content-Type": "text/xml"}, body.encode())

    def _encrypted(self, to: Target, plain: str) -> Call:
        nonce, timestamp = _nonce(), str(int(time.time()))
        packed = xmltodict.parse(
            WorkCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(plain, nonce, timestamp)
        )["xml"]
        query = {"msg_signature": packed["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
        return self._call(to, query, packed["Encrypt"])

    def _signed_garbage(self, to: Target, encrypted: str) -> Call:
        nonce, timestamp = _nonce(), str(int(time.time()))
        signature = wechat_sign(TOKEN, timestamp, nonce, encrypted)
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return self._call(to, query, encrypted)

    def signed(self, to: Target, event_id: str, sender: str, text: str) -> Call:
        self._queue(event_id, sender, "text", {"content": text})
        return self._encrypted(to, self._callback_xml())

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        await _accepted(to, self.signed(to, event_id, sender, text), times)

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        # A forged callback announces a message WeCom does not have: messages only come from
        # WeCom's own API, so a forger can at most make the poller read sooner, and not even that.
        good = self._encrypted(to, self._callback_xml())
        return [replace(good, query={**good.query, "msg_signature": "0" * 40})]

    async def malformed(self, to: Target) -> list[Call]:
        nonce, timestamp = _nonce(), str(int(time.time()))
        any_query = {"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": nonce}
        xml = {"Content-Type": "text/xml"}
        no_encrypt = f"<xml>{_cdata('ToUserName', CORP_ID)}</xml>".encode()
        return [
            Call("POST", to.hook("callback"), any_query, xml, b"<xml><unclosed>"),
            Call("POST", to.hook("callback"), any_query, xml, b""),
            Call("POST", to.hook("callback"), any_query, xml, no_encrypt),
            self._signed_garbage(to, "this is not base64 ciphertext"),
            self._signed_garbage(to, "QUJD"),
            self._encrypted(to, "plain words, not XML"),
            self._encrypted(to, "<xml><Unexpected>1</Unexpected></xml>"),
        ]

    def refuse_next_send(self) -> None:
        # 95001: more than 5 messages since the customer last wrote
        self.fake.fail_next["/cgi-bin/kf/send_msg"].append(95001)

    def fail_media(self, times: int) -> None:
        self.fake.fail_next["/cgi-bin/media/get"].extend([-1] * times)

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        self._queue(event_id, sender, "image", {"media_id": self.MEDIA_ID})
        return self._encrypted(to, self._callback_xml())


# -- Web chat: no provider; visitors talk to the channel's own transport ---------------------


class WebchatKit:
    kind: str = "webchat"
    webhook: str | None = None
    refusable: bool = False
    media: Media | None = None

    ORIGIN = "https://shop.example.com"

    def __init__(self) -> None:
        #: a visitor's token by sender, so a sender writes again as the same visitor
        self._tokens: dict[str, str] = {}

    @asynccontextmanager
    async def _nothing(self) -> AsyncIterator[str]:
        yield ""

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self._nothing()

    def settings(self, api_base: str) -> dict[str, Any]:
        return {
            "title": "Contract shop 合同商店",
            "allowed_origins": ["HTTPS://Shop.Example.com/", "http://localhost:8000"],
        }

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {
            "allowed_origins": [self.ORIGIN, "http://localhost:8000"],
            "welcome_text": "",
            "prechat_form": False,
        }

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        # The widget re-sends a message whose ack it lost with the same client_id.
        for _ in range(times):
            visitor = await VisitorSocket.connect(
                to.http, to.base, to.public_key, token=self._tokens.get(sender), origin=self.ORIGIN
            )
            try:
                self._tokens.setdefault(sender, str(visitor.hello["visitor_token"]))
                await visitor.say(text, client_id=event_id)
            finally:
                await visitor.close()

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        raise NotApplicable("web chat has no webhooks")

    async def malformed(self, to: Target) -> list[Call]:
        """Frames over the transport's HTTP fallback that are no message."""
        headers = {"Origin": self.ORIGIN}
        status, body = await to.send(Call("POST", f"/webchat/{to.public_key}/session", {}, headers))
        assert status == 200, body
        token = str(json.loads(body)["visitor_token"])
        frames = [
            b"not json",
            b"[]",
            b'{"type": "message", "client_id": "short", "text": "hi"}',
            b'{"type": "message", "client_id": "abcdefgh12"}',
            b'{"type": "teleport", "client_id": "abcdefgh13"}',
        ]
        return [
            Call(
                "POST",
                f"/webchat/{to.public_key}/messages",
                headers={**headers, "X-Visitor-Token": token, "Content-Type": "application/json"},
                body=frame,
            )
            for frame in frames
        ]

    def refuse_next_send(self) -> None:
        raise NotApplicable("a web chat reply cannot be refused")

    def fail_media(self, times: int) -> None:
        raise NotApplicable("web chat keeps no files at a provider")

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        raise NotApplicable("web chat keeps no files at a provider")


# -- Twilio SMS: form posts signed over the URL Twilio called --------------------------------


def _hub_public_url() -> str:
    """The address the suite's hubs say they are at (their settings' public URL): Twilio signs
    the URL it calls, and a hub checks a signature against its public address, not the
    loopback port a test reaches it on."""
    return make_settings(Path(tempfile.gettempdir())).public_url.rstrip("/")


def _phone(sender: str) -> str:
    """A stable E.164 number for a kit's sender name, so replies go to a valid number."""
    digits = int(hashlib.sha256(sender.encode()).hexdigest(), 16) % 10**7
    return f"+1555{digits:07d}"


class TwilioKit:
    kind: str = "twilio"
    webhook: str | None = "sms"
    refusable: bool = True
    media: Media | None = MMS_PHOTO

    def __init__(self) -> None:
        self.fake = FakeTwilio()
        self.public = _hub_public_url()

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self.fake.running()

    def settings(self, api_base: str) -> dict[str, Any]:
        return {
            "account_sid": f" {ACCOUNT_SID[:2]}{ACCOUNT_SID[2:].upper()} ",
            "auth_token": AUTH_TOKEN,
            "phone_number": "+1 (415) 555-0100",
            "messaging_service_sid": "",
            "api_base_url": api_base + "/",
        }

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {
            "account_sid": ACCOUNT_SID,
            "phone_number": TWILIO_NUMBER,
            "messaging_service_sid": None,
            "api_base_url": api_base,
        }

    def _post(
        self,
        to: Target,
        fields: list[tuple[str, str]],
        *,
        token: str = AUTH_TOKEN,
        signed_url: str | None = None,
        body: bytes | None = None,
    ) -> Call:
        url = signed_url or self.public + to.hook("sms")
        return Call(
            "POST",
            to.hook("sms"),
            headers=signed_headers(url, fields, token),
            body=urlencode(fields).encode() if body is None else body,
        )

    @staticmethod
    def _sid(event_id: str) -> str:
        return "SM" + event_id.rjust(32, "0")

    def signed(self, to: Target, event_id: str, sender: str, text: str) -> Call:
        return self._post(to, inbound_fields(self._sid(event_id), _phone(sender), text))

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        # Twilio retries a webhook that failed or timed out with the same MessageSid.
        await _accepted(to, self.signed(to, event_id, sender, text), times)

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        fields = inbound_fields(self._sid(event_id), _phone(sender), text)
        good = self._post(to, fields)
        unsigned = {k: v for k, v in good.headers.items() if k != "X-Twilio-Signature"}
        return [
            self._post(to, fields, token="0" * 32),
            replace(good, headers=unsigned),
            # signed for the address the hub listens at behind a proxy, not the public one
            self._post(to, fields, signed_url=to.base + to.hook("sms")),
        ]

    async def malformed(self, to: Target) -> list[Call]:
        full = inbound_fields(self._sid("7000000093"), _phone("x"), "hello")

        def without(name: str) -> list[tuple[str, str]]:
            return [(k, v) for k, v in full if k != name]

        def changed(name: str, value: str) -> list[tuple[str, str]]:
            return [(k, value if k == name else v) for k, v in full]

        return [
            self._post(to, []),
            self._post(to, without("MessageSid")),
            self._post(to, without("From")),
            self._post(to, without("To")),
            self._post(to, changed("NumMedia", "1")),
            self._post(to, changed("NumMedia", "many")),
            self._post(to, [], body=b"not a form at all"),
            self._post(to, [], body=b"\xff\xfe not utf-8"),
        ]

    def refuse_next_send(self) -> None:
        # 21610: the customer replied STOP
        self.fake.refuse.append(21610)

    def fail_media(self, times: int) -> None:
        self.fake.media_failures = times

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        url = self.fake.add_media(MMS_PHOTO.data, MMS_PHOTO.content_type, self._sid(event_id))
        media = [(url, MMS_PHOTO.content_type)]
        return self._post(to, inbound_fields(self._sid(event_id), _phone(sender), media=media))


# -- Email: mail to the hub's SMTP receiver, replies to a real SMTP server ----------------------


class EmailKit:
    kind: str = "email"
    webhook: str | None = None
    refusable: bool = True
    #: a mail's files are stored when it arrives: nothing is fetched later
    media: Media | None = None

    ADDRESS = "support@contract.test"

    def __init__(self) -> None:
        self.sink = SmtpSink()

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[str]:
        async with self.sink.running():
            yield f"127.0.0.1:{self.sink.port}"

    def provider(self) -> AbstractAsyncContextManager[str]:
        return self._running()

    def settings(self, api_base: str) -> dict[str, Any]:
        return {
            "address": f" {self.ADDRESS} ",
            "display_name": "Contract 合同",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.sink.port,
            "smtp_security": "none",
        }

    def normalised(self, api_base: str) -> dict[str, Any]:
        return {"address": self.ADDRESS, "smtp_username": "", "smtp_password": ""}

    async def deliver(
        self, to: Target, event_id: str, sender: str, text: str, *, times: int = 1
    ) -> None:
        mail = EmailMessage()
        mail["From"] = f"{sender}@customer.test"
        mail["To"] = self.ADDRESS
        mail["Subject"] = "Contract 合同"
        mail["Message-ID"] = f"<{event_id}@customer.test>"
        mail.set_content(text)
        # A sending server that lost our answer sends the same mail again.
        for _ in range(times):
            await aiosmtplib.send(
                mail, hostname="127.0.0.1", port=to.smtp_port, recipients=[self.ADDRESS]
            )

    def forged(self, to: Target, event_id: str, sender: str, text: str) -> list[Call]:
        raise NotApplicable("mail comes by SMTP, which signs nothing")

    async def malformed(self, to: Target) -> list[Call]:
        # Malformed mail is an SMTP matter (tests/integration/test_email.py): no HTTP request
        # reaches an email channel.
        return []

    def refuse_next_send(self) -> None:
        self.sink.refuse.append("550 5.7.1 Refused by the recipient's policy")

    def fail_media(self, times: int) -> None:
        raise NotApplicable("a mail's files are stored when it arrives")

    def with_media(self, to: Target, event_id: str, sender: str) -> Call:
        raise NotApplicable("a mail's files are stored when it arrives")


#: the kit of every kind the contract knows how to play
KITS: dict[str, Callable[[], ContractKit]] = {
    "email": EmailKit,
    "sample_chat": SampleChatKit,
    "wechat": WeChatKit,
    "wecom_kf": WeComKfKit,
    "webchat": WebchatKit,
    "twilio": TwilioKit,
}
