"""Canned replies (常用语): who sees and who manages them, what they may hold, their search and
the strict filling of their variables."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from hub.domain.errors import Forbidden, InvalidInput
from hub.domain.model import AttachmentRef

MAX_SHORT_CODE = 32
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_FILES = 10
#: words a search takes at most; more would only make each search slower
MAX_TERMS = 8


class Scope(StrEnum):
    #: one agent's own: only they see and manage it
    PERSONAL = "personal"
    #: a team's: its members see it, admins manage it
    TEAM = "team"
    #: everyone's: every agent sees it, admins manage it
    GLOBAL = "global"


@dataclass(frozen=True)
class Shelf:
    """Where a canned reply is kept, which says who sees it and who may change it. A short code
    is unique on its shelf, whatever its case."""

    scope: Scope
    #: the agent of a personal shelf
    owner_id: int | None = None
    #: the team of a team shelf
    team_id: int | None = None

    @classmethod
    def personal(cls, agent_id: int) -> Shelf:
        return cls(Scope.PERSONAL, owner_id=agent_id)

    @classmethod
    def of_team(cls, team_id: int) -> Shelf:
        return cls(Scope.TEAM, team_id=team_id)

    @classmethod
    def everyone(cls) -> Shelf:
        return cls(Scope.GLOBAL)


@dataclass(frozen=True)
class CannedContent:
    """What an agent writes: checked by ``checked_content`` before it is kept."""

    short_code: str
    title: str
    text: str
    #: saved files (常用文件), stored already, that go out as the reply's attachments
    files: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True)
class CannedReply:
    id: int
    shelf: Shelf
    content: CannedContent
    #: how many times agents used it (asked the hub to fill it in for a conversation)
    uses: int
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None

    @property
    def short_code(self) -> str:
        return self.content.short_code

    @property
    def title(self) -> str:
        return self.content.title

    @property
    def text(self) -> str:
        return self.content.text


@dataclass(frozen=True)
class Viewer:
    """An agent as canned replies see them: their id, whether they are an admin, their teams."""

    agent_id: int
    admin: bool
    team_ids: frozenset[int]

    def sees(self, shelf: Shelf) -> bool:
        """Personal ones to their owner only (admins included: they are the agent's own);
        team ones to the team's members, and to admins, who manage them; global ones to all."""
        if shelf.scope is Scope.PERSONAL:
            return shelf.owner_id == self.agent_id
        if shelf.scope is Scope.TEAM:
            return self.admin or shelf.team_id in self.team_ids
        return True

    def manages(self, shelf: Shelf) -> bool:
        if shelf.scope is Scope.PERSONAL:
            return shelf.owner_id == self.agent_id
        return self.admin

    def check_manages(self, shelf: Shelf) -> None:
        if not self.manages(shelf):
            raise Forbidden(
                "only an admin may add, change or delete team and global canned replies"
            )


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in value)


def short_code_problem(code: str) -> str | None:
    """Why a short code (already stripped of spaces around it) cannot be one, else ``None``."""
    if not code:
        return f"give a short code of 1 to {MAX_SHORT_CODE} characters"
    if len(code) > MAX_SHORT_CODE:
        return f"a short code has at most {MAX_SHORT_CODE} characters"
    if any(ch.isspace() for ch in code) or _has_control(code):
        return "a short code has no spaces or control characters"
    return None


def checked_content(content: CannedContent) -> CannedContent:
    """The content as it is kept, or ``InvalidInput`` naming the field and why.

    A leading ``/`` of a short code is dropped: it is what opens the picker, not part of the
    code. Text may have several lines; a title is one line.
    """
    code = content.short_code.strip().lstrip("/")
    problem = short_code_problem(code)
    if problem:
        raise InvalidInput(f"short_code: {problem}")
    title = content.title.strip()
    if not title:
        raise InvalidInput("title: give a title, which the picker shows")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"title: at most {MAX_TITLE} characters")
    if _has_control(title):
        raise InvalidInput("title: one line, without control characters")
    if len(content.text) > MAX_TEXT:
        raise InvalidInput(f"text: at most {MAX_TEXT} characters")
    if "\x00" in content.text:
        raise InvalidInput("text: NUL characters cannot be stored")
    if not content.text.strip() and not content.files:
        raise InvalidInput("text: write the reply's text, or attach a file")
    if len(content.files) > MAX_FILES:
        raise InvalidInput(f"attachments: at most {MAX_FILES} files")
    return CannedContent(code, title, content.text, content.files)


# -- search --------------------------------------------------------------------------------------


def search_key(content: CannedContent) -> str:
    """What a search looks in: the short code, title and text, case-folded alike for every
    language, so that both databases compare it with a plain ``LIKE``."""
    return "\n".join(part.casefold() for part in (content.short_code, content.title, content.text))


def code_key(short_code: str) -> str:
    """A short code as its shelf's uniqueness compares it: ``Thx`` and ``thx`` are one code."""
    return short_code.casefold()


def search_terms(query: str | None) -> list[str]:
    """The words of a search, case-folded; each must appear in the short code, title or text."""
    terms = (query or "").casefold().split()
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"q: at most {MAX_TERMS} words")
    return terms


def matches(reply: CannedReply, terms: Sequence[str]) -> bool:
    key = search_key(reply.content)
    return all(term in key for term in terms)


def ranked(replies: Iterable[CannedReply], terms: Sequence[str]) -> list[CannedReply]:
    """Best first: a short code that starts with the search, then a short code or title that
    holds it, then a text that holds it; among equals the most used, then by short code."""
    first = terms[0] if terms else ""

    def rank(reply: CannedReply) -> tuple[int, int, str, int]:
        code = reply.short_code.casefold()
        if code.startswith(first):
            place = 0
        elif first in code or first in reply.title.casefold():
            place = 1
        else:
            place = 2
        return (place, -reply.uses, code, reply.id)

    return sorted((r for r in replies if matches(r, terms)), key=rank)


# -- variables -----------------------------------------------------------------------------------

#: every variable a canned reply may hold, in the order the inbox offers them
VARIABLES = (
    "contact.name",
    "contact.email",
    "contact.phone",
    "agent.name",
    "conversation.id",
    "channel.name",
)

# "{{", a name of at most 64 characters without braces, "}}": bounded, so that no input makes
# the search backtrack, and a brace inside ends the candidate.
_PLACEHOLDER = re.compile(r"\{\{([^{}]{0,64})\}\}")


@dataclass(frozen=True)
class ConversationFacts:
    """What a conversation tells a canned reply's variables."""

    conversation_id: int
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    channel_name: str


def variable_values(facts: ConversationFacts, agent_name: str) -> dict[str, str]:
    """The fixed table of values: exactly ``VARIABLES``, each a plain string."""
    return {
        "contact.name": facts.contact_name,
        "contact.email": facts.contact_email or "",
        "contact.phone": facts.contact_phone or "",
        "agent.name": agent_name,
        "conversation.id": str(facts.conversation_id),
        "channel.name": facts.channel_name,
    }


def render(template: str, values: dict[str, str]) -> str:
    """Fill each ``{{ name }}`` from the table in one pass; an unknown name (or an empty value)
    becomes empty text.

    Never ``str.format`` nor a template engine: a name is only looked up in the table, never
    resolved as an attribute, an index or code, and filled values are not read again, so a
    customer named ``{{agent.name}}`` stays that name.
    """
    table = {name: values.get(name, "") for name in VARIABLES}

    def fill(match: re.Match[str]) -> str:
        return table.get(match.group(1).strip(), "")

    return _PLACEHOLDER.sub(fill, template)


# -- the port ------------------------------------------------------------------------------------


class CannedReplies(Protocol):
    """Where canned replies are kept (``adapters.db.canned_replies.SqlCannedReplies``)."""

    async def team_ids(self, agent_id: int) -> frozenset[int]: ...
    async def team_names(self) -> dict[int, str]: ...

    async def visible(self, viewer: Viewer, terms: Sequence[str]) -> list[CannedReply]:
        """Every canned reply the viewer sees whose search key holds every term."""
        ...

    async def get(self, reply_id: int) -> CannedReply | None: ...

    async def create(self, shelf: Shelf, content: CannedContent, at: datetime) -> CannedReply:
        """Raises ``Conflict`` when the short code is taken on the shelf."""
        ...

    async def update(
        self, reply_id: int, shelf: Shelf, content: CannedContent, at: datetime
    ) -> CannedReply | None:
        """Replace its shelf and content; ``None`` if it is gone; ``Conflict`` as ``create``."""
        ...

    async def delete(self, reply_id: int) -> bool: ...

    async def count_use(self, reply_id: int, at: datetime) -> None: ...

    async def conversation_facts(self, conversation_id: int) -> ConversationFacts | None: ...

    async def save_many(
        self, items: Sequence[tuple[Shelf, CannedContent]], at: datetime
    ) -> tuple[int, int]:
        """Create each, or where its shelf has its short code already, change that one's title
        and text (its files stay); all in one transaction. Returns (created, updated)."""
        ...
