"""The choice of an agent for waiting conversations, in each mode, without any storage."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hub.domain.model import AssignmentMode
from hub.domain.routing import Board, Seat, TeamRule, Waiting, choose, estimated_wait_s, plan

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def team(
    mode: AssignmentMode, agent_ids: tuple[int, ...], capacity: int = 10, team_id: int = 1
) -> TeamRule:
    return TeamRule(team_id, mode, capacity, agent_ids)


def seats(*items: Seat) -> dict[int, Seat]:
    return {seat.agent_id: seat for seat in items}


def waiting(count: int, team_id: int = 1, first: int = 100) -> list[Waiting]:
    return [Waiting(first + n, team_id) for n in range(count)]


def test_round_robin_takes_the_agent_assigned_least_recently() -> None:
    rule = team(AssignmentMode.ROUND_ROBIN, (1, 2, 3))
    board = seats(Seat(1, None, 0, ago(1)), Seat(2, None, 5, ago(9)), Seat(3, None, 0, ago(4)))
    chosen = choose(rule, board)
    assert chosen is not None
    assert chosen.agent_id == 2  # the busiest, but the longest without a new conversation


def test_an_agent_never_assigned_comes_first_and_ids_settle_ties() -> None:
    rule = team(AssignmentMode.ROUND_ROBIN, (3, 2, 1))
    chosen = choose(rule, seats(Seat(3, None, 0), Seat(2, None, 0), Seat(1, None, 0, ago(60))))
    assert chosen is not None
    assert chosen.agent_id == 2


def test_least_busy_takes_the_fewest_open_then_the_least_recent() -> None:
    rule = team(AssignmentMode.LEAST_BUSY, (1, 2, 3))
    board = seats(Seat(1, None, 3, ago(9)), Seat(2, None, 1, ago(1)), Seat(3, None, 1, ago(5)))
    chosen = choose(rule, board)
    assert chosen is not None
    assert chosen.agent_id == 3


def test_nobody_is_chosen_in_manual_mode_or_when_all_are_full() -> None:
    board = seats(Seat(1, None, 0), Seat(2, 2, 2))
    assert choose(team(AssignmentMode.MANUAL, (1, 2)), board) is None
    full = seats(Seat(1, None, 4), Seat(2, 2, 2))
    assert choose(team(AssignmentMode.LEAST_BUSY, (1, 2), capacity=4), full) is None


def test_only_the_teams_seated_agents_are_chosen() -> None:
    rule = team(AssignmentMode.ROUND_ROBIN, (1, 2))
    # agent 3 has room but is no member; agent 2 has no seat (away, offline or inactive)
    chosen = choose(rule, seats(Seat(1, None, 9, ago(1)), Seat(3, None, 0)))
    assert chosen is not None
    assert chosen.agent_id == 1


def test_an_agents_own_capacity_overrides_the_teams() -> None:
    rule = team(AssignmentMode.LEAST_BUSY, (1, 2), capacity=10)
    chosen = choose(rule, seats(Seat(1, 2, 2), Seat(2, None, 9)))
    assert chosen is not None
    assert chosen.agent_id == 2


def test_a_round_robin_burst_fills_every_agent_evenly_and_the_rest_waits() -> None:
    rule = team(AssignmentMode.ROUND_ROBIN, (1, 2, 3, 4, 5))
    board = Board({1: rule}, seats(*(Seat(i, None, 0) for i in range(1, 6))), waiting(200, first=1))
    made = plan(board, NOW)
    assert len(made) == 50
    assert Counter(a.agent_id for a in made) == dict.fromkeys(range(1, 6), 10)
    # the oldest 50, in order, dealt out in turn
    assert [a.conversation_id for a in made] == list(range(1, 51))
    assert [a.agent_id for a in made[:10]] == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    assert len({a.at for a in made}) == 50
    assert [a.at for a in made] == sorted(a.at for a in made)


def test_least_busy_fills_the_emptiest_agents_first() -> None:
    rule = team(AssignmentMode.LEAST_BUSY, (1, 2, 3), capacity=5)
    board = Board(
        {1: rule}, seats(Seat(1, None, 4), Seat(2, None, 1), Seat(3, None, 0)), waiting(6)
    )
    made = [a.agent_id for a in plan(board, NOW)]
    assert made == [3, 2, 3, 2, 3, 2]


def test_a_full_team_keeps_its_order_while_another_team_goes_on() -> None:
    sales = team(AssignmentMode.ROUND_ROBIN, (1,), capacity=1, team_id=1)
    support = team(AssignmentMode.LEAST_BUSY, (1, 2), capacity=3, team_id=2)
    board = Board(
        {1: sales, 2: support},
        seats(Seat(1, None, 0), Seat(2, None, 0)),
        [Waiting(10, 1), Waiting(11, 2), Waiting(12, 1), Waiting(13, 2), Waiting(14, 2)],
    )
    made = [(a.conversation_id, a.agent_id) for a in plan(board, NOW)]
    # agent 1 carries one conversation at most in sales, three in support: its load counts
    # across both teams
    assert made == [(10, 1), (11, 2), (13, 1), (14, 2)]


def test_a_manual_or_unknown_team_assigns_nothing() -> None:
    manual = team(AssignmentMode.MANUAL, (1,))
    board = Board({1: manual}, seats(Seat(1, None, 0)), [Waiting(5, 1), Waiting(6, 7)])
    assert plan(board, NOW) == []


def test_the_estimated_wait_is_the_slots_that_must_free_at_the_teams_pace() -> None:
    # 2 agents of capacity 5 online, a conversation handled in 10 minutes: a slot every minute
    assert estimated_wait_s(1, [600.0], 10) == 60
    assert estimated_wait_s(3, [300.0, 900.0], 10) == 180
    assert estimated_wait_s(1, [90.0], 1) == 90


def test_no_estimate_without_an_online_agent_or_a_handled_conversation() -> None:
    assert estimated_wait_s(2, [600.0], 0) is None
    assert estimated_wait_s(2, [], 10) is None
    assert estimated_wait_s(0, [600.0], 10) is None
