"""``kefu worker``: runs the hub's jobs from Redis with arq."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any

from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.worker import Worker

from hub.bootstrap import Hub, build_hub
from hub.config import Settings
from hub.domain.ports import Retrying
from hub.services.jobs import JOBS, JobFunction
from hub.services.sweeper import sweep

log = logging.getLogger(__name__)


def _job(name: str, function: JobFunction) -> Any:
    async def run(ctx: dict[str, Any], *args: Any) -> None:
        hub_: Hub = ctx["hub"]
        try:
            await function(hub_.deps, *args)
        except Retrying as exc:
            raise Retry(defer=exc.defer_s) from exc

    run.__qualname__ = name
    return run


def create_worker(settings: Settings, *, burst: bool = False) -> Worker:
    if not settings.redis_url:
        raise SystemExit("kefu worker needs KEFU_REDIS_URL; embedded mode runs jobs in kefu serve")

    async def startup(ctx: dict[str, Any]) -> None:
        stack = AsyncExitStack()
        ctx["stack"] = stack
        ctx["hub"] = await stack.enter_async_context(build_hub(settings))
        log.info("worker started", extra={"queue": settings.queue_name})

    async def shutdown(ctx: dict[str, Any]) -> None:
        stack: AsyncExitStack | None = ctx.get("stack")
        if stack is not None:
            await stack.aclose()

    async def sweep_job(ctx: dict[str, Any]) -> None:
        await sweep(ctx["hub"].deps)

    every = max(1, int(settings.sweep_every_s))
    return Worker(
        functions=[
            func(_job(name, fn), name=name, max_tries=settings.max_delivery_attempts + 2)
            for name, fn in JOBS.items()
            if name != "sweep"
        ],
        cron_jobs=[
            cron(
                sweep_job,
                name="sweep",
                second=set(range(0, 60, every)),
                run_at_startup=True,
                unique=True,
            )
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        job_timeout=settings.job_timeout_s,
        keep_result=0,
        poll_delay=settings.worker_poll_delay_s,
        max_jobs=settings.worker_max_jobs,
        burst=burst,
        handle_signals=True,
    )
