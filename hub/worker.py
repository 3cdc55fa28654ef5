"""``kefu worker``: runs the hub's jobs from Redis with arq."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from typing import Any

from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import RedisError

from adapters.queue.arq_queue import wake_channel
from hub.bootstrap import Hub, build_hub, settle_heap
from hub.config import Settings
from hub.domain.ports import Retrying
from hub.services.jobs import JOBS, JobFunction
from hub.services.polling import PollingSupervisor
from hub.services.sweeper import sweep

log = logging.getLogger(__name__)

#: how long a worker waits before looking at an unreachable Redis again
REDIS_RETRY_S = 1.0


def _job(name: str, function: JobFunction) -> Any:
    async def run(ctx: dict[str, Any], *args: Any) -> None:
        hub_: Hub = ctx["hub"]
        try:
            await function(hub_.deps, *args)
        except Retrying as exc:
            raise Retry(defer=exc.defer_s) from exc

    run.__qualname__ = name
    return run


class WakingWorker(Worker):
    """An arq worker that sleeps between empty polls until a queue says jobs are waiting.

    arq only polls. Polling often keeps latency low but costs CPU while idle; polling seldom
    is cheap but slow. Here an idle worker waits for the wake-up ``ArqQueue`` publishes after
    each enqueue, and polls every ``idle_poll_s`` anyway in case one was missed; while jobs
    keep coming it polls every ``poll_delay`` as arq does. ``_poll_iteration`` and
    ``_jobs_started`` are arq internals, hence the pin on arq's minor version.
    """

    def __init__(self, *args: Any, idle_poll_s: float, wake_channel: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle_poll_s = idle_poll_s
        self._wake_channel = wake_channel
        self._woken = asyncio.Event()
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def _poll_iteration(self) -> None:
        if self._listener is None and not self.burst:
            self._listener = asyncio.create_task(self._listen())
            # Subscribed before the first look at the queue, so no wake-up falls in between.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), 5)
        started = self._jobs_started()
        try:
            await super()._poll_iteration()
        except (RedisError, OSError):
            # arq would end the worker here. Riding out a Redis restart instead loses nothing:
            # what a job wrote is committed, and the sweeper queues again what Redis forgot.
            log.warning("redis unreachable; trying again shortly", exc_info=True)
            await asyncio.sleep(REDIS_RETRY_S)
            return
        if self.burst or self._jobs_started() != started:
            return  # busy: poll again after poll_delay
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), self._idle_poll_s)
        self._woken.clear()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a job slot before asking Redis whether the job is free, and gives it back
        # only on Redis' own answers: a connection lost in between would keep the slot for
        # good, and a worker that rides out Redis restarts would start fewer and fewer jobs.
        for job_id in job_ids:
            taken = self.job_counter
            try:
                await super().start_jobs([job_id])
            except BaseException:
                if self.job_counter > taken and job_id.decode() not in self.tasks:
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def _listen(self) -> None:
        while True:
            try:
                async with self.pool.pubsub() as pubsub:
                    await pubsub.subscribe(self._wake_channel)
                    self._listening.set()
                    self._woken.set()  # (re)subscribed: look at the queue once at once
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self._woken.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Missed wake-ups only cost latency: the idle poll still finds the jobs.
                log.warning("wake-up listener lost its connection", exc_info=True)
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await super().close()


def create_worker(settings: Settings, *, burst: bool = False) -> Worker:
    if not settings.redis_url:
        raise SystemExit("kefu worker needs KEFU_REDIS_URL; embedded mode runs jobs in kefu serve")

    async def startup(ctx: dict[str, Any]) -> None:
        stack = AsyncExitStack()
        ctx["stack"] = stack
        hub_ = ctx["hub"] = await stack.enter_async_context(build_hub(settings))
        supervisor = PollingSupervisor(
            hub_.deps, check_every_s=settings.poll_check_s, lease_s=settings.poll_lease_s
        )
        polling = asyncio.create_task(supervisor.run())

        async def stop_polling() -> None:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

        stack.push_async_callback(stop_polling)
        settle_heap()
        log.info("worker started", extra={"queue": settings.queue_name})

    async def shutdown(ctx: dict[str, Any]) -> None:
        stack: AsyncExitStack | None = ctx.get("stack")
        if stack is not None:
            await stack.aclose()

    async def sweep_job(ctx: dict[str, Any]) -> None:
        await sweep(ctx["hub"].deps)

    every = max(1, int(settings.sweep_every_s))
    return WakingWorker(
        idle_poll_s=settings.worker_idle_poll_s,
        wake_channel=wake_channel(settings.queue_name),
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
