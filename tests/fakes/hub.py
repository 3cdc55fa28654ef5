"""Fakes for the queue, bus and a connector, and a ``Deps`` wired from them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from adapters.realtime.presence import LocalPresence
from adapters.realtime.wakes import LocalWakes
from hub.domain.channels import (
    ChannelKind,
    FetchedMedia,
    SendContext,
    WebhookRequest,
    WebhookResult,
)
from hub.domain.events import HubEvent
from hub.domain.model import AttachmentRef, Outbound, SendReceipt
from hub.domain.records import Attachment, Channel
from hub.domain.settings import setting
from hub.domain.texts import text
from hub.services.batching import InboundBatcher
from hub.services.deps import Deps, Limits
from hub.services.enqueuing import EnqueueCoalescer
from tests.fakes.memory import FakeBlobStorage, FakeChannelState
from tests.fakes.store import FakeStore


@dataclass
class FakeQueue:
    jobs: list[tuple[str, tuple[Any, ...], str, float | None]] = field(default_factory=list)
    fail: bool = False

    async def enqueue(
        self, job: str, *args: Any, job_id: str, defer_s: float | None = None
    ) -> None:
        if self.fail:
            raise ConnectionError("queue is down")
        self.jobs.append((job, args, job_id, defer_s))

    def take(self) -> list[tuple[str, tuple[Any, ...]]]:
        taken = [(job, args) for job, args, _, _ in self.jobs]
        self.jobs.clear()
        return taken


@dataclass
class FakeBus:
    published: list[tuple[str, HubEvent]] = field(default_factory=list)

    async def publish(self, topic: str, event: HubEvent) -> None:
        self.published.append((topic, event))

    async def publish_many(self, events: Sequence[tuple[str, HubEvent]]) -> None:
        self.published.extend(events)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[HubEvent]]:
        raise NotImplementedError("the unit tests read .published instead")
        yield  # pragma: no cover

    def types(self) -> list[str]:
        return [event.type for _, event in self.published]


class FakeSettings(BaseModel):
    secret: str = setting("", label=text("Secret", "密钥"), secret=True)


FAKE_KIND = ChannelKind(
    kind="fake",
    title=text("Fake", "测试"),
    contact_label=text("Fake user", "测试用户"),
    settings=FakeSettings,
    webhook_names=("callback",),
)


@dataclass
class FakeConnector:
    """Collects what it is asked to send; raises the queued errors first."""

    info: ChannelKind = FAKE_KIND
    sent: list[Outbound] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    media: bytes = b"\x89PNG fake image"
    media_errors: list[Exception] = field(default_factory=list)

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        return WebhookResult()

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(out)
        return SendReceipt(provider_message_id=f"prov-{out.message_id}")

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        if self.media_errors:
            raise self.media_errors.pop(0)
        return FetchedMedia(self.media, "image/png", "photo.png")


@dataclass
class Pipeline:
    deps: Deps
    store: FakeStore
    queue: FakeQueue
    bus: FakeBus
    connector: FakeConnector
    blobs: FakeBlobStorage


def fake_pipeline(max_delivery_attempts: int = 3) -> Pipeline:
    store = FakeStore()
    queue = FakeQueue()
    bus = FakeBus()
    connector = FakeConnector()
    blobs = FakeBlobStorage()
    states: dict[int, FakeChannelState] = {}

    def file_url(item: Attachment) -> str | None:
        return f"/files/{item.id}" if item.storage_key else None

    deps = Deps(
        store=store,
        queue=queue,
        bus=bus,
        blobs=blobs,
        connectors={"fake": connector},
        state_for=lambda channel_id: states.setdefault(channel_id, FakeChannelState()),
        file_url=file_url,
        leases_for=lambda channel_id: states.setdefault(channel_id, FakeChannelState()),
        inbound=InboundBatcher(),
        enqueues=EnqueueCoalescer(),
        wakes=LocalWakes(),
        presence=LocalPresence(),
        limits=Limits(
            max_delivery_attempts=max_delivery_attempts, sweep_after_s=0, presence_grace_s=0
        ),
    )
    return Pipeline(deps, store, queue, bus, connector, blobs)
