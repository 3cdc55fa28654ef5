"""The contacts directory (客户管理) on SQLite and PostgreSQL: search, filters, order, paging and
the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    url = await create_pg_database() if request.param == "postgres" else None
    try:
        async with inprocess_hub(make_settings(tmp_path, url)) as running:
            yield running
    finally:
        if url:
            await drop_pg_database(url)


async def customer(hub: RunningHub, agent: AgentSocket, name: str, email: str, text: str) -> None:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.ws.send_json({"type": "identify", "name": name, "email": email})
    await visitor.next("identified")
    await visitor.say(text)
    await agent.message_created(text)
    await visitor.close()


async def test_the_directory_searches_filters_sorts_and_pages(any_hub: RunningHub) -> None:
    hub = any_hub
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    await customer(hub, agent, "张三", "zhang.san@customer.test", "第一位")
    await customer(hub, agent, "Li Lei", "li.lei@customer.test", "second")
    await customer(hub, agent, "=cmd|' /C calc'!A0", "evil@customer.test", "third")
    await customer(hub, agent, "100% 王五", "wang.wu@customer.test", "fourth")

    status, page = await hub.api("GET", "/contacts")
    assert status == 200, page
    names = [c["name"] for c in page["items"]]
    assert names == ["100% 王五", "=cmd|' /C calc'!A0", "Li Lei", "张三"]  # who wrote last first
    first = page["items"][-1]
    assert first["email"] == "zhang.san@customer.test"
    assert first["conversations"] == 1
    assert first["channel_ids"] == [hub.channel_id]
    assert first["last_contact_at"] is not None

    for q, expected in (
        ("张", ["张三"]),
        ("LI.LEI", ["Li Lei"]),
        ("100%", ["100% 王五"]),
        ("%", ["100% 王五"]),
    ):
        status, found = await hub.api("GET", f"/contacts?q={q.replace('%', '%25')}")
        assert [c["name"] for c in found["items"]] == expected, q
    status, none = await hub.api("GET", f"/contacts?channel_id={hub.channel_id + 1000}")
    assert none["items"] == []

    # two at a time, by name, without repeats or gaps
    seen: list[str] = []
    cursor = ""
    while True:
        status, part = await hub.api("GET", f"/contacts?sort=name&limit=2{cursor}")
        seen += [c["name"] for c in part["items"]]
        if not part["next"]:
            break
        cursor = f"&cursor={part['next']}"
    assert sorted(seen) == sorted(names)
    assert len(seen) == 4
    status, refused = await hub.api("GET", "/contacts?cursor=bm90IGEgY3Vyc29y")
    assert status == 422
    assert "cursor" in refused["error"]["reason"]

    async with hub.http.get(f"{hub.base}/api/v1/contacts/export", headers=hub.auth()) as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
        data = await response.read()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["name", "email", "phone"]
    assert {r[0] for r in rows[1:]} == {"张三", "Li Lei", "'=cmd|' /C calc'!A0", "100% 王五"}
    await agent.close()
