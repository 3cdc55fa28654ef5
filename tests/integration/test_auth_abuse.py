"""Password guessing, stolen sessions and floods, against real hubs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.domain.model import Role
from hub.web.auth import hash_password
from hub.web.keys import HUB
from tests.integration.conftest import (
    Processes,
    RunningHub,
    free_port,
    hub_env,
    inprocess_hub,
    make_settings,
    subprocess_hub_admin,
    wait_until_up,
)

ADMIN = {"email": "admin@shop.test", "password": "correct horse"}


async def login(hub: RunningHub, password: str, address: str) -> aiohttp.ClientResponse:
    async with hub.http.post(
        hub.base + "/api/v1/auth/login",
        json={"email": ADMIN["email"], "password": password},
        headers={"X-Forwarded-For": address},
    ) as response:
        await response.read()
        return response


async def test_guessing_is_refused_without_locking_the_agent_out_elsewhere(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, login_slowdown_s=0, trusted_proxies=["127.0.0.1"])
    async with inprocess_hub(settings) as hub:
        for _ in range(5):
            assert (await login(hub, "wrong guess", "203.0.113.7")).status == 401
        refused = await login(hub, ADMIN["password"], "203.0.113.7")
        assert refused.status == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 900
        # the real admin, at the office, is not locked out
        assert (await login(hub, ADMIN["password"], "198.51.100.20")).status == 200


async def test_a_password_change_signs_out_every_other_session(tmp_path: Path) -> None:
    async with inprocess_hub(make_settings(tmp_path, login_slowdown_s=0)) as hub:
        directory = hub.extras["server"].app[HUB].directory
        agent = await directory.create_agent(
            "li.na@shop.test", "Li Na 李娜", Role.AGENT, hash_password("old password 1")
        )

        async def session() -> str:
            async with hub.http.post(
                hub.base + "/api/v1/auth/login",
                json={"email": "li.na@shop.test", "password": "old password 1"},
            ) as response:
                assert response.status == 200
                return str((await response.json())["token"])

        laptop, phone = await session(), await session()
        api_token = await directory.create_token(agent.id, "script", None)

        async def call(token: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
            async with hub.http.request(
                method,
                hub.base + "/api/v1" + path,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            ) as response:
                return response.status, await response.json(content_type=None)

        status, _ = await call(
            laptop,
            "POST",
            "/me/password",
            json={"current_password": "not it", "new_password": "new password 2"},
        )
        assert status == 403
        status, _ = await call(
            laptop, "PATCH", f"/agents/{agent.id}", json={"password": "new password 2"}
        )
        assert status == 422  # one's own password needs the current one
        status, body = await call(
            laptop,
            "POST",
            "/me/password",
            json={"current_password": "old password 1", "new_password": "new password 2"},
        )
        assert (status, body) == (200, {"revoked": 2})
        assert (await call(laptop, "GET", "/me"))[0] == 200
        assert (await call(phone, "GET", "/me"))[0] == 401
        assert (await call(api_token, "GET", "/me"))[0] == 401

        # an admin's reset signs the agent out everywhere, this session included
        status, _ = await call(
            hub.token, "PATCH", f"/agents/{agent.id}", json={"password": "reset by admin 3"}
        )
        assert status == 200
        assert (await call(laptop, "GET", "/me"))[0] == 401
        for bad in ({}, {"name": None}, {"active": None}, {"role": None}, {"locale": None}):
            status, body = await call(hub.token, "PATCH", f"/agents/{agent.id}", json=bad)
            assert status == 422, (bad, body)


async def test_web_chat_floods_get_429_with_the_wait_and_cors(tmp_path: Path) -> None:
    async with inprocess_hub(make_settings(tmp_path)) as hub:
        origin = "https://shop.example.com"
        status, _ = await hub.api(
            "PATCH",
            f"/channels/{hub.channel_id}",
            json={
                "settings": {
                    "allowed_origins": [origin],
                    "new_visitors_per_minute": 2,
                    "messages_per_minute": 2,
                }
            },
        )
        assert status == 200
        session_url = f"{hub.base}/webchat/{hub.channel_key}/session"
        tokens = []
        for _ in range(2):
            async with hub.http.post(session_url, headers={"Origin": origin}) as response:
                assert response.status == 200
                tokens.append((await response.json())["visitor_token"])
        async with hub.http.post(session_url, headers={"Origin": origin}) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["Access-Control-Allow-Origin"] == origin
        headers = {"Origin": origin, "X-Visitor-Token": tokens[0]}
        statuses = []
        for n in range(3):
            async with hub.http.post(
                f"{hub.base}/webchat/{hub.channel_key}/messages",
                json={"type": "message", "client_id": f"flood{n:04d}", "text": "买买买"},
                headers=headers,
            ) as response:
                statuses.append(response.status)
        assert statuses == [202, 202, 429]


@pytest.mark.redis
async def test_failures_count_across_serve_processes(
    tmp_path: Path, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, redis_url=redis_url)
    await subprocess_hub_admin(settings)
    env = {**hub_env(settings), "KEFU_LOGIN_SLOWDOWN_S": "0"}
    processes.start("worker", ["worker"], env)
    bases = []
    for name in ("serve-a", "serve-b"):
        port = free_port()
        processes.start(name, ["serve", "--port", str(port)], {**env, **_public(port)})
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(base, lambda name=name: processes.log(name))  # type: ignore[misc]
        bases.append(base)
    async with aiohttp.ClientSession() as http:

        async def attempt(base: str, password: str) -> int:
            async with http.post(
                base + "/api/v1/auth/login",
                json={"email": "admin@shop.test", "password": password},
            ) as response:
                return response.status

        for base in (bases[0], bases[1], bases[0], bases[1], bases[0]):
            assert await attempt(base, "wrong guess") == 401
        assert await attempt(bases[1], "correct horse battery") == 429


def _public(port: int) -> dict[str, str]:
    return {"KEFU_PUBLIC_URL": f"http://127.0.0.1:{port}"}


async def test_pointing_a_channel_elsewhere_needs_its_secrets_again(tmp_path: Path) -> None:
    """Otherwise an admin could send the real AppSecret to a server of their own."""
    async with inprocess_hub(make_settings(tmp_path, allow_private_networks=False)) as hub:
        settings = {
            "app_id": "wx0123456789abcdef",
            "app_secret": "the-real-app-secret",
            "token": "kefuhubtoken",
        }
        status, channel = await hub.api(
            "POST", "/channels", json={"kind": "wechat", "name": "公众号", "settings": settings}
        )
        assert status == 201
        path = f"/channels/{channel['id']}"
        masked = channel["settings"]
        status, body = await hub.api(
            "PATCH", path, json={"settings": {**masked, "api_base_url": "https://evil.example"}}
        )
        assert status == 422
        assert "enter app_secret, token again" in body["error"]["reason"]
        for url in ("http://169.254.169.254/latest", "http://127.0.0.1:9000"):
            status, body = await hub.api(
                "PATCH",
                path,
                json={"settings": {**settings, "api_base_url": url}},
            )
            assert status == 422, url
            assert body["error"]["reason"].startswith("settings.api_base_url")
        status, body = await hub.api(
            "PATCH",
            path,
            json={"settings": {**settings, "api_base_url": "https://gateway.example.com"}},
        )
        assert status == 200, body
        stored = await hub.extras["server"].app[HUB].directory.get_channel(channel["id"])
        assert stored.settings["app_secret"] == "the-real-app-secret"
        assert stored.settings["api_base_url"] == "https://gateway.example.com"
