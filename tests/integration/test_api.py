"""The REST API's contract and its answers to bad input, on a real in-process hub."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from hub.web import schemas as S
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


async def test_login_gives_a_token_that_works_and_logout_revokes_it(hub: RunningHub) -> None:
    async with hub.http.post(
        hub.base + "/api/v1/auth/login",
        json={"email": "ADMIN@shop.test", "password": "correct horse"},
    ) as response:
        assert response.status == 200
        body = S.LoginOut.model_validate(await response.json())
    headers = {"Authorization": f"Bearer {body.token}"}
    async with hub.http.get(hub.base + "/api/v1/me", headers=headers) as response:
        assert (await response.json())["email"] == "admin@shop.test"
    async with hub.http.post(hub.base + "/api/v1/auth/logout", headers=headers) as response:
        assert response.status == 204
    async with hub.http.get(hub.base + "/api/v1/me", headers=headers) as response:
        assert response.status == 401


async def test_wrong_password_and_bad_tokens_are_401(hub: RunningHub) -> None:
    async with hub.http.post(
        hub.base + "/api/v1/auth/login", json={"email": "admin@shop.test", "password": "nope"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"]["reason"] == "wrong email or password"
    for headers in ({}, {"Authorization": "Bearer kefu_forged"}, {"Authorization": "Basic x"}):
        async with hub.http.get(hub.base + "/api/v1/conversations", headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_agents_cannot_do_admin_work(hub: RunningHub) -> None:
    status, agent = await hub.api(
        "POST",
        "/agents",
        json={"email": "li.na@shop.test", "name": "李娜", "password": "secret-pass"},
    )
    assert status == 201
    async with hub.http.post(
        hub.base + "/api/v1/auth/login",
        json={"email": "li.na@shop.test", "password": "secret-pass"},
    ) as response:
        token = (await response.json())["token"]
    async with hub.http.post(
        hub.base + "/api/v1/channels",
        json={"kind": "webchat", "name": "x"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 403
    status, _ = await hub.api("PATCH", f"/agents/{agent['id']}", json={"active": False})
    assert status == 200
    async with hub.http.get(
        hub.base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 401  # a deactivated agent's tokens stop working


async def test_malformed_and_invalid_bodies_are_4xx_with_a_reason(hub: RunningHub) -> None:
    async with hub.http.post(
        hub.base + "/api/v1/channels", data=b"{not json", headers=hub.auth()
    ) as response:
        assert response.status == 400
        assert "JSON" in (await response.json())["error"]["reason"]
    status, body = await hub.api("POST", "/channels", json={"kind": "fax", "name": "x"})
    assert status == 422
    assert "unknown channel kind 'fax'" in body["error"]["reason"]
    status, body = await hub.api(
        "POST", "/channels", json={"kind": "webchat", "name": "x", "surprise": 1}
    )
    assert status == 422
    assert body["error"]["reason"].startswith("surprise")
    status, body = await hub.api(
        "POST",
        "/channels",
        json={"kind": "webchat", "name": "x", "settings": {"allowed_origins": ["javascript:x"]}},
    )
    assert status == 422
    status, _ = await hub.api("POST", "/conversations/999/messages", json={"text": "hi"})
    assert status == 404
    status, _ = await hub.api("GET", "/conversations/abc")
    assert status == 404
    status, body = await hub.api("GET", "/conversations?cursor=%%%")
    assert status == 422
    async with hub.http.post(
        hub.base + "/api/v1/channels", data=io.BytesIO(b"x" * (1024 * 1024 + 1)), headers=hub.auth()
    ) as response:
        assert response.status == 413


async def test_channels_expose_webhook_urls_and_embed_html(hub: RunningHub) -> None:
    status, channel = await hub.api("GET", f"/channels/{hub.channel_id}")
    assert status == 200
    parsed = S.ChannelOut.model_validate(channel)
    assert parsed.embed_html == (
        '<script src="http://127.0.0.1:8080/assets/webchat/widget.js" '
        f'data-kefu-key="{hub.channel_key}" async></script>'
    )
    assert parsed.webhook_urls == {}
    async with hub.http.get(hub.base + "/assets/webchat/widget.js") as response:
        assert response.status == 200
        assert "data-kefu-key" in await response.text()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for missing in ("/assets/webchat/../connector.py", "/assets/nope/widget.js"):
        async with hub.http.get(hub.base + missing) as response:
            assert response.status == 404


async def test_channel_kinds_describe_everything_the_page_shows(hub: RunningHub) -> None:
    status, body = await hub.api("GET", "/channel-kinds")
    assert status == 200
    kinds = {item["kind"]: item for item in body["items"]}
    assert set(kinds) == {"webchat", "wechat", "wecom_kf", "twilio", "email"}
    assert body["problems"] == []
    wechat = kinds["wechat"]
    assert wechat["webhook_names"] == ["callback"]
    assert "app_secret" in wechat["secret_settings"]
    assert wechat["title"] == {"en": "WeChat", "zh-CN": "微信公众号"}
    fields = wechat["settings_schema"]["properties"]
    assert fields["token"]["x-secret"] is True
    assert fields["token"]["x-generate"] == "token"
    assert fields["app_id"]["x-label"]["zh-CN"] == "AppID（开发者ID）"
    assert wechat["guide"]["webhook"] == "callback"
    assert len(wechat["guide"]["steps"]) == 5
    assert wechat["events"]["subscribe"]["zh-CN"] == "关注了公众号"
    assert wechat["capabilities"]["reply_window"] is True
    assert wechat["capabilities"]["auto_replies"] is True
    assert kinds["wecom_kf"]["capabilities"]["ends_sessions"] is True
    webchat = kinds["webchat"]
    assert webchat["capabilities"]["embeds"] is True
    assert webchat["capabilities"]["transport"] is True
    assert webchat["settings_schema"]["properties"]["allowed_origins"]["x-widget"] == "lines"


async def test_a_channel_never_stores_invalid_settings(hub: RunningHub) -> None:
    path = f"/channels/{hub.channel_id}"
    for bad in ({"settings": None}, {"name": None}, {"active": None}, {}, {"settings": []}):
        status, body = await hub.api("PATCH", path, json=bad)
        assert status == 422, (bad, body)
    status, body = await hub.api("PATCH", path, json={"settings": {"color": "red"}})
    assert status == 422
    assert body["error"]["reason"].startswith("settings.color")
    status, channel = await hub.api("GET", path)
    assert status == 200
    assert channel["settings"]["color"] == "#1f6feb"
    async with hub.http.post(hub.base + f"/webchat/{hub.channel_key}/session") as response:
        assert response.status == 200


async def test_openapi_document_describes_every_route(hub: RunningHub) -> None:
    async with hub.http.get(hub.base + "/api/v1/openapi.json") as response:
        doc = await response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/channels", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}", "patch"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/contacts/{id}", "get"),
    ]:
        assert method in paths[path], (path, method)
    schema = doc["components"]["schemas"]["MessageOut"]
    assert {"id", "conversation_id", "direction", "sender_type", "kind", "text"} <= set(
        schema["properties"]
    )
    json.dumps(doc)


async def _conversation(hub: RunningHub, text: str = "在吗") -> tuple[VisitorSocket, int]:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say(text)
    for _ in range(100):
        _status, page = await hub.api("GET", "/conversations")
        if page["items"]:
            return visitor, page["items"][0]["id"]
        await asyncio.sleep(0.05)
    raise AssertionError("the conversation never appeared")


async def test_conversation_workflow_and_lists(hub: RunningHub) -> None:
    visitor, conversation_id = await _conversation(hub)
    _, conv = await hub.api("GET", f"/conversations/{conversation_id}")
    assert conv["last_message"] == {"text": "在吗", "kind": "text"}
    assert conv["contact"]["name"] == f"Visitor 访客 #{visitor.hello['visitor_id'][-6:]}"
    assert conv["reply_window"] is None  # web chat has no reply limit
    status, conv = await hub.api("PATCH", f"/conversations/{conversation_id}", json={"read": True})
    assert conv["unread_count"] == 0
    status, conv = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"assignee_id": 1}
    )
    assert conv["assignee_id"] == 1
    status, page = await hub.api("GET", "/conversations?assignee=me")
    assert [c["id"] for c in page["items"]] == [conversation_id]
    status, page = await hub.api("GET", "/conversations?assignee=none")
    assert page["items"] == []
    status, conv = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert conv["status"] == "resolved"
    assert conv["resolved_at"]
    status, page = await hub.api("GET", "/conversations?status=open")
    assert page["items"] == []
    status, _body = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"assignee_id": 999}
    )
    assert status == 422
    status, note = await hub.api(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"text": "客户是VIP", "private": True},
    )
    assert note["private"] is True
    assert note["status"] == "sent"
    status, contact = await hub.api("GET", f"/contacts/{conv['contact_id']}")
    assert status == 200
    parsed = S.ContactOut.model_validate(contact)
    assert [m.text for m in parsed.timeline] == ["在吗", "客户是VIP"]
    assert parsed.identities[0].channel_kind == "webchat"
    # The visitor never sees the note.
    again = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, token=visitor.hello["visitor_token"]
    )
    assert [m["text"] for m in again.hello["history"]] == ["在吗"]
    await visitor.close()
    await again.close()


async def test_conversation_list_pages_with_a_cursor(hub: RunningHub) -> None:
    for n in range(5):
        visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
        await visitor.say(f"visitor {n}")
        await visitor.close()
    for _ in range(100):
        _, page = await hub.api("GET", "/conversations?limit=100")
        if len(page["items"]) == 5:
            break
        await asyncio.sleep(0.05)
    seen: list[int] = []
    cursor = ""
    while True:
        _, page = await hub.api("GET", f"/conversations?limit=2{cursor}")
        S.ConversationList.model_validate(page)
        seen += [c["id"] for c in page["items"]]
        if not page["next"]:
            break
        cursor = f"&cursor={page['next']}"
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5


async def test_resync_returns_what_changed_while_away(hub: RunningHub) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    visitor, conversation_id = await _conversation(hub, "断线期间的消息")
    status, body = await hub.api("GET", "/sync", params={"since": since})
    assert status == 200
    parsed = S.SyncOut.model_validate(body)
    assert "断线期间的消息" in [m.text for m in parsed.messages]
    assert conversation_id in [c.id for c in parsed.conversations]
    status, body = await hub.api("GET", "/sync", params={"since": parsed.now})
    assert body["messages"] == []
    status, body = await hub.api("GET", "/sync", params={"since": "yesterday"})
    assert status == 422
    await visitor.close()


async def test_agent_uploads_a_file_and_the_visitor_receives_its_link(hub: RunningHub) -> None:
    visitor, conversation_id = await _conversation(hub)
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG\r\n\x1a\n fake", filename="发票.png", content_type="image/png")
    async with hub.http.post(hub.base + "/api/v1/uploads", data=form, headers=hub.auth()) as r:
        assert r.status == 201
        upload = await r.json()
    status, sent = await hub.api(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"text": "", "attachments": [upload["token"]]},
    )
    assert status == 201
    assert sent["kind"] == "image"
    pushed = await visitor.next("message", lambda f: f["message"]["kind"] == "image")
    [file] = pushed["message"]["attachments"]
    async with hub.http.get(hub.base + file["url"]) as response:
        assert response.status == 200
        assert await response.read() == b"\x89PNG\r\n\x1a\n fake"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with hub.http.get(hub.base + "/files/forged/x.png") as response:
        assert response.status == 404
    bad = aiohttp.FormData()
    bad.add_field("file", b"<html>", filename="x.html", content_type="text/html")
    async with hub.http.post(hub.base + "/api/v1/uploads", data=bad, headers=hub.auth()) as r:
        assert r.status == 422
        assert "text/html" in (await r.json())["error"]["reason"]
    status, _body = await hub.api(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"attachments": ["forged-token"]},
    )
    assert status == 422
    await visitor.close()


async def test_health_reports_database_and_queue(hub: RunningHub) -> None:
    async with hub.http.get(hub.base + "/healthz", headers=hub.auth()) as response:
        assert response.status == 200
        body = S.HealthOut.model_validate(await response.json())
    assert body.mode == "embedded"
    assert body.database == "ok"


async def test_agent_socket_refuses_bad_tokens(hub: RunningHub) -> None:
    ws = await hub.http.ws_connect(hub.base.replace("http", "ws") + "/api/v1/ws")
    await ws.send_json({"type": "auth", "token": "kefu_forged"})
    msg = await ws.receive()
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert msg.data == 4001
    await ws.close()
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await agent.ws.send_json({"type": "nonsense"})
    error = await agent.next("error")
    assert "nonsense" in error["reason"]
    await agent.close()


@pytest.mark.postgres
async def test_a_request_on_a_dropped_database_connection_gets_a_503_then_works(
    tmp_path: Path, pg_url: str
) -> None:
    """Connections are not pinged before use: after a database restart the first request on a
    dropped one is told to try again (never a 500), and the pool has replaced it by then."""
    from tests.services import drop_pg_connections

    async with inprocess_hub(make_settings(tmp_path, pg_url)) as hub:
        status, _ = await hub.api("GET", "/conversations")
        assert status == 200
        assert await drop_pg_connections(pg_url) >= 1
        statuses = []
        for _ in range(20):  # the pool may hold several dropped connections
            status, body = await hub.api("GET", "/conversations")
            statuses.append(status)
            if status == 200:
                break
            assert status == 503, body
            assert "try again" in body["error"]["reason"]
        assert statuses[0] == 503
        assert statuses[-1] == 200


async def test_only_a_failed_reply_can_be_sent_again(hub: RunningHub) -> None:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await visitor.say("还在吗？")
    conversation_id = (await agent.message_created("还在吗？"))["conversation_id"]
    _, reply = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "在的"}
    )
    await visitor.reply_with("在的")
    await agent.next(
        "message.updated",
        lambda f: f["data"]["id"] == reply["id"] and f["data"]["status"] == "sent",
    )
    status, body = await hub.api("POST", f"/messages/{reply['id']}/resend")
    assert status == 409
    assert body["error"]["reason"] == "only a failed reply can be sent again; this one is sent"
    _, note = await hub.api(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"text": "老客户", "private": True},
    )
    status, body = await hub.api("POST", f"/messages/{note['id']}/resend")
    assert (status, body["error"]["reason"]) == (
        422,
        "only a reply to the customer can be sent again",
    )
    for unknown in ("999999", "x", str(2**63)):
        status, _ = await hub.api("POST", f"/messages/{unknown}/resend")
        assert status == 404
    await visitor.close()
    await agent.close()
