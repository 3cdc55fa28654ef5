"""Accepted events whose processing failed for good: an admin retries or dismisses them.

An event is set aside as failed after its attempts (``batching.GIVE_UP_AFTER``), kept with its
reason. Nothing is lost meanwhile: once the cause is fixed (a channel's settings, an upgrade),
a retry processes it exactly as if it had just arrived; a dismissed event stays stored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from hub.services.batching import MAX_BATCH
from hub.services.deps import Deps
from hub.services.publishing import publish_failed_events_changed

log = logging.getLogger(__name__)

#: the most events one "retry all" takes; the rest wait for the next
RETRY_ALL_LIMIT = 1000


async def retry(deps: Deps, event_ids: Sequence[int] | None, *, enqueue: bool = True) -> list[int]:
    """Make failed events pending again (``None``: all of them) and queue their processing.

    Returns the ids that were failed; others (already retried, processed or dismissed) are left
    as they are, so a second click changes nothing. With ``enqueue=False`` the hub's sweeper
    queues them at its next round (a command-line tool next to an embedded hub does that: its
    own in-process queue would end with it).
    """
    async with deps.store.unit() as uow:
        ids = await uow.requeue_failed_events(event_ids, RETRY_ALL_LIMIT)
        await uow.commit()
    if ids:
        log.info("failed events retried", extra={"event_ids": ids[:20], "count": len(ids)})
        await publish_failed_events_changed(deps, "retried", ids)
    if not enqueue:
        return ids
    # The events kept their arrival time, so the sweeper's next round queues them too: that
    # costs a job that finds them claimed, and covers a queue that is down right now.
    try:
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            # A job id of its own, never deduplicated: an earlier job of these events may
            # still sit in the queue under theirs, and the claim makes a second run harmless.
            await deps.queue.enqueue(
                "process_inbound_many", chunk, job_id=f"retry:{uuid.uuid4().hex}"
            )
    except Exception:
        log.warning(
            "enqueue failed; the sweeper will queue the retried events",
            extra={"event_ids": ids[:20]},
            exc_info=True,
        )
    return ids


async def dismiss(deps: Deps, event_ids: Sequence[int]) -> list[int]:
    """Set failed events aside for good; they stay stored, with their reason."""
    async with deps.store.unit() as uow:
        ids = await uow.dismiss_failed_events(event_ids)
        await uow.commit()
    if ids:
        log.info("failed events dismissed", extra={"event_ids": ids[:20], "count": len(ids)})
        await publish_failed_events_changed(deps, "dismissed", ids)
    return ids
