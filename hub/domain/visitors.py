"""Visitors browsing the business's site, as the live visitor panel (访客面板) shows them.

A web chat widget reports each page a visitor opens; the hub keeps who is on the site now in
memory (nothing here is stored in the database), with the trail of pages of the current visit
(足迹), where they came from and the words they searched for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from hub.domain.texts import Text

#: the pages of a visit kept for the panel and a conversation's trail
TRAIL_LENGTH = 30

#: search engines' hosts (a suffix of the referrer's host) and the query parameter with the
#: words; Chinese engines first, as most visitors of our users' sites come from them
_SEARCH_ENGINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("baidu.com", ("wd", "word", "kw")),
    ("sogou.com", ("query", "keyword")),
    ("so.com", ("q",)),
    ("sm.cn", ("q",)),
    ("bing.com", ("q",)),
    ("google.", ("q",)),
    ("yahoo.", ("p",)),
    ("duckduckgo.com", ("q",)),
    ("yandex.", ("text",)),
    ("naver.com", ("query",)),
)


def search_words(referrer: str) -> str | None:
    """The words a visitor searched for, when they came from a search engine's results."""
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    for engine, names in _SEARCH_ENGINES:
        # "google." is any of Google's country domains; the others are one domain
        if engine.endswith("."):
            at_engine = engine[:-1] in labels
        else:
            at_engine = host == engine or host.endswith("." + engine)
        if not at_engine:
            continue
        query = parse_qs(parts.query)
        for name in names:
            words = " ".join(query.get(name, [])).strip()
            if words:
                return words[:200]
    return None


@dataclass(frozen=True)
class PageView:
    url: str
    title: str
    at: datetime


@dataclass(frozen=True)
class Device:
    """What the visitor browses with, from their browser's User-Agent."""

    #: ``mobile``, ``tablet`` or ``desktop``
    kind: str
    #: e.g. "Chrome 120", "WeChat Browser 8"
    browser: str
    #: e.g. "iOS 17", "Windows 10"
    os: str


@dataclass(frozen=True)
class InvitationState:
    """An agent's invitation to chat (主动邀请) and what became of it."""

    invitation_id: str
    #: the inviting agent; ``None`` for a channel's automatic invitation
    agent_id: int | None
    #: ``sent``, then ``accepted``, ``declined`` or ``ignored`` (the page closed unanswered)
    outcome: str


@dataclass(frozen=True)
class LiveVisitor:
    channel_id: int
    visitor_id: str
    #: the process whose sockets the visitor is connected to
    process: str
    online_since: datetime
    last_seen: datetime
    #: the pages of this visit, the current one last
    pages: tuple[PageView, ...] = ()
    #: where this visit came from (the first page's referrer) and what was searched for
    referrer: str = ""
    search_words: str | None = None
    #: the visitor's visits to the site, this one included, as their browser counts them
    visits: int = 1
    region: Text | None = None
    device: Device | None = None
    #: the address, only when the channel keeps addresses
    ip: str | None = None
    #: the visitor's latest conversation, if they ever chatted
    conversation_id: int | None = None
    #: the latest invitation to chat an agent sent this visit
    invitation: InvitationState | None = None

    @property
    def key(self) -> str:
        return f"{self.channel_id}:{self.visitor_id}"

    @property
    def current(self) -> PageView | None:
        return self.pages[-1] if self.pages else None

    def opened(self, page: PageView) -> LiveVisitor:
        """The visitor opened a page (or the same page again: the trail does not repeat it)."""
        if self.pages and self.pages[-1].url == page.url:
            return replace(self, last_seen=page.at)
        return replace(self, pages=(*self.pages, page)[-TRAIL_LENGTH:], last_seen=page.at)


@dataclass(frozen=True)
class PageReport:
    """One page a visitor's widget reported, with what the connection says of the browser."""

    url: str
    title: str
    referrer: str
    #: the visitor's visits as their browser counts them
    visits: int
    device: Device | None
    #: the visitor's address (after trusted proxies)
    address: str
    #: the channel keeps addresses: the panel may show it
    keep_address: bool
    conversation_id: int | None


class Regions(Protocol):
    """Where an address is, from an offline database the admin supplies (no online lookup)."""

    def region_of(self, address: str) -> Text | None:
        """E.g. ``{"en": "Shanghai, China", "zh-CN": "中国 上海"}``, or ``None``."""
        ...
