"""Requests that once got a 5xx answer with a 4xx and a reason now, and store nothing.

Each test sends the very request the fuzzer found (tests/fuzz), checks the status and the
reason, and checks that what was stored is as it was. Where the cause was in the database (a
foreign key, a uniqueness, a number or a text or a time it cannot hold) the test runs on SQLite
and on PostgreSQL, which fail differently.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from adapters.db import tables as T
from adapters.db.engine import create_engines
from adapters.db.migrate import upgrade_async
from hub.domain.records import Team
from hub.web.errors import integrity_answer
from hub.web.keys import HUB
from tests.clients import VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings, sqlite_url
from tests.services import create_pg_database, drop_pg_database

#: past the largest id a database column holds (2**63 - 1)
BEYOND = 99999999999999999999


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def hub(tmp_path: Path, database_url: str | None) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path, database_url)) as running:
        yield running


@pytest.fixture
async def sqlite_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


async def raw(
    hub: RunningHub, method: str, path: str, body: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    """A request whose body is sent byte for byte (JSON that ``json=`` would not write)."""
    headers = {**hub.auth(), "Content-Type": content_type}
    async with hub.http.request(
        method, hub.base + "/api/v1" + path, data=body, headers=headers
    ) as response:
        text = await response.read()
        return response.status, json.loads(text) if text else None


async def refused(
    hub: RunningHub, method: str, path: str, status: int, reason: str, **kwargs: Any
) -> None:
    got, body = await hub.api(method, path, **kwargs)
    assert got == status, (method, path, got, body)
    assert reason in body["error"]["reason"], body


async def conversation(hub: RunningHub) -> dict[str, Any]:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say("在吗")
    await visitor.close()
    for _ in range(100):
        _, page = await hub.api("GET", "/conversations")
        if page["items"]:
            item: dict[str, Any] = page["items"][0]
            return item
        await asyncio.sleep(0.05)
    raise AssertionError("the conversation never appeared")


async def state(hub: RunningHub) -> dict[str, Any]:
    """What the API shows of the hub's configuration, to compare before and after."""
    return {path: (await hub.api("GET", path))[1] for path in ("/channels", "/teams", "/agents")}


# -- ids beyond the database's range -----------------------------------------------------------


async def test_ids_beyond_the_database_range_are_refused_before_it(hub: RunningHub) -> None:
    conv = await conversation(hub)
    _, team = await hub.api("POST", "/teams", json={"name": "Support"})
    before = await state(hub)
    channel = f"/channels/{hub.channel_id}"
    for method, path, body in [
        ("PATCH", channel, {"team_id": BEYOND}),
        ("POST", "/channels", {"kind": "webchat", "name": "x", "team_id": BEYOND}),
        ("POST", "/teams", {"name": "Sales", "agent_ids": [BEYOND]}),
        ("PUT", f"/teams/{team['id']}", {"name": "Support", "agent_ids": [BEYOND]}),
        ("PATCH", f"/conversations/{conv['id']}", {"assignee_id": BEYOND}),
        ("POST", "/inbound-events/retry", {"ids": [BEYOND]}),
    ]:
        await refused(
            hub, method, path, 422, "less than or equal to 9223372036854775807", json=body
        )
    for query in ("assignee", "channel_id", "contact_id", "team_id"):
        await refused(hub, "GET", f"/conversations?{query}={BEYOND}", 422, query)
    await refused(hub, "GET", f"/inbound-events?channel_id={BEYOND}", 422, "channel_id")
    for path in (
        f"/channels/{BEYOND}",
        f"/conversations/{BEYOND}",
        f"/conversations/{BEYOND}/messages",
        f"/contacts/{BEYOND}",
    ):
        await refused(hub, "GET", path, 404, "no id")
    await refused(hub, "POST", f"/messages/{BEYOND}/resend", 404, "no id")
    await refused(hub, "PATCH", f"/agents/{BEYOND}", 404, "no id", json={"name": "x"})
    assert await state(hub) == before
    _, after = await hub.api("GET", f"/conversations/{conv['id']}")
    assert after["assignee_id"] is None


async def test_a_webhook_for_a_channel_id_beyond_the_range_is_a_404(hub: RunningHub) -> None:
    for channel_id in (str(BEYOND), "9" * 5000, "-1"):
        async with hub.http.post(hub.base + f"/hooks/{channel_id}/callback") as response:
            assert response.status == 404, channel_id


async def test_assignee_is_a_word_or_an_agent_id(sqlite_hub: RunningHub) -> None:
    hub = sqlite_hub
    for value in ("-5", "0", "abc", "1.5e3", str(BEYOND)):
        await refused(
            hub, "GET", f"/conversations?assignee={value}", 422, "'me', 'none', 'all' or an agent"
        )
    for value in ("me", "none", "all", "1", "999"):
        status, _ = await hub.api("GET", f"/conversations?assignee={value}")
        assert status == 200, value


async def test_path_ids_are_plain_digits(sqlite_hub: RunningHub) -> None:
    hub = sqlite_hub
    for raw_id in ("1_0", "+1", "%E0%A5%A7", "0", "9" * 5000, "-1"):
        await refused(hub, "GET", f"/channels/{raw_id}", 404, "no id")
    status, _ = await hub.api("GET", f"/channels/{hub.channel_id}")
    assert status == 200


# -- records that do not exist -------------------------------------------------------------------


async def test_a_channel_team_that_does_not_exist_is_refused(hub: RunningHub) -> None:
    before = await state(hub)
    await refused(
        hub, "PATCH", f"/channels/{hub.channel_id}", 422, "no team 99", json={"team_id": 99}
    )
    await refused(
        hub,
        "POST",
        "/channels",
        422,
        "no team 99",
        json={"kind": "webchat", "name": "x", "team_id": 99},
    )
    assert await state(hub) == before


async def test_team_members_that_do_not_exist_are_refused(hub: RunningHub) -> None:
    _, team = await hub.api("POST", "/teams", json={"name": "Support", "agent_ids": [1]})
    before = await state(hub)
    status, body = await hub.api("POST", "/teams", json={"name": "Sales", "agent_ids": [99]})
    assert (status, body["error"]["reason"]) == (422, "agent_ids: there is no agent 99")
    status, body = await hub.api(
        "PUT", f"/teams/{team['id']}", json={"name": "Support", "agent_ids": [1, 99]}
    )
    assert status == 422, body
    await refused(
        hub, "POST", "/teams", 422, "listed more than once", json={"name": "x", "agent_ids": [1, 1]}
    )
    assert await state(hub) == before


async def test_an_assignee_that_does_not_exist_is_refused(hub: RunningHub) -> None:
    conv = await conversation(hub)
    path = f"/conversations/{conv['id']}"
    await refused(hub, "PATCH", path, 422, "no active agent 99", json={"assignee_id": 99})
    _, after = await hub.api("GET", path)
    assert after["assignee_id"] is None


async def test_a_write_the_database_refuses_is_a_4xx_with_a_reason(hub: RunningHub) -> None:
    """What the routes check, a race can still slip past: the database's refusal is mapped."""
    directory = hub.extras["server"].app[HUB].directory

    async def a_team_that_is_gone() -> list[Team]:
        return [Team(99, "Gone", ())]

    before = await state(hub)
    directory.list_teams = a_team_that_is_gone  # checked, then deleted before the write
    status, body = await hub.api(
        "POST", "/channels", json={"kind": "webchat", "name": "x", "team_id": 99}
    )
    assert status == 422, body
    postgres = hub.extras["server"].app[HUB].settings.database_url.startswith("postgresql")
    # PostgreSQL says which key; SQLite only that one failed
    expected = "team_id: no such record in teams" if postgres else "does not exist"
    assert expected in body["error"]["reason"]
    del directory.list_teams
    assert await state(hub) == before


async def test_integrity_errors_of_both_databases_map_to_409_and_422(
    tmp_path: Path, database_url: str | None
) -> None:
    url = database_url or sqlite_url(tmp_path)
    await upgrade_async(url)
    engines = create_engines(url)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        async with engines.write.begin() as conn:
            await conn.execute(insert(T.teams).values(name="Support", created_at=at))
        with pytest.raises(IntegrityError) as duplicate:
            async with engines.write.begin() as conn:
                await conn.execute(insert(T.teams).values(name="Support", created_at=at))
        status, reason = integrity_answer(duplicate.value)
        assert status == 409
        assert "name" in reason
        with pytest.raises(IntegrityError) as missing:
            async with engines.write.begin() as conn:
                await conn.execute(insert(T.team_members).values(team_id=1, agent_id=99))
        status, reason = integrity_answer(missing.value)
        assert status == 422
        assert (
            "agent_id: no such record in agents" if database_url else "does not exist"
        ) in reason
    finally:
        await engines.dispose()


# -- text and times the databases cannot hold ----------------------------------------------------


async def test_text_with_nul_or_lone_surrogates_is_refused(hub: RunningHub) -> None:
    conv = await conversation(hub)
    before = await state(hub)
    _, messages = await hub.api("GET", f"/conversations/{conv['id']}/messages")
    for bad in ('"a\\u0000b"', '"a\\ud800b"'):
        for method, path, body in [
            ("POST", "/channels", '{"kind": "webchat", "name": %s}'),
            ("PATCH", f"/channels/{hub.channel_id}", '{"name": %s}'),
            ("POST", "/teams", '{"name": %s}'),
            ("POST", "/agents", '{"email": "a@b.test", "name": %s, "password": "12345678"}'),
            ("POST", f"/conversations/{conv['id']}/messages", '{"text": %s}'),
        ]:
            status, answer = await raw(hub, method, path, (body % bad).encode())
            assert status == 422, (method, path, bad, answer)
            assert "text" in answer["error"]["reason"]
    status, answer = await raw(
        hub, "POST", "/auth/login", b'{"email": "a\\u0000@b.test", "password": "x"}'
    )
    assert status == 422, answer
    assert await state(hub) == before
    assert (await hub.api("GET", f"/conversations/{conv['id']}/messages"))[1] == messages


async def test_times_the_databases_cannot_compare_are_refused(hub: RunningHub) -> None:
    for since in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "1969-12-31T23:59:59Z"):
        await refused(hub, "GET", "/sync", 422, "a time from 1970", params={"since": since})
    status, _ = await hub.api("GET", "/sync", params={"since": "2026-01-01T08:00:00+08:00"})
    assert status == 200
    forged = base64.urlsafe_b64encode(json.dumps(["0001-01-01T00:00:00+00:00", 5]).encode())
    await refused(hub, "GET", "/conversations", 422, "cursor", params={"cursor": forged.decode()})


# -- bodies that cannot be read ------------------------------------------------------------------


async def test_multipart_without_a_boundary_is_a_400(sqlite_hub: RunningHub) -> None:
    hub = sqlite_hub
    files = hub.extras["server"].app[HUB].settings.files_dir
    for content_type, body in [
        ("multipart/form-data", b"xx"),
        ("multipart/form-data; boundary=", b"xx"),
        ("multipart/form-data; boundary=abc", b"no boundary in here"),
        ("multipart/form-data; boundary=" + "b" * 71, b"--"),
    ]:
        status, answer = await raw(hub, "POST", "/uploads", body, content_type)
        assert status == 400, (content_type, answer)
        assert "multipart" in answer["error"]["reason"]
    async with hub.http.post(hub.base + f"/webchat/{hub.channel_key}/session") as response:
        token = (await response.json())["visitor_token"]
    async with hub.http.post(
        hub.base + f"/webchat/{hub.channel_key}/uploads",
        data=b"xx",
        headers={"Content-Type": "multipart/form-data", "X-Visitor-Token": token},
    ) as response:
        assert response.status == 400
        assert "boundary" in (await response.json())["error"]["reason"]
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


async def test_an_upload_keeps_a_safe_file_name(sqlite_hub: RunningHub) -> None:
    """A name with a path and control characters (NUL, which PostgreSQL cannot store, too)."""
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="file"; '
        b"filename*=UTF-8''..%2Fa%00b%7Fc.pdf\r\n"
        b"Content-Type: application/pdf\r\n\r\n"
        b"%PDF-1.4\r\n"
        b"--b--\r\n"
    )
    status, answer = await raw(
        sqlite_hub, "POST", "/uploads", body, "multipart/form-data; boundary=b"
    )
    assert status == 201, answer
    assert answer["filename"] == ".._a_b_c.pdf"


async def test_json_nested_deeper_than_any_body_is_a_400(sqlite_hub: RunningHub) -> None:
    status, answer = await raw(sqlite_hub, "POST", "/teams", b"[" * 200_000)
    assert status == 400
    assert "JSON" in answer["error"]["reason"]


async def test_a_file_whose_content_is_gone_is_a_404(sqlite_hub: RunningHub) -> None:
    hub = sqlite_hub
    conv = await conversation(hub)
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.4", filename="invoice.pdf", content_type="application/pdf")
    async with hub.http.post(hub.base + "/api/v1/uploads", data=form, headers=hub.auth()) as r:
        upload = await r.json()
    _, sent = await hub.api(
        "POST", f"/conversations/{conv['id']}/messages", json={"attachments": [upload["token"]]}
    )
    [attachment] = sent["attachments"]
    files = hub.extras["server"].app[HUB].settings.files_dir
    for path in files.rglob("*"):
        if path.is_file():
            path.unlink()
    async with hub.http.get(hub.base + attachment["url"]) as response:
        assert response.status == 404
        assert (await response.json())["error"]["reason"] == "the file is no longer stored"


async def test_a_visitors_nul_is_dropped_not_the_message(hub: RunningHub) -> None:
    """PostgreSQL stores no NUL: a message carrying one arrives without it, not not at all."""
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say("订单\x00号 A1")
    await visitor.close()
    for _ in range(100):
        _, page = await hub.api("GET", "/conversations")
        if page["items"]:
            break
        await asyncio.sleep(0.05)
    conv = page["items"][0]
    for _ in range(100):
        _, messages = await hub.api("GET", f"/conversations/{conv['id']}/messages")
        if messages["items"]:
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in messages["items"]] == ["订单号 A1"]


async def test_a_token_that_is_not_ascii_is_no_token(sqlite_hub: RunningHub) -> None:
    async with sqlite_hub.http.get(
        sqlite_hub.base + "/api/v1/me", headers={"Authorization": "Bearer kefu_\u00e9t\u00e9"}
    ) as response:
        assert response.status == 401
