"""Login throttling, the rate limiter's windows and the client's address behind proxies."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from adapters.limits.local import LocalRateLimiter
from hub.domain.errors import TooManyRequests
from hub.services.login_guard import LoginGuard, LoginLimits
from hub.web.client import client_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def guard(clock: Clock, slept: list[float] | None = None) -> LoginGuard:
    async def sleep(seconds: float) -> None:
        (slept if slept is not None else []).append(seconds)

    return LoginGuard(LocalRateLimiter(clock), LoginLimits(), sleep)


async def test_windows_start_with_their_first_event_and_end(clock: Clock) -> None:
    limiter = LocalRateLimiter(clock)
    assert await limiter.count("k", 60) == (1, 60)
    clock.now += 20
    assert await limiter.count("k", 60) == (2, 40)
    assert await limiter.current("k") == (2, 40)
    clock.now += 41
    assert await limiter.current("k") == (0, 0.0)
    assert await limiter.count("k", 60) == (1, 60)


async def test_one_client_guessing_one_account_is_slowed_then_refused(clock: Clock) -> None:
    slept: list[float] = []
    g = guard(clock, slept)
    for _ in range(5):
        await g.check("li.na@shop.test", "203.0.113.7")
        await g.failed("li.na@shop.test", "203.0.113.7")
    assert slept == [1.0, 2.0]  # the 4th and 5th failures answer later
    with pytest.raises(TooManyRequests) as refused:
        await g.check("LI.NA@shop.test", "203.0.113.7")  # the same account, however spelt
    assert 0 < refused.value.retry_after_s <= 900
    # the real agent, elsewhere, is not locked out by it
    await g.check("li.na@shop.test", "198.51.100.20")
    clock.now += 901
    await g.check("li.na@shop.test", "203.0.113.7")


async def test_a_spread_attack_on_one_account_locks_it_for_a_minute_at_most(
    clock: Clock,
) -> None:
    g = guard(clock)
    for n in range(10):
        await g.failed("boss@shop.test", f"198.51.100.{n}")
    with pytest.raises(TooManyRequests) as refused:
        await g.check("boss@shop.test", "192.0.2.1")
    assert refused.value.retry_after_s <= 60
    clock.now += 61
    await g.check("boss@shop.test", "192.0.2.1")


async def test_one_address_trying_many_accounts_is_refused(clock: Clock) -> None:
    g = guard(clock)
    for n in range(30):
        await g.failed(f"user{n}@shop.test", "203.0.113.66")
    with pytest.raises(TooManyRequests):
        await g.check("someone.else@shop.test", "203.0.113.66")


async def test_a_successful_login_clears_its_own_count(clock: Clock) -> None:
    g = guard(clock)
    for _ in range(4):
        await g.failed("li.na@shop.test", "203.0.113.7")
    await g.succeeded("li.na@shop.test", "203.0.113.7")
    for _ in range(4):
        await g.failed("li.na@shop.test", "203.0.113.7")
    await g.check("li.na@shop.test", "203.0.113.7")


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    def address(peer: str, forwarded: str | None, trusted: list[str]) -> str:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        request = make_mocked_request(
            "POST", "/api/v1/auth/login", headers=headers, transport=_Transport(peer)
        )
        return client_address(request, trusted)

    assert address("203.0.113.7", "1.2.3.4", []) == "203.0.113.7"
    assert address("10.0.0.2", "198.51.100.4", ["10.0.0.0/8"]) == "198.51.100.4"
    # a client-written left end is skipped: the rightmost untrusted hop is the client
    assert address("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9", ["10.0.0.0/8"]) == (
        "198.51.100.4"
    )
    assert address("203.0.113.7", "1.2.3.4", ["10.0.0.0/8"]) == "203.0.113.7"
    assert address("10.0.0.2", None, ["10.0.0.0/8"]) == "10.0.0.2"


class _Transport:
    def __init__(self, peer: str) -> None:
        self._peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._peer, 40000) if name == "peername" else default
