"""Agents, API tokens, teams and channels: the hub's configuration records."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import rows
from adapters.db import tables as T
from adapters.db.channel_cache import ChannelCache
from adapters.db.engine import Engines
from adapters.db.queries import MAX_ID
from adapters.db.secretbox import SecretBox
from hub.domain.errors import Conflict, NotFound
from hub.domain.model import Role
from hub.domain.records import Agent, Channel, Team


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


class SqlDirectory:
    def __init__(
        self, engines: Engines, box: SecretBox, channels: ChannelCache | None = None
    ) -> None:
        self._engines = engines
        self._box = box
        self._channels = channels or ChannelCache()

    # -- agents -------------------------------------------------------------------------
    async def create_agent(
        self, email: str, name: str, role: Role, password_hash: str, locale: str = ""
    ) -> Agent:
        try:
            async with self._engines.write.begin() as conn:
                row = (
                    await conn.execute(
                        insert(T.agents)
                        .values(
                            email=email.strip().lower(),
                            name=name,
                            role=role.value,
                            password_hash=password_hash,
                            active=True,
                            locale=locale,
                            created_at=now(),
                        )
                        .returning(T.agents)
                    )
                ).one()
        except IntegrityError:
            raise Conflict(f"an agent with the email {email} exists") from None
        return rows.agent(row)

    async def agent_with_hash(self, email: str) -> tuple[Agent, str] | None:
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(T.agents).where(T.agents.c.email == email.strip().lower())
                )
            ).first()
        return (rows.agent(row), row.password_hash) if row else None

    async def get_agent(self, agent_id: int) -> Agent:
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(T.agents).where(T.agents.c.id == agent_id))).first()
        if row is None:
            raise NotFound(f"agent {agent_id}")
        return rows.agent(row)

    async def list_agents(self) -> list[Agent]:
        async with self._engines.read.connect() as conn:
            result = await conn.execute(select(T.agents).order_by(T.agents.c.id))
        return [rows.agent(r) for r in result]

    async def update_agent(self, agent_id: int, **changes: Any) -> Agent:
        values = {k: getattr(v, "value", v) for k, v in changes.items()}
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(T.agents)
                    .where(T.agents.c.id == agent_id)
                    .values(**values)
                    .returning(T.agents)
                )
            ).first()
            if row is None:
                raise NotFound(f"agent {agent_id}")
            if values.get("active") is False:
                await conn.execute(delete(T.api_tokens).where(T.api_tokens.c.agent_id == agent_id))
        return rows.agent(row)

    # -- tokens -------------------------------------------------------------------------
    async def create_token(self, agent_id: int, name: str, ttl: timedelta | None) -> str:
        token = "kefu_" + secrets.token_urlsafe(32)
        async with self._engines.write.begin() as conn:
            await conn.execute(
                insert(T.api_tokens).values(
                    agent_id=agent_id,
                    token_hash=token_hash(token),
                    name=name,
                    created_at=now(),
                    expires_at=now() + ttl if ttl else None,
                )
            )
        return token

    async def agent_for_token(self, token: str) -> Agent | None:
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(T.agents, T.api_tokens.c.expires_at.label("token_expires_at"))
                    .join(T.api_tokens, T.api_tokens.c.agent_id == T.agents.c.id)
                    .where(T.api_tokens.c.token_hash == token_hash(token))
                )
            ).first()
        if row is None or not row.active:
            return None
        expires = rows.aware(row.token_expires_at)
        if expires is not None and expires <= now():
            return None
        return rows.agent(row)

    async def revoke_token(self, token: str) -> None:
        async with self._engines.write.begin() as conn:
            await conn.execute(
                delete(T.api_tokens).where(T.api_tokens.c.token_hash == token_hash(token))
            )

    # -- teams --------------------------------------------------------------------------
    async def create_team(self, name: str, agent_ids: list[int], **routing: Any) -> Team:
        """``routing``: any of ``assignment_mode``, ``agent_capacity``, ``answer_timeout_s`` and
        ``queue_limit``; those left out take the table's defaults."""
        values = {k: getattr(v, "value", v) for k, v in routing.items()}
        try:
            async with self._engines.write.begin() as conn:
                row = (
                    await conn.execute(
                        insert(T.teams)
                        .values(name=name, created_at=now(), **values)
                        .returning(T.teams)
                    )
                ).one()
                await self._set_members(conn, row.id, agent_ids)
        except IntegrityError:
            raise Conflict(f"team {name!r} exists or names an unknown agent") from None
        return rows.team(row, tuple(sorted(agent_ids)))

    async def set_team(
        self,
        team_id: int,
        name: str | None = None,
        agent_ids: list[int] | None = None,
        **routing: Any,
    ) -> Team:
        """Change what is given (a name, the members, routing settings); the rest stays."""
        values = {k: getattr(v, "value", v) for k, v in routing.items()}
        if name is not None:
            values["name"] = name
        try:
            async with self._engines.write.begin() as conn:
                # An UPDATE even when nothing changes: it locks the row and says if it exists.
                row = (
                    await conn.execute(
                        update(T.teams)
                        .where(T.teams.c.id == team_id)
                        .values(**(values or {"name": T.teams.c.name}))
                        .returning(T.teams)
                    )
                ).first()
                if row is None:
                    raise NotFound(f"team {team_id}")
                if agent_ids is not None:
                    await conn.execute(
                        delete(T.team_members).where(T.team_members.c.team_id == team_id)
                    )
                    await self._set_members(conn, team_id, agent_ids)
                members = await conn.execute(
                    select(T.team_members.c.agent_id)
                    .where(T.team_members.c.team_id == team_id)
                    .order_by(T.team_members.c.agent_id)
                )
                return rows.team(row, tuple(members.scalars()))
        except IntegrityError:
            raise Conflict(f"team {name!r} exists or names an unknown agent") from None

    @staticmethod
    async def _set_members(conn: AsyncConnection, team_id: int, agent_ids: list[int]) -> None:
        if agent_ids:
            await conn.execute(
                insert(T.team_members),
                [{"team_id": team_id, "agent_id": agent_id} for agent_id in agent_ids],
            )

    async def list_teams(self) -> list[Team]:
        async with self._engines.read.connect() as conn:
            teams = (await conn.execute(select(T.teams).order_by(T.teams.c.id))).all()
            members = (await conn.execute(select(T.team_members))).all()
        by_team: dict[int, list[int]] = {}
        for m in members:
            by_team.setdefault(m.team_id, []).append(m.agent_id)
        return [rows.team(t, tuple(sorted(by_team.get(t.id, [])))) for t in teams]

    async def get_team(self, team_id: int) -> Team:
        async with self._engines.read.connect() as conn:
            row = (await conn.execute(select(T.teams).where(T.teams.c.id == team_id))).first()
            members = await conn.execute(
                select(T.team_members.c.agent_id)
                .where(T.team_members.c.team_id == team_id)
                .order_by(T.team_members.c.agent_id)
            )
            agent_ids = tuple(members.scalars())
        if row is None:
            raise NotFound(f"team {team_id}")
        return rows.team(row, agent_ids)

    # -- channels -----------------------------------------------------------------------
    async def create_channel(
        self, kind: str, name: str, settings: dict[str, Any], team_id: int | None = None
    ) -> Channel:
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    insert(T.channels)
                    .values(
                        kind=kind,
                        name=name,
                        public_key=secrets.token_urlsafe(18),
                        settings_enc=self._box.seal(settings),
                        team_id=team_id,
                        active=True,
                        created_at=now(),
                    )
                    .returning(T.channels)
                )
            ).one()
        return rows.channel(row, self._box)

    async def update_channel(self, channel_id: int, **changes: Any) -> Channel:
        if "settings" in changes:
            changes["settings_enc"] = self._box.seal(changes.pop("settings"))
        async with self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(T.channels)
                    .where(T.channels.c.id == channel_id)
                    .values(**changes)
                    .returning(T.channels)
                )
            ).first()
        if row is None:
            raise NotFound(f"channel {channel_id}")
        channel = rows.channel(row, self._box)
        self._channels.forget(channel)
        return channel

    async def get_channel(self, channel_id: int) -> Channel:
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(select(T.channels).where(T.channels.c.id == channel_id))
            ).first()
        if row is None:
            raise NotFound(f"channel {channel_id}")
        return rows.channel(row, self._box)

    async def channel_by_id(self, channel_id: int) -> Channel:
        """An active channel, for its provider webhooks: cached like ``channel_by_key``.

        Providers call every callback with the channel's id; reading and decrypting the
        channel for each was most of a callback's cost. Ids outside the id column's range
        (a hand-typed URL) are simply not found.
        """
        cached = self._channels.by_id(channel_id)
        if cached is not None and cached.active:
            return cached
        if not 1 <= channel_id <= MAX_ID:
            raise NotFound("no active channel has this id")
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(select(T.channels).where(T.channels.c.id == channel_id))
            ).first()
        if row is None or not row.active:
            raise NotFound("no active channel has this id")
        channel = rows.channel(row, self._box)
        self._channels.put(channel)
        return channel

    async def channel_by_key(self, public_key: str) -> Channel:
        cached = self._channels.by_key(public_key)
        # The store caches channels whatever their state; this answers active ones only.
        if cached is not None and cached.active:
            return cached
        async with self._engines.read.connect() as conn:
            row = (
                await conn.execute(select(T.channels).where(T.channels.c.public_key == public_key))
            ).first()
        if row is None or not row.active:
            raise NotFound("no active channel has this key")
        channel = rows.channel(row, self._box)
        self._channels.put(channel)
        return channel

    async def list_channels(self) -> list[Channel]:
        async with self._engines.read.connect() as conn:
            result = await conn.execute(select(T.channels).order_by(T.channels.c.id))
        return [rows.channel(r, self._box) for r in result]
