"""What the connectors' own endpoints (transports, listeners) may ask of this process's hub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, cast

from hub.bootstrap import Hub
from hub.domain.errors import Conflict, TooManyRequests
from hub.domain.events import HubEvent
from hub.domain.model import Inbound, StatusUpdate
from hub.domain.records import Attachment, Channel, Message
from hub.domain.routing import QueuePlace
from hub.domain.service_rules import VisitorService
from hub.domain.visitors import InvitationState, PageReport, PageView
from hub.services import invitations, ratings, service_rules
from hub.services.inbound import accept, apply_statuses
from hub.services.visitors import VisitorBoard


class ProcessHubAccess:
    """``HubAccess`` for the connectors' transports and listeners, on this process's hub."""

    def __init__(self, hub: Hub, visitors: VisitorBoard | None = None) -> None:
        self._hub = hub
        #: the web process's visitor board; a listener's process (``kefu smtp``) has none
        self._visitors = visitors
        self.max_upload_bytes = hub.settings.max_upload_bytes
        self.upload_types: Sequence[str] = tuple(hub.settings.upload_types)

    async def channel_by_key(self, key: str) -> Channel:
        return await self._hub.directory.channel_by_key(key)

    async def accept(self, channel: Channel, items: Sequence[Inbound]) -> None:
        await accept(self._hub.deps, channel, items)

    async def history(self, channel_id: int, sender_id: str) -> list[Message]:
        messages, _ = await self._hub.queries.identity_history(channel_id, sender_id)
        return list(messages)

    async def pending(
        self, channel_id: int, event_id_prefix: str
    ) -> list[tuple[datetime, Inbound]]:
        found = await self._hub.queries.pending_events(channel_id, event_id_prefix)
        return [(at, Inbound.model_validate(payload)) for at, payload in found]

    async def agent_names(self) -> dict[int, str]:
        return await self._hub.queries.agent_names()

    async def agents_online(self) -> bool:
        return bool(await self._hub.presence.online())

    async def latest_conversation_id(self, channel_id: int, sender_id: str) -> int | None:
        return await self._hub.queries.latest_conversation_id(channel_id, sender_id)

    async def queue_place(self, channel: Channel, customer: str) -> QueuePlace | None:
        return await self._hub.queries.queue_place(channel.id, customer)

    async def message(self, message_id: int) -> Message | None:
        return await self._hub.queries.message(message_id)

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[HubEvent]]:
        return self._hub.bus.subscribe(topic)

    async def publish(self, topic: str, event: HubEvent) -> None:
        await self._hub.bus.publish(topic, event)

    def file_url(self, attachment: Attachment) -> str | None:
        return self._hub.deps.file_url(attachment)

    async def apply_statuses(self, channel: Channel, updates: Sequence[StatusUpdate]) -> None:
        await apply_statuses(self._hub.deps, channel, updates)

    async def channels_of_kind(self, kind: str) -> list[Channel]:
        return [c for c in await self._hub.directory.list_channels() if c.kind == kind]

    async def store_file(self, data: bytes, *, filename: str, content_type: str) -> str:
        return await self._hub.deps.blobs.put(data, filename=filename, content_type=content_type)

    async def throttle(self, rules: Sequence[tuple[str, int, float]]) -> None:
        counted = await self._hub.flood_limiter.count_many(
            [(key, window) for key, _, window in rules]
        )
        for (_, limit, _), (count, left) in zip(rules, counted, strict=True):
            if count > limit:
                raise TooManyRequests(
                    f"too many requests; try again in {max(1, round(left))} s", left
                )

    def page_opened(
        self, channel: Channel, visitor_id: str, connection: str, report: PageReport
    ) -> None:
        if self._visitors is not None:
            self._visitors.page_opened(channel.id, visitor_id, connection, report)

    def visitor_chatting(self, channel: Channel, visitor_id: str, conversation_id: int) -> None:
        if self._visitors is not None:
            self._visitors.chatting(channel.id, visitor_id, conversation_id)

    async def invitation(
        self, channel: Channel, visitor_id: str, invitation: Mapping[str, Any], outcome: str
    ) -> int | None:
        if self._visitors is not None:
            agent = invitation.get("agent_id")
            state = InvitationState(
                str(invitation["invitation_id"]), int(agent) if agent is not None else None, outcome
            )
            if not self._visitors.invited(channel.id, visitor_id, state):
                return None  # another page of the visitor's answered it first
        if outcome not in ("accepted", "declined", "ignored"):
            return None
        found = await invitations.answered(
            self._hub.deps,
            channel,
            visitor_id,
            invitation,
            cast(invitations.Outcome, outcome),
            self._hub.invitation_rules,
        )
        if found is not None and self._visitors is not None:
            self._visitors.chatting(channel.id, visitor_id, found)
        return found

    def page_closed(self, channel: Channel, visitor_id: str, connection: str) -> None:
        if self._visitors is not None:
            self._visitors.closed(channel.id, visitor_id, connection)

    def trail(self, channel: Channel, visitor_id: str) -> tuple[PageView, ...]:
        return self._visitors.trail(channel.id, visitor_id) if self._visitors else ()

    async def service(
        self, channel: Channel, conversation_id: int | None, language: str | None
    ) -> VisitorService:
        return await service_rules.visitor_service(
            self._hub.deps, channel, conversation_id, language
        )

    async def rate(
        self, channel: Channel, customer: str, conversation_id: int | None, score: int, comment: str
    ) -> None:
        if conversation_id is None:
            raise Conflict("there is no conversation to rate")
        conversation = await ratings.rate(self._hub.deps, conversation_id, score, comment)
        await ratings.rated_event(self._hub.deps, conversation, customer)
