"""The contract between the hub and a channel connector.

A connector is a pure translator: it verifies a provider's request, parses it into normalised
values, says what to answer, and sends outbound messages. It never sees the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from hub.domain.model import AttachmentRef, Inbound, Outbound, SendReceipt, StatusUpdate
from hub.domain.ports import BlobStorage, Publish
from hub.domain.records import Channel


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's HTTP request without any web framework around it."""

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class WebhookResult:
    response: WebhookResponse = field(default_factory=WebhookResponse)
    inbound: tuple[Inbound, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()


class ChannelState(Protocol):
    """Small per-channel values shared by every process: access tokens, sync cursors."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, expires_at: datetime | None = None) -> None: ...


@dataclass(frozen=True)
class SendContext:
    blobs: BlobStorage
    publish: Publish
    state: ChannelState


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    content_type: str
    filename: str


class Connector(Protocol):
    kind: str
    #: the names of the webhooks this kind exposes, e.g. ``("callback",)``
    webhook_names: tuple[str, ...]
    #: settings that are secrets: encrypted at rest and masked in the API
    secret_settings: frozenset[str]

    def validate_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Return the normalised settings or raise ``InvalidInput`` with the reason."""
        ...

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult: ...

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt: ...

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia: ...


@dataclass(frozen=True)
class ReplyWindow:
    """How many replies a channel still allows, and until when (WeChat's 48-hour rule)."""

    remaining: int
    limit: int
    closes_at: datetime | None


@runtime_checkable
class LimitsReplies(Protocol):
    """A connector whose provider caps replies after the customer's last message."""

    def reply_window(
        self,
        customer_activity: list[tuple[datetime, str | None]],
        replies: list[datetime],
        now: datetime,
    ) -> ReplyWindow:
        """``customer_activity``: the customer's recent messages, newest first, each with its
        normalised event name (``None`` for an ordinary message); ``replies``: when recent
        replies were sent."""
        ...


@runtime_checkable
class EndsSessions(Protocol):
    """A connector whose provider keeps a session state the hub should close on resolve."""

    async def end_session(self, channel: Channel, external_id: str, ctx: SendContext) -> None: ...
