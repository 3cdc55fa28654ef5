"""Email in the inbox, in a real browser: a customer's mail arrives over SMTP, an agent replies
in the page, the reply reaches a real SMTP server threaded under the mail, and the customer's
answer lands in the same conversation."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.conftest import Hub, LoopThread, _free_port, login, serving
from tests.fakes.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser

T = TypeVar("T")
SUPPORT = "support@lotus.test"
CUSTOMER = "wang.fang@customer.test"


class Sink(LoopThread):
    """The test's own SMTP server, on a loop of its own in a thread."""

    def __init__(self) -> None:
        self.sink = SmtpSink()
        super().__init__(self.sink.running, "the SMTP server")


@pytest.fixture
def sink() -> Iterator[Sink]:
    running = Sink()
    yield running
    running.close()


@pytest.fixture
def mail_hub(tmp_path: Path) -> Iterator[tuple[Hub, int]]:
    smtp_port = _free_port()
    with serving(tmp_path, KEFU_SMTP_PORT=str(smtp_port)) as (base, port, token, _env):
        yield Hub(base, port, "", 0, token, tmp_path), smtp_port


def wait_until(check: Callable[[], T | None], what: str, within_s: float = 10) -> T:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {within_s:g} s: {what}")


def send_mail(smtp_port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.send_message(mail)


def test_a_mail_is_answered_in_the_inbox_and_the_answer_threads_back(
    mail_hub: tuple[Hub, int], sink: Sink, new_page: Any
) -> None:
    hub, smtp_port = mail_hub
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "email",
            "name": "客服邮箱",
            "settings": {
                "address": SUPPORT,
                "display_name": "Lotus & Co. 莲记",
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.sink.port,
                "smtp_security": "none",
            },
        },
    )
    first = EmailMessage()
    first["From"] = f"王芳 <{CUSTOMER}>"
    first["To"] = SUPPORT
    first["Subject"] = "水壶坏了"
    first["Message-ID"] = "<kettle-1@customer.test>"
    first.set_content("您好，我上周买的水壶坏了。")
    send_mail(smtp_port, first)

    def conversation() -> Any:
        items = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]
        return items[0] if items else None

    conv = wait_until(conversation, "the mail to open a conversation")
    agent = new_page(locale="zh-CN", width=1440, height=960)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/inbox/{conv['id']}")
    first_in = agent.locator(".msg.in", has_text="您好，我上周买的水壶坏了。")
    first_in.wait_for()
    assert first_in.locator(".thread-title").inner_text() == "水壶坏了"  # the mail's subject
    box = agent.locator(".reply-input")
    box.fill("很抱歉，我们马上为您换一个新的。")
    box.press("Enter")
    agent.locator(".msg.out[data-status=sent]", has_text="马上为您换").wait_for()

    reply = sink.run(sink.sink.next_mail())
    assert reply["In-Reply-To"] == "<kettle-1@customer.test>"
    assert reply["Subject"] == f"Re: 水壶坏了 [#{conv['id']}]"
    assert reply["To"] == CUSTOMER
    assert reply.get_body(("plain",)).get_content().strip() == "很抱歉，我们马上为您换一个新的。"

    # The customer answers from their mail client: the answer shows in the same thread.
    answer = EmailMessage()
    answer["From"] = f"王芳 <{CUSTOMER}>"
    answer["To"] = SUPPORT
    answer["Subject"] = str(reply["Subject"])
    answer["Message-ID"] = "<kettle-2@customer.test>"
    answer["In-Reply-To"] = str(reply["Message-ID"])
    answer["References"] = f"<kettle-1@customer.test> {reply['Message-ID']}"
    answer.set_content("好的，谢谢！\n\n> 很抱歉，我们马上为您换一个新的。")
    send_mail(smtp_port, answer)
    answer_in = agent.locator(".msg.in", has_text="好的，谢谢！")
    answer_in.wait_for()
    assert answer_in.locator(".thread-title").count() == 0  # the same thread: not repeated

    # An out-of-office answer is marked as one.
    away = EmailMessage()
    away["From"] = f"王芳 <{CUSTOMER}>"
    away["To"] = SUPPORT
    away["Subject"] = "自动回复: " + str(reply["Subject"])
    away["Auto-Submitted"] = "auto-replied"
    away["In-Reply-To"] = str(reply["Message-ID"])
    away.set_content("我正在休假，12月1日回来。")
    send_mail(smtp_port, away)
    marked = agent.locator(".msg.in", has_text="我正在休假")
    marked.locator(".note-tag[data-event=auto_reply]").wait_for()
    assert "自动回复" in marked.locator(".note-tag[data-event=auto_reply]").inner_text()
    assert len(hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"]) == 1


def test_an_agent_starts_an_email_conversation_from_the_inbox(
    mail_hub: tuple[Hub, int], sink: Sink, new_page: Any
) -> None:
    hub, smtp_port = mail_hub
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "email",
            "name": "客服邮箱",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.sink.port,
                "smtp_security": "none",
            },
        },
    )
    agent = new_page(locale="zh-CN", width=1440, height=960)
    login(agent, hub)
    agent.locator(".conv-list").wait_for()
    agent.keyboard.press("c")  # the shortcut opens the same dialog as the "新会话" button
    dialog = agent.get_by_test_id("compose-dialog")
    dialog.wait_for()
    assert dialog.get_by_text("客户邮箱地址").is_visible()  # the kind's own label, in Chinese
    dialog.locator("input[name=to]").fill("zhou.jie@customer.test")
    dialog.locator("textarea[name=text]").fill("您好，您的订单已发货。")
    dialog.get_by_role("button", name="发送").click()
    # the subject is required on email: the browser keeps the dialog open until it is given
    assert dialog.is_visible()
    dialog.locator("input[name=title]").fill("发货通知")
    dialog.get_by_role("button", name="发送").click()
    dialog.wait_for(state="detached")

    sent = agent.locator(".msg.out[data-status=sent]", has_text="您的订单已发货")
    sent.wait_for()
    conv = hub.api("GET", f"/conversations?channel_id={channel['id']}")["items"][0]
    assert f"#/inbox/{conv['id']}" in agent.url
    assert agent.locator(".conv.selected").count() == 1
    mail = sink.run(sink.sink.next_mail())
    assert mail["To"] == "zhou.jie@customer.test"
    assert mail["Subject"] == f"发货通知 [#{conv['id']}]"

    # the customer answers: it appears in the thread the agent started
    answer = EmailMessage()
    answer["From"] = "周杰 <zhou.jie@customer.test>"
    answer["To"] = SUPPORT
    answer["Subject"] = f"Re: {mail['Subject']}"
    answer["Message-ID"] = "<ship-answer@customer.test>"
    answer["In-Reply-To"] = str(mail["Message-ID"])
    answer.set_content("收到了，谢谢！")
    send_mail(smtp_port, answer)
    agent.locator(".msg.in", has_text="收到了，谢谢！").wait_for()


def test_the_admin_sees_why_a_mailbox_cannot_be_read(
    mail_hub: tuple[Hub, int], new_page: Any
) -> None:
    hub, _ = mail_hub
    closed = _free_port()  # nothing listens there: the reader cannot connect
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "email",
            "name": "售后邮箱",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "imap_host": "127.0.0.1",
                "imap_port": closed,
                "imap_security": "none",
                "imap_password": "secret",
            },
        },
    )
    wait_until(
        lambda: hub.api("GET", f"/channels/{channel['id']}")["problems"], "the reader's problem"
    )
    admin = new_page(locale="zh-CN", width=1440, height=960)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    card = admin.locator(".card", has_text="售后邮箱")
    card.locator(".reader-warn").wait_for()
    card.click()
    notice = admin.get_by_test_id("reader-problems")
    notice.wait_for()
    assert "本系统暂时无法读取该渠道" in notice.inner_text()
    assert "暂时无法读取邮箱" in notice.inner_text()
    assert f"127.0.0.1:{closed}" in notice.inner_text()
