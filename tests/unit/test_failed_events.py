"""Retrying and dismissing events whose processing failed for good, on fakes."""

from __future__ import annotations

import pytest

from hub.domain.model import EventStatus, Inbound
from hub.services import failed_events, inbound, sweeper
from hub.services.batching import MAX_BATCH
from tests.fakes.hub import Pipeline, fake_pipeline
from tests.unit.test_pipeline import run_jobs


@pytest.fixture
def p() -> Pipeline:
    return fake_pipeline()


async def failed(p: Pipeline, count: int = 1) -> list[int]:
    """Accepted events that failed their one allowed attempt."""
    channel = p.store.add_channel()
    items = [
        Inbound(provider_event_id=f"e{n}", sender_id=f"visitor-{n}", text=f"订单 {n} 在哪里？")
        for n in range(count)
    ]
    accepted = await p.deps.store.accept_events(channel.id, items)
    async with p.deps.store.unit() as uow:
        for result in accepted:
            assert await uow.record_event_failure(result.event_id, "RuntimeError: bug", 1)
        await uow.commit()
    return [r.event_id for r in accepted]


def statuses(p: Pipeline) -> list[EventStatus]:
    return [e.status for e in p.store.tables.events.values()]


async def test_a_retry_processes_the_event_once_and_a_second_retry_changes_nothing(
    p: Pipeline,
) -> None:
    [event_id] = await failed(p)
    assert await failed_events.retry(p.deps, [event_id]) == [event_id]
    assert p.queue.jobs[0][:2] == ("process_inbound_many", ([event_id],))
    assert p.bus.published[0][1].data == {"change": "retried", "ids": [event_id]}
    await run_jobs(p)
    assert [m.text for m in p.store.tables.messages.values()] == ["订单 0 在哪里？"]
    assert statuses(p) == [EventStatus.DONE]
    assert "message.created" in p.bus.types()

    assert await failed_events.retry(p.deps, [event_id]) == []
    assert p.queue.jobs == []
    assert len(p.store.tables.messages) == 1


async def test_retry_all_queues_batches_and_starts_the_attempts_afresh(p: Pipeline) -> None:
    ids = await failed(p, MAX_BATCH + 3)
    assert await failed_events.retry(p.deps, None) == ids
    assert [len(args[0]) for _, args, _, _ in p.queue.jobs] == [MAX_BATCH, 3]
    assert {e.attempts for e in p.store.tables.events.values()} == {0}
    await run_jobs(p)
    assert len(p.store.tables.messages) == MAX_BATCH + 3


async def test_without_enqueue_the_sweeper_picks_retried_events_up(p: Pipeline) -> None:
    [event_id] = await failed(p)
    assert await failed_events.retry(p.deps, [event_id], enqueue=False) == [event_id]
    assert p.queue.jobs == []
    assert statuses(p) == [EventStatus.PENDING]
    await sweeper.sweep(p.deps, older_than_s=0)
    assert p.queue.take() == [("process_inbound", (event_id,))]


async def test_a_dismissed_event_stays_stored_and_is_never_retried(p: Pipeline) -> None:
    first, second = await failed(p, 2)
    assert await failed_events.dismiss(p.deps, [first, 999]) == [first]
    assert [e.data for _, e in p.bus.published] == [{"change": "dismissed", "ids": [first]}]
    assert statuses(p) == [EventStatus.DISMISSED, EventStatus.FAILED]
    assert await failed_events.retry(p.deps, None) == [second]
    assert await failed_events.dismiss(p.deps, [first]) == []
    await run_jobs(p)
    assert [m.text for m in p.store.tables.messages.values()] == ["订单 1 在哪里？"]


async def test_pending_and_processed_events_are_left_alone(p: Pipeline) -> None:
    channel = p.store.add_channel()
    [accepted] = await inbound.accept(
        p.deps, channel, [Inbound(provider_event_id="ok", sender_id="v", text="hi")]
    )
    assert await failed_events.retry(p.deps, [accepted.event_id]) == []
    assert await failed_events.dismiss(p.deps, [accepted.event_id]) == []
    await run_jobs(p)
    assert await failed_events.retry(p.deps, None) == []
    assert statuses(p) == [EventStatus.DONE]


async def test_a_retried_event_that_fails_again_gets_its_attempts_afresh(p: Pipeline) -> None:
    [event_id] = await failed(p)
    await failed_events.retry(p.deps, [event_id])
    async with p.deps.store.unit() as uow:
        gave_up = [await uow.record_event_failure(event_id, "still broken", 2) for _ in "ab"]
        await uow.commit()
    assert gave_up == [False, True]  # two fresh attempts, not one left over
    assert statuses(p) == [EventStatus.FAILED]


async def test_a_queue_that_is_down_leaves_retried_events_to_the_sweeper(p: Pipeline) -> None:
    [event_id] = await failed(p)
    p.queue.fail = True
    assert await failed_events.retry(p.deps, [event_id]) == [event_id]  # no error for the admin
    assert statuses(p) == [EventStatus.PENDING]
    p.queue.fail = False
    await sweeper.sweep(p.deps, older_than_s=0)
    await run_jobs(p)
    assert len(p.store.tables.messages) == 1
