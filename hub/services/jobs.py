"""The background jobs by name: what the queue adapters run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub.domain.errors import PermanentSendError, TransientSendError
from hub.domain.ports import Retrying
from hub.services import inbound, outbound, presence, service_rules, sweeper
from hub.services.deps import Deps


async def _process_inbound(deps: Deps, event_id: int) -> None:
    await deps.inbound.process_many(deps, [event_id])


async def _process_inbound_many(deps: Deps, event_ids: list[int]) -> None:
    await deps.inbound.process_many(deps, event_ids)


async def _deliver(deps: Deps, message_id: int) -> None:
    await outbound.deliver(deps, message_id)


#: when a provider-held file could not be fetched for now, the job runs again after this
MEDIA_RETRY_S = 10.0


async def _fetch_media(deps: Deps, attachment_id: int) -> None:
    try:
        await inbound.fetch_media(deps, attachment_id)
    except PermanentSendError as exc:
        # Gone or refused for good: the thread shows why, and nobody tries again.
        await inbound.fail_media(deps, attachment_id, exc)
    except TransientSendError as exc:
        # The provider is busy or unreachable: the file is still there for days, so try again
        # soon rather than leave it to the next sweep.
        raise Retrying(MEDIA_RETRY_S) from exc


async def _end_session(deps: Deps, conversation_id: int) -> None:
    await outbound.end_session(deps, conversation_id)


async def _measure_conversation(deps: Deps, conversation_id: int) -> None:
    await service_rules.measure(deps, conversation_id)


async def _conversation_resolved(deps: Deps, conversation_id: int) -> None:
    await service_rules.resolved(deps, conversation_id)


async def _refresh_presence(deps: Deps, agent_id: int) -> None:
    await presence.refresh(deps, agent_id)


async def _sweep(deps: Deps) -> None:
    await sweeper.sweep(deps)


JobFunction = Callable[..., Awaitable[Any]]

JOBS: dict[str, JobFunction] = {
    "process_inbound": _process_inbound,
    "process_inbound_many": _process_inbound_many,
    "deliver": _deliver,
    "fetch_media": _fetch_media,
    "end_session": _end_session,
    "measure_conversation": _measure_conversation,
    "conversation_resolved": _conversation_resolved,
    "refresh_presence": _refresh_presence,
    "sweep": _sweep,
}
