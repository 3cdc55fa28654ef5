"""Service rules in the domain: which automatic message a customer gets, in which language, and
which replies are a rating."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.errors import InvalidInput
from hub.domain.model import ConversationStatus
from hub.domain.records import Conversation
from hub.domain.service_rules import (
    AutoMessage,
    RatingWay,
    Rule,
    ServiceRules,
    awaits_rating,
    check_rating,
    choose_text,
    default_text,
    language_of,
    parse_rating_reply,
    rating_line,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("5", 5),
        ("1", 1),
        (" 4 ", 4),
        ("3\n", 3),
        ("５", 5),  # a Chinese keyboard's full-width digit
        ("\u3000２\u3000", 2),  # with ideographic spaces
        ("0", None),
        ("6", None),
        ("55", None),
        ("4.5", None),
        ("5 stars", None),
        ("5分", None),
        ("五", None),
        ("-1", None),
        ("", None),
        ("   ", None),
        ("¹", None),  # a superscript one is no answer of 1-5
        ("٣", None),  # nor an Arabic-Indic three
    ],
)
def test_only_a_lone_digit_from_1_to_5_is_a_rating(reply: str, score: int | None) -> None:
    assert parse_rating_reply(reply) == score


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("ZH-Hans-CN", "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
        ("fr-FR", None),
        ("english", None),
        ("", None),
        (None, None),
    ],
)
def test_a_customers_language_tag_is_one_of_the_hubs_or_unknown(
    tag: str | None, language: str | None
) -> None:
    assert language_of(tag) == language


def rules(**messages: AutoMessage) -> ServiceRules:
    return ServiceRules(
        channel_id=1, language="en", messages={Rule(k): v for k, v in messages.items()}
    )


def test_the_message_is_in_the_customers_language_else_the_channels() -> None:
    welcome = AutoMessage(True, {"zh-CN": "您好！", "en": "Hello!"})
    channel = rules(welcome=welcome)
    assert choose_text(channel, Rule.WELCOME, "zh-CN") == ("zh-CN", "您好！")
    assert choose_text(channel, Rule.WELCOME, "zh_TW") == ("zh-CN", "您好！")
    assert choose_text(channel, Rule.WELCOME, "en-US") == ("en", "Hello!")
    # a language the hub has no texts in, or none known: the channel's
    assert choose_text(channel, Rule.WELCOME, "fr") == ("en", "Hello!")
    assert choose_text(channel, Rule.WELCOME, None) == ("en", "Hello!")
    chinese = replace(channel, language="zh-CN")
    assert choose_text(chinese, Rule.WELCOME, None) == ("zh-CN", "您好！")


def test_a_language_left_empty_sends_the_hubs_own_text() -> None:
    channel = rules(out_of_hours=AutoMessage(True, {"en": "Closed: back at 9.", "zh-CN": "  "}))
    assert choose_text(channel, Rule.OUT_OF_HOURS, "en") == ("en", "Closed: back at 9.")
    assert choose_text(channel, Rule.OUT_OF_HOURS, "zh-CN") == (
        "zh-CN",
        default_text(Rule.OUT_OF_HOURS)["zh-CN"],
    )


def test_an_inactive_message_is_not_sent_but_its_text_can_be_shown() -> None:
    channel = rules(welcome=AutoMessage(False, {"en": "Hello!"}))
    assert choose_text(channel, Rule.WELCOME, "en") is None
    assert choose_text(channel, Rule.RATING_THANKS, "en") is None  # never set at all
    assert choose_text(channel, Rule.WELCOME, "en", even_inactive=True) == ("en", "Hello!")


def test_the_rating_request_says_how_to_answer_on_each_way() -> None:
    channel = rules(rating_request=AutoMessage(True))
    _, reply = choose_text(channel, Rule.RATING_REQUEST, "zh-CN", RatingWay.REPLY) or ("", "")
    assert "1–5" in reply
    _, widget = choose_text(channel, Rule.RATING_REQUEST, "en", RatingWay.WIDGET) or ("", "")
    assert "reply" not in widget.lower()
    for way in RatingWay:
        assert set(default_text(Rule.RATING_REQUEST, way)) == {"en", "zh-CN"}


def test_rules_with_a_wrong_language_or_reply_time_are_refused() -> None:
    with pytest.raises(InvalidInput, match="language"):
        ServiceRules(channel_id=1, language="fr").validated()
    with pytest.raises(InvalidInput, match="rating_reply_s"):
        ServiceRules(channel_id=1, rating_reply_s=10).validated()
    with pytest.raises(InvalidInput, match="at most"):
        rules(welcome=AutoMessage(True, {"en": "x" * 1001})).validated()


@pytest.mark.parametrize("score", [0, 6, -1, True])
def test_a_rating_outside_1_to_5_is_refused(score: int) -> None:
    with pytest.raises(InvalidInput, match="from 1 to 5"):
        check_rating(score, "")


def test_a_rating_keeps_its_comment_trimmed_and_shows_as_stars() -> None:
    assert check_rating(4, "  很好  ") == (4, "很好")
    with pytest.raises(InvalidInput, match="comment"):
        check_rating(4, "x" * 1001)
    assert rating_line(4, "很好") == "★★★★☆ 4/5\n很好"
    assert rating_line(1, "") == "★☆☆☆☆ 1/5"


def conversation(**changes: object) -> Conversation:
    base = Conversation(
        id=1,
        channel_id=1,
        contact_id=1,
        identity_id=1,
        status=ConversationStatus.RESOLVED,
        assignee_id=None,
        team_id=None,
        unread_count=0,
        last_message_at=None,
        last_inbound_at=None,
        first_response_at=None,
        resolved_at=NOW,
        created_at=NOW,
        updated_at=NOW,
        rating_requested_at=NOW,
        rating_expires_at=NOW + timedelta(hours=24),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_rating_is_awaited_from_the_request_until_it_comes_or_expires() -> None:
    assert awaits_rating(conversation(), NOW + timedelta(hours=1))
    assert not awaits_rating(conversation(), NOW + timedelta(hours=24))
    assert not awaits_rating(conversation(rating_requested_at=None), NOW)
    assert not awaits_rating(conversation(rated_at=NOW, rating_score=5), NOW)
