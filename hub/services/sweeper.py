"""Re-enqueues work that was accepted but not finished: nothing accepted is ever lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.domain.texts import text
from hub.services import presence, routing
from hub.services.deps import Deps
from hub.services.enqueuing import process_job_id
from hub.services.outbound import deliver_job_id
from hub.services.publishing import publish_message

log = logging.getLogger(__name__)

#: Providers keep files for days, not forever (WeChat: 3): a file still not fetched after that
#: is given up, and the thread says so instead of showing it as coming forever.
MEDIA_KEPT_FOR = timedelta(days=3)
MEDIA_GONE = {
    "code": "hub.media_expired",
    "text": text(
        "the file could not be fetched from the provider before it stopped keeping it",
        "在服务商删除该文件之前未能获取到它",
    ),
}


@dataclass(frozen=True)
class SweepResult:
    events: int
    deliveries: int
    media: int


async def sweep(deps: Deps, *, older_than_s: float | None = None, limit: int = 1000) -> SweepResult:
    age = deps.limits.sweep_after_s if older_than_s is None else older_than_s
    cutoff = datetime.now(UTC) - timedelta(seconds=age)
    async with deps.store.unit() as uow:
        given_up = await uow.fail_stale_attachments(
            datetime.now(UTC) - MEDIA_KEPT_FOR, MEDIA_GONE, limit
        )
        changed = [m for m in [await uow.get_message(i) for i in given_up] if m is not None]
        await uow.commit()
    for message in changed:
        await publish_message(deps, "message.updated", message)
    if changed:
        log.warning("provider files given up", extra={"messages": len(changed)})
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
    # Agents whose web process died never said goodbye: their connections stopped counting,
    # and here their stored presence follows.
    reaped = await presence.reap(deps)
    if reaped:
        log.info("presence brought in line with connections", extra={"agents": reaped})
    # Routing runs after the commits that need it; one that failed, or a process that stopped
    # in between, left conversations waiting that agents have room for.
    late = await routing.route_all(deps)
    if late:
        log.info("waiting conversations assigned by the sweeper", extra={"assigned": late})
    return SweepResult(len(events), len(messages), len(files))
