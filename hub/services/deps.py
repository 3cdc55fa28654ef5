"""The one typed bundle of dependencies every service and job receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hub.domain.channels import ChannelState, Connector, Leases, SendContext
from hub.domain.errors import NotFound
from hub.domain.ports import BlobStorage, EventBus, JobQueue, Presence, Store, Wakes
from hub.domain.records import Attachment
from hub.domain.service_rules import NoServiceRules, RatingLinks, ServiceRulesStore
from hub.services.pressure import CallbackPressure


@dataclass(frozen=True)
class Limits:
    max_delivery_attempts: int = 8
    sweep_after_s: float = 30.0
    #: how long an agent whose last websocket closed still counts as connected (a reload)
    presence_grace_s: float = 30.0


class InboundProcessing(Protocol):
    """Processes accepted events (``hub.services.batching.InboundBatcher``)."""

    async def process_many(self, deps: Deps, event_ids: list[int]) -> None: ...


class Enqueuing(Protocol):
    """Queues jobs for accepted events (``hub.services.enqueuing.EnqueueCoalescer``)."""

    def add(self, deps: Deps, event_ids: list[int]) -> None: ...
    async def settled(self) -> None: ...


@dataclass(frozen=True)
class Deps:
    store: Store
    queue: JobQueue
    bus: EventBus
    blobs: BlobStorage
    connectors: Mapping[str, Connector]
    state_for: Callable[[int], ChannelState]
    #: a URL at which an attachment can be fetched by whoever was shown the message
    file_url: Callable[[Attachment], str | None]
    #: per-channel leases, for work one process at a time must own (pollers)
    leases_for: Callable[[int], Leases]
    #: this hub's processing of accepted events, and its queueing of their jobs
    inbound: InboundProcessing
    enqueues: Enqueuing
    #: carries callbacks' wakes to the process that runs the channel's poller
    wakes: Wakes
    #: which agents have a websocket open, in every process
    presence: Presence
    limits: Limits = Limits()
    #: the hub's address as the outside world calls it (``KEFU_PUBLIC_URL``)
    public_url: str = ""
    #: providers' callbacks this process answered, for processing to make way in a burst
    pressure: CallbackPressure = field(default_factory=CallbackPressure)
    #: business hours, channels' service rules, and what their automatic messages sent
    rules: ServiceRulesStore = field(default_factory=NoServiceRules)
    #: the signed links by which customers rate a conversation on a page of the hub
    rating_links: RatingLinks | None = None

    def connector(self, kind: str) -> Connector:
        try:
            return self.connectors[kind]
        except KeyError:
            raise NotFound(f"no connector for channel kind {kind!r}") from None

    def public_file_url(self, item: Attachment) -> str | None:
        """An absolute, signed, expiring address of a stored file, for a provider to fetch."""
        path = self.file_url(item)
        if path is None or not self.public_url:
            return None
        return self.public_url.rstrip("/") + path

    def send_context(self, channel_id: int) -> SendContext:
        return SendContext(
            blobs=self.blobs, publish=self.bus.publish, state=self.state_for(channel_id)
        )
