"""The live visitor panel's board: who is on the businesses' sites now, across web processes.

Each web process knows the visitors whose widget is connected to it. What changed is sent to
the agents once a second, as one ``visitors.changed`` event however many visitors moved, so
2,000 visitors browsing cost the agents one event a second, not one per page view. The same
events keep every other web process's board up to date, so any of them answers
``GET /visitors``; a process that starts asks the others for what they know, and a process
that died is forgotten once it stops saying its visitors are alive.

A visitor whose last page closed stays for ``LEAVE_AFTER_S``: going from one page of the site
to the next closes the widget's connection a moment before the next page opens one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.ports import EventBus, SubscriberOverflow
from hub.domain.texts import Text
from hub.domain.visitors import (
    Device,
    InvitationState,
    LiveVisitor,
    PageReport,
    PageView,
    Regions,
    search_words,
)

log = logging.getLogger(__name__)

#: board-to-board traffic that agents need not see
VISITORS_TOPIC = "visitors"
#: how long a visitor whose pages all closed stays on the board
LEAVE_AFTER_S = 15.0
#: pages of the trail carried by live events (the whole trail: ``GET /visitors/{id}``)
TRAIL_IN_EVENTS = 3


class NoRegions:
    """No GeoIP database configured: no region is shown."""

    def region_of(self, address: str) -> Text | None:
        return None


def visitor_view(visitor: LiveVisitor, *, trail: int | None = TRAIL_IN_EVENTS) -> dict[str, Any]:
    """A visitor as the API and live events carry it (JSON)."""
    pages = visitor.pages if trail is None else visitor.pages[-trail:]
    current = visitor.current
    return {
        "id": visitor.key,
        "channel_id": visitor.channel_id,
        "visitor_id": visitor.visitor_id,
        "current_page": _page(current) if current else None,
        "pages": [_page(p) for p in pages],
        "page_count": len(visitor.pages),
        "referrer": visitor.referrer,
        "search_words": visitor.search_words,
        "region": dict(visitor.region) if visitor.region else None,
        "device": (
            {
                "kind": visitor.device.kind,
                "browser": visitor.device.browser,
                "os": visitor.device.os,
            }
            if visitor.device
            else None
        ),
        "visits": visitor.visits,
        "online_since": visitor.online_since.isoformat(),
        "last_seen": visitor.last_seen.isoformat(),
        "ip": visitor.ip,
        "conversation_id": visitor.conversation_id,
        "invitation": (
            {
                "invitation_id": visitor.invitation.invitation_id,
                "agent_id": visitor.invitation.agent_id,
                "outcome": visitor.invitation.outcome,
            }
            if visitor.invitation
            else None
        ),
        "process": visitor.process,
    }


def _page(page: PageView) -> dict[str, str]:
    return {"url": page.url, "title": page.title, "at": page.at.isoformat()}


def _visitor_from(view: dict[str, Any]) -> LiveVisitor:
    """A visitor another process described (its trail as far as events carry it)."""
    device = view.get("device")
    return LiveVisitor(
        channel_id=int(view["channel_id"]),
        visitor_id=str(view["visitor_id"]),
        process=str(view["process"]),
        online_since=datetime.fromisoformat(view["online_since"]),
        last_seen=datetime.fromisoformat(view["last_seen"]),
        pages=tuple(
            PageView(str(p["url"]), str(p["title"]), datetime.fromisoformat(p["at"]))
            for p in view.get("pages") or ()
        ),
        referrer=str(view.get("referrer") or ""),
        search_words=view.get("search_words"),
        visits=int(view.get("visits") or 1),
        region=view.get("region"),
        device=Device(str(device["kind"]), str(device["browser"]), str(device["os"]))
        if isinstance(device, dict)
        else None,
        ip=view.get("ip"),
        conversation_id=view.get("conversation_id"),
        invitation=InvitationState(
            str(invitation["invitation_id"]),
            int(invitation["agent_id"]),
            str(invitation["outcome"]),
        )
        if isinstance(invitation := view.get("invitation"), dict)
        else None,
    )


class VisitorBoard:
    def __init__(
        self,
        bus: EventBus,
        regions: Regions,
        *,
        process: str | None = None,
        flush_every_s: float = 1.0,
        alive_every_s: float = 15.0,
        leave_after_s: float | None = None,
    ) -> None:
        self._bus = bus
        self._region_of = lru_cache(maxsize=4096)(regions.region_of)
        self.process = process or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._flush_every_s = flush_every_s
        self._alive_every_s = alive_every_s
        self._leave_after_s = LEAVE_AFTER_S if leave_after_s is None else leave_after_s
        self._local: dict[str, LiveVisitor] = {}
        #: the connections (pages open) of each local visitor
        self._connections: dict[str, set[str]] = {}
        #: when a local visitor without connections leaves the board
        self._leaving: dict[str, float] = {}
        #: other processes' visitors, and when their process last said they are there
        self._remote: dict[str, tuple[LiveVisitor, float]] = {}
        self._changed: set[str] = set()
        self._left: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # -- the widget's reports ---------------------------------------------------------------

    def page_opened(
        self, channel_id: int, visitor_id: str, connection: str, report: PageReport
    ) -> LiveVisitor:
        key = f"{channel_id}:{visitor_id}"
        now = datetime.now(UTC)
        page = PageView(report.url, report.title, now)
        visitor = self._local.get(key)
        if visitor is None:
            visitor = LiveVisitor(
                channel_id=channel_id,
                visitor_id=visitor_id,
                process=self.process,
                online_since=now,
                last_seen=now,
                pages=(page,),
                referrer=report.referrer,
                search_words=search_words(report.referrer) if report.referrer else None,
                visits=max(1, report.visits),
                region=self._region_of(report.address),
                device=report.device,
                ip=report.address if report.keep_address else None,
                conversation_id=report.conversation_id,
            )
        else:
            visitor = replace(
                visitor.opened(page),
                visits=max(visitor.visits, report.visits),
                conversation_id=report.conversation_id or visitor.conversation_id,
            )
        self._local[key] = visitor
        self._connections.setdefault(key, set()).add(connection)
        self._leaving.pop(key, None)
        self._left.discard(key)
        self._changed.add(key)
        return visitor

    def chatting(self, channel_id: int, visitor_id: str, conversation_id: int) -> None:
        """The visitor wrote: the panel links them to their conversation."""
        key = f"{channel_id}:{visitor_id}"
        visitor = self._local.get(key)
        if visitor is not None and visitor.conversation_id != conversation_id:
            self._local[key] = replace(visitor, conversation_id=conversation_id)
            self._changed.add(key)

    def invited(self, channel_id: int, visitor_id: str, invitation: InvitationState) -> bool:
        """An invitation reached the visitor's page, or they answered it; false for an answer
        that came too late (another page of theirs answered already)."""
        key = f"{channel_id}:{visitor_id}"
        visitor = self._local.get(key)
        if visitor is None:
            return True
        known = visitor.invitation
        if (
            known is not None
            and known.invitation_id == invitation.invitation_id
            and known.outcome != "sent"
        ):
            return False
        self._local[key] = replace(visitor, invitation=invitation)
        self._changed.add(key)
        return True

    def closed(self, channel_id: int, visitor_id: str, connection: str) -> None:
        key = f"{channel_id}:{visitor_id}"
        connections = self._connections.get(key)
        if connections is None:
            return
        connections.discard(connection)
        if not connections:
            self._leaving[key] = time.monotonic() + self._leave_after_s

    def trail(self, channel_id: int, visitor_id: str) -> tuple[PageView, ...]:
        visitor = self._local.get(f"{channel_id}:{visitor_id}")
        return visitor.pages if visitor else ()

    # -- what agents read --------------------------------------------------------------------

    def visitors(self, channel_ids: Iterable[int] | None = None) -> list[LiveVisitor]:
        """Everyone on the sites now, newest arrival first."""
        wanted = set(channel_ids) if channel_ids is not None else None
        found = [*self._local.values(), *(v for v, _ in self._remote.values())]
        if wanted is not None:
            found = [v for v in found if v.channel_id in wanted]
        return sorted(found, key=lambda v: v.online_since, reverse=True)

    def local_visitors(self) -> list[LiveVisitor]:
        """The visitors connected to this process."""
        return list(self._local.values())

    def visitor(self, key: str) -> LiveVisitor | None:
        local = self._local.get(key)
        if local is not None:
            return local
        remote = self._remote.get(key)
        return remote[0] if remote else None

    # -- running --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(AGENTS_TOPIC)),
            asyncio.create_task(self._listen(VISITORS_TOPIC)),
            asyncio.create_task(self._run()),
        ]
        # a moment for the subscriptions, then ask the other processes what they know
        await asyncio.sleep(0)
        await self._publish(VISITORS_TOPIC, HubEvent("visitors.sync", {"process": self.process}))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._local:
            gone = list(self._local)
            self._local.clear()
            await self._publish(AGENTS_TOPIC, _changed_event(self.process, [], gone))

    async def flush(self) -> None:
        """Send what changed since the last flush, in one event."""
        now = time.monotonic()
        for key, at in list(self._leaving.items()):
            if at <= now:
                del self._leaving[key]
                self._connections.pop(key, None)
                if self._local.pop(key, None) is not None:
                    self._left.add(key)
                    self._changed.discard(key)
        for key, (_, seen) in list(self._remote.items()):
            if now - seen > 3 * self._alive_every_s:
                del self._remote[key]  # its process stopped saying it is there
                self._left.add(key)
        changed = [self._local[k] for k in self._changed if k in self._local]
        left = sorted(self._left)
        self._changed.clear()
        self._left.clear()
        if changed or left:
            await self._publish(AGENTS_TOPIC, _changed_event(self.process, changed, left))

    async def _run(self) -> None:
        next_alive = time.monotonic() + self._alive_every_s
        while True:
            await asyncio.sleep(self._flush_every_s)
            try:
                await self.flush()
                if time.monotonic() >= next_alive:
                    next_alive = time.monotonic() + self._alive_every_s
                    event = HubEvent(
                        "visitors.alive", {"process": self.process, "keys": list(self._local)}
                    )
                    await self._publish(VISITORS_TOPIC, event)
            except Exception:
                log.exception("visitor board: flush failed")

    async def _listen(self, topic: str) -> None:
        while True:
            try:
                async with self._bus.subscribe(topic) as events:
                    async for event in events:
                        await self._heard(event)
            except SubscriberOverflow:
                continue  # events were missed: the next alive and changes set it right
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("visitor board: listening failed")
                await asyncio.sleep(1.0)

    async def _heard(self, event: HubEvent) -> None:
        sender = event.data.get("process")
        if sender == self.process or not isinstance(sender, str):
            return
        now = time.monotonic()
        if event.type == "visitors.changed":
            for view in event.data.get("visitors") or ():
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    visitor = _visitor_from(view)
                    self._remote[visitor.key] = (visitor, now)
            for key in event.data.get("left") or ():
                self._remote.pop(str(key), None)
        elif event.type == "visitors.alive":
            for key in event.data.get("keys") or ():
                found = self._remote.get(str(key))
                if found is not None:
                    self._remote[str(key)] = (found[0], now)
        elif event.type == "visitors.sync" and self._local:
            # a process started: it hears of this process's visitors at once
            await self._publish(
                AGENTS_TOPIC, _changed_event(self.process, list(self._local.values()), [])
            )

    async def _publish(self, topic: str, event: HubEvent) -> None:
        try:
            await self._bus.publish(topic, event)
        except Exception:
            log.warning("visitor board: publish failed", exc_info=True)


def _changed_event(process: str, changed: list[LiveVisitor], left: list[str]) -> HubEvent:
    return HubEvent(
        "visitors.changed",
        {"process": process, "visitors": [visitor_view(v) for v in changed], "left": left},
    )
