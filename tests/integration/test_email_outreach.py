"""An agent writes first: a new email conversation started from the API reaches a real SMTP
server as a new thread, and the customer's answer lands back in it."""

from __future__ import annotations

from tests.clients import AgentSocket
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.conftest import SUPPORT, RunningHub, email_channel
from tests.integration.test_email import customer_mail, send_to_hub

NEW_CUSTOMER = "zhao.min@customer.test"


async def test_an_agent_starts_an_email_thread_and_the_answer_joins_it(
    mail_hub: RunningHub, sink: SmtpSink
) -> None:
    hub = mail_hub
    channel = await email_channel(hub, sink.port)
    status, kinds = await hub.api("GET", "/channel-kinds")
    outreach = {k["kind"]: k["outreach"] for k in kinds["items"]}
    assert outreach["email"]["titled"] is True
    assert outreach["email"]["recipient"]["zh-CN"] == "客户邮箱地址"
    assert outreach["webchat"] is None  # web chat's customers write first

    status, started = await hub.api(
        "POST",
        "/conversations",
        json={
            "channel_id": channel["id"],
            "to": f"赵敏 <{NEW_CUSTOMER.upper()}>",
            "title": "  您的订单 2024 已发货  ",
            "text": "您好，您的订单已经发货，单号 SF123。",
        },
    )
    assert status == 201, started
    conversation_id = started["id"]
    assert started["status"] == "open"
    assert started["channel"]["id"] == channel["id"]
    status, me = await hub.api("GET", "/me")
    assert started["assignee_id"] == me["id"]

    mail = await sink.next_mail()
    assert mail["To"] == NEW_CUSTOMER
    assert mail["From"].addresses[0].addr_spec == SUPPORT
    assert mail["Subject"] == f"您的订单 2024 已发货 [#{conversation_id}]"
    assert mail["In-Reply-To"] is None
    assert mail.get_body(("plain",)).get_content().strip() == "您好，您的订单已经发货，单号 SF123。"

    status, contact = await hub.api("GET", f"/contacts/{started['contact']['id']}")
    assert contact["email"] == NEW_CUSTOMER

    # the customer answers from their mail client: the answer lands in the started thread
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    answer = customer_mail(
        f"Re: 您的订单 2024 已发货 [#{conversation_id}]",
        "收到，谢谢！",
        In_Reply_To=mail["Message-ID"],
        References=mail["Message-ID"],
    )
    answer.replace_header("From", f"赵敏 <{NEW_CUSTOMER}>")
    await send_to_hub(hub, answer)
    joined = await agent.message_created("收到，谢谢！")
    await agent.close()
    assert joined["conversation_id"] == conversation_id


async def test_starting_a_conversation_refuses_what_cannot_be_sent(
    mail_hub: RunningHub, sink: SmtpSink
) -> None:
    hub = mail_hub
    channel = await email_channel(hub, sink.port)
    base = {"channel_id": channel["id"], "to": NEW_CUSTOMER, "title": "问候", "text": "您好"}
    refusals = [
        ({**base, "to": "not an address"}, "not an email address"),
        ({**base, "to": SUPPORT.upper()}, "the channel's own address"),
        ({**base, "title": "   "}, "needs a title"),
        ({**base, "text": "  "}, "needs text or an attachment"),
        ({**base, "channel_id": hub.channel_id}, "the customer writes first"),
        ({**base, "channel_id": 999_999}, "channel 999999"),
        ({**base, "attachments": ["forged"]}, "attachment token is invalid"),
    ]
    for body, reason in refusals:
        status, answer = await hub.api("POST", "/conversations", json=body)
        assert status in (404, 422), (body, answer)
        assert reason in answer["error"]["reason"], (body, answer)
    status, page = await hub.api("GET", f"/conversations?channel_id={channel['id']}")
    assert page["items"] == []  # nothing refused left a conversation behind
    assert sink.received == []
