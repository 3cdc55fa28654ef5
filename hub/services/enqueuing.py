"""Queues the processing of accepted events: one job for what arrives together."""

from __future__ import annotations

import asyncio
import logging

from hub.services.deps import Deps

log = logging.getLogger(__name__)


def process_job_id(event_id: int) -> str:
    return f"inbound:{event_id}"


#: the least time between two jobs queued by this process: a quiet hub queues each event at
#: once; a busy one gathers what arrives meanwhile into one job, so the worker pays for fewer
#: jobs and processes bigger batches (as Kafka's linger does for its producers)
ENQUEUE_INTERVAL_S = 0.02


class EnqueueCoalescer:
    """Accepts queue one job for all their events instead of one job each.

    Accepts that finish in the same turn of the event loop (those that shared a commit) hand
    their event ids to a single ``process_inbound_many`` job, and so do all accepts within
    ``ENQUEUE_INTERVAL_S`` of the previous job.
    """

    def __init__(self) -> None:
        # Keyed by event loop and Deps: hubs (and tests) sharing this process never mix.
        self._waiting: dict[tuple[int, int], tuple[Deps, list[int]]] = {}
        self._timers: dict[tuple[int, int], asyncio.Handle] = {}
        self._last: dict[tuple[int, int], float] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    def add(self, deps: Deps, event_ids: list[int]) -> None:
        loop = asyncio.get_running_loop()
        key = (id(loop), id(deps))
        entry = self._waiting.get(key)
        if entry is None:
            entry = (deps, [])
            self._waiting[key] = entry
            wait = self._last.get(key, 0.0) + ENQUEUE_INTERVAL_S - loop.time()
            # At the soonest, behind the accepts woken by the same commit, so they all join.
            self._timers[key] = (
                loop.call_later(wait, self._start_flush, key)
                if wait > 0
                else loop.call_soon(self._start_flush, key)
            )
        entry[1].extend(event_ids)

    async def settled(self) -> None:
        loop = asyncio.get_running_loop()
        for key in [k for k in self._waiting if k[0] == id(loop)]:
            self._timers[key].cancel()
            self._start_flush(key)
        await asyncio.sleep(0)  # flushes started by timers that just fired
        await asyncio.gather(*self._mine(loop), return_exceptions=True)

    def _mine(self, loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[None]]:
        return [task for task in self._flushes if task.get_loop() is loop]

    def _start_flush(self, key: tuple[int, int]) -> None:
        self._timers.pop(key, None)
        self._last[key] = asyncio.get_running_loop().time()
        deps, event_ids = self._waiting.pop(key)
        task = asyncio.create_task(self._flush(deps, event_ids))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, deps: Deps, event_ids: list[int]) -> None:
        try:
            if len(event_ids) == 1:
                await deps.queue.enqueue(
                    "process_inbound", event_ids[0], job_id=process_job_id(event_ids[0])
                )
            else:
                await deps.queue.enqueue(
                    "process_inbound_many",
                    event_ids,
                    job_id=f"inbound:{event_ids[0]}+{len(event_ids) - 1}",
                )
        except Exception:
            log.warning(
                "enqueue failed; the sweeper will retry",
                extra={"event_ids": event_ids[:20]},
                exc_info=True,
            )
