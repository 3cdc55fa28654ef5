"""The reply-window helper counts WeChat's 5-in-48-hours and 3-in-1-minute allowances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.wechat import Opener, opener_for_event, reply_window, window_from_activity

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_fresh_message_opens_five_replies_for_48_hours() -> None:
    window = reply_window(T0, [], now=T0 + timedelta(minutes=5))
    assert (window.remaining, window.limit, window.closes_at) == (5, 5, T0 + timedelta(hours=48))
    assert window.remaining > 0


def test_replies_since_the_message_are_counted_older_ones_ignored() -> None:
    replies = [T0 - timedelta(hours=1), T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert reply_window(T0, replies, now=T0 + timedelta(hours=1)).remaining == 3


def test_window_closes_after_48_hours_or_five_replies() -> None:
    assert reply_window(T0, [], now=T0 + timedelta(hours=48)).remaining == 0
    five = [T0 + timedelta(seconds=i) for i in range(5)]
    assert reply_window(T0, five, now=T0 + timedelta(minutes=1)).remaining == 0


def test_menu_click_and_follow_open_three_for_one_minute() -> None:
    window = reply_window(T0, [T0], now=T0 + timedelta(seconds=30), opener=Opener.MENU_CLICK)
    assert (window.remaining, window.closes_at) == (2, T0 + timedelta(minutes=1))
    assert reply_window(T0, [], now=T0 + timedelta(minutes=2), opener=Opener.FOLLOW).remaining == 0


def test_no_customer_action_means_closed() -> None:
    assert reply_window(None, [], now=T0) == reply_window(None, [], now=T0)
    assert reply_window(None, [], now=T0).closes_at is None


def test_openers_from_events() -> None:
    assert opener_for_event(None) is Opener.MESSAGE
    assert opener_for_event("subscribe") is Opener.FOLLOW
    assert opener_for_event("CLICK") is Opener.MENU_CLICK
    assert opener_for_event("view") is None


def test_the_newest_action_that_opens_a_window_decides() -> None:
    activity = [(T0 + timedelta(hours=1), "view"), (T0, None)]
    window = window_from_activity(activity, [], now=T0 + timedelta(hours=2))
    assert window.limit == 5
    assert window.closes_at == T0 + timedelta(hours=48)
    assert window_from_activity([(T0, "view")], [], now=T0).remaining == 0
