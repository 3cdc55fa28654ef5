"""Which visitors a channel's automatic invitation rules invite, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.errors import InvalidInput
from hub.domain.invitation_rules import InvitationRule, check_pattern, due
from hub.domain.visitors import InvitationState, LiveVisitor, PageView

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULE = InvitationRule(id=1, channel_id=3, name="结账犹豫", active=True, message="需要帮忙吗？")


def visitor(url: str, seconds_on_page: int = 0, **changes: object) -> LiveVisitor:
    page = PageView(url, "页面", NOW - timedelta(seconds=seconds_on_page))
    base = LiveVisitor(3, "v_1", "p", NOW - timedelta(minutes=5), NOW, pages=(page,))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_on_the_checkout_for_more_than_30_seconds() -> None:
    rule = replace(RULE, page="/checkout*", delay_s=30)
    assert due(rule, visitor("https://shop.example/checkout?step=2", 31), NOW)
    assert not due(rule, visitor("https://shop.example/checkout", 10), NOW)  # not long enough
    assert not due(rule, visitor("https://shop.example/cart", 60), NOW)  # another page
    assert not due(
        rule, visitor("https://shop.example/p/checkout", 60), NOW
    )  # only the path's start


def test_the_third_visit_and_words_searched_for() -> None:
    third = replace(RULE, min_visits=3)
    assert not due(third, visitor("https://shop.example/", visits=2), NOW)
    assert due(third, visitor("https://shop.example/", visits=3), NOW)
    refund = replace(RULE, search_words="退货 refund")
    assert due(refund, visitor("https://shop.example/", search_words="茶杯 退货 流程"), NOW)
    assert due(refund, visitor("https://shop.example/", search_words="Refund policy"), NOW)
    assert not due(refund, visitor("https://shop.example/", search_words="龙井"), NOW)
    assert not due(refund, visitor("https://shop.example/"), NOW)  # searched for nothing


def test_nobody_chatting_or_invited_already_is_invited_and_an_inactive_rule_invites_nobody() -> (
    None
):
    page = "https://shop.example/"
    assert due(RULE, visitor(page), NOW)
    assert not due(RULE, visitor(page, conversation_id=9), NOW)
    assert not due(RULE, visitor(page, invitation=InvitationState("inv_1", 2, "declined")), NOW)
    assert not due(replace(RULE, active=False), visitor(page), NOW)
    assert not due(replace(RULE, channel_id=4), visitor(page), NOW)


@pytest.mark.parametrize(
    "bad", ["checkout", "https://shop.example/*", "/check out", "/" + "a" * 400]
)
def test_patterns_that_cannot_match_as_meant_are_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(InvalidInput, match="page:"):
        check_pattern(bad)
    assert check_pattern(" /checkout* ") == "/checkout*"
    assert check_pattern("") == ""
