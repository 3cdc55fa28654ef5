"""A callback is checked, decrypted and parsed once; unsigned and stale ones are refused unread."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any
from xml.parsers import expat

import aiohttp
import pytest
import xmltodict
from wechatpy.crypto import BaseWeChatCrypto, WeChatCrypto
from wechatpy.crypto.base import BasePrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.utils import WeChatSigner

from connectors.wechat import WeChatConnector
from connectors.wechat.crypto import REPLAY_WINDOW_S
from connectors.wecom_kf import WeComKfConnector
from hub.domain.channels import WebhookRequest
from hub.domain.errors import InvalidSignature, MalformedPayload
from hub.domain.records import Channel
from tests.unit.connectors.wechat_support import (
    AES_KEY,
    OWN,
    TOKEN,
    channel,
    request,
    shared_fixtures,
    sign,
)

APP_ID = "wx0123456789abcdef"
CORP_ID = "ww0123456789abcdef"
TS, NONCE = "1700000000", "5551234"
TEXT_XML = (
    "<xml><ToUserName><![CDATA[gh_kefuhub]]></ToUserName>"
    "<FromUserName><![CDATA[oCustomer1]]></FromUserName><CreateTime>1700000000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
    "<MsgId>24000000000000042</MsgId></xml>"
)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many XML parsers, decryptions, signatures and crypto objects the code under test
    makes, wherever they are made (ours, wechatpy's, xmltodict's, ElementTree's)."""
    seen: Counter[str] = Counter()

    def counting(name: str, wrapped: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return wrapped(*args, **kwargs)

        return call

    monkeypatch.setattr(expat, "ParserCreate", counting("xml parsers", expat.ParserCreate))
    monkeypatch.setattr(BasePrpCrypto, "_decrypt", counting("decryptions", BasePrpCrypto._decrypt))
    monkeypatch.setattr(
        BaseWeChatCrypto, "__init__", counting("crypto objects", BaseWeChatCrypto.__init__)
    )
    signature = WeChatSigner.signature.fget  # type: ignore[attr-defined]
    monkeypatch.setattr(WeChatSigner, "signature", property(counting("signatures", signature)))
    return seen


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # Never used: callbacks make no HTTP calls on the paths below.
    async with aiohttp.ClientSession() as session:
        yield session


def oa_channel(channel_id: int = 1, **extra: Any) -> Channel:
    settings = {"app_id": APP_ID, "app_secret": "s", "token": TOKEN, "encoding_aes_key": AES_KEY}
    return channel("wechat", settings | extra, channel_id)


def kf_channel(**extra: Any) -> Channel:
    settings = {
        "corp_id": CORP_ID,
        "secret": "kf-secret",
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "open_kfid": "wkKefuHubAccount01",
    }
    return channel("wecom_kf", settings | extra)


def plain_query(timestamp: str = TS) -> dict[str, str]:
    return {"signature": sign(TOKEN, timestamp, NONCE), "timestamp": timestamp, "nonce": NONCE}


def safe_mode(plain: str, *, compatible: bool = False, timestamp: str = TS) -> WebhookRequest:
    """A safe-mode (or compatible-mode) POST, encrypted and signed with wechatpy's own code."""
    packed = xmltodict.parse(
        WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(plain, NONCE, timestamp)
    )["xml"]
    query = plain_query(timestamp) | {
        "encrypt_type": "aes",
        "msg_signature": packed["MsgSignature"],
    }
    inner = plain.removeprefix("<xml>").removesuffix("</xml>") if compatible else ""
    body = f"<xml>{inner}<Encrypt><![CDATA[{packed['Encrypt']}]]></Encrypt></xml>"
    return request("POST", query, body.encode())


def wecom_post(plain: str) -> WebhookRequest:
    packed = xmltodict.parse(WorkCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(plain, NONCE, TS))
    query = {"msg_signature": packed["xml"]["MsgSignature"], "timestamp": TS, "nonce": NONCE}
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{packed['xml']['Encrypt']}]]></Encrypt>"
        "<AgentID><![CDATA[1]]></AgentID></xml>"
    )
    return request("POST", query, body.encode())


def oa(http: aiohttp.ClientSession) -> WeChatConnector:
    return WeChatConnector(http, clock=lambda: float(TS))


# -- parsed once ------------------------------------------------------------------------------


async def test_a_plaintext_callback_is_parsed_once(
    http: aiohttp.ClientSession, counts: Counter[str]
) -> None:
    callback = request("POST", plain_query(), TEXT_XML.format(text="你好").encode())
    counts.clear()  # signing the callback counted too
    result = await oa(http).handle_webhook(oa_channel(), "callback", callback)
    assert result.inbound[0].text == "你好"
    assert counts == {"xml parsers": 1, "signatures": 1}


@pytest.mark.parametrize("compatible", [False, True])
async def test_an_encrypted_callback_is_checked_decrypted_and_parsed_once(
    http: aiohttp.ClientSession, counts: Counter[str], compatible: bool
) -> None:
    callback = safe_mode(TEXT_XML.format(text="你好"), compatible=compatible)
    counts.clear()  # building the callback used wechatpy's crypto too
    connector = oa(http)
    result = await connector.handle_webhook(oa_channel(), "callback", callback)
    assert result.inbound[0].text == "你好"
    # the plain signature, then msg_signature over the ciphertext; the channel's crypto
    assert counts == {
        "signatures": 2,
        "decryptions": 1,
        "xml parsers": 1,
        "crypto objects": 1,
    }


async def test_the_signed_value_is_found_beside_a_customer_text_that_spells_it(
    http: aiohttp.ClientSession,
) -> None:
    # In compatible mode the plaintext beside the Encrypt element is the customer's text.
    text = "<Encrypt>not the ciphertext</Encrypt>"
    callback = safe_mode(TEXT_XML.format(text=text), compatible=True)
    result = await oa(http).handle_webhook(oa_channel(), "callback", callback)
    assert result.inbound[0].text == text


async def test_a_wecom_callback_is_checked_decrypted_and_parsed_once(
    http: aiohttp.ClientSession, counts: Counter[str]
) -> None:
    callback = wecom_post((shared_fixtures() / "wecom-parse-text-message.xml").read_text())
    counts.clear()
    result = await WeComKfConnector(http).handle_webhook(kf_channel(), "callback", callback)
    assert result.inbound[0].text
    assert counts == {"signatures": 1, "decryptions": 1, "xml parsers": 1, "crypto objects": 1}


async def test_the_crypto_is_built_once_per_channel_and_settings(
    http: aiohttp.ClientSession, counts: Counter[str]
) -> None:
    connector = oa(http)
    callbacks = [safe_mode(TEXT_XML.format(text=f"hi {n}")) for n in range(6)]
    counts.clear()  # building the callbacks used wechatpy's crypto too
    for callback in callbacks[:3]:
        await connector.handle_webhook(oa_channel(), "callback", callback)
    assert counts["crypto objects"] == 1
    # new settings beside the crypto's own (a subscribe reply) keep it
    await connector.handle_webhook(oa_channel(subscribe_reply="欢迎"), "callback", callbacks[3])
    assert counts["crypto objects"] == 1
    # another channel gets its own; so does a channel whose crypto settings changed
    await connector.handle_webhook(oa_channel(2), "callback", callbacks[4])
    assert counts["crypto objects"] == 2
    with pytest.raises(MalformedPayload, match="AES payload"):  # not the key it was sealed with
        await connector.handle_webhook(
            oa_channel(encoding_aes_key="B" * 43), "callback", callbacks[5]
        )
    assert counts["crypto objects"] == 3


# -- refused before any parsing ---------------------------------------------------------------


async def test_a_wrong_plain_signature_is_refused_unread(
    http: aiohttp.ClientSession, counts: Counter[str]
) -> None:
    query = plain_query() | {"signature": "0" * 40}
    with pytest.raises(InvalidSignature):
        await oa(http).handle_webhook(oa_channel(), "callback", request("POST", query, b"<xml"))
    assert counts["xml parsers"] == 0


@pytest.mark.parametrize(
    "body",
    [
        b"this is not XML at all",
        b"<xml><unclosed>",
        (OWN / "oa-bomb.xml").read_bytes(),
        b"<xml><Encrypt><![CDATA[bm90IHNpZ25lZA==]]></Encrypt></xml>",
    ],
)
async def test_wecom_refuses_a_wrong_signature_before_parsing(
    http: aiohttp.ClientSession, counts: Counter[str], body: bytes
) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": TS, "nonce": NONCE}
    with pytest.raises(InvalidSignature):
        await WeComKfConnector(http).handle_webhook(
            kf_channel(), "callback", request("POST", query, body)
        )
    assert counts["xml parsers"] == 0
    assert counts["decryptions"] == 0


# -- replays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-REPLAY_WINDOW_S - 1, REPLAY_WINDOW_S + 1, -86_400 * 365])
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
async def test_a_callback_outside_the_replay_window_is_refused(
    http: aiohttp.ClientSession, counts: Counter[str], skew: int, mode: str
) -> None:
    timestamp = str(int(TS) + skew)
    if mode == "safe":
        callback = safe_mode(TEXT_XML.format(text="hi"), timestamp=timestamp)
    else:
        body = TEXT_XML.format(text="hi").encode()
        callback = request("POST", plain_query(timestamp), body)
    counts.clear()
    with pytest.raises(InvalidSignature, match="window"):
        await oa(http).handle_webhook(oa_channel(), "callback", callback)
    assert counts["xml parsers"] == 0
    assert counts["decryptions"] == 0


@pytest.mark.parametrize("skew", [-REPLAY_WINDOW_S, REPLAY_WINDOW_S, 0])
async def test_a_callback_inside_the_window_is_accepted(
    http: aiohttp.ClientSession, skew: int
) -> None:
    timestamp = str(int(TS) + skew)
    callback = safe_mode(TEXT_XML.format(text="hi"), timestamp=timestamp)
    result = await oa(http).handle_webhook(oa_channel(), "callback", callback)
    assert result.inbound[0].text == "hi"


@pytest.mark.parametrize("timestamp", ["", "soon", "-5", "1.7e9"])
async def test_a_timestamp_that_is_no_unix_time_is_refused(
    http: aiohttp.ClientSession, timestamp: str
) -> None:
    query = {"signature": sign(TOKEN, timestamp, NONCE), "timestamp": timestamp, "nonce": NONCE}
    body = TEXT_XML.format(text="hi").encode()
    with pytest.raises(InvalidSignature):
        await oa(http).handle_webhook(oa_channel(), "callback", request("POST", query, body))


async def test_a_stale_verification_is_refused(http: aiohttp.ClientSession) -> None:
    stale = str(int(TS) - REPLAY_WINDOW_S - 60)
    query = plain_query(stale) | {"echostr": "5938374626"}
    with pytest.raises(InvalidSignature, match="window"):
        await oa(http).handle_webhook(oa_channel(), "callback", request("GET", query))
    # Safe-mode verification decrypts echostr: a captured callback's Encrypt replayed as an
    # echostr must not be decrypted once the window has passed.
    packed = xmltodict.parse(
        WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(TEXT_XML, NONCE, stale)
    )["xml"]
    query = {
        "msg_signature": packed["MsgSignature"],
        "timestamp": stale,
        "nonce": NONCE,
        "echostr": packed["Encrypt"],
    }
    with pytest.raises(InvalidSignature, match="window"):
        await oa(http).handle_webhook(oa_channel(), "callback", request("GET", query))
