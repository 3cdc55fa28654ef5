"""The poller supervisor: one owner per channel poller, restarts on change and on failure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest

from hub.domain.channels import PollContext, Poller
from hub.domain.model import Inbound
from hub.domain.records import Channel
from hub.services.polling import PollingSupervisor
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
