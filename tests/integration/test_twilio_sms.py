"""Twilio SMS through the whole hub: webhooks signed as Twilio signs them, replies to a twilio
Twilio API, and its signed status callbacks back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import aiohttp
import pytest
from defusedxml import ElementTree

from connectors.twilio.api import fetch_media
from hub.domain.errors import PermanentSendError, TransientSendError
from hub.domain.model import AttachmentRef, MessageKind
from tests.clients import AgentSocket
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    SERVICE_SID,
    TWILIO_NUMBER,
    FakeTwilio,
    inbound_fields,
    sid,
    signed_headers,
)
from tests.integration.conftest import RunningHub

T = TypeVar("T")
PHOTO = b"\xff\xd8\xff\xe0 an MMS photo"


async def sms_channel(hub: RunningHub, twilio: FakeTwilio, **settings: Any) -> dict[str, Any]:
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "twilio",
            "name": "短信 SMS",
            "settings": {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "phone_number": TWILIO_NUMBER,
                "api_base_url": twilio.base,
                **settings,
            },
        },
    )
    assert status == 201, channel
    return channel


def local(hub: RunningHub, public_url: str) -> str:
    """Where the hub listens for a public URL (what a reverse proxy in front of it does)."""
    return hub.base + urlsplit(public_url).path


async def twilio_posts(
    hub: RunningHub,
    url: str,
    fields: list[tuple[str, str]],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
) -> tuple[int, str, str]:
    """Post as Twilio does: the form signed for the public ``url`` it was configured with."""
    headers = signed_headers(signed_url or url, fields, token)
    async with hub.http.post(
        local(hub, url), data=urlencode(fields).encode(), headers=headers
    ) as response:
        return response.status, response.content_type, await response.text()


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, within_s: float = 10
) -> T:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        await asyncio.sleep(0.05)


async def message(hub: RunningHub, conversation_id: int, message_id: int) -> dict[str, Any]:
    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages?limit=200")
    assert status == 200, page
    [found] = [m for m in page["items"] if m["id"] == message_id]
    return dict(found)


async def reaches(
    hub: RunningHub, conversation_id: int, message_id: int, status: str
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await message(hub, conversation_id, message_id)
        return found if found["status"] == status else None

    return await eventually(check, f"message {message_id} is {status}")


async def reply(hub: RunningHub, conversation_id: int, text: str) -> dict[str, Any]:
    status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": text}
    )
    assert status == 201, sent
    return dict(sent)


def assert_empty_twiml(content_type: str, body: str) -> None:
    assert content_type == "text/xml"
    root = ElementTree.fromstring(body)
    assert root.tag == "Response"
    assert list(root) == []


async def test_sms_and_mms_arrive_replies_reach_twilio_and_reports_come_back(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    channel = await sms_channel(hub, twilio)
    assert channel["settings"]["auth_token"] == "********"
    sms_url = channel["webhook_urls"]["sms"]
    status_url = channel["webhook_urls"]["sms_status"]
    assert sms_url.endswith(f"/hooks/{channel['id']}/sms")
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)

    text = "我的快递到哪了？ Where is my parcel?"
    first = sid("SM")
    for _ in range(3):  # Twilio retries a webhook with the same MessageSid
        status, content_type, body = await twilio_posts(
            hub, sms_url, inbound_fields(first, CUSTOMER, text)
        )
        assert status == 200, body
        assert_empty_twiml(content_type, body)
    created = await agent.message_created(text)
    conversation_id = created["conversation_id"]

    mms = sid("MM")
    media_url = twilio.add_media(PHOTO, "image/jpeg", mms)
    fields = inbound_fields(mms, CUSTOMER, "", media=[(media_url, "image/jpeg")])
    status, _, body = await twilio_posts(hub, sms_url, fields)
    assert status == 200, body
    ready = await agent.next(
        "message.updated",
        lambda f: bool(f["data"]["attachments"]) and f["data"]["attachments"][0]["ready"],
    )
    assert ready["data"]["conversation_id"] == conversation_id
    assert ready["data"]["kind"] == "image"
    [attachment] = ready["data"]["attachments"]
    async with hub.http.get(hub.base + attachment["url"]) as response:
        assert await response.read() == PHOTO
        assert response.headers["Content-Type"] == "image/jpeg"
    # fetched with the account's credentials, through Twilio's redirect to its file store
    assert [authorised for _, authorised in twilio.media_requests] == [True]
    assert len(twilio.files_served) == 1

    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    assert [m["text"] for m in page["items"]] == [text, ""]
    _, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
    status, contact = await hub.api("GET", f"/contacts/{conversation['contact']['id']}")
    assert status == 200, contact
    assert contact["phone"] == CUSTOMER
    assert "手机用户" in contact["name"]

    sent = await reply(hub, conversation_id, "已发货，单号 SF123")
    await reaches(hub, conversation_id, sent["id"], "sent")
    [form] = twilio.sent
    assert form == {
        "To": CUSTOMER,
        "From": TWILIO_NUMBER,
        "Body": "已发货，单号 SF123",
        "StatusCallback": status_url,
    }
    [message_sid] = twilio.callbacks

    def reach(url: str) -> str:
        return local(hub, url)

    assert await twilio.report(hub.http, message_sid, "sent", reach=reach) == (200, "")
    assert await twilio.report(hub.http, message_sid, "delivered", reach=reach) == (200, "")
    await reaches(hub, conversation_id, sent["id"], "delivered")
    # a late "sent" does not undo "delivered"
    assert await twilio.report(hub.http, message_sid, "sent", reach=reach) == (200, "")
    await asyncio.sleep(0.2)
    assert (await message(hub, conversation_id, sent["id"]))["status"] == "delivered"

    # a report on a message the hub never sent is harmless
    unknown = sid("SM")
    twilio.callbacks[unknown] = status_url
    assert await twilio.report(hub.http, unknown, "delivered", reach=reach) == (200, "")

    twilio.refuse.append(21610)
    refused = await reply(hub, conversation_id, "还在吗？")
    failed = await reaches(hub, conversation_id, refused["id"], "failed")
    assert failed["failure"]["code"] == "twilio.21610"
    assert "退订" in failed["failure"]["text"]["zh-CN"]
    assert "STOP" in failed["failure"]["text"]["en"]
    assert len(twilio.sent) == 1

    _, page = await hub.api("GET", f"/conversations?channel_id={channel['id']}")
    assert [c["id"] for c in page["items"]] == [conversation_id]
    await agent.close()


async def test_an_agent_s_files_go_out_as_an_mms_twilio_fetches_from_the_hub(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    twilio.reach = lambda url: local(hub, url)
    channel = await sms_channel(hub, twilio)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await twilio_posts(hub, channel["webhook_urls"]["sms"], inbound_fields(sid("SM"), body="发票?"))
    conversation_id = (await agent.message_created("发票?"))["conversation_id"]
    await agent.close()
    photo = b"\x89PNG\r\n\x1a\n an invoice"
    form = aiohttp.FormData()
    form.add_field("file", photo, filename="发票.png", content_type="image/png")
    async with hub.http.post(hub.base + "/api/v1/uploads", data=form, headers=hub.auth()) as r:
        assert r.status == 201
        upload = await r.json()

    status, sent = await hub.api(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"text": "这是您的发票 your invoice", "attachments": [upload["token"]]},
    )
    assert status == 201, sent
    await reaches(hub, conversation_id, sent["id"], "sent")
    [posted] = twilio.posted
    [media_url] = [value for name, value in posted if name == "MediaUrl"]
    assert ("Body", "这是您的发票 your invoice") in posted
    # An absolute, signed address at the hub's public URL, which Twilio fetched.
    assert media_url.startswith("http://127.0.0.1:8080/files/")  # KEFU_PUBLIC_URL
    assert twilio.fetched == [(media_url, 200, "image/png", photo)]


async def test_stop_unsubscribes_the_customer_and_start_brings_them_back(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    channel = await sms_channel(hub, twilio)
    sms_url = channel["webhook_urls"]["sms"]
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), body="我想退货"))
    conversation_id = (await agent.message_created("我想退货"))["conversation_id"]
    status, _, body = await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), body="退订"))
    assert status == 200
    assert_empty_twiml("text/xml", body)
    stop = await agent.message_created("退订")
    assert stop["kind"] == "event"
    assert stop["data"]["event"] == "opted_out"

    status, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
    status, contact = await hub.api("GET", f"/contacts/{conversation['contact']['id']}")
    [identity] = contact["identities"]
    assert identity["opted_out_at"] is not None

    refused = await reply(hub, conversation_id, "请问订单号？")
    failed = await reaches(hub, conversation_id, refused["id"], "failed")
    assert failed["failure"]["code"] == "hub.opted_out"
    assert "退订" in failed["failure"]["text"]["zh-CN"]
    assert twilio.posted == []  # nothing reached Twilio

    await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), body="START"))
    await agent.message_created("START")
    await agent.close()
    status, contact = await hub.api("GET", f"/contacts/{conversation['contact']['id']}")
    assert contact["identities"][0]["opted_out_at"] is None
    sent = await reply(hub, conversation_id, "欢迎回来 welcome back")
    await reaches(hub, conversation_id, sent["id"], "sent")
    assert [form["Body"] for form in twilio.sent] == ["欢迎回来 welcome back"]


async def test_an_undelivered_report_fails_the_message_with_the_reason(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    channel = await sms_channel(hub, twilio, phone_number="", messaging_service_sid=SERVICE_SID)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await twilio_posts(hub, channel["webhook_urls"]["sms"], inbound_fields(sid("SM"), body="hi"))
    conversation_id = (await agent.message_created("hi"))["conversation_id"]
    await agent.close()

    sent = await reply(hub, conversation_id, "您好")
    await reaches(hub, conversation_id, sent["id"], "sent")
    [form] = twilio.sent
    assert form["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in form
    [message_sid] = twilio.callbacks
    status = await twilio.report(
        hub.http, message_sid, "undelivered", 30003, reach=lambda url: local(hub, url)
    )
    assert status == (200, "")
    failed = await reaches(hub, conversation_id, sent["id"], "failed")
    assert "unreachable" in failed["error"]
    assert "twilio.30003" in failed["error"]
    # The thread shows the reason in the agent's language, as for a refused send.
    assert failed["failure"]["code"] == "twilio.30003"
    assert "无法接通" in failed["failure"]["text"]["zh-CN"]
    assert "unreachable" in failed["failure"]["text"]["en"]


async def test_bad_signatures_store_nothing(hub: RunningHub, twilio: FakeTwilio) -> None:
    channel = await sms_channel(hub, twilio)
    sms_url = channel["webhook_urls"]["sms"]
    fields = inbound_fields(sid("SM"), CUSTOMER, "forged")
    for forged in (
        {"token": "0" * 32},
        {"signed_url": local(hub, sms_url)},  # the address behind the proxy, not Twilio's
        {"signed_url": sms_url.replace("/sms", "/sms_status")},
    ):
        status, _, body = await twilio_posts(hub, sms_url, fields, **forged)
        assert status == 403, body
    async with hub.http.post(local(hub, sms_url), data=urlencode(fields).encode()) as response:
        assert response.status == 403
    status, _, body = await twilio_posts(
        hub, sms_url, [(k, v) for k, v in fields if k != "MessageSid"]
    )
    assert status == 400
    assert "MessageSid" in body
    status, _, _ = await twilio_posts(
        hub, channel["webhook_urls"]["sms_status"], fields, token="0" * 32
    )
    assert status == 403
    _, page = await hub.api("GET", f"/conversations?channel_id={channel['id']}")
    assert page["items"] == []


async def test_media_downloads_map_twilio_s_answers(twilio: FakeTwilio) -> None:
    settings = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base_url": twilio.base}
    url = twilio.add_media(PHOTO, "image/png")
    ref = AttachmentRef(kind=MessageKind.IMAGE, content_type="image/png", provider_ref=url)
    async with aiohttp.ClientSession() as http:
        twilio.media_failures = 1
        with pytest.raises(TransientSendError):
            await fetch_media(http, settings, ref)
        media = await fetch_media(http, settings, ref)
        assert (media.data, media.content_type) == (PHOTO, "image/png")
        assert media.filename == url.rsplit("/", 1)[-1]

        gone = AttachmentRef(provider_ref=twilio.media_url(sid("ME")))
        with pytest.raises(PermanentSendError) as refused:
            await fetch_media(http, settings, gone)
        assert refused.value.code == "twilio.media_gone"
        assert refused.value.texts["zh-CN"]

        # credentials go only to the API's own host, never to a host a payload names
        elsewhere = AttachmentRef(provider_ref=url.replace("127.0.0.1", "localhost"))
        with pytest.raises(PermanentSendError) as refused:
            await fetch_media(http, settings, elsewhere)
        assert refused.value.code == "twilio.media_refused"
        assert twilio.media_requests[-1][1] is False

        fake_down = {**settings, "api_base_url": "http://127.0.0.1:9"}
        closed = AttachmentRef(provider_ref="http://127.0.0.1:9/2010-04-01/Media/ME1")
        with pytest.raises(TransientSendError):
            await fetch_media(http, fake_down, closed)
