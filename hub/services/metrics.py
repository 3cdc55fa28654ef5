"""Queues the work a conversation's change of state asks for: its times in business hours, and
the rating request once it is resolved (``hub.services.service_rules`` does them)."""

from __future__ import annotations

import logging

from hub.domain.model import ConversationStatus
from hub.domain.records import Conversation
from hub.services.deps import Deps

log = logging.getLogger(__name__)


async def conversation_changed(deps: Deps, before: Conversation, after: Conversation) -> None:
    """After the commit of a change to ``after``; a lost enqueue only loses these times."""
    if after.status == ConversationStatus.RESOLVED and before.status != after.status:
        job, stamp = "conversation_resolved", after.resolved_at
    elif (before.first_response_at, before.resolved_at) != (
        after.first_response_at,
        after.resolved_at,
    ):
        job, stamp = "measure_conversation", after.updated_at
    else:
        return
    try:
        await deps.queue.enqueue(
            job, after.id, job_id=f"{job}:{after.id}:{stamp.isoformat() if stamp else ''}"
        )
    except Exception:
        log.warning(
            "enqueue failed", extra={"conversation_id": after.id, "job": job}, exc_info=True
        )
