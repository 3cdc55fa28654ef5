"""The production queue: jobs in Redis, run by ``kefu worker`` processes with arq."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis


def wake_channel(queue_name: str) -> str:
    """Where a worker listens for "jobs are waiting", so an idle one need not poll often."""
    return f"{queue_name}:wake"


class ArqQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self._redis = redis
        self._queue_name = queue_name
        self._wake = wake_channel(queue_name)

    async def enqueue(
        self, job: str, *args: Any, job_id: str, defer_s: float | None = None
    ) -> None:
        # A job id already queued or running makes arq return None: the dedupe we want.
        queued = await self._redis.enqueue_job(
            job, *args, _job_id=job_id, _defer_by=defer_s, _queue_name=self._queue_name
        )
        if queued is not None and not defer_s:
            await self._redis.publish(self._wake, b"")
