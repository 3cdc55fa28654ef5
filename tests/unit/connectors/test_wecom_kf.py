"""The WeCom 微信客服 connector: callback crypto, bad input, and sync_msg message parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.wecom_kf import WeComKfConnector
from connectors.wecom_kf.parse import parse_kf_message, status_from_kf_message
from hub.domain.channels import Wake
from hub.domain.errors import InvalidInput, InvalidSignature, MalformedPayload
from hub.domain.model import MessageKind, MessageStatus
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
)

CORP_ID = "ww0123456789abcdef"
TS, NONCE = "1700000000", "998877"


@pytest.fixture
async def connector() -> AsyncIterator[WeComKfConnector]:
    async with aiohttp.ClientSession() as http:
        yield WeComKfConnector(http)


def kf_channel(**extra: Any) -> Channel:
    settings = {
        "corp_id": CORP_ID,
        "secret": "kf-secret",
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "open_kfid": "wkKefuHubAccount01",
    }
    return channel("wecom_kf", settings | extra)


def encrypted_post(plain: str) -> tuple[dict[str, str], bytes]:
    reply = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(plain, NONCE, TS))
    query = {"msg_signature": reply["xml"]["MsgSignature"], "timestamp": TS, "nonce": NONCE}
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{reply['xml']['Encrypt']}]]></Encrypt>"
        "<AgentID><![CDATA[]]></AgentID></xml>"
    )
    return query, body.encode()


async def test_url_verification_with_the_crypto_vector(connector: WeComKfConnector) -> None:
    v = crypto_vectors()
    e = v["echostr"]
    ch = channel(
        "wecom_kf",
        {
            "corp_id": v["app_or_corp_id"],
            "secret": "s",
            "token": v["token"],
            "encoding_aes_key": v["encoding_aes_key"],
            "open_kfid": "wk1",
        },
    )
    query = {
        "msg_signature": e["signature"],
        "timestamp": e["timestamp"],
        "nonce": e["nonce"],
        "echostr": e["echostr"],
    }
    result = await connector.handle_webhook(ch, "callback", request("GET", query))
    assert result.response.body.isdigit()


async def test_decrypt_vector_as_a_callback(connector: WeComKfConnector) -> None:
    v = crypto_vectors()
    d = v["decrypt"]
    ch = channel(
        "wecom_kf",
        {
            "corp_id": v["app_or_corp_id"],
            "secret": "s",
            "token": v["token"],
            "encoding_aes_key": v["encoding_aes_key"],
            "open_kfid": "wk1",
        },
    )
    query = {"msg_signature": d["msg_signature"], "timestamp": d["timestamp"], "nonce": d["nonce"]}
    result = await connector.handle_webhook(
        ch, "callback", request("POST", query, d["body"].encode())
    )
    (inbound,) = result.inbound
    assert (inbound.text, inbound.sender_id) == (
        d["expect"]["Content"],
        d["expect"]["FromUserName"],
    )


async def test_wrong_signature_is_refused(connector: WeComKfConnector) -> None:
    query, body = encrypted_post((OWN / "wecom-kf-callback.xml").read_text())
    query["msg_signature"] = "0" * 40
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(kf_channel(), "callback", request("POST", query, body))


async def test_plaintext_body_is_refused_as_unsigned(connector: WeComKfConnector) -> None:
    # WeCom signs the Encrypt value: a body without one carries nothing a signature signs.
    body = (shared_fixtures() / "wecom-parse-text-message.xml").read_bytes()
    query = {"msg_signature": "0" * 40, "timestamp": TS, "nonce": NONCE}
    with pytest.raises(InvalidSignature, match="no Encrypt"):
        await connector.handle_webhook(kf_channel(), "callback", request("POST", query, body))


async def test_unsigned_xml_bomb_is_refused(connector: WeComKfConnector) -> None:
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(
            kf_channel(), "callback", request("POST", {}, (OWN / "oa-bomb.xml").read_bytes())
        )


async def test_signed_xml_bomb_is_malformed(connector: WeComKfConnector) -> None:
    query, body = encrypted_post((OWN / "oa-bomb.xml").read_text())
    with pytest.raises(MalformedPayload, match="DTD"):
        await connector.handle_webhook(kf_channel(), "callback", request("POST", query, body))


async def test_kf_callback_wakes_the_poller_with_its_token(connector: WeComKfConnector) -> None:
    query, body = encrypted_post((OWN / "wecom-kf-callback.xml").read_text())
    result = await connector.handle_webhook(kf_channel(), "callback", request("POST", query, body))
    assert result.wake == (Wake("kf_sync", "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"),)
    assert result.inbound == ()
    assert result.response.status == 200


async def test_callback_for_another_account_is_ignored(connector: WeComKfConnector) -> None:
    query, body = encrypted_post((OWN / "wecom-kf-callback.xml").read_text())
    result = await connector.handle_webhook(
        kf_channel(open_kfid="wkSomeoneElse"), "callback", request("POST", query, body)
    )
    assert result.inbound == ()
    assert result.wake == ()
    assert result.response.status == 200


def _messages() -> dict[str, dict[str, Any]]:
    raw = json.loads((OWN / "wecom-kf-sync-messages.json").read_text())
    return {m["msgid"]: m for m in raw}


@pytest.mark.parametrize(
    ("msgid", "kind", "event"),
    [
        ("kf-text-1", MessageKind.TEXT, None),
        ("kf-image-1", MessageKind.IMAGE, None),
        ("kf-voice-1", MessageKind.AUDIO, None),
        ("kf-video-1", MessageKind.VIDEO, None),
        ("kf-file-1", MessageKind.FILE, None),
        ("kf-location-1", MessageKind.LOCATION, None),
        ("kf-link-1", MessageKind.LINK, None),
        ("kf-mini-1", MessageKind.LINK, None),
        ("kf-enter-1", MessageKind.EVENT, "enter_session"),
        ("kf-fail-1", MessageKind.EVENT, "msg_send_fail"),
        ("kf-servicer-1", MessageKind.EVENT, "servicer_status_change"),
        ("kf-session-1", MessageKind.EVENT, "session_status_change"),
        ("kf-agent-1", MessageKind.EVENT, "servicer_message"),
        ("kf-card-1", MessageKind.EVENT, "unknown_message"),
    ],
)
def test_sync_messages_parse(msgid: str, kind: MessageKind, event: str | None) -> None:
    inbound = parse_kf_message(_messages()[msgid])
    assert inbound is not None
    assert (inbound.kind, inbound.provider_event_id) == (kind, msgid)
    assert inbound.sender_id
    if event:
        assert inbound.data["event"] == event


def test_enter_session_carries_the_welcome_code() -> None:
    inbound = parse_kf_message(_messages()["kf-enter-1"])
    assert inbound is not None
    assert inbound.data["welcome_code"] == "WELCOMECODE"
    assert inbound.data["scene"] == "123"
    assert inbound.sender_id == "wmCustomer01"


def test_send_failure_is_also_a_status_update() -> None:
    status = status_from_kf_message(_messages()["kf-fail-1"])
    assert status is not None
    assert (status.provider_message_id, status.status) == ("kfmsg-99", MessageStatus.FAILED)
    assert "48 hours" in (status.error or "")
    assert status_from_kf_message(_messages()["kf-text-1"]) is None


def test_entry_without_msgid_is_skipped() -> None:
    assert parse_kf_message({"msgtype": "text", "text": {"content": "x"}}) is None


def test_validate_settings(connector: WeComKfConnector) -> None:
    model = connector.info.settings
    ok = validate_settings(model, kf_channel().settings)
    assert ok["api_base_url"] == "https://qyapi.weixin.qq.com"
    with pytest.raises(InvalidInput):
        validate_settings(model, kf_channel(encoding_aes_key="").settings)
    with pytest.raises(InvalidInput):
        validate_settings(model, kf_channel(open_kfid=None).settings)
