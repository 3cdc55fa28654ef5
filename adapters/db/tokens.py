"""Revoking agents' tokens: after a password change, every session but the one making it."""

from __future__ import annotations

from sqlalchemy import delete

from adapters.db import tables as T
from adapters.db.directory import token_hash
from adapters.db.engine import Engines


class SqlTokens:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def revoke_all(self, agent_id: int, *, keep: str | None = None) -> int:
        """Revoke the agent's tokens, except ``keep``; the number revoked."""
        where = [T.api_tokens.c.agent_id == agent_id]
        if keep is not None:
            where.append(T.api_tokens.c.token_hash != token_hash(keep))
        async with self._engines.write.begin() as conn:
            result = await conn.execute(delete(T.api_tokens).where(*where))
        return int(result.rowcount or 0)
