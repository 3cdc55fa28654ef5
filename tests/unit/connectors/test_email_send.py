"""A reply as the customer's mail client gets it: threaded, tokened, from the support address."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest

from connectors.email.mail import thread_title
from connectors.email.send import compose, subject
from connectors.email.settings import EmailSettings
from hub.domain.errors import InvalidInput
from hub.domain.model import MessageKind, Outbound
from hub.domain.settings import validate_settings

SETTINGS: dict[str, Any] = {
    "address": "support@shop.test",
    "display_name": "Lotus & Co. 莲记",
    "smtp_host": "smtp.shop.test",
    "smtp_port": 587,
    "smtp_security": "starttls",
}


def reply(**extra: Any) -> Outbound:
    fields: dict[str, Any] = {
        "message_id": 9,
        "conversation_id": 1234,
        "recipient_id": "wang.fang@customer.test",
        "kind": MessageKind.TEXT,
        "text": "您好，\n\n已为您办理退货。",
        "references": ("m1@customer.test", "ours-1@shop.test", "m2@customer.test"),
        "title": "退货申请",
        "sender_name": "Li Na 李娜",
    }
    return Outbound(**{**fields, **extra})


def as_received(mail: EmailMessage) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(mail.as_bytes(), policy=policy.default))


def test_a_reply_names_its_thread_and_carries_the_token() -> None:
    mail = as_received(compose(SETTINGS, reply(), [("发票.pdf", "application/pdf", b"%PDF")]))
    assert mail["To"] == "wang.fang@customer.test"
    [sender] = mail["From"].addresses
    assert sender.addr_spec == "support@shop.test"
    assert sender.display_name == "Li Na 李娜 · Lotus & Co. 莲记"
    assert mail["Subject"] == "Re: 退货申请 [#1234]"
    assert mail["In-Reply-To"] == "<m2@customer.test>"
    assert mail["References"] == "<m1@customer.test> <ours-1@shop.test> <m2@customer.test>"
    assert mail["Message-ID"].endswith("@shop.test>")
    assert mail["Auto-Submitted"] == "no"
    assert mail.get_body(("plain",)).get_content().strip() == "您好，\n\n已为您办理退货。"
    html = mail.get_body(("html",)).get_content()
    assert "<p>您好，</p><p>已为您办理退货。</p>" in html
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "发票.pdf"
    assert attached.get_content() == b"%PDF"


def test_a_first_message_without_a_thread_still_has_its_token() -> None:
    mail = as_received(compose(SETTINGS, reply(references=(), title=""), []))
    assert mail["Subject"] == "[#1234]"
    assert mail["In-Reply-To"] is None
    text = "<script>alert(1)</script>"
    html = as_received(compose(SETTINGS, reply(text=text), [])).get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("given", "title"),
    [
        ("Re: RE: 回复：退货申请 [#1234]", "退货申请"),
        ("Fwd: 转发: Invoice", "Invoice"),
        ("AW: Sv: order 12", "order 12"),
        ("[#99] 问题", "问题"),
    ],
)
def test_the_thread_title_drops_reply_prefixes_and_the_token(given: str, title: str) -> None:
    assert thread_title(given) == title
    assert subject(given, 7) == f"Re: {title} [#7]"
    assert subject(given, 7, answering=False) == f"{title} [#7]"


def test_settings_are_checked() -> None:
    stored = validate_settings(EmailSettings, {**SETTINGS, "smtp_host": " SMTP.Shop.Test. "})
    assert stored["smtp_host"] == "smtp.shop.test"
    assert stored["smtp_password"] == ""
    with pytest.raises(InvalidInput, match="smtp_host"):
        validate_settings(EmailSettings, {**SETTINGS, "smtp_host": "http://evil/"})
    with pytest.raises(InvalidInput, match="address"):
        validate_settings(EmailSettings, {**SETTINGS, "address": "not an address"})
    with pytest.raises(InvalidInput, match="smtp_security"):
        validate_settings(EmailSettings, {**SETTINGS, "smtp_security": "tls1.0"})
