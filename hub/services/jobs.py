"""The background jobs by name: what the queue adapters run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub.services import inbound, outbound, sweeper
from hub.services.deps import Deps


async def _process_inbound(deps: Deps, event_id: int) -> None:
    await deps.inbound.process_many(deps, [event_id])


async def _process_inbound_many(deps: Deps, event_ids: list[int]) -> None:
    await deps.inbound.process_many(deps, event_ids)


async def _deliver(deps: Deps, message_id: int) -> None:
    await outbound.deliver(deps, message_id)


async def _fetch_media(deps: Deps, attachment_id: int) -> None:
    await inbound.fetch_media(deps, attachment_id)


async def _end_session(deps: Deps, conversation_id: int) -> None:
    await outbound.end_session(deps, conversation_id)


async def _sweep(deps: Deps) -> None:
    await sweeper.sweep(deps)


JobFunction = Callable[..., Awaitable[Any]]

JOBS: dict[str, JobFunction] = {
    "process_inbound": _process_inbound,
    "process_inbound_many": _process_inbound_many,
    "deliver": _deliver,
    "fetch_media": _fetch_media,
    "end_session": _end_session,
    "sweep": _sweep,
}
