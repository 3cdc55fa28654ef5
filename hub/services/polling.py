"""Runs the connectors' pollers: one owner per channel and poller across every process.

Each process that runs background work (``kefu worker``, or ``kefu serve`` in the embedded
mode) runs a ``PollingSupervisor``. Every few seconds it lists the active channels, asks their
connectors for pollers (``Polls``), and starts those it can lease; a lease lasts ``lease_s`` and
is renewed at each look, so when a process dies another takes its pollers over within that
time. A poller whose channel changed (new settings, deactivated) is stopped and started again;
one that raises is logged and started again after ``retry_after_s``.
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

from hub.domain.channels import PollContext, Poller, Polls
from hub.domain.model import Inbound, StatusUpdate
from hub.domain.records import Channel
from hub.services.deps import Deps
from hub.services.inbound import accept, apply_statuses

log = logging.getLogger(__name__)


def lease_key(poller: str) -> str:
    return f"lease:poller:{poller}"


def _fingerprint(channel: Channel) -> str:
    raw = json.dumps([channel.kind, channel.settings], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class _Running:
    fingerprint: str
    task: asyncio.Task[None]


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

    @property
    def running(self) -> list[tuple[int, str]]:
        """The (channel id, poller name) pairs this process runs now."""
        return sorted(key for key, item in self._running.items() if not item.task.done())

    async def run(self) -> None:
        """Look after the pollers until cancelled."""
        try:
            while True:
                try:
                    await self.check()
                except Exception:
                    log.exception("looking after pollers failed")
                await asyncio.sleep(self._check_every_s)
        finally:
            await self.stop()

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

    async def _claim(self, key: tuple[int, str]) -> bool:
        leases = self._deps.leases_for(key[0])
        return await leases.claim(lease_key(key[1]), self.owner, self._lease_s)

    def _start(self, key: tuple[int, str], channel: Channel, poller: Poller) -> None:
        deps = self._deps

        async def accept_items(items: Sequence[Inbound]) -> None:
            await accept(deps, channel, items)

        async def apply(updates: Sequence[StatusUpdate]) -> None:
            await apply_statuses(deps, channel, updates)

        ctx = PollContext(
            state=deps.state_for(channel.id),
            blobs=deps.blobs,
            accept=accept_items,
            apply_statuses=apply,
        )
        task = asyncio.create_task(poller.run(channel, ctx), name=f"poller:{key[0]}:{key[1]}")
        self._running[key] = _Running(_fingerprint(channel), task)
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
