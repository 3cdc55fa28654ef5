"""A kept mail for the original view: its HTML served safely, its inline images found among
the message's files, its sender and date read from the raw mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

from hub.domain.model import MessageKind
from hub.domain.records import Attachment
from hub.web.mail_view import (
    InlinePart,
    cid_key,
    content_policy,
    inline_files,
    inline_parts,
    inline_urls,
    kept_mail,
    mail_headers,
    serve_html,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def attachment(
    id_: int, content_type: str, size: int | None, key: str | None = "ab/key"
) -> Attachment:
    return Attachment(
        id=id_,
        message_id=1,
        kind=MessageKind.IMAGE,
        filename=f"file-{id_}",
        content_type=content_type,
        size=size,
        storage_key=key,
        provider_ref=None,
    )


def test_remote_images_are_counted_and_kept_for_the_policy_to_block() -> None:
    served = serve_html(
        '<img src="https://a.example/1.png"><img src="http://b.example/2.gif">'
        '<img src="//c.example/3.png"><img src=" HTTPS://d.example/4.png">'
        '<img src="data:image/png;base64,AAAA"><img src="cid:x@y"><p>no image</p>',
        {},
    )
    assert served.remote_images == 4
    assert '<img src="https://a.example/1.png">' in served.html
    assert '<img src="//c.example/3.png">' in served.html
    assert '<img src="data:image/png;base64,AAAA">' in served.html


def test_inline_images_point_at_the_hub_s_files_and_the_rest_lose_their_src() -> None:
    served = serve_html(
        '<img src="cid:Logo%40Shop.example" alt="logo"><img src="cid:gone@x" alt="gone">'
        '<img src="logo.png" alt="relative">',
        {"logo@shop.example": "/files/sig/logo.png"},
    )
    assert served.html == (
        '<img src="/files/sig/logo.png" alt="logo"><img alt="gone"><img alt="relative">'
    )
    assert (served.inline_images, served.remote_images) == (1, 0)


def links(html: str) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                found.append(dict(attrs))

    Links().feed(html)
    return found


def test_links_open_a_new_tab_without_a_handle_on_the_inbox() -> None:
    served = serve_html(
        '<a href="https://shop.example/42" target="_top" rel="opener">order</a>'
        '<a href="data:text/html,<script>alert(1)</script>">data</a>'
        '<a href="javascript:alert(1)">js</a>',
        {},
    )
    new_tab = {"target": "_blank", "rel": "noopener noreferrer"}
    assert links(served.html) == [{"href": "https://shop.example/42", **new_tab}, new_tab, new_tab]


def test_what_the_sanitiser_missed_is_cleaned_again() -> None:
    served = serve_html(
        '<p onclick="x()" style="color: red">ok</p><script>alert(1)</script>'
        '<div style="background: url(https://t.example/px)">bg</div><iframe src="x"></iframe>',
        {},
    )
    assert served.html == '<p style="color:red">ok</p><div>bg</div>'


def test_the_policy_allows_remote_images_only_when_asked() -> None:
    strict = content_policy(["http://hub.test/files/"], remote_images=False)
    assert strict.startswith(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: http://hub.test/files/;"
    )
    assert "https:" not in strict
    loose = content_policy(["http://hub.test/files/"], remote_images=True)
    assert "img-src data: http://hub.test/files/ https: http:;" in loose
    assert "script" not in loose
    assert "frame-ancestors 'self'" in loose


def mail_with_images() -> bytes:
    mail = EmailMessage()
    mail["From"] = "a@example.com"
    mail.set_content("see the photos")
    mail.add_alternative('<img src="cid:one@x"><img src="cid:two@x">', subtype="html")
    html = mail.get_body(("html",))
    assert html is not None
    html.add_related(b"same size A", "image", "png", cid="<one@x>")
    html.add_related(b"same size B", "image", "png", cid="<TWO@x>")
    forwarded = EmailMessage()
    forwarded.add_related(b"inside an attached mail", "image", "gif", cid="<inner@x>")
    mail.add_attachment(forwarded)
    return bytes(mail)


def test_inline_parts_are_found_in_the_order_the_files_are_stored() -> None:
    assert inline_parts(mail_with_images()) == [
        InlinePart("one@x", "image/png", 11),
        InlinePart("two@x", "image/png", 11),
    ]
    assert [p.content_id for p in inline_parts((FIXTURES / "inline-image.eml").read_bytes())] == [
        "mug@example.com"
    ]


def test_each_content_id_names_the_next_unclaimed_file_of_its_type_and_size() -> None:
    files = [
        attachment(7, "image/png", 11),
        attachment(5, "image/png", 11),
        attachment(6, "application/pdf", 11),
        attachment(4, "image/png", 11, key=None),  # never stored: nothing to show
    ]
    named = inline_files(inline_parts(mail_with_images()), files)
    assert {cid: a.id for cid, a in named.items()} == {"one@x": 5, "two@x": 7}
    urls = inline_urls(mail_with_images(), files, lambda a: f"/files/{a.id}")
    assert urls == {"one@x": "/files/5", "two@x": "/files/7"}
    assert inline_files([InlinePart("one@x", "image/png", 12)], files) == {}


def nested(levels: int) -> bytes:
    mail = b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
    mail += b"Content-ID: <deep@x>\r\n\r\nAAAA\r\n"
    for depth in range(levels):
        mail = (
            f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
            + mail
            + f"\r\n--b{depth}--\r\n".encode()
        )
    return b"From: a@x\r\n" + mail


def test_a_mail_nested_too_deep_or_no_mail_at_all_has_no_inline_parts() -> None:
    assert inline_parts(nested(10)) == [InlinePart("deep@x", "image/png", 3)]
    assert inline_parts(nested(100)) == []
    assert inline_parts(b"\x00\xff\xfe") == []
    assert cid_key(" <Mug%40Example.com> ") == "mug@example.com"


def test_the_sender_and_date_are_read_as_the_client_wrote_them() -> None:
    headers = mail_headers(
        b"From: =?gb2312?B?zfW3vA==?= <Wang.Fang@Customer.test>\r\n"
        b"Date: Mon, 12 Jan 2026 09:30:00 +0800\r\n\r\nbody"
    )
    assert (headers.from_name, headers.from_address) == ("王芳", "wang.fang@customer.test")
    assert headers.date == datetime(2026, 1, 12, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    raw_gbk = "From: 王芳 <w@x.test>\r\nDate: Mon, 12 Jan 2026 09:30:00 -0000\r\n\r\n"
    headers = mail_headers(raw_gbk.encode("gbk"))
    assert (headers.from_name, headers.from_address) == ("王芳", "w@x.test")
    assert headers.date == datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
    assert mail_headers(b"From: no address\r\nDate: someday\r\n\r\n") == mail_headers(b"")
    assert mail_headers(b"").date is None
    assert mail_headers(b"From: =?x-unknown?B?zfW3vA==?= <a@b.c>\r\n\r\n").from_name == ""


def test_only_a_message_that_keeps_a_raw_mail_has_an_original() -> None:
    assert kept_mail({"text": "chat"}) is None
    assert kept_mail({"raw_key": ""}) is None
    mail = kept_mail(
        {"raw_key": "ab/cd", "to": ["a@x", 3, None], "cc": "b@x", "html": "  ", "subject": 1}
    )
    assert mail is not None
    assert (mail.to, mail.cc, mail.html, mail.subject, mail.full_text) == (
        ("a@x",),
        (),
        None,
        "",
        "",
    )
