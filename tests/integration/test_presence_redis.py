"""Presence across several ``kefu serve`` processes sharing Redis, with a ``kefu worker``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from hub.config import Settings
from tests.clients import AgentSocket
from tests.integration.conftest import (
    Processes,
    free_port,
    hub_env,
    make_settings,
    subprocess_hub_admin,
    wait_until_up,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

GRACE_S = 0.5


async def serve(processes: Processes, name: str, settings: Settings, **env: str) -> str:
    port = free_port()
    processes.start(name, ["serve", "--port", str(port)], {**hub_env(settings, port), **env})
    base = f"http://127.0.0.1:{port}"
    await wait_until_up(base, lambda: processes.log(name))
    return base


async def call(
    http: aiohttp.ClientSession, base: str, token: str, method: str, path: str, **kwargs: Any
) -> Any:
    async with http.request(
        method,
        f"{base}/api/v1{path}",
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    ) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def test_an_agent_with_a_page_in_each_process_is_online_until_both_close(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    env = {"KEFU_PRESENCE_GRACE_S": str(GRACE_S)}
    admin = await subprocess_hub_admin(settings)
    processes.start("worker", ["worker"], {**hub_env(settings), **env})
    first = await serve(processes, "serve-a", settings, **env)
    second = await serve(processes, "serve-b", settings, **env)
    db = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    async with aiohttp.ClientSession() as http:
        li = await call(
            http,
            first,
            admin,
            "POST",
            "/agents",
            json={"email": "li.na@shop.test", "name": "Li Na", "password": "agent-password"},
        )
        login = await call(
            http,
            second,
            admin,
            "POST",
            "/auth/login",
            json={"email": "li.na@shop.test", "password": "agent-password"},
        )

        async def presence_seen_by(base: str) -> tuple[str, bool]:
            listed = await call(http, base, admin, "GET", "/agents")
            [found] = [a for a in listed["items"] if a["id"] == li["id"]]
            return found["presence"], found["online"]

        async def history() -> list[str]:
            found = await db.fetch(
                "SELECT status FROM presence_intervals WHERE agent_id = $1 ORDER BY started_at",
                li["id"],
            )
            return [row["status"] for row in found]

        page_a = await AgentSocket.connect(http, first, login["token"])
        page_b = await AgentSocket.connect(http, second, login["token"])
        assert await presence_seen_by(first) == ("online", True)
        assert await presence_seen_by(second) == ("online", True)
        await page_a.close()
        await asyncio.sleep(GRACE_S * 4)  # the grace period is long over
        # The page in the other process still counts, for both processes.
        assert await presence_seen_by(first) == ("online", True)
        assert await history() == ["online"]
        away = await call(
            http, first, login["token"], "PUT", "/me/presence", json={"status": "away"}
        )
        assert (away["presence"], away["online"]) == ("away", True)
        await page_b.close()
        async with asyncio.timeout(15):  # the worker runs the deferred look
            while await presence_seen_by(second) != ("offline", False):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert await history() == ["online", "away", "offline"]
    await db.close()
    # the job that looked after the grace period ran in the worker, not in a web process
    assert f"refresh_presence({li['id']})" in processes.log("worker")
