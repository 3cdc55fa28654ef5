"""Email through the whole hub over real SMTP: aiosmtplib sends to the hub's receiver, and the
hub's replies reach a real aiosmtpd server in the test, checked header by header."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import pytest

from tests.clients import AgentSocket
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.conftest import SUPPORT, RunningHub, email_channel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
CUSTOMER = "wang.fang@customer.test"


def customer_mail(subject: str, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"王芳 <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Message-ID"] = headers.pop("message_id", make_msgid(domain="customer.test"))
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


async def send_to_hub(hub: RunningHub, mail: EmailMessage, to: str = SUPPORT) -> None:
    await aiosmtplib.send(
        mail, hostname="127.0.0.1", port=hub.extras["smtp_port"], recipients=[to], timeout=10
    )


async def test_a_mail_a_reply_and_the_customer_s_answer_stay_in_one_thread(
    mail_hub: RunningHub, sink: SmtpSink
) -> None:
    hub = mail_hub
    await email_channel(hub, sink.port)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    first = customer_mail(
        "退货申请 Return request", "您好，水壶坏了，想退货。\n王芳", message_id="<m1@customer.test>"
    )
    first.add_attachment(
        b"\x89PNG\r\n\x1a\n photo", maintype="image", subtype="png", filename="坏了.png"
    )
    await send_to_hub(hub, first)
    created = await agent.message_created("您好，水壶坏了，想退货。\n王芳")
    conversation_id = created["conversation_id"]
    [photo] = created["attachments"]
    assert photo["filename"] == "坏了.png"
    assert photo["ready"] is True
    status, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
    status, contact = await hub.api("GET", f"/contacts/{conversation['contact']['id']}")
    assert contact["email"] == CUSTOMER
    assert contact["name"] == "王芳"

    status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "已为您办理退货。"}
    )
    assert status == 201, sent
    reply = await sink.next_mail()
    assert reply["To"] == CUSTOMER
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert "Lotus & Co. 莲记" in reply["From"].addresses[0].display_name
    assert reply["In-Reply-To"] == "<m1@customer.test>"
    assert reply["References"] == "<m1@customer.test>"
    assert reply["Subject"] == f"Re: 退货申请 Return request [#{conversation_id}]"
    assert reply.get_body(("plain",)).get_content().strip() == "已为您办理退货。"
    ours = reply["Message-ID"]
    assert ours.endswith("@shop.test>")

    # The customer answers the reply: it joins the same conversation.
    answer = customer_mail(
        f"Re: 退货申请 Return request [#{conversation_id}]",
        "谢谢！\n\n在 2026年11月26日，Lotus 写道：\n> 已为您办理退货。",
        In_Reply_To=ours,
        References=f"<m1@customer.test> {ours}",
    )
    await send_to_hub(hub, answer)
    joined = await agent.message_created("谢谢！")
    assert joined["conversation_id"] == conversation_id

    # A new mail without any reference starts its own thread.
    await send_to_hub(hub, customer_mail("发票 Invoice", "请开发票。"))
    other = await agent.message_created("请开发票。")
    await agent.close()
    assert other["conversation_id"] != conversation_id


async def test_the_receiver_refuses_what_it_cannot_take(
    mail_hub: RunningHub, sink: SmtpSink
) -> None:
    hub = mail_hub
    await email_channel(hub, sink.port)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_to_hub(hub, customer_mail("hi", "hi"), to="nobody@shop.test")
    assert next(iter(refused.value.recipients)).code == 550
    huge = customer_mail("big", "a 30 MB attachment")
    huge.add_attachment(
        bytes(30 * 1024 * 1024), maintype="application", subtype="zip", filename="big.zip"
    )
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await send_to_hub(hub, huge)
    assert too_big.value.code == 552
    # and the next mail is taken all the same
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await send_to_hub(hub, customer_mail("still there?", "还在吗？"))
    await agent.message_created("还在吗？")
    await agent.close()


async def test_a_refused_reply_fails_with_the_server_s_reason_and_a_bounce_fails_it_later(
    mail_hub: RunningHub, sink: SmtpSink
) -> None:
    hub = mail_hub
    await email_channel(hub, sink.port)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await send_to_hub(hub, customer_mail("问题", "有个问题"))
    conversation_id = (await agent.message_created("有个问题"))["conversation_id"]
    sink.refuse.append("550 5.1.1 <wang.fang@customer.test>: Recipient address rejected")
    status, refused = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "您好"}
    )
    assert status == 201, refused
    failed = await agent.next(
        "message.updated",
        lambda f: f["data"]["id"] == refused["id"] and f["data"]["status"] == "failed",
    )
    assert failed["data"]["failure"]["code"] == "email.550"
    assert "Recipient address rejected" in failed["data"]["failure"]["text"]["zh-CN"]
    await agent.close()


async def test_a_bounce_fails_the_reply_it_reports_on(mail_hub: RunningHub, sink: SmtpSink) -> None:
    hub = mail_hub
    await email_channel(hub, sink.port)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await send_to_hub(hub, customer_mail("地址", "请寄到新地址"))
    conversation_id = (await agent.message_created("请寄到新地址"))["conversation_id"]
    status, sent = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "好的"}
    )
    assert status == 201, sent
    reply = await sink.next_mail()
    await agent.next(
        "message.updated", lambda f: f["data"]["id"] == sent["id"] and f["data"]["status"] == "sent"
    )
    # Hours later the customer's server gives up and sends a delivery report back.
    report = (FIXTURES / "postfix-dsn.eml").read_bytes()
    report = report.replace(b"<reply-1234-5@kefu.example>", str(reply["Message-ID"]).encode())
    await aiosmtplib.send(
        report,
        sender="MAILER-DAEMON@mail.kefu.example",
        recipients=[SUPPORT],
        hostname="127.0.0.1",
        port=hub.extras["smtp_port"],
        timeout=10,
    )
    failed = await agent.next(
        "message.updated",
        lambda f: f["data"]["id"] == sent["id"] and f["data"]["status"] == "failed",
    )
    await agent.close()
    assert failed["data"]["failure"]["code"] == "email.bounced"
    assert "5.1.1" in failed["data"]["failure"]["text"]["en"]
    # The report itself is no customer message.
    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages")
    assert [m["text"] for m in page["items"]] == ["请寄到新地址", "好的"]
