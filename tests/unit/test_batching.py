"""Concurrent processing jobs share transactions, and one bad event holds back no other."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from hub.domain.errors import NotFound
from hub.domain.model import ConversationStatus, EventStatus, Inbound
from hub.services import batching, conversations, enqueuing, inbound, sweeper
from hub.services.batching import InboundBatcher
from hub.services.pressure import CallbackPressure
from tests.fakes.hub import fake_pipeline


def item(n: int) -> Inbound:
    return Inbound(provider_event_id=f"e{n}", sender_id=f"visitor-{n % 7}", text=f"message {n}")


async def test_concurrent_jobs_share_one_commit() -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    accepted = await p.store.accept_events(channel.id, [item(n) for n in range(50)])
    batcher = InboundBatcher()
    before = p.store.commits
    await asyncio.gather(*(batcher.process(p.deps, a.event_id) for a in accepted))
    assert p.store.commits - before == 1
    assert len(p.store.tables.messages) == 50
    assert len(p.store.tables.conversations) == 7
    texts = [m.text for m in sorted(p.store.tables.messages.values(), key=lambda m: m.id)]
    assert texts == [f"message {n}" for n in range(50)]
    unread = sorted(c.unread_count for c in p.store.tables.conversations.values())
    assert sum(unread) == 50
    created = [e for _, e in p.bus.published if e.type == "message.created"]
    assert len(created) == 50


async def test_a_bad_event_fails_alone() -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    good = await p.store.accept_events(channel.id, [item(1), item(2)])
    orphan = await p.store.accept_events(9999, [item(3)])  # its channel is gone
    batcher = InboundBatcher()
    results = await asyncio.gather(
        *(batcher.process(p.deps, a.event_id) for a in [*good, *orphan]),
        return_exceptions=True,
    )
    assert results[:2] == [None, None]
    assert isinstance(results[2], NotFound)
    assert len(p.store.tables.messages) == 2
    orphaned = p.store.tables.events[orphan[0].event_id]
    assert orphaned.status == EventStatus.PENDING  # the sweeper will try again
    assert orphaned.attempts == 1
    for _ in range(4):
        with pytest.raises(NotFound):
            await batcher.process(p.deps, orphan[0].event_id)
    assert p.store.tables.events[orphan[0].event_id].status == EventStatus.FAILED
    assert await sweeper.sweep(p.deps, older_than_s=-1) == sweeper.SweepResult(0, 0, 0)
    # admins' pages hear of it once, when it fails for good
    changed = [e.data for _, e in p.bus.published if e.type == "failed_events.changed"]
    assert changed == [{"change": "failed", "ids": [orphan[0].event_id]}]


async def test_a_lone_event_is_its_own_batch() -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    [accepted] = await p.store.accept_events(channel.id, [item(1)])
    await InboundBatcher().process(p.deps, accepted.event_id)
    await InboundBatcher().process(p.deps, accepted.event_id)  # a job run twice
    assert len(p.store.tables.messages) == 1


@pytest.mark.parametrize("size", [1, 250])
async def test_batches_are_capped(size: int) -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    accepted = await p.store.accept_events(channel.id, [item(n) for n in range(size)])
    before = p.store.commits
    batcher = InboundBatcher()
    await asyncio.gather(*(batcher.process(p.deps, a.event_id) for a in accepted))
    assert p.store.commits - before == (1 if size == 1 else 2)


async def test_accepts_sharing_a_commit_queue_one_job() -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    await asyncio.gather(*(inbound.accept(p.deps, channel, [item(n)]) for n in range(30)))
    await inbound.enqueues_settled(p.deps)
    jobs = p.queue.take()
    assert [name for name, _ in jobs] == ["process_inbound_many"]
    [(_, (event_ids,))] = jobs
    assert len(event_ids) == 30
    await InboundBatcher().process_many(p.deps, event_ids)
    assert len(p.store.tables.messages) == 30


async def test_one_batch_reopens_a_session_once_and_drops_repeats() -> None:
    p = fake_pipeline()
    channel = p.store.add_channel()
    agent = p.store.add_agent()
    [first] = await p.store.accept_events(channel.id, [item(7)])
    await InboundBatcher().process(p.deps, first.event_id)
    [conv] = p.store.tables.conversations.values()
    await conversations.update(p.deps, agent, conv.id, status=ConversationStatus.RESOLVED)
    again = Inbound(
        provider_event_id="e7-again",
        provider_message_id="m-same",
        sender_id="visitor-0",
        text="还有一个问题",
    )
    repeat = again.model_copy(update={"provider_event_id": "e7-repeat"})
    more = Inbound(provider_event_id="e8", sender_id="visitor-0", text="在吗")
    accepted = await p.store.accept_events(channel.id, [again, repeat, more])
    p.store.tables.messages.clear()
    await InboundBatcher().process_many(p.deps, [a.event_id for a in accepted])
    assert len(p.store.tables.conversations) == 2
    texts = sorted(m.text for m in p.store.tables.messages.values())
    assert texts == ["在吗", "还有一个问题"]
    newest = max(p.store.tables.conversations.values(), key=lambda c: c.id)
    assert newest.unread_count == 2
    assert {m.conversation_id for m in p.store.tables.messages.values()} == {newest.id}


@pytest.mark.parametrize(
    ("pressing", "clears", "pauses"),
    [
        (0, False, 0),
        # a burst: every step of the budget, after each of the two batches
        (batching.CONGESTED, False, 2 * 50),
        # Accepts that only queued for the batch's own write lock commit during the first
        # step: a busy hub, not a burst, so processing goes on at once.
        (batching.CONGESTED, True, 2),
    ],
)
async def test_processing_yields_while_accepts_are_congested(
    pressing: int, clears: bool, pauses: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the embedded mode one process accepts and processes: answering comes first."""
    # Any batch earns the whole budget, 1 s: 50 steps of 20 ms.
    monkeypatch.setattr(batching, "YIELD_FACTOR", 1e9)
    p = fake_pipeline()
    channel = p.store.add_channel()
    accepted = await p.store.accept_events(channel.id, [item(n) for n in range(250)])
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)
        if clears:
            p.store.pressing = 0

    async def pressed(events: list[int]) -> None:
        p.store.pressing = pressing  # accepts queue up while each batch runs
        await real(p.deps, events)

    real = batching.process_inbound_batch
    monkeypatch.setattr(batching, "process_inbound_batch", lambda deps, ids: pressed(ids))
    batcher = InboundBatcher(pause=pause)
    await batcher.process_many(p.deps, [a.event_id for a in accepted])
    assert len(p.store.tables.messages) == 250  # everything is processed all the same
    assert len(paused) == pauses
    assert sum(paused) <= 2 * batching.MAX_PAUSE_S + 1e-9


async def test_processing_also_yields_to_callbacks_that_only_wake_a_poller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WeCom's callbacks store nothing (a poller pulls): answered in numbers, they count as a
    burst too; a trickle of them does not."""
    monkeypatch.setattr(batching, "YIELD_FACTOR", 1e9)
    now = [100.0]
    p = fake_pipeline()
    p.deps = replace(p.deps, pressure=CallbackPressure(clock=lambda: now[0]))
    channel = p.store.add_channel()
    accepted = await p.store.accept_events(channel.id, [item(n) for n in range(10)])
    paused: list[float] = []
    # per 20 ms step: a burst (500/s) for three steps, then a trickle (50/s)
    per_step = [10, 10, 10, 1, 1]

    async def pause(seconds: float) -> None:
        paused.append(seconds)
        count = per_step.pop(0) if per_step else 0
        for _ in range(count):
            now[0] += seconds / count
            p.deps.pressure.answered()
        if not count:
            now[0] += seconds

    for _ in range(10):
        now[0] += 0.002
        p.deps.pressure.answered()
    await InboundBatcher(pause=pause).process_many(p.deps, [a.event_id for a in accepted])
    assert len(p.store.tables.messages) == 10
    assert len(paused) == 4  # while the burst lasted, and the step that saw it ease


async def test_a_busy_hub_gathers_accepts_into_fewer_jobs() -> None:
    """A quiet hub queues each event at once; what arrives within the interval after a job
    waits for the next one, which takes it all."""
    p = fake_pipeline()
    channel = p.store.add_channel()
    await inbound.accept(p.deps, channel, [item(0)])
    for _ in range(3):  # the quiet case: queued within a few turns of the loop
        await asyncio.sleep(0)
    assert [name for name, _ in p.queue.take()] == ["process_inbound"]
    for n in range(1, 4):  # three accepts, one after the other, right after that job
        await inbound.accept(p.deps, channel, [item(n)])
        await asyncio.sleep(0)
    assert p.queue.take() == []  # they wait for the interval ...
    await asyncio.sleep(enqueuing.ENQUEUE_INTERVAL_S * 2)
    [(name, (event_ids,))] = p.queue.take()  # ... then go as one job
    assert name == "process_inbound_many"
    assert len(event_ids) == 3
