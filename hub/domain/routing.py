"""Who gets a waiting conversation: the choice of an agent, free of any storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hub.domain.model import AssignmentMode

#: open conversations an agent of a team carries at once, unless the agent has a capacity
DEFAULT_CAPACITY = 10
MIN_CAPACITY = 1
MAX_CAPACITY = 100
#: how long an assigned conversation may go unanswered before it moves on (when a team sets it)
MIN_ANSWER_TIMEOUT_S = 10
MAX_ANSWER_TIMEOUT_S = 24 * 3600
#: how many conversations a team lets wait at most (when it sets a limit)
MAX_QUEUE_LIMIT = 10_000

#: before any assignment: an agent never assigned comes first in a round
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Seat:
    """An agent who may be given conversations now: active, online, not away."""

    agent_id: int
    #: the agent's own capacity; ``None``: each team's ``agent_capacity``
    capacity: int | None
    #: open conversations assigned to the agent, in every team
    load: int
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class TeamRule:
    id: int
    mode: AssignmentMode
    agent_capacity: int
    #: the team's agents who hold a ``Seat`` now
    agent_ids: tuple[int, ...]


@dataclass(frozen=True)
class Waiting:
    conversation_id: int
    team_id: int


@dataclass(frozen=True)
class Board:
    """What routing decides on, read while the teams' and agents' rows are locked."""

    teams: Mapping[int, TeamRule]
    seats: Mapping[int, Seat]
    #: the teams' waiting conversations, oldest first
    waiting: Sequence[Waiting] = field(default=())


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    team_id: int
    agent_id: int
    #: when it was decided; distinct for each assignment of one plan, so that their order
    #: survives in the agents' ``last_assigned_at``
    at: datetime


def capacity_of(seat: Seat, team: TeamRule) -> int:
    return seat.capacity if seat.capacity is not None else team.agent_capacity


def has_room(seat: Seat, team: TeamRule) -> bool:
    return seat.load < capacity_of(seat, team)


def choose(team: TeamRule, seats: Mapping[int, Seat]) -> Seat | None:
    """The agent of ``team`` who gets its next conversation, or ``None`` when none has room.

    Round robin takes the agent assigned least recently; least busy the one with the fewest
    open conversations, and among those the one assigned least recently. The agent id settles
    what is still equal, so the choice never depends on the order the seats were read in.
    """
    if team.mode == AssignmentMode.MANUAL:
        return None
    candidates = [
        seats[agent_id]
        for agent_id in team.agent_ids
        if agent_id in seats and has_room(seats[agent_id], team)
    ]
    if not candidates:
        return None

    def recency(seat: Seat) -> tuple[datetime, int]:
        return (seat.last_assigned_at or _NEVER, seat.agent_id)

    if team.mode == AssignmentMode.LEAST_BUSY:
        return min(candidates, key=lambda seat: (seat.load, *recency(seat)))
    return min(candidates, key=recency)


def plan(board: Board, now: datetime) -> list[Assignment]:
    """Give the waiting conversations, oldest first, to agents with room, one at a time.

    A team whose agents are full keeps its waiting conversations in order: none of them is
    skipped for a later one. Each assignment counts at once toward its agent's load and
    recency, so one plan spreads a burst exactly as one assignment after another would.
    """
    seats = dict(board.seats)
    full: set[int] = set()
    made: list[Assignment] = []
    for waiting in board.waiting:
        team = board.teams.get(waiting.team_id)
        if team is None or waiting.team_id in full:
            continue
        seat = choose(team, seats)
        if seat is None:
            full.add(team.id)
            continue
        at = now + timedelta(microseconds=len(made))
        seats[seat.agent_id] = replace(seat, load=seat.load + 1, last_assigned_at=at)
        made.append(Assignment(waiting.conversation_id, team.id, seat.agent_id, at))
    return made


#: the handling times an estimate of the wait reads: the team's latest resolved conversations
WAIT_SAMPLE = 20
#: ... of this period at most, so that an estimate follows a change of pace within a day
WAIT_SAMPLE_PERIOD = timedelta(hours=24)


@dataclass(frozen=True)
class QueuePlace:
    """Where a customer's conversation waits: what their web chat shows them."""

    conversation_id: int
    team_id: int
    #: 1 for the next to be served
    position: int
    #: seconds, by ``estimated_wait_s``; ``None`` when there is nothing to estimate from
    estimated_wait_s: int | None


def estimated_wait_s(position: int, handling_s: Sequence[float], slots: int) -> int | None:
    """How long the customer at ``position`` waits, from the team's recent pace.

    The team serves ``slots`` conversations at once (the capacities of its online agents) and
    one takes ``handling_s`` on average (from the first answer to resolution), so a slot frees
    every mean/slots seconds and ``position`` slots must free: position × mean / slots. Without
    an online agent or a handled conversation there is no pace to estimate from.
    """
    if position < 1 or slots < 1 or not handling_s:
        return None
    mean = sum(max(0.0, s) for s in handling_s) / len(handling_s)
    return round(position * mean / slots)
