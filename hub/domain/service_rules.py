"""A channel's service rules: automatic messages (自动应答) and satisfaction ratings (满意度评价).

Each automatic message is kept per channel in both languages of the hub; the customer gets the
one in their language where the hub knows it, else the channel's. What is not written falls
back to the hub's own text, so turning a message on is enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from hub.domain.business_hours import BusinessHours
from hub.domain.errors import InvalidInput
from hub.domain.model import storable
from hub.domain.ports import NewMessage
from hub.domain.records import Conversation, Message
from hub.domain.texts import LANGUAGES, text

#: the language of a channel that says none
DEFAULT_LANGUAGE = "zh-CN"
MAX_MESSAGE = 1000
MAX_COMMENT = 1000
#: how long a "reply 1-5" counts after the request, by default, and at the most
DEFAULT_RATING_REPLY_S = 24 * 3600
MIN_RATING_REPLY_S = 60
MAX_RATING_REPLY_S = 7 * 24 * 3600
#: how long a rating link sent by email works
RATING_LINK_S = 30 * 24 * 3600


class Rule(StrEnum):
    """The automatic messages, each sent at most once per conversation."""

    #: 欢迎语: a conversation opens in business hours
    WELCOME = "welcome"
    #: 非工作时间: the customer writes outside business hours
    OUT_OF_HOURS = "out_of_hours"
    #: 满意度评价: the conversation is resolved; how the customer answers is the channel's way
    RATING_REQUEST = "rating_request"
    #: the customer rated by a reply
    RATING_THANKS = "rating_thanks"


class RatingWay(StrEnum):
    """How a kind of channel asks its customers for a rating."""

    #: a message asking to reply with a digit 1-5; the next reply that is only one is taken
    REPLY = "reply"
    #: a message with a signed link to a page of the hub (email)
    LINK = "link"
    #: the customer's client shows stars and a comment box (the web chat widget)
    WIDGET = "widget"


_DEFAULTS: dict[Rule, dict[str, str]] = {
    Rule.WELCOME: text(
        "Hello, and thank you for getting in touch! An agent will be with you shortly.",
        "您好，欢迎咨询！客服将尽快为您服务。",
    ),
    Rule.OUT_OF_HOURS: text(
        "Thank you for your message. We are closed right now and will reply as soon as we "
        "open again.",
        "您好，现在是非工作时间。我们已收到您的消息，上班后会尽快回复您。",
    ),
    Rule.RATING_THANKS: text("Thank you for your rating!", "感谢您的评价！"),
}
_RATING_REQUESTS: dict[RatingWay, dict[str, str]] = {
    RatingWay.REPLY: text(
        "How did we do? Reply with a number from 1 (poor) to 5 (excellent).",
        "请为本次服务评分：回复数字 1–5（1 为很不满意，5 为非常满意）。",
    ),
    RatingWay.LINK: text(
        "How did we do? Please rate this conversation:",
        "请为本次服务评分：",
    ),
    RatingWay.WIDGET: text(
        "How did we do? Please rate this conversation.",
        "请为本次服务评分。",
    ),
}


def default_text(rule: Rule, way: RatingWay = RatingWay.REPLY) -> dict[str, str]:
    """The hub's own text of a message, by language."""
    if rule == Rule.RATING_REQUEST:
        return dict(_RATING_REQUESTS[way])
    return dict(_DEFAULTS[rule])


@dataclass(frozen=True)
class AutoMessage:
    active: bool = False
    #: by language; a language left empty says the hub's own text
    texts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceRules:
    """What a channel sends by itself; a channel without stored rules sends nothing."""

    channel_id: int
    language: str = DEFAULT_LANGUAGE
    #: the rating request's ``active`` says whether resolved conversations ask for a rating
    messages: Mapping[Rule, AutoMessage] = field(default_factory=dict)
    #: how long after the request a "reply 1-5" or the widget's stars are taken (a link by
    #: email lasts ``RATING_LINK_S``)
    rating_reply_s: int = DEFAULT_RATING_REPLY_S
    updated_at: datetime | None = None

    def message(self, rule: Rule) -> AutoMessage:
        return self.messages.get(rule, AutoMessage())

    def validated(self) -> ServiceRules:
        if self.language not in LANGUAGES:
            raise InvalidInput(f"language: one of {', '.join(LANGUAGES)}")
        if not MIN_RATING_REPLY_S <= self.rating_reply_s <= MAX_RATING_REPLY_S:
            raise InvalidInput(
                f"rating_reply_s: from {MIN_RATING_REPLY_S} to {MAX_RATING_REPLY_S} seconds"
            )
        for rule, message in self.messages.items():
            for lang, value in message.texts.items():
                if lang not in LANGUAGES:
                    raise InvalidInput(f"messages.{rule}.texts: {lang!r} is no language here")
                if len(value) > MAX_MESSAGE:
                    raise InvalidInput(f"messages.{rule}.texts.{lang}: at most {MAX_MESSAGE}")
        return self


def language_of(tag: str | None) -> str | None:
    """A customer's language tag (``zh``, ``zh_CN``, ``en-GB``) as one of the hub's, or
    ``None`` for a language the hub has no texts in."""
    if not tag:
        return None
    tag = tag.strip().replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def choose_text(
    rules: ServiceRules,
    rule: Rule,
    customer_language: str | None,
    way: RatingWay = RatingWay.REPLY,
    *,
    even_inactive: bool = False,
) -> tuple[str, str] | None:
    """The message to send for ``rule``, as (language, text): in the customer's language where
    known, else the channel's; ``None`` when the channel does not send it (unless
    ``even_inactive``: the text it would send, for a page to show)."""
    message = rules.message(rule)
    if not message.active and not even_inactive:
        return None
    language = language_of(customer_language) or rules.language
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    written = (message.texts.get(language) or "").strip()
    return language, written or default_text(rule, way)[language]


_FULL_WIDTH = str.maketrans("１２３４５", "12345")


def parse_rating_reply(text: str) -> int | None:
    """The score a customer's reply gives when it is only a digit from 1 to 5 (a full-width
    ５ from a Chinese keyboard too, spaces around it allowed); ``None`` for anything else."""
    value = text.strip().translate(_FULL_WIDTH)
    if len(value) == 1 and value in "12345":
        return int(value)
    return None


def check_rating(score: int, comment: str) -> tuple[int, str]:
    """A rating as stored, or ``InvalidInput`` with the reason."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput("score: a rating is a whole number from 1 to 5")
    comment = storable(comment).strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters")
    return score, comment


def stars(score: int) -> str:
    """★★★★☆ for 4: how the thread and the widget show a rating."""
    return "★" * score + "☆" * (5 - score)


def rating_line(score: int, comment: str) -> str:
    """A rating as the thread's text: the stars, then the comment."""
    return f"{stars(score)} {score}/5" + (f"\n{comment}" if comment else "")


def awaits_rating(conversation: Conversation, now: datetime) -> bool:
    """The conversation asked for a rating that has not come, and may still come."""
    return (
        conversation.rating_requested_at is not None
        and conversation.rated_at is None
        and conversation.rating_expires_at is not None
        and now < conversation.rating_expires_at
    )


@dataclass(frozen=True)
class VisitorService:
    """What a customer's own client (the web chat widget) shows of the service now."""

    #: in business hours (always, without a schedule)
    open: bool
    #: when it opens next, while closed (``None``: open, or not within a year)
    next_opening: datetime | None
    #: the out-of-hours message in the customer's language, for a leave-a-message form
    closed_text: str
    #: a resolved conversation waiting for the customer's rating: (its id, the request's text)
    rating_request: tuple[int, str] | None = None


@dataclass(frozen=True)
class Sent:
    """An automatic message stored for sending, with its conversation as it is now."""

    #: ``None`` for a rule whose record is all it leaves (a widget's rating request)
    message: Message | None
    conversation: Conversation


class ServiceRulesStore(Protocol):
    """Where business hours and service rules are kept, and what was sent by them."""

    async def hours_for(self, channel_id: int, team_id: int | None) -> BusinessHours | None:
        """The schedule that applies: the channel's own, else the team's, else none."""
        ...

    async def service_of(
        self, channel_id: int, team_id: int | None
    ) -> tuple[BusinessHours | None, ServiceRules | None]:
        """``hours_for`` and the channel's rules, read together."""
        ...

    async def conversation(self, conversation_id: int) -> Conversation | None:
        """A conversation as it is now, read without holding anything."""
        ...

    async def rules_for(self, channel_ids: Sequence[int]) -> dict[int, ServiceRules]:
        """The stored rules of these channels (a channel without any is left out)."""
        ...

    async def send_once(
        self,
        conversation_id: int,
        rule: Rule,
        new: NewMessage | None,
        changes: Mapping[str, Any] | None = None,
    ) -> Sent | None:
        """Unless ``rule`` acted in this conversation already (``None``), store its message and
        make ``changes`` to the conversation, in one transaction with the record that it did:
        a retry or a second process finds the record and does nothing."""
        ...

    async def customer_language(self, conversation_id: int) -> str | None:
        """The language the customer's latest messages told (``data["language"]``)."""
        ...

    async def reply_activity(
        self, conversation_id: int
    ) -> tuple[list[tuple[datetime, str | None]], list[datetime]]:
        """The customer's recent activity and our recent replies, for a channel's limits."""
        ...


class NoServiceRules:
    """No schedules and no rules: always open, nothing sent by itself."""

    async def hours_for(self, channel_id: int, team_id: int | None) -> BusinessHours | None:
        return None

    async def service_of(
        self, channel_id: int, team_id: int | None
    ) -> tuple[BusinessHours | None, ServiceRules | None]:
        return None, None

    async def conversation(self, conversation_id: int) -> Conversation | None:
        return None

    async def rules_for(self, channel_ids: Sequence[int]) -> dict[int, ServiceRules]:
        return {}

    async def send_once(
        self,
        conversation_id: int,
        rule: Rule,
        new: NewMessage | None,
        changes: Mapping[str, Any] | None = None,
    ) -> Sent | None:
        return None

    async def customer_language(self, conversation_id: int) -> str | None:
        return None

    async def reply_activity(
        self, conversation_id: int
    ) -> tuple[list[tuple[datetime, str | None]], list[datetime]]:
        return [], []


class RatingLinks(Protocol):
    """Signed links to rate a conversation, for channels that ask by a link (email)."""

    def link(self, conversation_id: int) -> str: ...

    def conversation_of(self, token: str) -> int:
        """The conversation a link rates, or ``Forbidden`` for a forged or expired one."""
        ...
