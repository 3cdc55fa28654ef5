"""Automatic invitations to chat: which visitor on the site a channel's rules invite, and when.

A rule names what the visit must show — a page whose address matches, so long on that page, a
visit count, words searched for — and the invitation's message. The board checks its visitors
against their channel's rules once a second; a rule invites a visitor at most once in its
``cooldown``, and only while some agent is online to answer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hub.domain.errors import InvalidInput
from hub.domain.visitors import LiveVisitor

#: a pattern is matched against the page's address without its scheme and host
MAX_PATTERN = 300


@dataclass(frozen=True)
class RuleCounts:
    """What became of a rule's invitations."""

    sent: int = 0
    accepted: int = 0
    declined: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class InvitationRule:
    id: int
    channel_id: int
    name: str
    active: bool
    message: str
    #: a glob over the page's path and query ("/checkout*", "*refund*"); empty: any page
    page: str = ""
    #: seconds on the current page before the invitation goes
    delay_s: int = 0
    #: the visit is at least this many (the third visit: 3)
    min_visits: int = 1
    #: words the visitor searched for, any of them (space-separated); empty: any visitor
    search_words: str = ""
    #: a visitor invited by this rule is not invited by it again within this time
    cooldown: timedelta = timedelta(hours=24)
    counts: RuleCounts = field(default_factory=RuleCounts)


class InvitationRules(Protocol):
    """Where the rules are kept, with their counts."""

    async def list(self, channel_id: int | None = None) -> Sequence[InvitationRule]: ...
    async def get(self, rule_id: int) -> InvitationRule | None: ...
    async def create(self, rule: InvitationRule) -> InvitationRule: ...
    async def update(self, rule: InvitationRule) -> InvitationRule:
        """Store the rule's settings (not its counts); ``NotFound`` when it is gone."""
        ...

    async def delete(self, rule_id: int) -> bool: ...
    async def count(self, rule_id: int, outcome: str) -> None:
        """One more invitation ``sent``, ``accepted``, ``declined`` or ``ignored``."""
        ...


def check_pattern(pattern: str) -> str:
    """A page pattern as stored, or ``InvalidInput`` saying what is wrong with it."""
    pattern = pattern.strip()
    if len(pattern) > MAX_PATTERN:
        raise InvalidInput(f"page: at most {MAX_PATTERN} characters")
    if any(c.isspace() for c in pattern):
        raise InvalidInput("page: a pattern has no spaces; use * for any characters")
    if pattern and not pattern.startswith(("/", "*")):
        raise InvalidInput("page: a pattern starts with / (the path) or * (anything)")
    return pattern


def _path(url: str) -> str:
    """The address without scheme and host: what a rule's page pattern is matched against."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


def due(rule: InvitationRule, visitor: LiveVisitor, now: datetime) -> bool:
    """The visit meets the rule now (the cooldown and agents' presence are checked apart)."""
    page = visitor.current
    if not rule.active or page is None or visitor.channel_id != rule.channel_id:
        return False
    if visitor.conversation_id is not None or visitor.invitation is not None:
        return False  # already chatting, or invited this visit
    if visitor.visits < rule.min_visits:
        return False
    if rule.page and not fnmatch.fnmatchcase(_path(page.url), rule.page):
        return False
    if rule.search_words:
        searched = (visitor.search_words or "").lower()
        if not any(word.lower() in searched for word in rule.search_words.split()):
            return False
    return (now - page.at).total_seconds() >= rule.delay_s
