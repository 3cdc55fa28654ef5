"""WeChat through the whole hub: callbacks as WeChat sends them, replies to a fake WeChat API."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto as OACrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from tests.clients import AgentSocket
from tests.fakes.wechat_api import CORP_ID, KF_SECRET, OA_APP_ID, OA_SECRET, FakeWeChatApi
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings
from tests.unit.connectors.wechat_support import AES_KEY, OWN, TOKEN, sign

NONCE = "98765"


def ts() -> str:
    """Now: WeChat's callbacks are refused outside a few minutes of the server's clock."""
    return str(int(time.time()))


def text_xml(msg_id: int, content: str, openid: str = "oCustomer42") -> str:
    now = int(time.time())
    return (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{now}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def safe_mode(plain: str) -> tuple[dict[str, str], bytes]:
    """What WeChat POSTs in safe mode, built with wechatpy's own crypto."""
    now = ts()
    packed = xmltodict.parse(OACrypto(TOKEN, AES_KEY, OA_APP_ID).encrypt_message(plain, NONCE, now))
    query = {
        "signature": sign(TOKEN, now, NONCE),
        "timestamp": now,
        "nonce": NONCE,
        "openid": "oCustomer42",
        "encrypt_type": "aes",
        "msg_signature": packed["xml"]["MsgSignature"],
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<Encrypt><![CDATA[{packed['xml']['Encrypt']}]]></Encrypt></xml>"
    )
    return query, body.encode()


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeWeChatApi, str]]:
    api = FakeWeChatApi()
    async with api.running() as base:
        yield api, base


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


async def oa_channel(hub: RunningHub, base: str, **extra: Any) -> dict[str, Any]:
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "wechat",
            "name": "公众号",
            "settings": {
                "app_id": OA_APP_ID,
                "app_secret": OA_SECRET,
                "token": TOKEN,
                "encoding_aes_key": AES_KEY,
                "api_base_url": base,
                **extra,
            },
        },
    )
    assert status == 201, channel
    return channel


async def post(hub: RunningHub, url: str, query: dict[str, str], body: bytes) -> tuple[int, str]:
    async with hub.http.post(url, params=query, data=body) as response:
        return response.status, await response.text()


async def wait_for(predicate: Any, within_s: float = 10) -> None:
    """Poll a fake's records: the fake server has no events of its own to wait on."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_text_arrives_once_and_the_reply_reaches_the_customer(
    hub: RunningHub, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, base = fake
    channel = await oa_channel(hub, base)
    callback = channel["webhook_urls"]["callback"]
    assert callback.endswith(f"/hooks/{channel['id']}/callback")
    assert channel["settings"]["app_secret"] == "********"
    local = hub.base + f"/hooks/{channel['id']}/callback"

    now = ts()
    echo = {"signature": sign(TOKEN, now, NONCE), "timestamp": now, "nonce": NONCE, "echostr": "e1"}
    async with hub.http.get(local, params=echo) as response:
        assert response.status == 200
        assert await response.text() == "e1"

    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    query, body = safe_mode(text_xml(6_500_000_001, "我的快递到哪了？"))
    for _ in range(3):  # WeChat retries a slow answer three times with the same MsgId
        assert await post(hub, local, query, body) == (200, "success")
    created = await agent.message_created("我的快递到哪了？")
    conversation_id = created["conversation_id"]
    await asyncio.sleep(0.3)
    _, messages = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    assert [m["text"] for m in messages["items"]] == ["我的快递到哪了？"]

    _, conv = await hub.api("GET", f"/conversations/{conversation_id}")
    assert conv["reply_window"]["remaining"] == 5
    assert conv["reply_window"]["limit"] == 5

    _status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "已发货，单号 SF123"}
    )
    await agent.next(
        "message.updated", lambda f: f["data"]["id"] == sent["id"] and f["data"]["status"] == "sent"
    )
    [(path, payload)] = api.calls
    assert path == "/cgi-bin/message/custom/send"
    assert payload == {
        "touser": "oCustomer42",
        "msgtype": "text",
        "text": {"content": "已发货，单号 SF123"},
    }
    _, conv = await hub.api("GET", f"/conversations/{conversation_id}")
    assert conv["reply_window"]["remaining"] == 4

    api.fail_next["/cgi-bin/message/custom/send"].append(45015)
    _, late = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "还在吗"}
    )
    failed = await agent.next(
        "message.updated",
        lambda f: f["data"]["id"] == late["id"] and f["data"]["status"] == "failed",
    )
    assert "48" in failed["data"]["error"]
    assert failed["data"]["failure"]["code"] == "wechat.45015"
    assert "48 小时" in failed["data"]["failure"]["text"]["zh-CN"]
    await agent.close()


async def test_bad_callbacks_are_refused_and_store_nothing(
    hub: RunningHub, fake: tuple[FakeWeChatApi, str]
) -> None:
    _, base = fake
    channel = await oa_channel(hub, base)
    local = hub.base + f"/hooks/{channel['id']}/callback"
    query, body = safe_mode(text_xml(6_500_000_002, "hi"))
    forged = dict(query, signature="0" * 40)
    status, text = await post(hub, local, forged, body)
    assert status == 403
    status, text = await post(hub, local, dict(query, msg_signature="0" * 40), body)
    assert status == 403
    plain_query = {k: query[k] for k in ("signature", "timestamp", "nonce")}
    status, text = await post(hub, local, plain_query, b"<xml><unclosed>")
    assert status == 400
    assert "reason" in text
    bomb = (OWN / "oa-bomb.xml").read_bytes()
    status, text = await post(hub, local, plain_query, bomb)
    assert status == 400
    async with hub.http.post(local, params=plain_query, data=io.BytesIO(b"x" * 1_100_000)) as r:
        assert r.status == 413
    status, _ = await post(hub, hub.base + "/hooks/9999/callback", plain_query, body)
    assert status == 404
    status, _ = await post(hub, hub.base + f"/hooks/{channel['id']}/nope", plain_query, body)
    assert status == 404
    _, page = await hub.api("GET", "/conversations")
    assert page["items"] == []


async def test_images_are_fetched_and_follows_get_the_auto_reply(
    hub: RunningHub, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, base = fake
    api.media["MEDIA_PHOTO"] = (b"\xff\xd8\xff jpeg bytes", "image/jpeg", "photo.jpg")
    channel = await oa_channel(hub, base, subscribe_reply="欢迎关注！回复 1 查询订单")
    local = hub.base + f"/hooks/{channel['id']}/callback"
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    image = (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        "<FromUserName><![CDATA[oCustomer7]]></FromUserName><CreateTime>1700000100</CreateTime>"
        "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz/x]]></PicUrl>"
        "<MediaId><![CDATA[MEDIA_PHOTO]]></MediaId><MsgId>6500000000000000099</MsgId></xml>"
    )
    query, body = safe_mode(image)
    assert await post(hub, local, query, body) == (200, "success")
    ready = await agent.next(
        "message.updated",
        lambda f: bool(f["data"]["attachments"]) and f["data"]["attachments"][0]["ready"],
    )
    async with hub.http.get(hub.base + ready["data"]["attachments"][0]["url"]) as response:
        assert await response.read() == b"\xff\xd8\xff jpeg bytes"
        assert response.headers["Content-Type"] == "image/jpeg"

    follow = (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        "<FromUserName><![CDATA[oNewFan]]></FromUserName><CreateTime>1700000200</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    )
    query, body = safe_mode(follow)
    assert await post(hub, local, query, body) == (200, "success")
    await wait_for(lambda: any(p == "/cgi-bin/message/custom/send" for p, _ in api.calls))
    [(_, payload)] = [c for c in api.calls if c[0] == "/cgi-bin/message/custom/send"]
    assert payload["touser"] == "oNewFan"
    assert payload["text"]["content"] == "欢迎关注！回复 1 查询订单"
    await agent.close()


async def test_wecom_pulls_messages_welcomes_and_ends_the_session(
    hub: RunningHub, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, base = fake
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "wecom_kf",
            "name": "微信客服",
            "settings": {
                "corp_id": CORP_ID,
                "secret": KF_SECRET,
                "token": TOKEN,
                "encoding_aes_key": AES_KEY,
                "open_kfid": "wkKefuHubAccount01",
                "api_base_url": base,
                "welcome_text": "您好，我是客服小美",
            },
        },
    )
    assert status == 201, channel
    api.kf_messages = [
        {
            "msgid": "kf-enter-1",
            "open_kfid": "wkKefuHubAccount01",
            "external_userid": "wmCustomer01",
            "send_time": 1700000400,
            "origin": 4,
            "msgtype": "event",
            "event": {
                "event_type": "enter_session",
                "open_kfid": "wkKefuHubAccount01",
                "external_userid": "wmCustomer01",
                "scene": "123",
                "welcome_code": "WELCOME-CODE-1",
            },
        },
        {
            "msgid": "kf-text-1",
            "open_kfid": "wkKefuHubAccount01",
            "external_userid": "wmCustomer01",
            "send_time": 1700000401,
            "origin": 3,
            "msgtype": "text",
            "text": {"content": "你好，我想咨询一下"},
        },
    ]
    plain = (OWN / "wecom-kf-callback.xml").read_text()
    now = ts()
    packed = xmltodict.parse(WorkCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(plain, NONCE, now))
    query = {"msg_signature": packed["xml"]["MsgSignature"], "timestamp": now, "nonce": NONCE}
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{packed['xml']['Encrypt']}]]></Encrypt>"
        "<AgentID><![CDATA[]]></AgentID></xml>"
    ).encode()
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    local = hub.base + f"/hooks/{channel['id']}/callback"
    for _ in range(2):  # a repeated callback pulls again and makes no duplicate
        async with hub.http.post(local, params=query, data=body) as response:
            assert response.status == 200
    created = await agent.message_created("你好，我想咨询一下")
    await wait_for(lambda: any(p == "/cgi-bin/kf/send_msg_on_event" for p, _ in api.calls))
    [(_, welcome)] = [c for c in api.calls if c[0] == "/cgi-bin/kf/send_msg_on_event"]
    assert welcome["code"] == "WELCOME-CODE-1"
    assert welcome["text"]["content"] == "您好，我是客服小美"

    conversation_id = created["conversation_id"]
    await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "请问订单号是？"}
    )
    await wait_for(lambda: any(p == "/cgi-bin/kf/send_msg" for p, _ in api.calls))
    [(_, reply)] = [c for c in api.calls if c[0] == "/cgi-bin/kf/send_msg"]
    assert reply["touser"] == "wmCustomer01"
    assert reply["open_kfid"] == "wkKefuHubAccount01"
    assert reply["text"]["content"] == "请问订单号是？"

    await hub.api("PATCH", f"/conversations/{conversation_id}", json={"status": "resolved"})
    await wait_for(lambda: any(p == "/cgi-bin/kf/service_state/trans" for p, _ in api.calls))
    [(_, trans)] = [c for c in api.calls if c[0] == "/cgi-bin/kf/service_state/trans"]
    assert trans == {
        "open_kfid": "wkKefuHubAccount01",
        "external_userid": "wmCustomer01",
        "service_state": 4,
    }
    _, messages = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    texts = [m["text"] for m in messages["items"]]
    assert texts.count("你好，我想咨询一下") == 1
    await agent.close()
