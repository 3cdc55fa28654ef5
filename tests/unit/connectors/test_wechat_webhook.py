"""The Official Account connector verifies and parses callbacks exactly as WeChat sends them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from connectors.wechat import WeChatConnector
from connectors.wechat.crypto import decrypt
from hub.domain.errors import InvalidInput, InvalidSignature, MalformedPayload, NotFound
from hub.domain.model import MessageKind
from hub.domain.records import Channel
from hub.domain.settings import validate_settings
from tests.unit.connectors.wechat_support import (
    AES_KEY,
    OWN,
    TOKEN,
    channel,
    crypto_vectors,
    request,
    shared_fixtures,
    sign,
)

APP_ID = "wx0123456789abcdef"
TS, NONCE = "1700000000", "1234567"
TEXT_XML = (
    "<xml><ToUserName><![CDATA[gh_kefuhub]]></ToUserName>"
    "<FromUserName><![CDATA[oCustomer1]]></FromUserName><CreateTime>1700000000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>"
    "<MsgId>24000000000000009</MsgId></xml>"
)


@pytest.fixture
async def connector() -> AsyncIterator[WeChatConnector]:
    # The session is never used for callbacks: handle_webhook makes no HTTP calls. The clock
    # is the samples' signing time, inside the replay window.
    async with aiohttp.ClientSession() as http:
        yield WeChatConnector(http, clock=lambda: float(TS))


def oa_channel(**extra: Any) -> Channel:
    settings = {"app_id": APP_ID, "app_secret": "s", "token": TOKEN, "encoding_aes_key": AES_KEY}
    return channel("wechat", settings | extra)


def plain_query(token: str = TOKEN) -> dict[str, str]:
    return {"signature": sign(token, TS, NONCE), "timestamp": TS, "nonce": NONCE, "openid": "o1"}


def encrypted(plain: str, *, compatible: bool = False) -> tuple[dict[str, str], bytes]:
    """A safe-mode (or compatible-mode) POST built with wechatpy's own crypto."""
    reply = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(plain, NONCE, TS))
    enc, msg_signature = reply["xml"]["Encrypt"], reply["xml"]["MsgSignature"]
    query = plain_query() | {"encrypt_type": "aes", "msg_signature": msg_signature}
    inner = (
        plain.removeprefix("<xml>").removesuffix("</xml>")
        if compatible
        else ("<ToUserName><![CDATA[gh_kefuhub]]></ToUserName>")
    )
    return query, f"<xml>{inner}<Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()


async def test_server_verification_answers_echostr(connector: WeChatConnector) -> None:
    query = plain_query() | {"echostr": "5938374626"}
    result = await connector.handle_webhook(oa_channel(), "callback", request("GET", query))
    assert result.response.body == b"5938374626"
    assert result.inbound == ()


async def test_server_verification_with_wrong_token_is_refused(connector: WeChatConnector) -> None:
    query = plain_query("othertoken") | {"echostr": "5938374626"}
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(oa_channel(), "callback", request("GET", query))


async def test_safe_mode_verification_decrypts_echostr(connector: WeChatConnector) -> None:
    reply = xmltodict.parse(
        WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message("echo42", NONCE, TS)
    )
    query = {
        "msg_signature": reply["xml"]["MsgSignature"],
        "timestamp": TS,
        "nonce": NONCE,
        "echostr": reply["xml"]["Encrypt"],
    }
    result = await connector.handle_webhook(oa_channel(), "callback", request("GET", query))
    assert result.response.body == b"echo42"


async def test_plaintext_post(connector: WeChatConnector) -> None:
    result = await connector.handle_webhook(
        oa_channel(), "callback", request("POST", plain_query(), TEXT_XML.encode())
    )
    assert result.response.body == b"success"
    (inbound,) = result.inbound
    assert (inbound.kind, inbound.text, inbound.sender_id) == (
        MessageKind.TEXT,
        "你好",
        "oCustomer1",
    )


@pytest.mark.parametrize("compatible", [False, True])
async def test_encrypted_post(connector: WeChatConnector, compatible: bool) -> None:
    query, body = encrypted(TEXT_XML, compatible=compatible)
    result = await connector.handle_webhook(oa_channel(), "callback", request("POST", query, body))
    assert result.inbound[0].text == "你好"
    assert result.response.body == b"success"


@pytest.mark.parametrize("sample", ["text_message", "subscribe_scan_event"])
async def test_retries_carry_the_same_provider_event_id(
    connector: WeChatConnector, sample: str
) -> None:
    xml = TEXT_XML
    if sample == "subscribe_scan_event":
        xml = (shared_fixtures() / "oa-event-subscribe-scan-event.xml").read_text()
    ids = set()
    for _ in range(3):  # WeChat retries three times when it gets no answer in 5 s
        query, body = encrypted(xml)
        result = await connector.handle_webhook(
            oa_channel(), "callback", request("POST", query, body)
        )
        ids.add(result.inbound[0].provider_event_id)
    assert len(ids) == 1


async def test_wrong_signature_is_refused(connector: WeChatConnector) -> None:
    query = plain_query() | {"signature": "0" * 40}
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(oa_channel(), "callback", request("POST", query, b"<xml/>"))


async def test_missing_signature_is_refused(connector: WeChatConnector) -> None:
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(oa_channel(), "callback", request("POST", {}, b"<xml/>"))


async def test_wrong_msg_signature_is_refused(connector: WeChatConnector) -> None:
    query, body = encrypted(TEXT_XML)
    query["msg_signature"] = "f" * 40
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(oa_channel(), "callback", request("POST", query, body))


async def test_bad_aes_payload_is_malformed(connector: WeChatConnector) -> None:
    garbage = "bm90IGFuIEFFUyBwYXlsb2Fk"
    query = plain_query() | {"msg_signature": sign(TOKEN, TS, NONCE, garbage)}
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>".encode()
    with pytest.raises(MalformedPayload):
        await connector.handle_webhook(oa_channel(), "callback", request("POST", query, body))


async def test_payload_for_another_app_is_malformed(connector: WeChatConnector) -> None:
    query, body = encrypted(TEXT_XML)
    other = oa_channel(app_id="wxffffffffffffffff")
    with pytest.raises(MalformedPayload, match="not for this account"):
        await connector.handle_webhook(other, "callback", request("POST", query, body))


async def test_encrypted_post_without_key_is_malformed(connector: WeChatConnector) -> None:
    query, body = encrypted(TEXT_XML)
    with pytest.raises(MalformedPayload):
        await connector.handle_webhook(
            oa_channel(encoding_aes_key=None), "callback", request("POST", query, body)
        )


async def test_xml_bomb_post_is_malformed(connector: WeChatConnector) -> None:
    body = (OWN / "oa-bomb.xml").read_bytes()
    with pytest.raises(MalformedPayload):
        await connector.handle_webhook(
            oa_channel(), "callback", request("POST", plain_query(), body)
        )


async def test_unknown_webhook_name(connector: WeChatConnector) -> None:
    with pytest.raises(NotFound):
        await connector.handle_webhook(oa_channel(), "other", request("POST", plain_query()))


def test_crypto_vector_decrypts() -> None:
    v = crypto_vectors()
    d = v["decrypt"]
    envelope = xmltodict.parse(d["body"])["xml"]
    crypto = WeChatCrypto(v["token"], v["encoding_aes_key"], v["app_or_corp_id"])
    plain = decrypt(
        crypto, v["token"], envelope["Encrypt"], d["msg_signature"], d["timestamp"], d["nonce"]
    )
    fields = xmltodict.parse(plain)["xml"]
    for key, value in d["expect"].items():
        assert fields[key] == value


async def test_crypto_vector_echostr_through_safe_mode_verification() -> None:
    v = crypto_vectors()
    e = v["echostr"]
    ch = channel(
        "wechat",
        {
            "app_id": v["app_or_corp_id"],
            "app_secret": "s",
            "token": v["token"],
            "encoding_aes_key": v["encoding_aes_key"],
        },
    )
    query = {
        "msg_signature": e["signature"],
        "timestamp": e["timestamp"],
        "nonce": e["nonce"],
        "echostr": e["echostr"],
    }
    async with aiohttp.ClientSession() as http:
        connector = WeChatConnector(http, clock=lambda: float(e["timestamp"]))
        result = await connector.handle_webhook(ch, "callback", request("GET", query))
    assert result.response.body
    assert result.response.body != e["echostr"].encode()


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    return validate_settings(WeChatConnector.info.settings, settings)


def test_validate_settings_normalises() -> None:
    settings = validate(
        {
            "app_id": " wx1 ",
            "app_secret": "x",
            "token": "abc123",
            "subscribe_reply": " 欢迎 ",
            "api_base_url": "http://127.0.0.1:9999/",
        }
    )
    assert settings["app_id"] == "wx1"
    assert settings["api_base_url"] == "http://127.0.0.1:9999"
    assert settings["subscribe_reply"] == "欢迎"
    assert settings["encoding_aes_key"] is None
    default = validate({"app_id": "wx1", "app_secret": "x", "token": "abc"})
    assert default["api_base_url"] == "https://api.weixin.qq.com"
    assert WeChatConnector.info.secret_settings == {"app_secret", "token", "encoding_aes_key"}


@pytest.mark.parametrize(
    "bad",
    [
        {"app_secret": "x", "token": "abc"},
        {"app_id": "wx1", "app_secret": "x", "token": "a"},
        {"app_id": "wx1", "app_secret": "x", "token": "abc", "encoding_aes_key": "short"},
        {"app_id": "wx1", "app_secret": "x", "token": "abc", "api_base_url": "ftp://x"},
        {"app_id": "wx1", "app_secret": "x", "token": "abc", "subscribe_reply": 5},
        {"app_id": "wx1", "app_secret": "x", "token": "abc", "subscribe_reply": "字" * 700},
        # unknown settings are refused, not stored: nothing reads them
        {"app_id": "wx1", "app_secret": "x", "token": "abc", "business_hours": "keep"},
    ],
)
def test_validate_settings_refuses(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        validate(bad)
