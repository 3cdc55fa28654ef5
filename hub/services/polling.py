"""Runs the connectors' pollers: one owner per channel and poller across every process.

Each process that runs background work (``kefu worker``, or ``kefu serve`` in the embedded
mode) runs a ``PollingSupervisor``. Every few seconds it lists the active channels, asks their
connectors for pollers (``Polls``), and starts those it can lease; a lease lasts ``lease_s`` and
is renewed at each look, so when a process dies another takes its pollers over within that
time. A poller whose channel changed (new settings, deactivated) is stopped and started again;
one that raises is logged and started again after ``retry_after_s``.

Wakes: a callback that announces news at the provider (``WebhookResult.wake``) is published
to every process that runs pollers; the one that runs the channel's poller hands it the wake
(``PollContext.woken``), and the others, if they run no such poller yet, look at once (a
channel just created, whose first callback should not wait for the next look).

What a poller stores is processed in the process that read it, by its one writer, without a
trip through the queue: a poller runs only where events are processed anyway (a worker, or
the embedded web process), and the queue's round trip and linger were most of the time from a
provider's callback to the agent's screen. If processing fails or the process dies, the
events stay pending and the sweeper queues them, as for a job lost with Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.domain.channels import PollContext, Poller, Polls, Wake
from hub.domain.model import Inbound, StatusUpdate
from hub.domain.records import Channel
from hub.domain.texts import Text
from hub.services.deps import Deps
from hub.services.inbound import accept, apply_statuses

log = logging.getLogger(__name__)


_UNKNOWN = object()

#: how long a woken poller waits for more wakes while its process answers a burst of callbacks
LINGER_S = 0.05


def lease_key(poller: str) -> str:
    return f"lease:poller:{poller}"


def problem_key(poller: str) -> str:
    return f"poller_problem:{poller}"


@dataclass(frozen=True)
class ReaderProblem:
    """What keeps a channel's poller from reading, as it last said, and since when."""

    poller: str
    text: Text
    since: datetime


async def reader_problems(deps: Deps, channel: Channel) -> list[ReaderProblem]:
    """The problems the channel's pollers report now (none when they read as they should)."""
    connector = deps.connectors.get(channel.kind)
    if not channel.active or not isinstance(connector, Polls):
        return []
    state = deps.state_for(channel.id)
    found = []
    for poller in connector.pollers(channel):
        stored = await state.get(problem_key(poller.name))
        try:
            said = json.loads(stored) if stored else None
            if said:
                found.append(
                    ReaderProblem(
                        poller.name,
                        {lang: str(v) for lang, v in dict(said["text"]).items()},
                        datetime.fromisoformat(str(said["since"])),
                    )
                )
        except (ValueError, TypeError, KeyError):
            continue  # a value this version cannot read says nothing useful
    return found


async def wake_poller(deps: Deps, channel: Channel, wake: Wake) -> None:
    """Publish a callback's wake; a lost one only delays the read until the poller's own."""
    try:
        await deps.wakes.wake(channel.id, wake.poller, wake.hint)
    except Exception:
        log.warning(
            "poller wake not published; the poller reads on its own later",
            extra={"channel_id": channel.id, "poller": wake.poller},
            exc_info=True,
        )


async def look_at_pollers(deps: Deps, channel: Channel) -> None:
    """A channel was connected or changed: its pollers start (or restart) now, not at the next
    look (a mailbox just connected shows its mail at once)."""
    connector = deps.connectors.get(channel.kind)
    if isinstance(connector, Polls):
        for poller in connector.pollers(channel):
            await wake_poller(deps, channel, Wake(poller.name))


class _Mailbox:
    """The wakes a running poller has not taken yet."""

    def __init__(self) -> None:
        self.hints: list[str] = []
        self.event = asyncio.Event()

    def put(self, hint: str) -> None:
        self.hints.append(hint)
        self.event.set()

    async def take(self, timeout_s: float) -> list[str]:
        if not self.event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), timeout_s)
        hints, self.hints = self.hints, []
        self.event.clear()
        return hints


def _fingerprint(channel: Channel) -> str:
    raw = json.dumps([channel.kind, channel.settings], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class _Running:
    fingerprint: str
    task: asyncio.Task[None]
    mailbox: _Mailbox


class PollingSupervisor:
    def __init__(
        self,
        deps: Deps,
        *,
        owner: str | None = None,
        check_every_s: float = 5.0,
        lease_s: float = 30.0,
        retry_after_s: float = 10.0,
    ) -> None:
        self._deps = deps
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._check_every_s = check_every_s
        self._lease_s = lease_s
        self._retry_after_s = retry_after_s
        self._running: dict[tuple[int, str], _Running] = {}
        #: when a poller that stopped may start again
        self._not_before: dict[tuple[int, str], float] = {}
        #: set by a wake for a poller this process does not run: look now, not at the next tick
        self._look_now = asyncio.Event()
        self._last_look = 0.0
        self._processing: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> list[tuple[int, str]]:
        """The (channel id, poller name) pairs this process runs now."""
        return sorted(key for key, item in self._running.items() if not item.task.done())

    async def run(self) -> None:
        """Look after the pollers until cancelled."""
        listening = asyncio.create_task(self._deps.wakes.listen(self.on_wake))
        try:
            while True:
                self._look_now.clear()
                self._last_look = time.monotonic()
                try:
                    await self.check()
                except Exception:
                    log.exception("looking after pollers failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._look_now.wait(), self._check_every_s)
                # at most one extra look a second, however many wakes pass this process by
                await asyncio.sleep(max(0.0, self._last_look + 1.0 - time.monotonic()))
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening
            await self.stop()

    def on_wake(self, channel_id: int | None, poller: str, hint: str) -> None:
        """Hand a wake to the poller it names, or look whether this process should run it."""
        if channel_id is None:
            for running in self._running.values():
                running.mailbox.put("")
            return
        item = self._running.get((channel_id, poller))
        if item is not None and not item.task.done():
            item.mailbox.put(hint)
        elif self._not_before.get((channel_id, poller), 0.0) <= time.monotonic():
            self._look_now.set()

    async def check(self) -> None:
        """One look: renew, stop and start pollers as the channels now say."""
        if not self._running and not any(
            isinstance(c, Polls) for c in self._deps.connectors.values()
        ):
            return  # no installed kind polls: no channel to read
        async with self._deps.store.unit() as uow:
            channels = await uow.active_channels()
        wanted: dict[tuple[int, str], tuple[Channel, Poller]] = {}
        for channel in channels:
            connector = self._deps.connectors.get(channel.kind)
            if isinstance(connector, Polls):
                for poller in connector.pollers(channel):
                    wanted[(channel.id, poller.name)] = (channel, poller)
        for key, item in list(self._running.items()):
            target = wanted.get(key)
            if item.task.done():
                await self._stopped(key, item)
            elif target is None or _fingerprint(target[0]) != item.fingerprint:
                await self._stop(key, item, "channel changed")
            elif not await self._claim(key):
                await self._stop(key, item, "lease lost")
        now = time.monotonic()
        for key, (channel, poller) in wanted.items():
            if key in self._running or self._not_before.get(key, 0.0) > now:
                continue
            if await self._claim(key):
                self._start(key, channel, poller)

    async def stop(self) -> None:
        """Stop every poller of this process and give its leases up."""
        for key, item in list(self._running.items()):
            await self._stop(key, item, "shutting down")
        await asyncio.gather(*self._processing, return_exceptions=True)

    def _process(self, event_ids: list[int]) -> None:
        task = asyncio.create_task(self._deps.inbound.process_many(self._deps, event_ids))
        self._processing.add(task)
        task.add_done_callback(self._processed)

    def _processed(self, task: asyncio.Task[None]) -> None:
        self._processing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Recorded on the events by the batcher; the sweeper tries them again.
            log.warning("polled events not processed yet", exc_info=task.exception())

    async def _claim(self, key: tuple[int, str]) -> bool:
        leases = self._deps.leases_for(key[0])
        return await leases.claim(lease_key(key[1]), self.owner, self._lease_s)

    def _start(self, key: tuple[int, str], channel: Channel, poller: Poller) -> None:
        deps = self._deps

        async def accept_items(items: Sequence[Inbound]) -> None:
            accepted = await accept(deps, channel, items, queue_processing=False)
            created = [r.event_id for r in accepted if r.created]
            if created:
                self._process(created)

        async def apply(updates: Sequence[StatusUpdate]) -> None:
            await apply_statuses(deps, channel, updates)

        mailbox = _Mailbox()
        #: what was last written; the first report always writes (a problem an earlier
        #: process stored may be over)
        reported: list[object] = [_UNKNOWN]

        async def report(problem: Text | None) -> None:
            said = None if problem is None else dict(problem)
            if said == reported[0]:
                return  # pollers report after every read: written only when it changes
            value = (
                ""
                if said is None
                else json.dumps(
                    {"text": said, "since": datetime.now(UTC).isoformat()}, ensure_ascii=False
                )
            )
            try:
                await deps.state_for(channel.id).set(problem_key(poller.name), value)
            except Exception:
                log.warning("poller problem not saved", extra={"channel_id": channel.id})
                return
            reported[0] = said

        async def woken(timeout_s: float) -> list[str]:
            hints = await mailbox.take(timeout_s)
            if hints and deps.pressure.busy():
                # This process is answering a burst of callbacks: reading less often, and
                # more at a time, leaves it the CPU to answer them (the embedded mode).
                await asyncio.sleep(LINGER_S)
                hints += await mailbox.take(0)
            return hints

        ctx = PollContext(
            state=deps.state_for(channel.id),
            blobs=deps.blobs,
            accept=accept_items,
            apply_statuses=apply,
            woken=woken,
            report=report,
        )
        task = asyncio.create_task(poller.run(channel, ctx), name=f"poller:{key[0]}:{key[1]}")
        self._running[key] = _Running(_fingerprint(channel), task, mailbox)
        log.info("poller started", extra={"channel_id": key[0], "poller": key[1]})

    async def _stopped(self, key: tuple[int, str], item: _Running) -> None:
        """A poller that ended by itself: log why, and start it again after a pause."""
        del self._running[key]
        self._not_before[key] = time.monotonic() + self._retry_after_s
        error = None if item.task.cancelled() else item.task.exception()
        log.warning(
            "poller stopped; starting it again later",
            extra={"channel_id": key[0], "poller": key[1], "error": repr(error)},
            exc_info=error,
        )
        await self._deps.leases_for(key[0]).release(lease_key(key[1]), self.owner)

    async def _stop(self, key: tuple[int, str], item: _Running, why: str) -> None:
        del self._running[key]
        item.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await item.task
        log.info("poller stopped", extra={"channel_id": key[0], "poller": key[1], "why": why})
        if why != "lease lost":
            with contextlib.suppress(Exception):
                await self._deps.leases_for(key[0]).release(lease_key(key[1]), self.owner)
