"""Throttles password guessing without letting an attacker lock a real agent out for long.

Failed logins are counted three ways, each in a window of its own:

- per account and client address (5 in 15 minutes): stops one client guessing one account;
- per client address (30 in 15 minutes): stops one client trying many accounts;
- per account from anywhere (10 in 1 minute): slows a guess spread over many addresses. Its
  window is short on purpose: it is the one an attacker could use against a real agent, who
  then waits at most a minute.

Past the limit a login is refused with 429 and ``Retry-After`` before the password is even
checked; below it, each failure beyond the third answers a little later (up to 5 s). A
successful login clears its account-and-address count.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.domain.errors import TooManyRequests
from hub.domain.ports import RateLimiter

MAX_SLOWDOWN_S = 5.0


@dataclass(frozen=True)
class LoginLimits:
    per_account_address: int = 5
    per_address: int = 30
    window_s: float = 900.0
    per_account: int = 10
    account_window_s: float = 60.0
    #: failures (per account and address) answered at once; later ones wait this much more each
    slowdown_after: int = 3
    slowdown_s: float = 1.0


class LoginGuard:
    def __init__(
        self,
        limiter: RateLimiter,
        limits: LoginLimits,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limiter = limiter
        self._limits = limits
        self._sleep = sleep

    def _rules(self, email: str, address: str) -> list[tuple[str, int, float]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]
        limits = self._limits
        return [
            (f"login:pair:{account}:{address}", limits.per_account_address, limits.window_s),
            (f"login:addr:{address}", limits.per_address, limits.window_s),
            (f"login:acct:{account}", limits.per_account, limits.account_window_s),
        ]

    async def check(self, email: str, address: str) -> None:
        """Refuse at once (429) while any of the three counts is at its limit."""
        for key, limit, _ in self._rules(email, address):
            count, left = await self._limiter.current(key)
            if count >= limit:
                raise TooManyRequests(
                    f"too many failed logins; try again in {max(1, round(left))} s", left
                )

    async def failed(self, email: str, address: str) -> None:
        counts = [
            (await self._limiter.count(key, window))[0]
            for key, _, window in self._rules(email, address)
        ]
        beyond = counts[0] - self._limits.slowdown_after
        if beyond > 0 and self._limits.slowdown_s > 0:
            await self._sleep(min(MAX_SLOWDOWN_S, self._limits.slowdown_s * beyond))

    async def succeeded(self, email: str, address: str) -> None:
        await self._limiter.reset(self._rules(email, address)[0][0])
