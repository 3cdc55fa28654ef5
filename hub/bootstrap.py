"""The composition root: builds every adapter from settings, and nothing at import time."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from itsdangerous import URLSafeTimedSerializer
from redis.asyncio import Redis

from adapters.db.canned_replies import SqlCannedReplies
from adapters.db.channel_cache import ChannelCache
from adapters.db.channel_state import SqlChannelState
from adapters.db.directory import SqlDirectory
from adapters.db.engine import Engines, create_engines
from adapters.db.invitation_rules import SqlInvitationRules
from adapters.db.queries import SqlQueries
from adapters.db.secretbox import SecretBox
from adapters.db.service_rules import SqlServiceRules
from adapters.db.store import SqlStore
from adapters.db.tokens import SqlTokens
from adapters.geo.maxmind import MaxMindRegions
from adapters.http.guarded import guarded_session
from adapters.limits.local import LocalRateLimiter
from adapters.limits.redis import RedisRateLimiter
from adapters.limits.synced import SyncedRateLimiter
from adapters.queue.arq_queue import ArqQueue
from adapters.queue.inprocess import InProcessQueue
from adapters.realtime.local import LocalEventBus
from adapters.realtime.presence import LocalPresence, RedisPresence
from adapters.realtime.redis_bus import RedisEventBus
from adapters.realtime.wakes import LocalWakes, RedisWakes
from adapters.storage.local import LocalFileStorage
from hub.config import Settings
from hub.domain.channels import ChannelState
from hub.domain.ports import EventBus, JobQueue, Presence, RateLimiter, Wakes
from hub.domain.records import Attachment
from hub.domain.visitors import Regions
from hub.registry import ConnectorEnv, LoadProblem, load_connectors
from hub.services.batching import InboundBatcher
from hub.services.deps import Deps, Limits
from hub.services.enqueuing import EnqueueCoalescer
from hub.services.jobs import JOBS
from hub.services.login_guard import LoginGuard, LoginLimits
from hub.services.phones import HubPhones
from hub.services.ratings import SignedRatingLinks
from hub.services.visitors import NoRegions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hub:
    """Everything a web or worker process needs, built once per process."""

    settings: Settings
    secret: str
    engines: Engines
    store: SqlStore
    directory: SqlDirectory
    queries: SqlQueries
    deps: Deps
    presence: Presence
    tokens: SqlTokens
    #: exact counts shared by every process (login attempts: few, and worth a round trip)
    limiter: RateLimiter
    #: counts per customer message: in memory at once, shared a few times a second
    flood_limiter: RateLimiter
    login_guard: LoginGuard
    file_signer: URLSafeTimedSerializer
    #: connector packages that were left out, with their reasons
    connector_problems: tuple[LoadProblem, ...]
    http: aiohttp.ClientSession
    redis: Redis | None
    inprocess_queue: InProcessQueue | None
    canned_replies: SqlCannedReplies
    invitation_rules: SqlInvitationRules
    #: business hours and channels' service rules (automatic messages, ratings)
    service_rules: SqlServiceRules
    #: where visitors are, for the live visitor panel (``KEFU_GEOIP_PATH``)
    regions: Regions

    @property
    def bus(self) -> EventBus:
        return self.deps.bus

    @property
    def queue(self) -> JobQueue:
        return self.deps.queue


def file_url_maker(signer: URLSafeTimedSerializer) -> Callable[[Attachment], str | None]:
    def file_url(item: Attachment) -> str | None:
        if item.storage_key is None:
            return None
        # Quoted: a "#" or "?" in a customer's file name must not end the path.
        return f"/files/{signer.dumps(item.id)}/{quote(item.filename or 'file')}"

    return file_url


def settle_heap() -> None:
    """Exempt what start-up built (modules, schema, caches: over 100,000 objects) from the
    garbage collector, once a process is ready to serve.

    Otherwise every full collection walks all of it again: 80 ms on a small machine, a pause
    that shows in the inbox's push latency.
    """
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def build_hub(settings: Settings, *, listen: bool = False) -> AsyncIterator[Hub]:
    """Build every adapter the settings ask for; closed in reverse order on exit.

    ``listen``: receive other processes' live events from the start (a web process, whose
    sockets subscribe); otherwise the first subscriber starts listening.
    """
    secret = settings.resolved_secret_key()
    async with AsyncExitStack() as stack:
        engines = create_engines(settings.database_url)
        stack.push_async_callback(engines.dispose)
        box = SecretBox(secret)
        channels = ChannelCache()
        store = SqlStore(engines, box, channels=channels)
        stack.push_async_callback(store.close)
        http = guarded_session(allow_private=settings.allow_private_networks)
        stack.push_async_callback(http.close)

        redis: Redis | None = None
        inprocess: InProcessQueue | None = None
        queue: JobQueue
        bus: EventBus
        presence: Presence
        if settings.redis_url:
            from arq import create_pool
            from arq.connections import RedisSettings

            redis = Redis.from_url(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            redis_bus = RedisEventBus(redis, settings.queue_name)
            stack.push_async_callback(redis_bus.close)
            if listen:
                await redis_bus.start()
            bus = redis_bus
            redis_wakes = RedisWakes(redis, settings.queue_name)
            stack.push_async_callback(redis_wakes.close)
            wakes: Wakes = redis_wakes
            presence = RedisPresence(redis)
            limiter: RateLimiter = RedisRateLimiter(redis)
            synced = SyncedRateLimiter(redis)
            stack.push_async_callback(synced.close)
            flood_limiter: RateLimiter = synced
            arq_pool = await create_pool(
                RedisSettings.from_dsn(settings.redis_url),
                default_queue_name=settings.queue_name,
            )
            stack.push_async_callback(arq_pool.aclose)
            queue = ArqQueue(arq_pool, settings.queue_name)
        else:
            bus = LocalEventBus()
            wakes = LocalWakes()
            presence = LocalPresence()
            limiter = flood_limiter = LocalRateLimiter()
            inprocess = InProcessQueue(JOBS)
            stack.push_async_callback(inprocess.close)
            queue = inprocess

        # Timed: a file URL that leaked (a forwarded screenshot, a log) stops working.
        signer = URLSafeTimedSerializer(secret, salt="kefu.files")

        def state_for(channel_id: int) -> ChannelState:
            return SqlChannelState(engines, channel_id)

        directory = SqlDirectory(engines, box, channels)
        service_rules = SqlServiceRules(engines, store)
        registry = load_connectors(
            ConnectorEnv(
                http=http,
                state_for=state_for,
                secret_key=secret,
                public_url=settings.public_url,
                phones=HubPhones(directory, presence),
                allow_private_networks=settings.allow_private_networks,
            )
        )
        deps = Deps(
            store=store,
            queue=queue,
            bus=bus,
            blobs=LocalFileStorage(settings.files_dir),
            connectors=registry.connectors,
            state_for=state_for,
            file_url=file_url_maker(signer),
            leases_for=lambda channel_id: SqlChannelState(engines, channel_id),
            inbound=InboundBatcher(),
            enqueues=EnqueueCoalescer(),
            wakes=wakes,
            presence=presence,
            public_url=settings.public_url,
            limits=Limits(
                max_delivery_attempts=settings.max_delivery_attempts,
                sweep_after_s=settings.sweep_after_s,
                presence_grace_s=settings.presence_grace_s,
            ),
            rules=service_rules,
            rating_links=SignedRatingLinks(secret, settings.public_url),
        )
        if inprocess is not None:
            inprocess.bind(deps)
        yield Hub(
            settings=settings,
            secret=secret,
            engines=engines,
            store=store,
            directory=directory,
            queries=SqlQueries(engines),
            deps=deps,
            presence=presence,
            tokens=SqlTokens(engines),
            limiter=limiter,
            flood_limiter=flood_limiter,
            login_guard=LoginGuard(
                limiter,
                LoginLimits(
                    per_account_address=settings.login_failures_per_account_address,
                    per_address=settings.login_failures_per_address,
                    window_s=settings.login_window_s,
                    per_account=settings.login_failures_per_account,
                    account_window_s=settings.login_account_window_s,
                    slowdown_s=settings.login_slowdown_s,
                ),
            ),
            file_signer=signer,
            connector_problems=registry.problems,
            http=http,
            redis=redis,
            inprocess_queue=inprocess,
            canned_replies=SqlCannedReplies(engines),
            invitation_rules=SqlInvitationRules(engines),
            service_rules=service_rules,
            regions=MaxMindRegions(settings.geoip_path) if settings.geoip_path else NoRegions(),
        )
