"""Canned replies' use cases: list and search, create, change, delete, fill in for a
conversation (counted as a use), and import and export as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.domain.canned import (
    CannedContent,
    CannedReplies,
    CannedReply,
    Scope,
    Shelf,
    Viewer,
    checked_content,
    code_key,
    ranked,
    render,
    search_terms,
    variable_values,
)
from hub.domain.errors import InvalidInput, NotFound
from hub.domain.model import AttachmentRef, Role
from hub.domain.records import Agent
from hub.services import canned_csv


class _Unset:
    """A field a change leaves as it is."""


UNSET = _Unset()


async def viewer_of(replies: CannedReplies, agent: Agent) -> Viewer:
    return Viewer(agent.id, agent.role == Role.ADMIN, await replies.team_ids(agent.id))


async def search(
    replies: CannedReplies, agent: Agent, query: str | None, scope: Scope | None = None
) -> list[CannedReply]:
    """What the agent sees that matches every word of the query, best first."""
    terms = search_terms(query)
    found = await replies.visible(await viewer_of(replies, agent), terms)
    return ranked((r for r in found if scope is None or r.shelf.scope is scope), terms)


async def get(replies: CannedReplies, agent: Agent, reply_id: int) -> CannedReply:
    """One the agent sees; another agent's personal one is as absent as one that never was."""
    reply = await replies.get(reply_id)
    if reply is None or not (await viewer_of(replies, agent)).sees(reply.shelf):
        raise NotFound(f"canned reply {reply_id}")
    return reply


async def _shelf(
    replies: CannedReplies, viewer: Viewer, scope: Scope, team_id: int | None
) -> Shelf:
    """The shelf a scope and team name for this agent, once they may manage it."""
    if scope is Scope.TEAM:
        if team_id is None:
            raise InvalidInput("team_id: a team canned reply names its team")
        shelf = Shelf.of_team(team_id)
    elif team_id is not None:
        raise InvalidInput(f"team_id: only a team canned reply names a team, not a {scope} one")
    else:
        shelf = Shelf.personal(viewer.agent_id) if scope is Scope.PERSONAL else Shelf.everyone()
    viewer.check_manages(shelf)
    if shelf.team_id is not None and shelf.team_id not in await replies.team_names():
        raise InvalidInput(f"team_id: there is no team {shelf.team_id}")
    return shelf


async def create(
    replies: CannedReplies,
    agent: Agent,
    content: CannedContent,
    scope: Scope = Scope.PERSONAL,
    team_id: int | None = None,
) -> CannedReply:
    viewer = await viewer_of(replies, agent)
    shelf = await _shelf(replies, viewer, scope, team_id)
    return await replies.create(shelf, checked_content(content), datetime.now(UTC))


@dataclass(frozen=True)
class Changes:
    """What a change sets; ``None`` (``UNSET`` for the team) keeps it as it is."""

    short_code: str | None = None
    title: str | None = None
    text: str | None = None
    files: tuple[AttachmentRef, ...] | None = None
    scope: Scope | None = None
    team_id: int | _Unset | None = field(default=UNSET)


async def update(
    replies: CannedReplies, agent: Agent, reply_id: int, changes: Changes
) -> CannedReply:
    """Change what is given. Moving one to another shelf needs the right to manage both; one
    made personal becomes the agent's own."""
    reply = await get(replies, agent, reply_id)
    viewer = await viewer_of(replies, agent)
    viewer.check_manages(reply.shelf)
    scope = changes.scope or reply.shelf.scope
    if not isinstance(changes.team_id, _Unset):
        team_id = changes.team_id
    else:
        team_id = reply.shelf.team_id if scope is Scope.TEAM else None
    if scope is reply.shelf.scope and team_id == reply.shelf.team_id:
        shelf = reply.shelf
    else:
        shelf = await _shelf(replies, viewer, scope, team_id)
    old = reply.content
    content = CannedContent(
        short_code=old.short_code if changes.short_code is None else changes.short_code,
        title=old.title if changes.title is None else changes.title,
        text=old.text if changes.text is None else changes.text,
        files=old.files if changes.files is None else changes.files,
    )
    updated = await replies.update(reply_id, shelf, checked_content(content), datetime.now(UTC))
    if updated is None:
        raise NotFound(f"canned reply {reply_id}")
    return updated


async def delete(replies: CannedReplies, agent: Agent, reply_id: int) -> None:
    reply = await get(replies, agent, reply_id)
    (await viewer_of(replies, agent)).check_manages(reply.shelf)
    if not await replies.delete(reply_id):
        raise NotFound(f"canned reply {reply_id}")


@dataclass(frozen=True)
class Rendered:
    text: str
    files: tuple[AttachmentRef, ...]


async def use(
    replies: CannedReplies, agent: Agent, reply_id: int, conversation_id: int
) -> Rendered:
    """The reply's text with the conversation's values filled in, and its saved files.

    Each call counts as a use: the inbox asks only when an agent chooses the reply for the
    reply they are writing.
    """
    reply = await get(replies, agent, reply_id)
    facts = await replies.conversation_facts(conversation_id)
    if facts is None:
        raise NotFound(f"conversation {conversation_id}")
    await replies.count_use(reply_id, datetime.now(UTC))
    text = render(reply.text, variable_values(facts, agent.name))
    return Rendered(text, reply.content.files)


# -- CSV -------------------------------------------------------------------------------------------


async def export_csv(replies: CannedReplies, agent: Agent) -> bytes:
    """Every canned reply the agent sees, with its team by name."""
    teams = await replies.team_names()
    found = await search(replies, agent, None)
    return canned_csv.write(
        [
            r.short_code,
            r.title,
            r.text,
            r.shelf.scope.value,
            teams.get(r.shelf.team_id, "") if r.shelf.team_id is not None else "",
        ]
        for r in sorted(found, key=lambda r: (r.shelf.scope, code_key(r.short_code), r.id))
    )


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    refused: Sequence[canned_csv.Refusal]


async def import_csv(replies: CannedReplies, agent: Agent, data: bytes) -> ImportReport:
    """Create the file's canned replies, or change those whose shelf has their short code
    already (title and text; their files stay); refuse each row that cannot be, with why.

    A row's scope is personal when left empty; a team row names its team by name. Rows that
    can be are saved together, or none when the database refuses one.
    """
    rows, refused = canned_csv.read(data)
    viewer = await viewer_of(replies, agent)
    teams_by_name = {name: team_id for team_id, name in (await replies.team_names()).items()}
    accepted: list[tuple[Shelf, CannedContent]] = []
    first_row: dict[tuple[Shelf, str], int] = {}
    refused = list(refused)
    for row in rows:
        try:
            shelf = _row_shelf(row, viewer, teams_by_name)
            content = checked_content(CannedContent(row.short_code, row.title, row.text))
        except InvalidInput as exc:
            refused.append(canned_csv.Refusal(row.row, str(exc)))
            continue
        key = (shelf, code_key(content.short_code))
        if key in first_row:
            refused.append(
                canned_csv.Refusal(
                    row.row, f"short_code {content.short_code!r} is on row {first_row[key]} too"
                )
            )
            continue
        first_row[key] = row.row
        accepted.append((shelf, content))
    created, updated = await replies.save_many(accepted, datetime.now(UTC)) if accepted else (0, 0)
    return ImportReport(created, updated, sorted(refused, key=lambda r: r.row))


def _row_shelf(row: canned_csv.CsvRow, viewer: Viewer, teams: dict[str, int]) -> Shelf:
    try:
        scope = Scope(row.scope or Scope.PERSONAL)
    except ValueError:
        raise InvalidInput(
            f"scope {row.scope!r} is none of personal, team and global (empty: personal)"
        ) from None
    if scope is not Scope.PERSONAL and not viewer.admin:
        raise InvalidInput("only an admin may import team and global canned replies")
    if scope is Scope.TEAM:
        if not row.team:
            raise InvalidInput("a team row names its team in the team column")
        if row.team not in teams:
            raise InvalidInput(f"there is no team named {row.team!r}")
        shelf = Shelf.of_team(teams[row.team])
    elif row.team:
        raise InvalidInput(f"only a team row names a team, not a {scope} one")
    else:
        shelf = Shelf.personal(viewer.agent_id) if scope is Scope.PERSONAL else Shelf.everyone()
    return shelf
