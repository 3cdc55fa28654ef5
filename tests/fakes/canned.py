"""``FakeCannedReplies``: canned replies, teams and conversations kept in dicts."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from hub.domain.canned import (
    CannedContent,
    CannedReply,
    ConversationFacts,
    Shelf,
    Viewer,
    code_key,
    matches,
)
from hub.domain.errors import Conflict


class FakeCannedReplies:
    def __init__(self) -> None:
        self.replies: dict[int, CannedReply] = {}
        self.teams: dict[int, str] = {}
        self.members: dict[int, set[int]] = {}
        self.conversations: dict[int, ConversationFacts] = {}
        self._ids = itertools.count(1)

    # -- arranging ---------------------------------------------------------------------------------
    def add_team(self, team_id: int, name: str, *agent_ids: int) -> None:
        self.teams[team_id] = name
        self.members[team_id] = set(agent_ids)

    def add_conversation(self, facts: ConversationFacts) -> None:
        self.conversations[facts.conversation_id] = facts

    # -- the port ----------------------------------------------------------------------------------
    async def team_ids(self, agent_id: int) -> frozenset[int]:
        return frozenset(t for t, agents in self.members.items() if agent_id in agents)

    async def team_names(self) -> dict[int, str]:
        return dict(self.teams)

    async def visible(self, viewer: Viewer, terms: Sequence[str]) -> list[CannedReply]:
        return [r for r in self.replies.values() if viewer.sees(r.shelf) and matches(r, terms)]

    async def get(self, reply_id: int) -> CannedReply | None:
        return self.replies.get(reply_id)

    def _holder(self, shelf: Shelf, content: CannedContent, but: int | None = None) -> int | None:
        key = code_key(content.short_code)
        return next(
            (
                r.id
                for r in self.replies.values()
                if r.shelf == shelf and code_key(r.short_code) == key and r.id != but
            ),
            None,
        )

    async def create(self, shelf: Shelf, content: CannedContent, at: datetime) -> CannedReply:
        if self._holder(shelf, content) is not None:
            raise Conflict(f"short_code: {content.short_code!r} is taken")
        reply = CannedReply(next(self._ids), shelf, content, 0, at, at)
        self.replies[reply.id] = reply
        return reply

    async def update(
        self, reply_id: int, shelf: Shelf, content: CannedContent, at: datetime
    ) -> CannedReply | None:
        old = self.replies.get(reply_id)
        if old is None:
            return None
        if self._holder(shelf, content, but=reply_id) is not None:
            raise Conflict(f"short_code: {content.short_code!r} is taken")
        self.replies[reply_id] = replace(old, shelf=shelf, content=content, updated_at=at)
        return self.replies[reply_id]

    async def delete(self, reply_id: int) -> bool:
        return self.replies.pop(reply_id, None) is not None

    async def count_use(self, reply_id: int, at: datetime) -> None:
        if reply_id in self.replies:
            old = self.replies[reply_id]
            self.replies[reply_id] = replace(old, uses=old.uses + 1, last_used_at=at)

    async def conversation_facts(self, conversation_id: int) -> ConversationFacts | None:
        return self.conversations.get(conversation_id)

    async def save_many(
        self, items: Sequence[tuple[Shelf, CannedContent]], at: datetime
    ) -> tuple[int, int]:
        created = updated = 0
        for shelf, content in items:
            holder = self._holder(shelf, content)
            if holder is None:
                await self.create(shelf, content, at)
                created += 1
            else:
                kept = replace(content, files=self.replies[holder].content.files)
                await self.update(holder, shelf, kept, at)
                updated += 1
        return created, updated
