"""The web chat visitor protocol against a real hub: identity, limits, bad input, live typing."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.db.engine import create_engines
from adapters.db.secretbox import SecretBox
from adapters.db.store import SqlStore
from hub.domain.model import Inbound
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import (
    RunningHub,
    inprocess_hub,
    inprocess_hub_again,
    make_settings,
)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


async def test_no_agent_online_means_leave_a_message(hub: RunningHub) -> None:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    assert visitor.hello["agents_online"] is False
    await visitor.ws.send_json(
        {
            "type": "leave_message",
            "client_id": "offline-1",
            "name": "张伟",
            "email": "zhang.wei@example.cn",
            "text": "请明天给我回电话",
        }
    )
    await visitor.next("ack")
    for _ in range(100):
        _, page = await hub.api("GET", "/conversations")
        if page["items"]:
            break
        await asyncio.sleep(0.05)
    [item] = page["items"]
    assert item["contact"]["name"] == "张伟"
    _, contact = await hub.api("GET", f"/contacts/{item['contact']['id']}")
    assert contact["email"] == "zhang.wei@example.cn"
    assert contact["timeline"][0]["data"] == {"left_offline": True}
    await visitor.close()


async def test_forged_or_foreign_tokens_start_a_fresh_visitor(hub: RunningHub) -> None:
    first = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await first.say("my secret order 555")
    token = first.hello["visitor_token"]
    await first.close()
    returning = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key, token=token)
    assert [m["text"] for m in returning.hello["history"]] == ["my secret order 555"]
    assert returning.hello["visitor_id"] == first.hello["visitor_id"]
    for forged in (token[:-3] + "xyz", "garbage", token.replace(".", "!", 1)):
        stranger = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key, token=forged)
        assert stranger.hello["history"] == []
        assert stranger.hello["visitor_id"] != first.hello["visitor_id"]
        await stranger.close()
    _, other = await hub.api("POST", "/channels", json={"kind": "webchat", "name": "other"})
    foreign = await VisitorSocket.connect(hub.http, hub.base, other["public_key"], token=token)
    assert foreign.hello["history"] == []
    await foreign.close()
    await returning.close()


async def test_bad_frames_get_a_reason_and_change_nothing(hub: RunningHub) -> None:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.ws.send_str("not json")
    assert "JSON" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_json({"type": "message", "client_id": "short", "text": "x"})
    assert "client_id" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_json({"type": "shout", "client_id": "abcdefgh"})
    await visitor.next("error")
    await visitor.ws.send_json({"type": "message", "client_id": "abcdefgh9", "text": "x" * 6000})
    assert "text" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_json({"type": "message", "client_id": "abcdefgh8", "text": "   "})
    assert "needs text" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_str(
        '{"type":"message","client_id":"abcdefgh7","text":"' + "y" * 20_000 + '"}'
    )
    assert "16384" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_json(
        {"type": "message", "client_id": "abcdefgh6", "text": "hi", "attachments": ["forged"]}
    )
    assert "attachment" in (await visitor.next("error"))["reason"]
    await visitor.ws.send_json({"type": "ping"})
    await visitor.next("pong")  # the socket is still healthy
    _, page = await hub.api("GET", "/conversations")
    assert page["items"] == []
    await visitor.close()


async def test_unknown_keys_and_refused_origins(hub: RunningHub) -> None:
    url = hub.base.replace("http", "ws") + "/webchat/no-such-key/ws"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.http.ws_connect(url)
    assert refused.value.status == 404
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "webchat",
            "name": "locked",
            "settings": {"allowed_origins": ["https://shop.example.com"]},
        },
    )
    assert status == 201
    key = channel["public_key"]
    ok = await VisitorSocket.connect(hub.http, hub.base, key, origin="https://shop.example.com")
    await ok.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await VisitorSocket.connect(hub.http, hub.base, key, origin="https://evil.example.net")
    assert refused.value.status == 403
    async with hub.http.post(
        hub.base + f"/webchat/{key}/session", headers={"Origin": "https://evil.example.net"}
    ) as response:
        assert response.status == 403
        assert "allowed origins" in (await response.json())["error"]["reason"]


async def test_http_fallback_and_uploads(hub: RunningHub) -> None:
    base = hub.base + f"/webchat/{hub.channel_key}"
    origin = {"Origin": "https://shop.example.com"}
    async with hub.http.post(base + "/session", headers=origin) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
        hello = await response.json()
    headers = {"X-Visitor-Token": hello["visitor_token"]}
    form = aiohttp.FormData()
    form.add_field(
        "file", b"%PDF-1.4 invoice", filename="invoice.pdf", content_type="application/pdf"
    )
    async with hub.http.post(base + "/uploads", data=form, headers=headers) as response:
        assert response.status == 201
        upload = await response.json()
    frame = {
        "type": "message",
        "client_id": "http-msg-1",
        "text": "",
        "attachments": [upload["token"]],
    }
    for _ in range(2):
        async with hub.http.post(base + "/messages", json=frame, headers=headers) as response:
            assert response.status == 202
            assert (await response.json())["client_id"] == "http-msg-1"
    big = aiohttp.FormData()
    big.add_field(
        "file",
        io.BytesIO(b"0" * (10 * 1024 * 1024 + 1)),
        filename="big.png",
        content_type="image/png",
    )
    async with hub.http.post(base + "/uploads", data=big, headers=headers) as response:
        assert response.status == 413
        assert "10 MB" in (await response.json())["error"]["reason"]
    exe = aiohttp.FormData()
    exe.add_field("file", b"MZ", filename="setup.exe", content_type="application/x-msdownload")
    async with hub.http.post(base + "/uploads", data=exe, headers=headers) as response:
        assert response.status == 422
    async with hub.http.post(
        base + "/messages", json=frame, headers={"X-Visitor-Token": "forged"}
    ) as response:
        assert response.status == 422
    async with hub.http.options(base + "/messages", headers=origin) as response:
        assert response.status == 204
    for _ in range(100):
        _, page = await hub.api("GET", "/conversations")
        if page["items"]:
            break
        await asyncio.sleep(0.05)
    [item] = page["items"]
    _, messages = await hub.api("GET", f"/conversations/{item['id']}/messages")
    [message] = messages["items"]
    assert message["kind"] == "file"
    assert message["attachments"][0]["filename"] == "invoice.pdf"


async def test_typing_travels_both_ways_and_identify_names_the_contact(hub: RunningHub) -> None:
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.ws.send_json(
        {"type": "identify", "name": "Lucy 露西", "email": "lucy@example.com"}
    )
    await visitor.next("identified")
    await visitor.ws.send_json({"type": "typing", "on": True})
    typing = await agent.next("visitor.typing")
    assert typing["data"]["visitor_id"] == visitor.hello["visitor_id"]
    await visitor.say("hello")
    created = await agent.message_created("hello")
    await visitor.ws.send_json({"type": "typing", "on": False})
    typing = await agent.next("visitor.typing", lambda f: f["data"]["on"] is False)
    assert typing["data"]["conversation_id"] == created["conversation_id"]
    await agent.ws.send_json(
        {"type": "typing", "conversation_id": created["conversation_id"], "on": True}
    )
    shown = await visitor.next("typing")
    assert shown["on"] is True
    assert shown["name"] == "Admin 管理员"
    _, conv = await hub.api("GET", f"/conversations/{created['conversation_id']}")
    assert conv["contact"]["name"] == "Lucy 露西"
    await agent.close()
    await visitor.close()


async def test_embedded_mode_finishes_what_a_restart_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with inprocess_hub(settings) as hub:
        channel_id = hub.channel_id
    # Accepted while the hub was down (or just before it died): stored, never processed.
    engines = create_engines(settings.database_url)
    store = SqlStore(engines, SecretBox(settings.secret_key))
    await store.accept_events(
        channel_id, [Inbound(provider_event_id="lost-1", sender_id="v_lost", text="还在吗？")]
    )
    await store.close()
    await engines.dispose()
    async with inprocess_hub_again(settings) as hub:
        for _ in range(100):
            _, page = await hub.api("GET", "/conversations")
            if page["items"]:
                break
            await asyncio.sleep(0.05)
        assert page["items"][0]["last_message"]["text"] == "还在吗？"


async def test_agents_online_follows_the_inbox_pages(hub: RunningHub) -> None:
    first = await AgentSocket.connect(hub.http, hub.base, hub.token)
    second = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    assert visitor.hello["agents_online"] is True
    await first.close()
    again = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    assert again.hello["agents_online"] is True  # one page is still open
    await second.close()
    for _ in range(50):
        last = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
        online = last.hello["agents_online"]
        await last.close()
        if not online:
            break
        await asyncio.sleep(0.05)
    assert online is False
    for socket in (visitor, again):
        await socket.close()
