"""Per-channel small values (tokens, cursors) in the database, shared by all processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.db import tables as T
from adapters.db.engine import Engines
from adapters.db.rows import aware


class SqlChannelState:
    def __init__(self, engines: Engines, channel_id: int) -> None:
        self._engines = engines
        self._channel_id = channel_id

    async def get(self, key: str) -> str | None:
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(T.channel_state.c.value, T.channel_state.c.expires_at).where(
                        T.channel_state.c.channel_id == self._channel_id,
                        T.channel_state.c.key == key,
                    )
                )
            ).first()
        if row is None:
            return None
        expires = aware(row.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return str(row.value)

    async def set(self, key: str, value: str, expires_at: datetime | None = None) -> None:
        async with self._engines.write.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(T.channel_state).values(
                channel_id=self._channel_id, key=key, value=value, expires_at=expires_at
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["channel_id", "key"],
                    set_={"value": value, "expires_at": expires_at},
                )
            )

    async def delete(self, key: str) -> None:
        async with self._engines.write.begin() as conn:
            await conn.execute(
                delete(T.channel_state).where(
                    T.channel_state.c.channel_id == self._channel_id, T.channel_state.c.key == key
                )
            )

    async def claim(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew the lease ``key`` for ``owner``, unless another owner holds it.

        One statement, so two processes claiming at once cannot both win: the row is written
        only where it is free, expired or already ours.
        """
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_s)
        table = T.channel_state
        async with self._engines.write.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(table).values(
                channel_id=self._channel_id, key=key, value=owner, expires_at=expires
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["channel_id", "key"],
                set_={"value": owner, "expires_at": expires},
                where=(table.c.value == owner) | (table.c.expires_at < now),
            ).returning(table.c.value)
            row = (await conn.execute(stmt)).first()
        return row is not None and row.value == owner

    async def release(self, key: str, owner: str) -> None:
        """Give the lease up at once, so another process need not wait for it to expire."""
        async with self._engines.write.begin() as conn:
            await conn.execute(
                delete(T.channel_state).where(
                    T.channel_state.c.channel_id == self._channel_id,
                    T.channel_state.c.key == key,
                    T.channel_state.c.value == owner,
                )
            )
