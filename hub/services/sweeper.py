"""Re-enqueues work that was accepted but not finished: nothing accepted is ever lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.services.deps import Deps
from hub.services.enqueuing import process_job_id
from hub.services.outbound import deliver_job_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    events: int
    deliveries: int
    media: int


async def sweep(deps: Deps, *, older_than_s: float | None = None, limit: int = 1000) -> SweepResult:
    age = deps.limits.sweep_after_s if older_than_s is None else older_than_s
    cutoff = datetime.now(UTC) - timedelta(seconds=age)
    async with deps.store.unit() as uow:
        events = await uow.unfinished_event_ids(cutoff, limit)
        messages = await uow.queued_message_ids(cutoff, limit)
        files = await uow.pending_attachment_ids(cutoff, limit)
    for event_id in events:
        await deps.queue.enqueue("process_inbound", event_id, job_id=process_job_id(event_id))
    for message_id in messages:
        await deps.queue.enqueue("deliver", message_id, job_id=deliver_job_id(message_id))
    for file_id in files:
        await deps.queue.enqueue("fetch_media", file_id, job_id=f"media:{file_id}")
    if events or messages or files:
        log.info(
            "sweep re-enqueued unfinished work",
            extra={"events": len(events), "deliveries": len(messages), "media": len(files)},
        )
    return SweepResult(len(events), len(messages), len(files))
