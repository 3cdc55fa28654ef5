"""The IMAP reader's pure parts: folder names, dates, its saved place, FETCH answers, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.email.connector import EmailConnector
from connectors.email.imap import Position
from connectors.email.imap_client import _fetched_literals, folder_name, search_date
from connectors.email.mail import too_large_notice
from connectors.email.parse import parse_mail
from connectors.email.settings import EmailSettings
from hub.domain.errors import InvalidInput
from hub.domain.records import Channel
from hub.domain.settings import validate_settings


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", '"INBOX"'),
        ("Support Team", '"Support Team"'),
        # RFC 3501 5.1.3's own example: ~peter/mail/台北/日本語
        ("~peter/mail/台北/日本語", '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'),
        ("A&B", '"A&-B"'),
        ("客服", '"&W6JnDQ-"'),
    ],
)
def test_folder_names_are_written_in_modified_utf7(name: str, wire: str) -> None:
    assert folder_name(name) == wire


def test_search_dates_do_not_depend_on_the_locale() -> None:
    assert search_date(date(2026, 2, 1)) == "1-Feb-2026"
    assert search_date(date(2026, 12, 31)) == "31-Dec-2026"


def test_the_saved_place_round_trips_and_garbage_means_none() -> None:
    place = Position(1795719831, 42, date(2026, 11, 26))
    assert Position.decode(place.encode()) == place
    for garbage in (None, "", "1:2", "a:b:c", "1:2:not-a-date", "1:2:2026-11-26:extra"):
        assert Position.decode(garbage) is None


def test_fetched_mails_are_found_whether_the_uid_comes_before_or_after_the_literal() -> None:
    lines: list[Any] = [
        b"1 FETCH (UID 7 BODY[] {5}",
        bytearray(b"first"),
        b")",
        b"2 FETCH (BODY[] {6}",
        bytearray(b"second"),
        b" UID 9)",
        b"3 FETCH (FLAGS (\\Seen))",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert _fetched_literals(lines) == {7: b"first", 9: b"second"}


def _settings(**given: Any) -> dict[str, Any]:
    base = {"address": "support@shop.test", "smtp_host": "smtp.shop.test"}
    return validate_settings(EmailSettings, {**base, **given})


def test_imap_is_optional_and_its_settings_are_checked() -> None:
    plain = _settings()
    assert plain["imap_host"] == ""
    assert plain["imap_folder"] == "INBOX"
    assert (plain["imap_port"], plain["imap_security"]) == (993, "ssl")
    assert _settings(imap_host=" IMAP.Shop.Test. ")["imap_host"] == "imap.shop.test"
    assert _settings(imap_folder=" 客服 Support ")["imap_folder"] == "客服 Support"
    for bad in ({"imap_host": "imap shop"}, {"imap_folder": 'a"b'}, {"imap_folder": "a\r\nb"}):
        with pytest.raises(InvalidInput):
            _settings(**bad)
    with pytest.raises(InvalidInput):
        _settings(imap_security="tls13")


def _channel(settings: dict[str, Any]) -> Channel:
    return Channel(1, "email", "客服邮箱", "key", settings, None, True, datetime.now(UTC))


def test_only_a_channel_with_an_incoming_server_is_read() -> None:
    connector = EmailConnector()
    assert connector.pollers(_channel(_settings())) == ()
    (poller,) = connector.pollers(_channel(_settings(imap_host="imap.shop.test")))
    assert poller.name == "imap"


def test_a_mail_too_large_to_bring_in_still_shows_who_wrote_and_in_which_thread() -> None:
    header = (
        b"From: =?utf-8?b?546L6Iqz?= <wang@customer.test>\r\n"
        b"To: support@shop.test\r\n"
        b"Subject: Re: [#12] =?utf-8?b?5Y+R56Wo?=\r\n"
        b"Message-ID: <big@customer.test>\r\n"
        b"In-Reply-To: <reply-1@shop.test>\r\n\r\n"
    )
    notice = too_large_notice(parse_mail(header), 31 * 1024 * 1024)
    assert notice.provider_event_id == "big@customer.test"
    assert notice.sender_id == "wang@customer.test"
    assert notice.thread is not None
    assert notice.thread.replies_to == ("reply-1@shop.test",)
    assert notice.thread.conversation_id == 12
    assert "31.0 MB" in notice.text
    assert "25 MB" in notice.text
    assert notice.data["event"] == "too_large"
    assert "raw_key" not in notice.data
