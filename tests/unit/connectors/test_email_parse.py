"""Every mail, from real clients, hostile senders and mail servers, parses into the right fields."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.email.parse import MalformedMail, ParsedMail, conversation_token, parse_mail
from connectors.email.quotes import new_part

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared" / "fixtures" / "email").resolve()
OWN = REPO / "tests" / "fixtures" / "email"
EXPECTED: dict[str, dict[str, str]] = json.loads(
    (OWN / "expected-replies.json").read_text(encoding="utf-8")
)


def shared(folder: str) -> Path:
    """A folder of the shared real-world samples; the test is skipped loudly without them."""
    path = SHARED / folder
    if not path.is_dir():
        pytest.skip(
            f"SKIPPED: shared email samples not found at {path} (../shared beside the repo); "
            "the real-world reply, HTML and wild-mail checks did not run"
        )
    return path


def own(name: str) -> ParsedMail:
    return parse_mail((OWN / name).read_bytes())


def mail(*headers: str, body: str = "Hello") -> bytes:
    """A small mail for a single behaviour; headers as "Name: value" lines."""
    head = [*headers, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def html_mail(html: bytes) -> bytes:
    head = b"From: a@example.com\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
    return head + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html


# --- quoted history and signatures --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED["shared/replies"]))
def test_shared_replies_fold_to_their_new_text(name: str) -> None:
    raw = (shared("replies") / name).read_bytes()
    assert parse_mail(raw).text == EXPECTED["shared/replies"][name]


@pytest.mark.parametrize("name", sorted(EXPECTED["shared/html-replies"]))
def test_shared_html_replies_fold_to_their_new_text(name: str) -> None:
    html = (shared("html-replies") / name).read_bytes()
    assert parse_mail(html_mail(html)).text == EXPECTED["shared/html-replies"][name]


@pytest.mark.parametrize("folder", ["replies", "html-replies"])
def test_every_shared_reply_has_an_expected_text(folder: str) -> None:
    names = {path.name for path in shared(folder).iterdir() if path.suffix in (".eml", ".html")}
    assert names == set(EXPECTED[f"shared/{folder}"])


@pytest.mark.parametrize("name", sorted(EXPECTED["own"]))
def test_chinese_client_replies_fold_to_their_new_text(name: str) -> None:
    parsed = own(name)
    assert parsed.text == EXPECTED["own"][name]
    assert EXPECTED["own"][name] in parsed.full_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!\n\n> Where is it?\n> Order 42", "Thanks!"),
        ("> Where is it?\nIn the box.\n> And the lid?\nAlso there.", "In the box.\nAlso there."),
        ("Thanks\n-- \nLi Lei\nACME Ltd.", "Thanks"),
        ("Thanks\n--\nLi Lei", "Thanks"),
        ("Got it.\n\nSent from my iPhone", "Got it."),
        ("收到\n\n发自我的iPhone", "收到"),
        ("收到\n\n发自我的 iPad\n\n> 原文", "收到"),
        ("好的\r\n\r\n-----邮件原件-----\r\n发件人: a\r\n", "好的"),
        ("OK\n\n发件人：客服\n发送时间：2024-01-02\n主题：退货", "OK"),
        ("Yes.\n\n*From:* Kefu\n*Sent:* Monday\n*To:* me\n*Subject:* Re: x", "Yes."),
        (
            "Fine.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Kefu <\nsupport@kefu.example> wrote:\n> hi",
            "Fine.",
        ),
        ("Le 2 janv. 2024 à 10:00, Kefu a écrit :\n> bonjour\nMerci", "Merci"),
    ],
)
def test_new_part_folds_quotes_and_signatures(text: str, expected: str) -> None:
    assert new_part(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In your last mail you wrote:\nit ships in 3 days\nIt did not.",
        "My order:\n- cup\n- plate",
        "From: Berlin\nTo: Shanghai\nHow long does shipping take?",
        "Sent from my office, the invoice is attached.",
    ],
)
def test_new_part_keeps_what_only_looks_like_a_quote(text: str) -> None:
    assert new_part(text) == text


def test_new_part_of_a_reply_that_is_all_quote_is_empty() -> None:
    assert new_part("-----Original Message-----\nFrom: a\nSent: b\n\nold text") == ""
    assert new_part("> only\n> quoted") == ""


# --- charsets and encoded headers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "from_name", "subject", "text"),
    [
        (
            "gb2312-labelled-gbk.eml",
            "朱镕基",
            "催单：𠮷野家便当（镕）",
            "您好，我叫朱镕基，订单 #8812 里的𠮷野家便当还没到，请帮忙查一下。\n谢谢！",
        ),
        (
            "gbk.eml",
            "李四",
            "换货：杯子有裂缝（镕铸）",
            "你好，镕铸的杯子收到了，但是有裂缝。\n能换一个吗？",
        ),
        (
            "gb18030.eml",
            "王五",
            "修改收件人 𠮷田",
            "订单号 20240104：收件人写成了“𠮷田”，请改成“吉田”。",
        ),
        (
            "big5.eml",
            "陳大文",
            "查詢訂單出貨",
            "您好，請問我的訂單何時出貨？係咪已經寄出㗎？\n陳大文",
        ),
        (
            "iso-2022-jp.eml",
            "山田太郎",
            "注文について",
            "お問い合わせの件、注文番号は１２３です。ｶﾀｶﾅ も読めますか。",
        ),
        (
            "shift_jis.eml",
            "佐藤花子",
            "請求書①について",
            "ご注文①の件ですが、㈱サンプルの請求書が届いていません。",
        ),
        (
            "unknown-charset.eml",
            "赵六",
            "未知字符集",
            "你好，世界！这封信的字符集标签是 x-unknown。",
        ),
        ("missing-charset.eml", "钱七", "没有字符集标签", "正文是 GBK 编码，却没有标签。"),
    ],
)
def test_charsets_decode_even_when_labelled_too_narrow_or_not_at_all(
    name: str, from_name: str, subject: str, text: str
) -> None:
    parsed = own(name)
    assert (parsed.from_name, parsed.subject, parsed.full_text) == (from_name, subject, text)
    assert "\ufffd" not in parsed.full_text + parsed.subject + parsed.from_name


@pytest.mark.parametrize(
    ("charset", "body"),
    [("x-unknown", b"plain"), ("utf8mb4", "好".encode()), ("", b"\xff\xfe\x00"), ("base64", b"x")],
)
def test_unknown_charset_labels_do_not_crash(charset: str, body: bytes) -> None:
    label = f"; charset={charset}" if charset else ""
    raw = b"From: a@example.com\r\nContent-Type: text/plain" + label.encode() + b"\r\n\r\n" + body
    assert parse_mail(raw).full_text


def test_undecodable_bytes_are_replaced_as_a_last_resort() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nok \x80\xff"
    assert parse_mail(raw).full_text.startswith("ok ")


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("quoted-printable", "=E9=80=80=E8=B4=A7=EF=BC=9A=E6=9D=AF=E5=AD=90"),
        ("base64", base64.b64encode("退货：杯子".encode()).decode()),
        ("8bit", "退货：杯子"),
    ],
)
def test_transfer_encodings_give_the_same_text(encoding: str, payload: str) -> None:
    raw = mail("From: a@example.com", f"Content-Transfer-Encoding: {encoding}", body=payload)
    assert parse_mail(raw).full_text == "退货：杯子"


def test_encoded_names_keep_their_commas_and_bare_address_names_their_address() -> None:
    wild = shared("wild")
    commas = parse_mail((wild / "mail_test_18.eml").read_bytes())
    assert (commas.from_name, commas.from_address) == (
        "LastßlName, FirstName",
        "comma.name@example.com",
    )
    assert commas.cc == ("simple@example.net", "john.doe@example.com")
    bare = parse_mail((wild / "mail_test_19.eml").read_bytes())
    assert (bare.from_name, bare.from_address) == ("alice@example.com", "bob@example.com")
    assert bare.to == ("charlie@example.com", "dave@example.com")
    assert bare.cc == ("frank@example.com",)


def test_addresses_are_lowercased_and_names_decoded() -> None:
    parsed = own("folded-references.eml")
    assert (parsed.from_address, parsed.from_name) == ("ma.li@example.com", "Ma Li")
    assert parsed.to == ("support@kefu.example", "ops@kefu.example")
    assert parsed.cc == ("boss@example.com",)
    assert parse_mail(mail("From: MAILER-DAEMON", "Subject: x")).from_address == "mailer-daemon"
    assert parse_mail(mail("Subject: no sender")).from_address == ""


# --- structure and attachments ------------------------------------------------------------


def test_alternative_inside_related_inside_mixed() -> None:
    parsed = own("inline-image.eml")
    assert parsed.full_text == "The mug arrived broken, see the photo.\n\n[image: mug]"
    assert parsed.html is not None
    assert 'src="cid:mug@example.com"' in parsed.html
    image, receipt = parsed.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "mug.png",
        "image/png",
        "mug@example.com",
        True,
    )
    assert image.data.startswith(b"\x89PNG")
    assert (receipt.filename, receipt.content_type, receipt.inline) == (
        "receipt.pdf",
        "application/pdf",
        False,
    )
    assert receipt.data.startswith(b"%PDF")


def test_chinese_filenames_in_rfc2231_and_rfc2047() -> None:
    parsed = own("rfc2231-chinese-filename.eml")
    assert [(f.filename, f.content_type) for f in parsed.attachments] == [
        ("发票 2024.pdf", "application/pdf"),
        ("照片-镕.jpg", "image/jpeg"),  # RFC 2231 continuations, labelled gb2312, holding GBK
        ("订单明细.xls", "application/vnd.ms-excel"),  # RFC 2047 inside the quotes, as Outlook
        ("attachment-4", "application/octet-stream"),
    ]
    assert parsed.attachments[3].data == b"\x00\x01\x02\x03"
    assert parsed.full_text == "附件是发票、照片和订单明细。"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\me\\\\report.pdf"', "report.pdf"),
        ("attachment; filename*=UTF-8''evil%E2%80%AEfdp.exe", "evilfdp.exe"),
        ("attachment; filename*=UTF-8''a%07b%0Ac.txt", "abc.txt"),
        ('attachment; filename=".."', "attachment-1"),
        ('attachment; filename=""', "attachment-1"),
        ("attachment", "attachment-1"),
        (f'attachment; filename="{"长" * 300}.pdf"', "长" * 196 + ".pdf"),
        (f'attachment; filename="{"x" * 300}"', "x" * 200),
    ],
)
def test_filenames_are_safe(disposition: str, expected: str) -> None:
    boundary = "b"
    raw = (
        "From: a@example.com\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"AAEC\r\n--{boundary}--\r\n"
    ).encode()
    (attached,) = parse_mail(raw).attachments
    assert attached.filename == expected
    assert len(attached.filename) <= 200


def test_a_forwarded_mail_is_an_attachment_not_the_body() -> None:
    parsed = own("qq-bounce.eml")
    (original,) = parsed.attachments
    assert (original.filename, original.content_type) == ("原邮件.eml", "message/rfc822")
    assert b"Message-ID: <reply-1234-6@kefu.example>" in original.data
    assert "您好，退货地址如下" not in parsed.full_text


# --- HTML ---------------------------------------------------------------------------------


def test_script_laden_html_keeps_its_text_and_loses_every_script() -> None:
    parsed = own("script-laden.eml")
    assert parsed.html is not None
    lowered = parsed.html.lower()
    for hazard in (
        "<script",
        "onclick",
        "onload",
        "onerror",
        "onmouseover",
        "javascript:",
        "<iframe",
        "<svg",
        "<form",
        "<input",
        "<style",
        "expression",
        "<object",
        "<embed",
        "<meta",
        "<base",
        "<link",
        "data:text",
        "alert(",
    ):
        assert hazard not in lowered, hazard
    assert 'href="https://shop.example/orders/42"' in parsed.html
    assert 'src="https://shop.example/logo.png"' in parsed.html  # the page decides on loading
    assert 'src="cid:logo@shop.example"' in parsed.html
    for kept in ("Please check my order #42.", "tracking link", "the real one", "Thanks, Mallory"):
        assert kept in parsed.full_text
    assert "alert" not in parsed.full_text
    assert "Order 42" not in parsed.full_text  # the <title>


def test_html_only_mail_gives_text_with_blocks_on_their_own_lines() -> None:
    parsed = own("html-only.eml")
    assert parsed.full_text == (
        "Order problem\n\nHello,\n\nMy order #42 arrived broken:\n\n- cup\n- plate\n\n"
        "Order 42\nTotal ¥99\n\nThanks\nChen Jing"
    )
    assert parsed.html is not None
    assert parsed.html.startswith("<h1>Order problem</h1>")


def test_plain_mail_has_no_html() -> None:
    assert own("gbk.eml").html is None


def test_safe_inline_styles_survive_and_hazardous_ones_do_not() -> None:
    html = (
        b'<p style="color: red; position: fixed">a</p><p style="color: x; width: expression(1)">'
        b'b</p><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">'
    )
    parsed = parse_mail(html_mail(html))
    assert parsed.html == (
        '<p style="color:red">a</p><p>b</p><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">'
    )


# --- wild, malformed and hostile mail -----------------------------------------------------


def _wild_files() -> list[Any]:
    folder = SHARED / "wild"
    if not folder.is_dir():
        return [pytest.param(None, id="shared-wild-missing")]
    return sorted(folder.iterdir())


@pytest.mark.parametrize("path", _wild_files(), ids=lambda p: getattr(p, "name", str(p)))
def test_wild_mail_parses_or_is_refused_cleanly(path: Path | None) -> None:
    if path is None:
        shared("wild")
        return
    try:
        parsed = parse_mail(path.read_bytes())
    except MalformedMail:
        return
    assert parsed.message_id
    assert parsed.date is None or parsed.date.tzinfo is not None


def test_wild_samples_as_expected() -> None:
    wild = shared("wild")
    with pytest.raises(MalformedMail):  # an Outlook .msg file, not a mail
        parse_mail((wild / "mail_outlook_1.eml").read_bytes())
    bounce = parse_mail((wild / "mail_malformed_2.eml").read_bytes()).bounce
    assert bounce is not None
    assert bounce.original_message_id == "004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"
    assert (bounce.recipient, bounce.status) == ("abh@netpar.com.br", "4.2.2")
    assert bounce.reason.startswith("Your message has encountered delivery problems")
    # Its inner multipart reuses the outer boundary, so the parser cannot reach the zip after it.
    reused = parse_mail((wild / "mail_malformed_1.eml").read_bytes())
    assert (reused.full_text, reused.attachments) == ("--Sent from my iPhone", ())


def test_a_good_mail_after_bad_ones_still_parses() -> None:
    for path in sorted(shared("wild").iterdir()):
        with contextlib.suppress(MalformedMail):
            parse_mail(path.read_bytes())
    assert own("gbk.eml").subject == "换货：杯子有裂缝（镕铸）"


def _nested(levels: int) -> bytes:
    parts = [b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"]
    parts += [
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(levels)
    ]
    parts.append(b"Content-Type: text/plain\r\n\r\ndeepest\r\n")
    parts += [b"--b%d--\r\n" % i for i in reversed(range(levels))]
    return b"".join(parts)


def test_deep_nesting_is_cut_at_max_depth() -> None:
    raw = _nested(100)
    assert parse_mail(raw).full_text == ""
    assert parse_mail(raw, max_depth=200).full_text == "deepest"


def test_nesting_too_deep_for_the_parser_is_refused() -> None:
    with pytest.raises(MalformedMail):
        parse_mail(_nested(1000))


def test_a_30_mb_attachment() -> None:
    data = bytes(range(256)) * (30 * 1024 * 1024 // 256)
    raw = (
        b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="big"\r\n\r\n'
        b"--big\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
        b"--big\r\nContent-Type: application/zip\r\n"
        b'Content-Disposition: attachment; filename="a.zip"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
        + b"--big--\r\n"
    )
    started = time.monotonic()
    parsed = parse_mail(raw)
    assert time.monotonic() - started < 20
    (attached,) = parsed.attachments
    assert attached.data == data
    assert parsed.full_text == "see attachment"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (b"Content-Type: multipart/mixed; boundary=B; " + b'a=";' * 50_000, b"--B--"),
        (b"Content-Disposition: attachment; " + b"a=b;" * 50_000, b"x"),
        (b"To: " + b"@" * 200_000, b"x"),
        (b"Subject: " + b"=?a?q?" * 30_000, b" " * 200_000 + b"x"),
        (b"From: MAILER-DAEMON@example.org\r\nX-Failed-Recipients: a@b.c", b"\n" * 200_000),
    ],
    ids=["content-type-quotes", "disposition-params", "at-signs", "spaces", "blank-lines"],
)
def test_hostile_sizes_take_no_time(headers: bytes, body: bytes) -> None:
    raw = headers + b"\r\nFrom: a@example.com\r\n\r\n" + body
    started = time.monotonic()
    parse_mail(raw)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n\r\n", b"\x00\x01\x02", b"\xd0\xcf\x11\xe0" + bytes(500), b"just some words\n"],
)
def test_what_is_not_a_mail_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedMail):
        parse_mail(raw)


def test_only_bytes_are_mail() -> None:
    with pytest.raises(MalformedMail):
        parse_mail("From: a@example.com\n\nhi")  # type: ignore[arg-type]


def test_garbage_parses_with_what_it_has_or_is_refused() -> None:
    rng = random.Random(20240102)
    seeds = [path.read_bytes() for path in sorted(OWN.glob("*.eml"))]
    junk = [b"=?gb2312?B?", b"?=", b"\r\n", b"--", b"\x00", b"\xff", b"<", b'"', b";", b"%"]
    junk += [b"Content-Type: multipart/mixed; boundary=x\r\n", b"Content-Type: message/rfc822\r\n"]
    junk += [
        b"filename*0*=gb2312''%D5",
        b"charset=\x00\xe9",
        b"Content-Transfer-Encoding: base64\n",
    ]
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                data[at:at] = rng.choice(junk)
            else:
                data[at : at + rng.randint(1, 40)] = rng.randbytes(rng.randint(0, 8))
        try:
            parse_mail(bytes(data))
        except MalformedMail:
            continue
    for _ in range(100):
        try:
            parse_mail(rng.randbytes(rng.randint(1, 2000)))
        except MalformedMail:
            continue


# --- machine mail -------------------------------------------------------------------------


def test_gmail_vacation_reply_is_an_auto_reply() -> None:
    parsed = own("gmail-vacation.eml")
    assert parsed.auto_reply
    assert parsed.bounce is None


def test_exchange_automatic_reply_is_an_auto_reply() -> None:
    parsed = own("exchange-automatic-reply.eml")
    assert parsed.auto_reply
    assert parsed.subject == "Automatic reply: [#1244] 发票"


@pytest.mark.parametrize(
    ("header", "auto"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated (vacation)", True),
        ("Auto-Submitted: no", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: vacation", True),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Precedence: list", True),
        ("Precedence: first-class", False),
        ("X-Auto-Response-Suppress: All", True),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", True),
        ("X-Auto-Response-Suppress: DR, RN, NRN", False),
        ("Subject: Automatic reply: 订单", True),
        ("Subject: Out of Office: back Monday", True),
        ("Subject: 自动回复: 您的邮件已收到", True),
        ("Subject: 自动答复: 退货", True),
        ("Subject: Re: [#12] my out of office question", False),
        ("Subject: 退货", False),
    ],
)
def test_auto_reply_headers_and_subjects(header: str, auto: bool) -> None:
    assert parse_mail(mail("From: a@example.com", header)).auto_reply is auto


def test_a_customers_reply_is_no_machine_mail() -> None:
    parsed = own("qq-mail-reply.eml")
    assert (parsed.auto_reply, parsed.bounce) == (False, None)


def test_postfix_dsn_is_a_bounce_of_the_original() -> None:
    parsed = own("postfix-dsn.eml")
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "reply-1234-5@kefu.example"
    assert parsed.bounce.recipient == "nobody@example.org"
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.reason == (
        "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert parsed.auto_reply


def test_qq_mail_bounce_is_a_bounce_of_the_original() -> None:
    parsed = own("qq-bounce.eml")
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "reply-1234-6@kefu.example"
    assert parsed.bounce.recipient == "nobody@qq.com"
    assert parsed.bounce.status == "5.1.1"
    assert "Mailbox not found" in parsed.bounce.reason
    assert parsed.from_name == "系统退信"


def test_a_delay_warning_is_not_a_bounce() -> None:
    parsed = own("postfix-delayed.eml")
    assert parsed.bounce is None
    assert parsed.auto_reply


def test_exim_style_bounce_with_the_original_quoted_in_text() -> None:
    raw = mail(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>",
        "To: support@kefu.example",
        "Subject: Mail delivery failed: returning message to sender",
        "X-Failed-Recipients: gone@example.org",
        body=(
            "This message was created automatically by mail delivery software.\r\n\r\n"
            "  gone@example.org\r\n    host mx.example.org said: 550 5.1.1 No such user\r\n\r\n"
            "------ This is a copy of the message, including all the headers. ------\r\n"
            "Message-ID: <reply-77-1@kefu.example>\r\nSubject: Re: [#77] hi\r\n"
        ),
    )
    bounce = parse_mail(raw).bounce
    assert bounce is not None
    assert (bounce.original_message_id, bounce.recipient, bounce.status) == (
        "reply-77-1@kefu.example",
        "gone@example.org",
        "5.1.1",
    )
    assert bounce.reason == "host mx.example.org said: 550 5.1.1 No such user"


def test_postmaster_without_a_returned_mail_is_no_bounce() -> None:
    raw = mail("From: postmaster@example.org", "Subject: Your mailbox is almost full")
    assert parse_mail(raw).bounce is None


# --- threading ----------------------------------------------------------------------------


def test_ids_are_stripped_and_references_keep_their_order() -> None:
    parsed = own("folded-references.eml")
    assert parsed.message_id == "CAfolded-1251@mail.example.com"
    assert parsed.in_reply_to == ("reply-1251-2@kefu.example",)
    assert parsed.references == (
        "msg-1251-0@example.com",
        "reply-1251-1@kefu.example",
        "reply-1251-2@kefu.example",
    )
    assert conversation_token(parsed.subject) == 1251


def test_a_mail_without_message_id_gets_a_stable_hash_id() -> None:
    raw = mail("From: a@example.com", "Subject: no id")
    first = parse_mail(raw).message_id
    assert first.startswith("hash-")
    assert len(first) == len("hash-") + 64
    assert parse_mail(raw).message_id == first
    assert parse_mail(raw.replace(b"\r\n", b"\n")).message_id == first
    assert parse_mail(mail("From: a@example.com", "Subject: other")).message_id != first
    assert parse_mail(mail("From: a@example.com", "Message-ID: <>")).message_id.startswith("hash-")


def test_dates_are_timezone_aware() -> None:
    assert own("folded-references.eml").date == datetime(2024, 1, 16, 23, 45, tzinfo=UTC)
    unknown_zone = parse_mail(mail("From: a@b.c", "Date: Tue, 2 Jan 2024 10:00:00 -0000"))
    assert unknown_zone.date == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert parse_mail(mail("From: a@b.c", "Date: someday")).date is None
    assert parse_mail(mail("From: a@b.c")).date is None


@pytest.mark.parametrize(
    ("subject", "token"),
    [
        ("Re: [#1234] 退货", 1234),
        ("回复：Re: 退货 [#77] [#88]", 77),
        ("Re: 订单 #12", None),
        ("[#0]", None),
        ("[#]", None),
        ("", None),
    ],
)
def test_conversation_token(subject: str, token: int | None) -> None:
    assert conversation_token(subject) == token
