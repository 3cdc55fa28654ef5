"""Satisfaction ratings (满意度评价) on each channel its own way, on SQLite and on PostgreSQL: a
WeChat "5" and an SMS "4" after resolution taken as the rating (signed as WeChat and Twilio sign
them), an email's rating link that works once, and automatic messages that keep to the same
rules as any reply."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.clients import AgentSocket
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.twilio_api import CUSTOMER, FakeTwilio, inbound_fields, sid
from tests.fakes.wechat_api import FakeWeChatApi
from tests.integration.conftest import (
    RunningHub,
    email_channel,
    free_port,
    inprocess_hub,
    make_settings,
)
from tests.integration.test_service_rules import (
    CLOSED,
    CLOSED_TEXTS,
    automatic_of,
    eventually,
    messages_of,
    set_hours,
    set_rules,
)
from tests.integration.test_twilio_sms import sms_channel, twilio_posts
from tests.integration.test_wechat_flow import oa_channel, post, safe_mode, text_xml, wait_for
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def hub(tmp_path: Path, database_url: str | None) -> AsyncIterator[RunningHub]:
    port = free_port()
    settings = make_settings(tmp_path, database_url, smtp_port=port, poll_check_s=0.2)
    async with inprocess_hub(settings) as running:
        running.extras["smtp_port"] = port
        yield running


@pytest.fixture
async def wechat() -> AsyncIterator[tuple[FakeWeChatApi, str]]:
    api = FakeWeChatApi()
    async with api.running() as base:
        yield api, base


async def answer_and_resolve(hub: RunningHub, conversation_id: int, text: str) -> None:
    status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": text}
    )
    assert status == 201, sent
    status, resolved = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert status == 200, resolved


async def conversations_of(hub: RunningHub, channel_id: int) -> list[dict[str, Any]]:
    status, page = await hub.api("GET", f"/conversations?channel_id={channel_id}")
    assert status == 200, page
    return sorted(page["items"], key=lambda c: c["id"])


def sent_texts(api: FakeWeChatApi) -> list[str]:
    return [
        payload["text"]["content"]
        for path, payload in api.calls
        if path == "/cgi-bin/message/custom/send"
    ]


async def test_a_wechat_5_after_resolution_is_the_rating_not_a_new_question(
    hub: RunningHub, wechat: tuple[FakeWeChatApi, str]
) -> None:
    api, base = wechat
    channel = await oa_channel(hub, base)
    await set_rules(
        hub, channel["id"], rating_request={"active": True}, rating_thanks={"active": True}
    )
    local = hub.base + f"/hooks/{channel['id']}/callback"
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)

    async def customer_says(msg_id: int, text: str, openid: str = "oCustomer42") -> None:
        assert await post(hub, local, *safe_mode(text_xml(msg_id, text, openid))) == (
            200,
            "success",
        )

    # a "5" with no rating asked for is an ordinary message
    await customer_says(6_600_000_001, "5", "oSomeoneElse")
    stray = await agent.message_created("5")

    await customer_says(6_600_000_002, "我的快递到哪了？")
    created = await agent.message_created("我的快递到哪了？")
    conversation_id = created["conversation_id"]
    await answer_and_resolve(hub, conversation_id, "已发货，单号 SF123")
    # the request goes out as a WeChat message, in the channel's language (no other is known)
    await wait_for(lambda: any("1–5" in t for t in sent_texts(api)))
    assert sent_texts(api)[-1] == "请为本次服务评分：回复数字 1–5（1 为很不满意，5 为非常满意）。"

    await customer_says(6_600_000_003, "５")
    conversation = await eventually(hub, conversation_id, lambda c: c["rating"] is not None)
    assert conversation["rating"]["score"] == 5
    assert conversation["rating"]["comment"] == ""
    assert conversation["status"] == "resolved"
    # the digit stays in the thread it answered, with the rating's line after it
    texts = [m["text"] for m in await messages_of(hub, conversation_id)]
    assert texts[texts.index("５") :][:2] == ["５", "★★★★★ 5/5"]
    # the channel thanks the customer, once
    await wait_for(lambda: sent_texts(api)[-1] == "感谢您的评价！")
    assert await automatic_of(hub, conversation_id) == ["rating_request", "rating_thanks"]
    # only the first reply is the rating: a "4" now is a new question in a new conversation
    await customer_says(6_600_000_004, "4")
    later = await agent.message_created("4")
    assert later["conversation_id"] not in (conversation_id, stray["conversation_id"])
    _, still = await hub.api("GET", f"/conversations/{conversation_id}")
    assert still["rating"]["score"] == 5
    await agent.close()


async def test_a_wechat_reply_other_than_a_digit_asks_a_new_question(
    hub: RunningHub, wechat: tuple[FakeWeChatApi, str]
) -> None:
    api, base = wechat
    channel = await oa_channel(hub, base)
    await set_rules(hub, channel["id"], rating_request={"active": True})
    local = hub.base + f"/hooks/{channel['id']}/callback"
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    assert await post(hub, local, *safe_mode(text_xml(6_600_000_011, "发票怎么开？")))
    created = await agent.message_created("发票怎么开？")
    await answer_and_resolve(hub, created["conversation_id"], "在订单页申请。")
    await wait_for(lambda: any("1–5" in t for t in sent_texts(api)))
    assert await post(hub, local, *safe_mode(text_xml(6_600_000_012, "6")))
    six = await agent.message_created("6")
    assert six["conversation_id"] != created["conversation_id"]
    _, first = await hub.api("GET", f"/conversations/{created['conversation_id']}")
    assert first["rating"] is None
    await agent.close()


async def test_an_sms_4_through_twilios_webhook_rates_the_resolved_conversation(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    channel = await sms_channel(hub, twilio)
    await set_rules(hub, channel["id"], language="en", rating_request={"active": True})
    sms_url = channel["webhook_urls"]["sms"]
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    status, _, _ = await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), CUSTOMER, "Hi"))
    assert status == 200
    created = await agent.message_created("Hi")
    conversation_id = created["conversation_id"]
    await answer_and_resolve(hub, conversation_id, "Your parcel arrives tomorrow.")
    asked = "How did we do? Reply with a number from 1 (poor) to 5 (excellent)."
    await eventually(hub, conversation_id, lambda c: c["rating_requested_at"] is not None)
    await wait_for(lambda: any(m.get("Body") == asked for m in twilio.sent))
    status, _, _ = await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), CUSTOMER, " 4 "))
    assert status == 200
    conversation = await eventually(hub, conversation_id, lambda c: c["rating"] is not None)
    assert conversation["rating"]["score"] == 4
    assert len(await conversations_of(hub, channel["id"])) == 1
    await agent.close()


async def test_automatic_messages_keep_to_the_rules_of_any_reply(
    hub: RunningHub, twilio: FakeTwilio
) -> None:
    """A customer who texted STOP is sent nothing, not even an out-of-hours message."""
    channel = await sms_channel(hub, twilio)
    await set_rules(hub, channel["id"], out_of_hours={"active": True, "texts": CLOSED_TEXTS})
    await set_hours(hub, channel["id"], CLOSED)
    sms_url = channel["webhook_urls"]["sms"]
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    other = "+8613900139000"
    await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), other, "STOP"))
    stopped = await agent.message_created("STOP")
    await twilio_posts(hub, sms_url, inbound_fields(sid("SM"), CUSTOMER, "Are you open?"))
    created = await agent.message_created("Are you open?")
    # the one who may be written to gets it; the one who opted out does not
    await wait_for(lambda: any(m.get("Body") == CLOSED_TEXTS["zh-CN"] for m in twilio.sent))
    assert [m["To"] for m in twilio.sent] == [CUSTOMER]
    assert await automatic_of(hub, created["conversation_id"]) == ["out_of_hours"]
    assert await automatic_of(hub, stopped["conversation_id"]) == []
    await agent.close()


async def test_an_emails_rating_link_works_once(hub: RunningHub, sink: SmtpSink) -> None:
    channel = await email_channel(hub, sink.port)
    await set_rules(hub, channel["id"], language="en", rating_request={"active": True})
    status, started = await hub.api(
        "POST",
        "/conversations",
        json={
            "channel_id": channel["id"],
            "to": "zhao.min@customer.test",
            "title": "Your order",
            "text": "Your order has shipped.",
        },
    )
    assert status == 201, started
    conversation_id = started["id"]
    await sink.next_mail()
    status, _ = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert status == 200
    mail = await sink.next_mail()
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("How did we do? Please rate this conversation:")
    found = re.search(r"https?://\S+/rate/\S+", body)
    assert found, body
    path = urlsplit(found.group(0)).path
    page = hub.base + path

    async with hub.http.get(page, headers={"Accept-Language": "zh-CN"}) as response:
        assert response.status == 200
        html = await response.text()
        assert "请为本次服务评分" in html
        assert response.headers["Referrer-Policy"] == "no-referrer"
    # a score outside 1-5 is refused with the reason, and the link still works
    for score in ("0", "6", "five", ""):
        async with hub.http.post(page, data={"score": score}) as response:
            assert response.status == 422, score
            assert "from 1 to 5" in await response.text()
    async with hub.http.post(page, data={"score": "4", "comment": "Quick & kind <3"}) as response:
        assert response.status == 200
        html = await response.text()
        assert "★★★★☆" in html
        assert "<3" not in html  # nothing the customer wrote is echoed unescaped
    conversation = await eventually(hub, conversation_id, lambda c: c["rating"] is not None)
    assert conversation["rating"]["score"] == 4
    assert conversation["rating"]["comment"] == "Quick & kind <3"
    # used once: the second time it is refused, as the page says
    async with hub.http.post(page, data={"score": "1"}) as response:
        assert response.status == 409
    async with hub.http.get(page) as response:
        assert response.status == 409
        assert "rated already" in await response.text()
    _, after = await hub.api("GET", f"/conversations/{conversation_id}")
    assert after["rating"]["score"] == 4
    # a forged link: another conversation's id under a broken signature, or none at all
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "garbage", "MQ.ZzZzZz.aaaaaaaaaaaaaaaaaaaaaaaaaaa"):
        async with hub.http.post(hub.base + f"/rate/{bad}", data={"score": "5"}) as response:
            assert response.status == 403, bad
            assert "not valid" in await response.text()
