"""How many customer-service replies WeChat still allows a customer, and until when.

Rules (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html):
after a customer message, 5 replies within 48 hours; after a menu click, a follow or a QR scan,
3 replies within 1 minute. WeCom 微信客服 applies the same 5-in-48-hours rule
(https://developer.work.weixin.qq.com/document/path/94677).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from hub.domain.channels import ReplyWindow
from hub.domain.texts import Text


class Opener(StrEnum):
    """What the customer did last, which decides the size of the window."""

    MESSAGE = "message"
    MENU_CLICK = "menu_click"
    FOLLOW = "follow"
    SCAN = "scan"


_RULES: dict[Opener, tuple[int, timedelta]] = {
    Opener.MESSAGE: (5, timedelta(hours=48)),
    Opener.MENU_CLICK: (3, timedelta(minutes=1)),
    Opener.FOLLOW: (3, timedelta(minutes=1)),
    Opener.SCAN: (3, timedelta(minutes=1)),
}

#: Normalised event names (``Inbound.data["event"]``) that open a short window.
_EVENT_OPENERS: dict[str, Opener] = {
    "click": Opener.MENU_CLICK,
    "scancode_push": Opener.MENU_CLICK,
    "scancode_waitmsg": Opener.MENU_CLICK,
    "subscribe": Opener.FOLLOW,
    "scan": Opener.SCAN,
}


def opener_for_event(event: str | None) -> Opener | None:
    """The window a customer event opens (``None``: this event opens no window, e.g. VIEW)."""
    if event is None:
        return Opener.MESSAGE
    return _EVENT_OPENERS.get(event.lower())


def reply_window(
    last_customer_at: datetime | None,
    replies_since: Iterable[datetime],
    *,
    now: datetime,
    opener: Opener = Opener.MESSAGE,
) -> ReplyWindow:
    """Say how many replies remain after the customer's last action at ``last_customer_at``.

    ``replies_since`` are the times of replies already sent; those before ``last_customer_at``
    are ignored, so the caller may pass all recent replies. All datetimes must be aware.
    """
    limit, length = _RULES[opener]
    if last_customer_at is None:
        return ReplyWindow(remaining=0, limit=limit, closes_at=None)
    closes_at = last_customer_at + length
    if now >= closes_at:
        return ReplyWindow(remaining=0, limit=limit, closes_at=closes_at)
    used = sum(1 for sent in replies_since if last_customer_at <= sent < closes_at)
    return ReplyWindow(remaining=max(0, limit - used), limit=limit, closes_at=closes_at)


def window_from_activity(
    customer_activity: list[tuple[datetime, str | None]],
    replies: Iterable[datetime],
    now: datetime,
) -> ReplyWindow:
    """The window opened by the newest customer action that opens one (a VIEW opens none)."""
    for at, event in customer_activity:
        opener = opener_for_event(event)
        if opener is not None:
            return reply_window(at, replies, now=now, opener=opener)
    return reply_window(None, replies, now=now)


class WeChatReplyLimits:
    """The reply allowance of the Official Account and WeCom 微信客服 connectors."""

    #: the provider's rule, shown to the agent beside the allowance
    reply_rule: Text

    def reply_window(
        self,
        customer_activity: list[tuple[datetime, str | None]],
        replies: list[datetime],
        now: datetime,
    ) -> ReplyWindow:
        window = window_from_activity(customer_activity, replies, now)
        return replace(window, rule=self.reply_rule)
