"""Attachments: stored under names without the client's extension, served at links that
expire and are signed afresh whenever the thread is read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.integration.conftest import inprocess_hub, make_settings


async def test_file_links_expire_and_a_reload_gives_fresh_ones(tmp_path: Path) -> None:
    async with inprocess_hub(make_settings(tmp_path, file_url_ttl_s=1)) as hub:
        form = aiohttp.FormData()
        form.add_field(
            "file", b"<script>alert(1)</script>", filename="invoice.html", content_type="text/plain"
        )
        async with hub.http.post(
            hub.base + "/api/v1/uploads", data=form, headers=hub.auth()
        ) as response:
            assert response.status == 201
            upload = await response.json()
        stored = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
        assert len(stored) == 1
        assert stored[0].suffix == ""  # never .html on disk, whatever the client called it

        session = f"{hub.base}/webchat/{hub.channel_key}/session"
        async with hub.http.post(session) as response:
            token = (await response.json())["visitor_token"]
        async with hub.http.post(
            f"{hub.base}/webchat/{hub.channel_key}/messages",
            json={"type": "message", "client_id": "hello0001", "text": "发票呢？"},
            headers={"X-Visitor-Token": token},
        ) as response:
            assert response.status == 202
        conversation = None
        for _ in range(100):
            _, page = await hub.api("GET", "/conversations")
            if page["items"]:
                conversation = page["items"][0]["id"]
                break
            await asyncio.sleep(0.05)
        assert conversation is not None
        status, sent = await hub.api(
            "POST",
            f"/conversations/{conversation}/messages",
            json={"text": "附件是发票", "attachments": [upload["token"]]},
        )
        assert status == 201
        link = hub.base + sent["attachments"][0]["url"]
        async with hub.http.get(link) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            assert "invoice.html" in response.headers["Content-Disposition"]
        await asyncio.sleep(2.1)
        async with hub.http.get(link) as response:
            assert response.status == 404
            assert "expired" in (await response.json())["error"]["reason"]
        _, messages = await hub.api("GET", f"/conversations/{conversation}/messages")
        fresh = hub.base + messages["items"][-1]["attachments"][0]["url"]
        async with hub.http.get(fresh) as response:
            assert response.status == 200
