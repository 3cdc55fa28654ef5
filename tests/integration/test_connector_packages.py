"""Connector packages installed beside the hub: found by entry point, broken ones reported.

The sample connector (tests/contract/sample_connector) is installed with pip into a folder of
its own, as a user would install a third-party channel, and real ``kefu`` processes find it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from hub.web.keys import HUB
from tests.fakes.sample_chat_api import FakeSampleChat, message, sign
from tests.integration.conftest import (
    Processes,
    free_port,
    hub_env,
    inprocess_hub,
    make_settings,
    subprocess_hub_admin,
    wait_until_up,
)

SAMPLE = Path(__file__).resolve().parents[1] / "contract" / "sample_connector"
SECRET = "sample-signing-secret"


def write_package(site: Path, dist: str, module: str, source: str, entry: str) -> None:
    """A package installed by hand: its module and the metadata pip would write."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[kefu.connectors]\n{entry}\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample connector installed with pip, and two broken packages beside it."""
    root = tmp_path_factory.mktemp("site")
    source = root / "src"
    shutil.copytree(SAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, source],
        check=True,
        capture_output=True,
        timeout=180,
    )
    write_package(
        target,
        "kefu-broken",
        "kefu_broken",
        "import kefu_no_such_sdk\n",
        "broken = kefu_broken:connector",
    )
    write_package(
        target,
        "kefu-impostor",
        "kefu_impostor",
        "from connectors.webchat import connector\n",
        "webchat_again = kefu_impostor:connector",
    )
    return target


def with_site(env: dict[str, str], site: Path) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join([str(site), env.get("PYTHONPATH", "")])}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(
        method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
    ) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None


async def eventually(check: Callable[[], Any], within_s: float = 15) -> Any:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.1)


async def test_serve_reports_broken_packages_and_runs_the_installed_one(
    tmp_path: Path, site: Path, processes: Processes
) -> None:
    settings = make_settings(tmp_path)
    token = await subprocess_hub_admin(settings)
    fake = FakeSampleChat()
    async with fake.running() as provider, aiohttp.ClientSession() as http:
        port = free_port()
        processes.start(
            "serve", ["serve", "--port", str(port)], with_site(hub_env(settings, port), site)
        )
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(base, lambda: processes.log("serve"))
        log = processes.log("serve")
        assert "kefu-broken:broken" in log
        assert "ModuleNotFoundError" in log
        assert "kefu-impostor:webchat_again" in log
        assert "already declares" in log

        status, kinds = await call(http, "GET", f"{base}/api/v1/channel-kinds", token)
        assert status == 200
        assert [k["kind"] for k in kinds["items"]] == [
            "webchat", "wechat", "wecom_kf", "twilio", "email", "sample_chat"
        ]  # fmt: skip
        assert {p["source"] for p in kinds["problems"]} == {
            "kefu-broken:broken",
            "kefu-impostor:webchat_again",
        }
        sample = kinds["items"][-1]
        assert sample["title"]["zh-CN"] == "示例聊天"
        assert sample["capabilities"]["polls"] is True

        # the other channels keep working
        status, webchat = await call(
            http, "POST", f"{base}/api/v1/channels", token, json={"kind": "webchat", "name": "W"}
        )
        assert status == 201
        async with http.post(f"{base}/webchat/{webchat['public_key']}/session") as response:
            assert response.status == 200

        status, channel = await call(
            http,
            "POST",
            f"{base}/api/v1/channels",
            token,
            json={
                "kind": "sample_chat",
                "name": "Sample 示例",
                "settings": {
                    "account": "acme",
                    "signing_secret": SECRET,
                    "api_base_url": provider,
                },
            },
        )
        assert status == 201, channel
        assert channel["settings"]["signing_secret"] == "********"
        hook = channel["webhook_urls"]["messages"]
        body = message("evt-1", "cust-9", "我的包裹到哪了？", name="Zhao 赵")
        for _ in range(3):  # the provider retries: one message
            async with http.post(
                hook, data=body, headers={"X-Sample-Signature": sign(SECRET, body)}
            ) as response:
                assert response.status == 200
        async with http.post(
            hook, data=body, headers={"X-Sample-Signature": sign("wrong-secret", body)}
        ) as response:
            assert response.status == 403

        async def conversation() -> Any:
            _, page = await call(
                http, "GET", f"{base}/api/v1/conversations?channel_id={channel['id']}", token
            )
            return page["items"]

        [conv] = await eventually(conversation)
        assert conv["contact"]["name"] == "Zhao 赵"
        _, messages = await call(
            http, "GET", f"{base}/api/v1/conversations/{conv['id']}/messages", token
        )
        assert [m["text"] for m in messages["items"]] == ["我的包裹到哪了？"]

        fake.refuse.append("blocked")
        status, reply = await call(
            http,
            "POST",
            f"{base}/api/v1/conversations/{conv['id']}/messages",
            token,
            json={"text": "正在为您查询"},
        )
        assert status == 201

        async def failed() -> Any:
            _, page = await call(
                http, "GET", f"{base}/api/v1/conversations/{conv['id']}/messages", token
            )
            found = [m for m in page["items"] if m["id"] == reply["id"]]
            return found[0] if found and found[0]["status"] == "failed" else None

        refused = await eventually(failed)
        assert refused["failure"]["code"] == "sample_chat.blocked"
        assert refused["failure"]["text"]["zh-CN"] == "客户已在示例聊天中屏蔽此账号"
        status, _ = await call(http, "POST", f"{base}/api/v1/messages/{reply['id']}/resend", token)
        assert status == 200
        await eventually(lambda: _sent(fake))
        assert fake.sent == [{"to": "cust-9", "text": "正在为您查询"}]


async def _sent(fake: FakeSampleChat) -> bool:
    return bool(fake.sent)


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_poller_runs_in_one_worker_and_another_takes_it_over(
    tmp_path: Path, site: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    token = await subprocess_hub_admin(settings)
    fake = FakeSampleChat()
    fake.updates = [
        {"id": "upd-1", "from": "cust-1", "text": "第一条"},
        {"id": "upd-2", "from": "cust-1", "text": "第二条"},
    ]
    fast = {"KEFU_POLL_CHECK_S": "0.2", "KEFU_POLL_LEASE_S": "1.5"}
    async with fake.running() as provider, aiohttp.ClientSession() as http:
        workers = [
            processes.start(
                f"worker-{i}", ["worker"], with_site({**hub_env(settings), **fast}, site)
            )
            for i in (1, 2)
        ]
        port = free_port()
        processes.start(
            "serve", ["serve", "--port", str(port)], with_site(hub_env(settings, port), site)
        )
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(base, lambda: processes.log("serve"))
        status, channel = await call(
            http,
            "POST",
            f"{base}/api/v1/channels",
            token,
            json={
                "kind": "sample_chat",
                "name": "Polled",
                "settings": {
                    "account": "acme",
                    "signing_secret": SECRET,
                    "api_base_url": provider,
                    "poll": True,
                },
            },
        )
        assert status == 201, channel

        async def texts() -> list[str]:
            _, page = await call(
                http, "GET", f"{base}/api/v1/conversations?channel_id={channel['id']}", token
            )
            if not page["items"]:
                return []
            _, messages = await call(
                http,
                "GET",
                f"{base}/api/v1/conversations/{page['items'][0]['id']}/messages",
                token,
            )
            return [m["text"] for m in messages["items"]]

        await eventually(lambda: _has(texts, 2), within_s=20)
        owner = await _lease_owner(pg_url)
        owning = next(w for w in workers if f":{w.pid}:" in owner)
        other = next(w for w in workers if w is not owning)
        owning.send_signal(signal.SIGKILL)  # no clean release: the lease must run out
        owning.wait(timeout=10)
        fake.updates.append({"id": "upd-3", "from": "cust-1", "text": "第三条"})
        await eventually(lambda: _has(texts, 3), within_s=20)
        assert f":{other.pid}:" in await _lease_owner(pg_url)
        assert await texts() == ["第一条", "第二条", "第三条"]  # each stored once


async def _has(texts: Callable[[], Any], count: int) -> bool:
    return len(await texts()) >= count


async def _lease_owner(pg_url: str) -> str:
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        value = await conn.fetchval(
            "SELECT value FROM channel_state WHERE key = 'lease:poller:updates'"
        )
    finally:
        await conn.close()
    return str(value)


async def test_a_channel_whose_package_is_gone_is_still_listed_masked(tmp_path: Path) -> None:
    """Uninstalling a connector package must not hide every other channel from admins."""
    async with inprocess_hub(make_settings(tmp_path)) as hub:
        directory = hub.extras["server"].app[HUB].directory
        orphan = await directory.create_channel(
            "line", "LINE 官方账号", {"channel_secret": "s3cret", "greeting": ""}
        )
        status, page = await hub.api("GET", "/channels")
        assert status == 200
        listed = {c["id"]: c for c in page["items"]}
        assert hub.channel_id in listed  # the others are all there
        assert listed[orphan.id]["settings"] == {"channel_secret": "********", "greeting": ""}
        assert listed[orphan.id]["webhook_urls"] == {}
        status, patched = await hub.api("PATCH", f"/channels/{orphan.id}", json={"active": False})
        assert (status, patched["active"]) == (200, False)
