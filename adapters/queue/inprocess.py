"""Runs jobs as asyncio tasks in the web process: the embedded mode's queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from hub.domain.ports import Retrying
from hub.services.deps import Deps
from hub.services.jobs import JobFunction

log = logging.getLogger(__name__)


class InProcessQueue:
    """Same job functions and the same job-id dedupe as arq, without Redis.

    Unfinished work does not survive a restart in memory; it survives in the database, and the
    sweeper run at start-up enqueues it again.
    """

    def __init__(self, jobs: Mapping[str, JobFunction], *, concurrency: int = 16) -> None:
        self._jobs = jobs
        self._deps: Deps | None = None
        self._active: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)

    def bind(self, deps: Deps) -> None:
        self._deps = deps

    async def enqueue(
        self, job: str, *args: Any, job_id: str, defer_s: float | None = None
    ) -> None:
        if job not in self._jobs:
            raise KeyError(f"unknown job {job!r}")
        if job_id in self._active:
            return
        self._active.add(job_id)
        task = asyncio.create_task(self._run(job, args, job_id, defer_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, job: str, args: tuple[Any, ...], job_id: str, defer_s: float | None
    ) -> None:
        retry_in: float | None = None
        try:
            if defer_s:
                await asyncio.sleep(defer_s)
            assert self._deps is not None, "bind() the queue before enqueueing"
            async with self._slots:
                await self._jobs[job](self._deps, *args)
        except Retrying as exc:
            retry_in = exc.defer_s
        except Exception:
            log.exception("job failed", extra={"job": job, "job_id": job_id})
        finally:
            self._active.discard(job_id)
        if retry_in is not None:
            await self.enqueue(job, *args, job_id=job_id, defer_s=retry_in)

    async def idle(self, within_s: float = 10.0) -> None:
        """Wait until no job is queued or running (for tests and orderly shutdown)."""
        async with asyncio.timeout(within_s):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
