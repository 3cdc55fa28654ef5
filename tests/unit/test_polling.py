"""The poller supervisor: one owner per channel poller, restarts on change and on failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pytest

from hub.domain.channels import PollContext, Poller, Wake
from hub.domain.model import Inbound
from hub.domain.records import Channel
from hub.services.polling import PollingSupervisor, wake_poller
from tests.fakes.hub import FakeConnector, Pipeline, fake_pipeline


@dataclass
class Reader:
    """A poller that hands one message to the hub, then waits, or fails when told to."""

    name: str = "reader"
    runs: list[str] = field(default_factory=list)
    fail: bool = False

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        self.runs.append(str(channel.settings.get("secret", "")))
        if self.fail:
            raise ConnectionError("provider down")
        await ctx.accept(
            [Inbound(provider_event_id="poll-1", sender_id="customer-1", text="polled")]
        )
        await asyncio.Event().wait()


@dataclass
class PollingConnector(FakeConnector):
    reader: Reader = field(default_factory=Reader)

    def pollers(self, channel: Channel) -> Sequence[Poller]:
        return [self.reader]


@pytest.fixture
def p() -> Pipeline:
    pipeline = fake_pipeline()
    connector = PollingConnector()
    pipeline.deps = replace(pipeline.deps, connectors={"fake": connector})
    pipeline.connector = connector
    return pipeline


def supervisor(p: Pipeline, owner: str) -> PollingSupervisor:
    return PollingSupervisor(p.deps, owner=owner, lease_s=30, retry_after_s=0)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_process_runs_a_channels_poller_and_another_takes_over(p: Pipeline) -> None:
    channel = p.store.add_channel()
    first, second = supervisor(p, "first"), supervisor(p, "second")
    await first.check()
    await second.check()
    await settle()
    assert first.running == [(channel.id, "reader")]
    assert second.running == []
    # what the poller read was accepted like a webhook's events, once
    assert [e.provider_event_id for e in p.store.tables.events.values()] == ["poll-1"]
    await first.stop()  # a process shutting down gives its lease up at once
    await second.check()
    await settle()
    assert second.running == [(channel.id, "reader")]
    assert len(p.store.tables.events) == 1  # read again, stored once
    await second.stop()


async def test_a_changed_or_deactivated_channel_restarts_or_stops_its_poller(
    p: Pipeline,
) -> None:
    channel = p.store.add_channel()
    reader = p.connector.reader  # type: ignore[attr-defined]
    one = supervisor(p, "one")
    await one.check()
    await settle()
    p.store.tables.channels[channel.id] = replace(channel, settings={"secret": "new"})
    await one.check()
    await settle()
    assert reader.runs == ["", "new"]
    p.store.tables.channels[channel.id] = replace(channel, active=False)
    await one.check()
    assert one.running == []
    await one.stop()


async def test_a_failing_poller_is_started_again(p: Pipeline) -> None:
    p.store.add_channel()
    reader = p.connector.reader  # type: ignore[attr-defined]
    reader.fail = True
    one = supervisor(p, "one")
    for _ in range(3):
        await one.check()
        await settle()
    assert len(reader.runs) >= 2
    await one.stop()


async def test_a_held_lease_keeps_other_processes_out_until_it_expires(p: Pipeline) -> None:
    channel = p.store.add_channel()
    leases = p.deps.leases_for(channel.id)
    assert await leases.claim("lease:poller:reader", "elsewhere", ttl_s=0.05)
    one = supervisor(p, "one")
    await one.check()
    assert one.running == []
    await asyncio.sleep(0.06)
    await one.check()
    await settle()
    assert one.running == [(channel.id, "reader")]
    await one.stop()


async def test_no_polling_kind_installed_means_no_channel_is_read() -> None:
    plain = fake_pipeline()  # its only connector has no pollers

    def unit() -> None:
        raise AssertionError("the channels were read although no kind polls")

    plain.store.unit = unit  # type: ignore[method-assign, assignment]
    await supervisor(plain, "one").check()


@dataclass
class Listener:
    """A poller that records the hints of the wakes it hears."""

    name: str = "listener"
    heard: list[list[str]] = field(default_factory=list)

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        while True:
            hints = await ctx.woken(30)
            self.heard.append(hints)


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached: {what}")


async def test_wakes_reach_the_running_poller_and_make_a_new_channel_start_at_once() -> None:
    p = fake_pipeline()
    listener = Listener()
    connector = PollingConnector(reader=listener)  # type: ignore[arg-type]
    p.deps = replace(p.deps, connectors={"fake": connector})
    # Looks every minute: only the wake can make it start the new channel's poller in time.
    sup = PollingSupervisor(p.deps, owner="worker", check_every_s=60, lease_s=30)
    task = asyncio.create_task(sup.run())
    try:
        await until(lambda: sup._last_look > 0, "the first look")
        channel = p.store.add_channel()
        wake = Wake("listener", "token-1")
        await wake_poller(p.deps, channel, wake)
        await until(lambda: sup.running == [(channel.id, "listener")], "started on the wake")

        await wake_poller(p.deps, channel, Wake("listener", "token-2"))
        await wake_poller(p.deps, channel, Wake("listener", "token-3"))
        await until(
            lambda: ["token-2", "token-3"] in listener.heard or ["token-2"] in listener.heard,
            "the wakes heard",
        )
        assert [h for hints in listener.heard for h in hints] == ["token-2", "token-3"]

        # After a cut connection every poller reads once, without a hint.
        sup.on_wake(None, "", "")
        await until(lambda: listener.heard[-1] == [""], "woken for the gap")
        # A wake for another channel's poller is not handed to this one.
        sup.on_wake(channel.id + 1, "listener", "not-mine")
        await settle()
        assert all("not-mine" not in hints for hints in listener.heard)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_wake_that_cannot_be_published_is_logged_not_raised(
    p: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        async def wake(self, channel_id: int, poller: str, hint: str) -> None:
            raise ConnectionError("redis is down")

        async def listen(self, on_wake: object) -> None:
            await asyncio.Event().wait()

    p.deps = replace(p.deps, wakes=Down())
    channel = p.store.add_channel()
    await wake_poller(p.deps, channel, Wake("reader", "t"))
    assert "poller wake not published" in caplog.text
