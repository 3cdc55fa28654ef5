"""An aiohttp session that refuses to call addresses a provider's URL may not have.

Checked twice: before each request, for the URL's host (a literal address, or a name resolved
then), which gives a clear, final refusal; and inside the connector's resolver, for the
addresses a connection really uses, so a name that resolves differently the second time (DNS
rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from hub.domain.destinations import address_problem, url_problem
from hub.domain.errors import PermanentSendError


class BlockedAddress(OSError):
    """A connection to an address the hub may not call."""


class GuardedResolver(AbstractResolver):
    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            problem = address_problem(result["host"], allow_private=self._allow_private)
            if problem:
                raise BlockedAddress(f"{host} resolves to {problem}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _refused(url: str, problem: str) -> PermanentSendError:
    host = URL(url).host or url
    return PermanentSendError(
        f"the hub may not call {host}: {problem}",
        "hub.blocked_address",
        {
            "en": f"The hub may not call {host}: {problem}. Check the channel's API address.",
            "zh-CN": f"不允许访问 {host}：{problem}。请检查渠道的 API 地址。",
        },
    )


def guarded_session(*, allow_private: bool, timeout_s: float = 30.0) -> aiohttp.ClientSession:
    """The one session for providers' APIs in a process."""

    async def check(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        url = str(params.url)
        problem = url_problem(url, allow_private=allow_private)
        host = params.url.host or ""
        if problem is None and host and not _is_literal(host):
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                return  # unresolvable: the connection fails with the usual network error
            for info in infos:
                problem = address_problem(str(info[4][0]), allow_private=allow_private)
                if problem:
                    break
        if problem:
            raise _refused(url, problem)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(check)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=allow_private))
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[trace],
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


def _is_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True
