"""What ``bench/ingest.py`` sends for each channel: the channel it creates and each message's
HTTP request, exactly as the provider (or the widget) would send it.

* ``webchat``: a visitor's ``POST /webchat/{key}/messages``, as the widget sends it.
* ``wechat``: an Official Account callback in plaintext mode (明文模式): the XML message,
  signed in the query.
* ``wechat_aes``: the same in safe mode (安全模式): AES-encrypted with the EncodingAESKey and
  signed twice (``signature`` and ``msg_signature``).
* ``wecom_kf``: a WeCom 微信客服 callback (always encrypted). It only says "there is something
  new"; the hub then pulls the messages with ``kf/sync_msg`` from ``bench/fake_wecom.py``,
  whose queue gets ``--kf-page`` new messages (``announce``) before each callback is sent.
* ``twilio_sms``: Twilio's "A message comes in" webhook for an SMS: form fields signed with
  ``X-Twilio-Signature`` (the ``twilio`` package's ``RequestValidator``).

Callbacks are signed and encrypted with wechatpy, as WeChat's own are (tests use the same
code). Encrypting costs far more than sending, so those are built before a phase starts, with
that moment's timestamp (the hub refuses a callback more than 5 minutes off its clock): the load
generator then only writes bytes. Every WeChat message has its own ``MsgId`` (the hub stores
each provider event once) and every WeCom callback its own ``Token``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from wechatpy.crypto import PrpCrypto as OfficialPrp
from wechatpy.enterprise.crypto import PrpCrypto as EnterprisePrp
from wechatpy.utils import WeChatSigner

#: the text after each message's unique id: a typical short chat line
TEXT = "Hello, I ordered a blue kettle last week and it has not arrived yet. Can you help?"

CHANNELS = ("webchat", "wechat", "wechat_aes", "wecom_kf", "twilio_sms")

#: the WeChat accounts the bench's channels pretend to be
APP_ID = "wxbench0123456789"
CORP_ID = "wwbench0123456789"
OPEN_KFID = "wkBenchAccount01"
KF_SECRET = "bench-kf-secret"
CALLBACK_TOKEN = "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
#: the AES key an EncodingAESKey stands for (43 base64 characters without their "=")
AES_KEY_BYTES = base64.b64decode(AES_KEY + "=")
#: the Twilio account and number of the bench's SMS channel
TWILIO_ACCOUNT = "AC" + "b" * 32
TWILIO_TOKEN = "0123456789abcdef" * 2
TWILIO_NUMBER = "+14155550100"
#: a closed port: the Official Account channels never call WeChat's API for text messages
NO_API = "http://127.0.0.1:9"


def sign(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (token, timestamp, nonce[, ciphertext])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def raw_post(host: str, path: str, body: bytes, headers: str = "") -> bytes:
    """One HTTP/1.1 POST, keep-alive, written by hand (see ``RawConnection`` in ingest.py)."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def cdata(name: str, value: str) -> str:
    return f"<{name}><![CDATA[{value}]]></{name}>"


@dataclass
class Load:
    """One channel's requests; ``begin`` before each phase, ``request`` for each message."""

    name: str = "webchat"
    label: str = "web chat"
    #: the answer that means "accepted" (the event is committed)
    ok_status: int = 202
    #: messages one request brings in
    per_request: int = 1
    #: requests cost real work to build (encryption): build them all before a phase
    precompute: bool = False
    #: the fake provider API the hub must be able to call (``bench/fake_wecom.py``)
    needs_fake: bool = False
    host: str = ""
    channel: dict[str, Any] = field(default_factory=dict)

    def channel_body(self, fake_base: str | None) -> dict[str, Any]:
        """The body of ``POST /api/v1/channels``; ``fake_base`` is the fake provider API's."""
        raise NotImplementedError

    def bind(self, host: str, channel: dict[str, Any]) -> None:
        """The hub's ``host:port`` and the channel it created (its API representation)."""
        self.host = host
        self.channel = channel

    def begin(self) -> None:
        """A phase starts: sign with this moment's timestamp."""

    def request(self, message_id: str, visitor: int) -> bytes:
        raise NotImplementedError

    def message_ids(self, message_id: str) -> list[str]:
        """The ids (the first word of each pushed text) that one request brings in."""
        return [message_id]

    def announce(self, message_id: str, visitor: int) -> None:
        """The customer writes, at the provider, just before the request is sent: for a
        provider whose callbacks only announce messages, they are put in its queue."""


@dataclass
class WebChat(Load):
    """A visitor's message from the widget; ``tokens`` are the visitors' sessions."""

    tokens: list[str] = field(default_factory=list)
    #: check the channel's flood limits on every message (``False``: the limits are off)
    flood_limits: bool = True

    def channel_body(self, fake_base: str | None) -> dict[str, Any]:
        # The whole load comes from one address and 256 visitors, far past the flood limits a
        # shop would set: they are set as high as they go, so they are checked but never bite
        # (or set to 0, "no limit", and not checked at all).
        high = self.flood_limits
        return {
            "kind": "webchat",
            "name": "bench",
            "settings": {
                "new_visitors_per_minute": 100_000 if high else 0,
                "messages_per_minute": 100_000 if high else 0,
                "messages_per_address_per_minute": 1_000_000 if high else 0,
            },
        }

    def request(self, message_id: str, visitor: int) -> bytes:
        token = self.tokens[visitor % len(self.tokens)]
        body = json.dumps(
            {"type": "message", "client_id": message_id, "text": f"{message_id} {TEXT}"}
        ).encode()
        headers = f"X-Visitor-Token: {token}\r\nContent-Type: application/json\r\n"
        return raw_post(self.host, f"/webchat/{self.channel['public_key']}/messages", body, headers)


@dataclass
class WeChatOfficial(Load):
    """An Official Account text message callback, plaintext or safe mode."""

    name: str = "wechat"
    label: str = "WeChat Official Account, plaintext"
    ok_status: int = 200
    aes: bool = False
    _query: str = ""
    _timestamp: str = ""
    _nonce: str = ""
    _prp: OfficialPrp | None = None
    _msg_ids: Any = None

    def channel_body(self, fake_base: str | None) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "app_id": APP_ID,
            "app_secret": "bench-secret",
            "token": CALLBACK_TOKEN,
            "api_base_url": fake_base or NO_API,
        }
        if self.aes:
            settings["encoding_aes_key"] = AES_KEY
        return {"kind": "wechat", "name": "bench", "settings": settings}

    def begin(self) -> None:
        self._timestamp, self._nonce = str(int(time.time())), secrets.token_hex(5)
        signature = sign(CALLBACK_TOKEN, self._timestamp, self._nonce)
        self._query = f"signature={signature}&timestamp={self._timestamp}&nonce={self._nonce}"
        if self._msg_ids is None:
            # MsgIds are 64-bit numbers; unique per hub (each scenario gets a fresh hub)
            self._msg_ids = itertools.count(7_000_000_000_000_000_001)
        if self.aes and self._prp is None:
            self._prp = OfficialPrp(AES_KEY_BYTES)

    def _xml(self, message_id: str, visitor: int) -> str:
        return (
            f"<xml>{cdata('ToUserName', 'gh_bench')}{cdata('FromUserName', f'obench{visitor}')}"
            f"<CreateTime>{self._timestamp}</CreateTime>{cdata('MsgType', 'text')}"
            f"{cdata('Content', f'{message_id} {TEXT}')}<MsgId>{next(self._msg_ids)}</MsgId></xml>"
        )

    def request(self, message_id: str, visitor: int) -> bytes:
        path = f"/hooks/{self.channel['id']}/callback?{self._query}&openid=obench{visitor}"
        plain = self._xml(message_id, visitor)
        if not self.aes:
            return raw_post(self.host, path, plain.encode(), "Content-Type: text/xml\r\n")
        assert self._prp is not None
        encrypted = self._prp.encrypt(plain, APP_ID).decode()
        msg_signature = sign(CALLBACK_TOKEN, self._timestamp, self._nonce, encrypted)
        path += f"&encrypt_type=aes&msg_signature={msg_signature}"
        body = f"<xml>{cdata('ToUserName', 'gh_bench')}{cdata('Encrypt', encrypted)}</xml>"
        return raw_post(self.host, path, body.encode(), "Content-Type: text/xml\r\n")


@dataclass
class WeComKf(Load):
    """A 微信客服 callback announcing ``per_request`` messages put in the fake API's queue."""

    name: str = "wecom_kf"
    label: str = "WeCom 微信客服"
    ok_status: int = 200
    per_request: int = 1
    precompute: bool = True
    needs_fake: bool = True
    _timestamp: str = ""
    _nonce: str = ""
    _prp: EnterprisePrp | None = None
    #: the fake API's queue file (``fake_wecom.py --queue``), opened for appending
    queue_fd: int = -1

    def open_queue(self, path: str) -> None:
        self.queue_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def announce(self, message_id: str, visitor: int) -> None:
        lines = "".join(f"{m}\twmbench{visitor}\n" for m in self.message_ids(message_id))
        os.write(self.queue_fd, lines.encode())

    def channel_body(self, fake_base: str | None) -> dict[str, Any]:
        assert fake_base, "wecom_kf needs the fake API"
        return {
            "kind": "wecom_kf",
            "name": "bench",
            "settings": {
                "corp_id": CORP_ID,
                "secret": KF_SECRET,
                "token": CALLBACK_TOKEN,
                "encoding_aes_key": AES_KEY,
                "open_kfid": OPEN_KFID,
                "api_base_url": fake_base,
            },
        }

    def begin(self) -> None:
        self._timestamp, self._nonce = str(int(time.time())), secrets.token_hex(5)
        if self._prp is None:
            self._prp = EnterprisePrp(AES_KEY_BYTES)

    def request(self, message_id: str, visitor: int) -> bytes:
        # Each callback has its own Token, as WeCom's do; the messages wait in the fake's queue.
        plain = (
            f"<xml>{cdata('ToUserName', CORP_ID)}<CreateTime>{self._timestamp}</CreateTime>"
            f"{cdata('MsgType', 'event')}{cdata('Event', 'kf_msg_or_event')}"
            f"{cdata('Token', f'{message_id}|wmbench{visitor}')}{cdata('OpenKfId', OPEN_KFID)}"
            "</xml>"
        )
        assert self._prp is not None
        encrypted = self._prp.encrypt(plain, CORP_ID).decode()
        msg_signature = sign(CALLBACK_TOKEN, self._timestamp, self._nonce, encrypted)
        path = (
            f"/hooks/{self.channel['id']}/callback?msg_signature={msg_signature}"
            f"&timestamp={self._timestamp}&nonce={self._nonce}"
        )
        body = (
            f"<xml>{cdata('ToUserName', CORP_ID)}{cdata('Encrypt', encrypted)}"
            f"{cdata('AgentID', '')}</xml>"
        )
        return raw_post(self.host, path, body.encode(), "Content-Type: text/xml\r\n")

    def message_ids(self, message_id: str) -> list[str]:
        return [f"{message_id}.{k}" for k in range(self.per_request)]


@dataclass
class TwilioSms(Load):
    """An inbound SMS as Twilio posts it to the number's webhook."""

    name: str = "twilio_sms"
    label: str = "Twilio SMS"
    ok_status: int = 200
    precompute: bool = True
    _validator: RequestValidator | None = None

    def channel_body(self, fake_base: str | None) -> dict[str, Any]:
        return {
            "kind": "twilio",
            "name": "bench",
            "settings": {
                "account_sid": TWILIO_ACCOUNT,
                "auth_token": TWILIO_TOKEN,
                "phone_number": TWILIO_NUMBER,
                "api_base_url": fake_base or NO_API,
            },
        }

    def begin(self) -> None:
        if self._validator is None:
            self._validator = RequestValidator(TWILIO_TOKEN)

    def request(self, message_id: str, visitor: int) -> bytes:
        sid = "SM" + hashlib.md5(message_id.encode(), usedforsecurity=False).hexdigest()
        fields = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "SAN FRANCISCO",
            "FromZip": "94105",
            "SmsSid": sid,
            "FromState": "CA",
            "SmsStatus": "received",
            "FromCity": "SAN FRANCISCO",
            "Body": f"{message_id} {TEXT}",
            "FromCountry": "US",
            "To": TWILIO_NUMBER,
            "ToZip": "94105",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": TWILIO_ACCOUNT,
            "From": f"+1415555{visitor % 10_000:04d}",
            "ApiVersion": "2010-04-01",
        }
        path = f"/hooks/{self.channel['id']}/sms"
        assert self._validator is not None
        signature = self._validator.compute_signature(f"http://{self.host}{path}", fields)
        headers = (
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\n"
        )
        return raw_post(self.host, path, urlencode(fields).encode(), headers)


def make_load(name: str, *, kf_page: int = 1, flood_limits: bool = True) -> Load:
    if name == "webchat":
        return WebChat(flood_limits=flood_limits)
    if name == "wechat":
        return WeChatOfficial()
    if name == "wechat_aes":
        return WeChatOfficial(
            name="wechat_aes",
            label="WeChat Official Account, safe mode (AES)",
            aes=True,
            precompute=True,
        )
    if name == "wecom_kf":
        return WeComKf(per_request=kf_page)
    if name == "twilio_sms":
        return TwilioSms()
    raise ValueError(f"no channel {name!r}; one of {', '.join(CHANNELS)}")
