"""Whom a phone channel rings: agents online in the inbox (not away), with a number, of the
chosen team."""

from __future__ import annotations

from typing import Protocol

from hub.domain.channels import AgentPhone
from hub.domain.model import PresenceStatus
from hub.domain.ports import Presence
from hub.domain.records import Agent, Channel, Team


class AgentsAndTeams(Protocol):
    async def list_agents(self) -> list[Agent]: ...
    async def list_teams(self) -> list[Team]: ...


class HubPhones:
    """``Phones`` for the connectors, from the directory and the presence of every process."""

    def __init__(self, directory: AgentsAndTeams, presence: Presence) -> None:
        self._directory = directory
        self._presence = presence

    async def reachable(self, channel: Channel, team: str | None) -> list[AgentPhone]:
        teams = await self._directory.list_teams()
        chosen = next((t for t in teams if team and t.name == team), None)
        if chosen is None and channel.team_id is not None:
            chosen = next((t for t in teams if t.id == channel.team_id), None)
        members = set(chosen.agent_ids) if chosen is not None else None
        online = await self._presence.online()
        return [
            AgentPhone(agent.id, agent.name, agent.phone)
            for agent in await self._directory.list_agents()
            if agent.active
            and agent.phone
            and agent.id in online
            # away (busy) or offline by choice: not rung, as they are given no conversations
            and agent.chosen_presence == PresenceStatus.ONLINE
            and (members is None or agent.id in members)
        ]
