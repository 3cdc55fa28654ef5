"""Lets concurrently running ``process_inbound`` jobs share one transaction.

A worker runs many jobs at once; when a burst arrives, each job's event joins the batch that is
about to be written instead of paying for a transaction of its own. Nothing changes for a lone
event: its batch is just itself.

Where the same process also accepts (the embedded mode), answering comes first: while accepts
queue up for their commit, processing pauses after each batch, for as long as they stay queued
and at most nine times as long as the batch took, so it uses at most a tenth of the process
until the burst eases. A provider waits for its answer (and retries, adding load, when it comes
late), while a processed message only waits for an agent. Batches grow in the meantime, which
makes each message cheaper to process. A worker process accepts nothing, so it never pauses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from hub.services.deps import Deps
from hub.services.inbound import process_inbound_batch
from hub.services.publishing import publish_failed_events_changed

log = logging.getLogger(__name__)

MAX_BATCH = 200
#: accepts waiting for their commit at which processing yields to them
CONGESTED = 8
#: pause after a batch, as a multiple of the time it took, while accepts are congested
YIELD_FACTOR = 9.0
MAX_PAUSE_S = 1.0
PAUSE_STEP_S = 0.02
#: processing attempts before an event is set aside as failed
GIVE_UP_AFTER = 5


class InboundBatcher:
    def __init__(self, pause: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._pause = pause
        # Keyed by the Deps object, so hubs sharing a process (tests) never mix their events.
        self._waiting: dict[int, tuple[Deps, list[tuple[int, asyncio.Future[None]]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def process(self, deps: Deps, event_id: int) -> None:
        await self.process_many(deps, [event_id])

    async def process_many(self, deps: Deps, event_ids: list[int]) -> None:
        """Queue events for this process's one writer; returns when they are processed.

        One transaction at a time per process: concurrent batches would only wait on each
        other's row locks, and could deadlock on conversations they both touch.
        """
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in event_ids]
        entry = self._waiting.get(id(deps))
        if entry is None:
            entry = (deps, [])
            self._waiting[id(deps)] = entry
            task = asyncio.create_task(self._drain(id(deps)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        entry[1].extend(zip(event_ids, futures, strict=True))
        await asyncio.gather(*futures)

    async def _drain(self, key: int) -> None:
        # One turn of the loop lets every job that is already running add its event.
        await asyncio.sleep(0)
        deps, queue = self._waiting[key]
        try:
            while queue:
                batch = queue[:MAX_BATCH]
                del queue[:MAX_BATCH]
                started = time.monotonic()
                await self._run(deps, batch)
                budget = min(MAX_PAUSE_S, (time.monotonic() - started) * YIELD_FACTOR)
                # In short steps, for as long as accepts stay congested: those that merely
                # queued for this batch's own write lock commit within the first step, and
                # mean a busy hub rather than a burst.
                while budget > 0 and _pressed(deps):
                    step = min(budget, PAUSE_STEP_S)
                    await self._pause(step)
                    budget -= step
        finally:
            del self._waiting[key]

    async def _run(self, deps: Deps, batch: list[tuple[int, asyncio.Future[None]]]) -> None:
        try:
            await process_inbound_batch(deps, [event_id for event_id, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                await _record_failure(deps, batch[0][0], exc)
                _settle(batch[0][1], exc)
                return
            # One bad event must not hold back the others: each gets a transaction of its own.
            log.warning("batch failed; processing its events one by one", exc_info=True)
            for event_id, future in batch:
                try:
                    await process_inbound_batch(deps, [event_id])
                except Exception as one:
                    await _record_failure(deps, event_id, one)
                    _settle(future, one)
                else:
                    _settle(future, None)
            return
        for _, future in batch:
            _settle(future, None)


def _pressed(deps: Deps) -> bool:
    """Whether providers press on this process: accepts waiting for their commit, or
    callbacks that store nothing themselves (they wake a poller) answered in numbers."""
    return deps.store.accepts_waiting_peak() >= CONGESTED or deps.pressure.busy()


async def _record_failure(deps: Deps, event_id: int, error: BaseException) -> None:
    """A poison event is retried by the sweeper a few times, then set aside with its reason."""
    try:
        async with deps.store.unit() as uow:
            gave_up = await uow.record_event_failure(
                event_id, f"{type(error).__name__}: {error}", GIVE_UP_AFTER
            )
            await uow.commit()
    except Exception:
        log.exception("could not record a failed event", extra={"event_id": event_id})
        return
    if gave_up:
        log.error(
            "event failed for good; it stays stored with its reason",
            extra={"event_id": event_id},
        )
        await publish_failed_events_changed(deps, "failed", [event_id])


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the job was cancelled (timed out) meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
