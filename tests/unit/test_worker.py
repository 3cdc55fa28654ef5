"""The worker rides out a Redis that drops its connection without losing job slots."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.worker import WakingWorker


class _DroppedPipeline:
    """A Redis pipeline whose connection drops on its first command."""

    async def __aenter__(self) -> _DroppedPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def watch(self, *keys: str) -> None:
        raise RedisConnectionError("Connection closed by server.")


class _DroppingRedis:
    def pipeline(self, transaction: bool = True) -> _DroppedPipeline:
        return _DroppedPipeline()


async def _noop(ctx: dict[str, Any]) -> None:
    return None


async def test_a_connection_lost_while_starting_a_job_gives_its_slot_back() -> None:
    worker = WakingWorker(
        functions=[_noop],
        redis_pool=_DroppingRedis(),  # type: ignore[arg-type]
        queue_name="kefu:test",
        max_jobs=2,
        handle_signals=False,
        idle_poll_s=1.0,
        wake_channel="kefu:test:wake",
    )
    for _ in range(3):  # more drops than slots: none may be kept
        with pytest.raises(RedisConnectionError):
            await worker.start_jobs([b"job-1", b"job-2"])
    assert worker.job_counter == 0
    assert not worker.sem.locked()
    assert worker.tasks == {}
