"""Canned replies (常用语) through the REST API, on SQLite and on PostgreSQL: every action and
refusal, who may do what, filling one in for a conversation and sending it with its saved
files, and CSV export and import with Chinese."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from adapters.db.canned_replies import canned_replies
from hub.web.keys import HUB
from tests.clients import VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings
from tests.services import create_pg_database, drop_pg_database

PNG = b"\x89PNG\r\n\x1a\n a saved file"


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


class Caller:
    """One agent's calls to the API."""

    def __init__(self, hub: RunningHub, token: str, agent_id: int) -> None:
        self.hub = hub
        self.headers = {"Authorization": f"Bearer {token}"}
        self.id = agent_id

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.hub.http.request(
            method, self.hub.base + "/api/v1" + path, headers=self.headers, **kwargs
        ) as response:
            body = await response.read()
            if response.content_type == "application/json" and body:
                return response.status, await response.json()
            return response.status, body

    async def codes(self, query: str = "") -> list[str]:
        status, page = await self.call("GET", "/canned-replies" + query)
        assert status == 200, page
        return [item["short_code"] for item in page["items"]]

    async def upload(self, field: str, data: bytes, filename: str, content_type: str) -> Any:
        # Unquoted, as browsers send a file's name (aiohttp's default %-encodes it).
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("file", data, filename=filename, content_type=content_type)
        path = "/uploads" if field == "upload" else "/canned-replies/import"
        return await self.call("POST", path, data=form)


async def admin_of(hub: RunningHub) -> Caller:
    _, me = await hub.api("GET", "/me")
    return Caller(hub, hub.token, me["id"])


async def agent(hub: RunningHub, name: str) -> Caller:
    email = f"{name.split()[0].lower()}@shop.test"
    status, made = await hub.api(
        "POST", "/agents", json={"email": email, "name": name, "password": "agent-password"}
    )
    assert status == 201, made
    async with hub.http.post(
        hub.base + "/api/v1/auth/login", json={"email": email, "password": "agent-password"}
    ) as response:
        token = (await response.json())["token"]
    return Caller(hub, token, made["id"])


async def team(hub: RunningHub, name: str, *members: Caller) -> int:
    status, made = await hub.api(
        "POST", "/teams", json={"name": name, "agent_ids": [m.id for m in members]}
    )
    assert status == 201, made
    return int(made["id"])


def reply(code: str, title: str = "", text: str = "text", **more: Any) -> dict[str, Any]:
    return {"short_code": code, "title": title or code, "text": text, **more}


async def made(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    status, created = await caller.call("POST", "/canned-replies", json=body)
    assert status == 201, created
    return dict(created)


async def test_who_sees_and_who_manages_which(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    li, zhao = await agent(hub, "Li Na 李娜"), await agent(hub, "Zhao Lei 赵磊")
    support, sales = await team(hub, "Support 售后", li), await team(hub, "Sales 售前", zhao)

    mine = await made(li, reply("mine", "我的"))
    assert (mine["scope"], mine["owner_id"], mine["team_id"]) == ("personal", li.id, None)
    assert (mine["uses"], mine["attachments"], mine["last_used_at"]) == (0, [], None)
    his = await made(zhao, reply("his"))
    ours = await made(admin, reply("ours", scope="team", team_id=support))
    theirs = await made(admin, reply("theirs", scope="team", team_id=sales))
    everyone = await made(admin, reply("all", scope="global"))
    assert (ours["scope"], ours["team_id"], ours["owner_id"]) == ("team", support, None)

    assert sorted(await li.codes()) == ["all", "mine", "ours"]
    assert sorted(await zhao.codes()) == ["all", "his", "theirs"]
    assert sorted(await admin.codes()) == ["all", "ours", "theirs"]
    assert await li.codes("?scope=team") == ["ours"]

    # agents may not add, change or delete team and global ones
    for body in (reply("t", scope="team", team_id=support), reply("g", scope="global")):
        status, refused = await li.call("POST", "/canned-replies", json=body)
        assert status == 403, refused
        assert "only an admin" in refused["error"]["reason"]
    for item in (ours, everyone):
        status, _ = await li.call(
            "PATCH", f"/canned-replies/{item['id']}", json={"text": "changed"}
        )
        assert status == 403
        status, _ = await li.call("DELETE", f"/canned-replies/{item['id']}")
        assert status == 403
    status, _ = await li.call("PATCH", f"/canned-replies/{mine['id']}", json={"scope": "global"})
    assert status == 403

    # another agent's personal ones and another team's are not there for them
    for caller, item in ((li, his), (admin, mine), (li, theirs)):
        for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
            status, _ = await caller.call(method, f"/canned-replies/{item['id']}", json=body)
            assert status == 404, (caller.id, item["short_code"], method)

    # an admin moves one from a team to everyone
    status, moved = await admin.call(
        "PATCH", f"/canned-replies/{theirs['id']}", json={"scope": "global"}
    )
    assert status == 200, moved
    assert (moved["scope"], moved["team_id"]) == ("global", None)
    assert "theirs" in await li.codes()
    status, moved = await admin.call(
        "PATCH", f"/canned-replies/{theirs['id']}", json={"scope": "team", "team_id": support}
    )
    assert (status, moved["team_id"]) == (200, support)

    # agents change and delete their own
    status, changed = await li.call(
        "PATCH", f"/canned-replies/{mine['id']}", json={"short_code": "/mine2", "text": "新的"}
    )
    assert status == 200, changed
    assert (changed["short_code"], changed["title"], changed["text"]) == ("mine2", "我的", "新的")
    assert changed["updated_at"] >= mine["updated_at"]
    status, _ = await li.call("DELETE", f"/canned-replies/{mine['id']}")
    assert status == 204
    status, _ = await li.call("GET", f"/canned-replies/{mine['id']}")
    assert status == 404


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (reply("bad code"), 422, "short_code: a short code has no spaces"),
        (reply("x" * 33), 422, "short_code"),
        (reply("x", text=""), 422, "text: write the reply's text, or attach a file"),
        (reply("x", title="two\nlines"), 422, "title: one line"),
        (reply("x", scope="team"), 422, "team_id: a team canned reply names its team"),
        (reply("x", scope="team", team_id=999), 422, "team_id: there is no team 999"),
        (reply("x", scope="global", team_id=1), 422, "only a team canned reply names a team"),
        (reply("x", scope="everyone"), 422, "scope"),
        (reply("x", attachments=["forged"]), 422, "attachment token is invalid"),
        (reply("x", colour="red"), 422, "colour"),
        ({"title": "no code", "text": "x"}, 422, "short_code"),
    ],
)
async def test_what_is_refused_and_why(
    hub: RunningHub, body: dict[str, Any], status: int, reason: str
) -> None:
    admin = await admin_of(hub)
    answer, refused = await admin.call("POST", "/canned-replies", json=body)
    assert answer == status, refused
    assert reason in refused["error"]["reason"]
    assert await admin.codes() == []


async def test_a_short_code_is_unique_on_its_shelf_whatever_its_case(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    li = await agent(hub, "Li Na")
    first = await made(admin, reply("thx", scope="global"))
    status, refused = await admin.call("POST", "/canned-replies", json=reply("THX", scope="global"))
    assert status == 409
    assert "taken among the global canned replies" in refused["error"]["reason"]
    other = await made(admin, reply("thanks", scope="global"))
    status, refused = await admin.call(
        "PATCH", f"/canned-replies/{other['id']}", json={"short_code": "Thx"}
    )
    assert status == 409, refused
    # the same code on another shelf, and renaming one to its own code, are fine
    await made(li, reply("thx"))
    await made(admin, reply("thx"))
    status, _ = await admin.call(
        "PATCH", f"/canned-replies/{first['id']}", json={"short_code": "THX"}
    )
    assert status == 200
    assert await li.codes() == ["thanks", "THX", "thx"]  # by short code, then age


async def test_a_patch_needs_something_to_change_and_no_nulls(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    item = await made(admin, reply("x"))
    for body, reason in (
        ({}, "nothing to change"),
        ({"title": None}, "title may not be null"),
        ({"attachments": None}, "attachments may not be null"),
        ({"text": ""}, "text: write the reply's text"),
    ):
        status, refused = await admin.call("PATCH", f"/canned-replies/{item['id']}", json=body)
        assert status == 422, body
        assert reason in refused["error"]["reason"]


async def test_search_finds_chinese_and_english_and_pages(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    await made(admin, reply("th", "退货流程", "请将商品寄回：{{contact.name}}", scope="global"))
    await made(admin, reply("refund", "Refund policy", "Refunds take 3-5 days.", scope="global"))
    await made(admin, reply("ship", "发货时间", "48 小时内发货 (100% 准时_)", scope="global"))
    await made(admin, reply("hi", "问候", "您好，Refund 请看退款说明"))
    assert await admin.codes("?q=退") == ["th", "hi"]
    assert await admin.codes("?q=退货") == ["th"]
    assert await admin.codes("?q=REFUND") == ["refund", "hi"]
    assert await admin.codes("?q=refund%20days") == ["refund"]
    assert await admin.codes("?q=100%25") == ["ship"]  # LIKE's wildcards are plain text
    assert await admin.codes("?q=%25") == ["ship"]
    assert await admin.codes("?q=_") == ["ship"]
    assert await admin.codes("?q=contact.name") == ["th"]
    assert await admin.codes("?q=nothing") == []

    status, page = await admin.call("GET", "/canned-replies?limit=3")
    assert status == 200
    assert len(page["items"]) == 3
    status, rest = await admin.call("GET", f"/canned-replies?limit=3&cursor={page['next']}")
    assert (status, rest["next"]) == (200, None)
    everything = [i["short_code"] for i in page["items"] + rest["items"]]
    assert sorted(everything) == ["hi", "refund", "ship", "th"]
    for query in ("?cursor=forged", "?limit=0", "?q=" + "词" * 201, "?q=a+b+c+d+e+f+g+h+i"):
        status, refused = await admin.call("GET", "/canned-replies" + query)
        assert status == 422, (query, refused)


async def visitor_conversation(hub: RunningHub, name: str) -> tuple[VisitorSocket, int]:
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.ws.send_json({"type": "identify", "name": name, "email": "wang@example.cn"})
    await visitor.next("identified")
    await visitor.say("我想退货")
    async with asyncio.timeout(10):
        while True:
            _, page = await hub.api("GET", "/conversations")
            if page["items"]:
                return visitor, int(page["items"][0]["id"])
            await asyncio.sleep(0.05)


async def test_a_canned_reply_is_filled_in_counted_and_sent_with_its_files(
    hub: RunningHub,
) -> None:
    admin = await admin_of(hub)
    li = await agent(hub, "Li Na 李娜")
    visitor, conversation_id = await visitor_conversation(hub, "王芳")
    status, upload = await li.upload("upload", PNG, "退货单.png", "image/png")
    assert status == 201, upload
    template = (
        "{{contact.name}}您好，我是{{ agent.name }}。会话 #{{conversation.id}}（{{channel.name}}）"
        "邮箱 {{contact.email}} 电话 {{contact.phone}} {{__class__}}{{contact.__dict__}}{0}%s"
    )
    item = await made(
        admin,
        reply("th", "退货流程", template, scope="global", attachments=[upload["token"]]),
    )
    [saved] = item["attachments"]
    assert (saved["filename"], saved["content_type"], saved["kind"]) == (
        "退货单.png",
        "image/png",
        "image",
    )
    assert saved["size"] == len(PNG)

    status, rendered = await li.call(
        "POST", f"/canned-replies/{item['id']}/render", json={"conversation_id": conversation_id}
    )
    assert status == 200, rendered
    assert rendered["text"] == (
        f"王芳您好，我是Li Na 李娜。会话 #{conversation_id}（Shop chat 商店）"
        "邮箱 wang@example.cn 电话  {0}%s"
    )
    [file] = rendered["attachments"]
    assert file["filename"] == "退货单.png"
    status, listed = await li.call("GET", "/canned-replies")
    assert [(i["uses"], i["last_used_at"] is not None) for i in listed["items"]] == [(1, True)]
    assert listed["items"][0]["text"] == template  # the template itself never changes

    # the agent edits the text and sends it with the saved file
    text = rendered["text"].split("邮箱")[0] + "订单 1024 已安排退货。"
    status, sent = await li.call(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"text": text, "attachments": [file["token"]]},
    )
    assert status == 201, sent
    received = await visitor.reply_with(text)
    [attached] = received["attachments"]
    assert attached["filename"] == "退货单.png"
    async with hub.http.get(hub.base + attached["url"]) as response:
        assert await response.read() == PNG

    # saved files are kept, dropped or replaced by the list of tokens a change gives
    status, kept = await admin.call(
        "PATCH", f"/canned-replies/{item['id']}", json={"title": "退货流程（新）"}
    )
    assert [f["filename"] for f in kept["attachments"]] == ["退货单.png"]
    status, dropped = await admin.call(
        "PATCH", f"/canned-replies/{item['id']}", json={"attachments": []}
    )
    assert (status, dropped["attachments"]) == (200, [])
    status, again = await admin.call(
        "PATCH", f"/canned-replies/{item['id']}", json={"attachments": [saved["token"]]}
    )
    assert [f["filename"] for f in again["attachments"]] == ["退货单.png"]

    # an unknown conversation, or one the agent does not see, counts nothing
    status, refused = await li.call(
        "POST", f"/canned-replies/{item['id']}/render", json={"conversation_id": 99999}
    )
    assert status == 404, refused
    hidden = await made(admin, reply("mine", "admin's own"))
    status, _ = await li.call(
        "POST",
        f"/canned-replies/{hidden['id']}/render",
        json={"conversation_id": conversation_id},
    )
    assert status == 404
    status, one = await li.call("GET", f"/canned-replies/{item['id']}")
    assert one["uses"] == 1
    await visitor.close()


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_csv_export_and_import_round_trip_with_chinese(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    support = await team(hub, "Support 售后")
    await made(admin, reply("th", "退货流程", "{{contact.name}}您好：\n- 寄回商品\n- 等待退款"))
    await made(admin, reply("calc", "=1+1", "@所有人 +86 400 800 8888", scope="global"))
    await made(admin, reply("team", "售后组", "我们会尽快处理。", scope="team", team_id=support))

    status, data = await admin.call("GET", "/canned-replies/export")
    assert status == 200
    exported = csv_rows(data)
    assert exported == [
        ["short_code", "title", "text", "scope", "team"],
        ["calc", "'=1+1", "'@所有人 +86 400 800 8888", "global", ""],
        ["th", "退货流程", "{{contact.name}}您好：\n- 寄回商品\n- 等待退款", "personal", ""],
        ["team", "售后组", "我们会尽快处理。", "team", "Support 售后"],
    ]
    async with hub.http.get(hub.base + "/api/v1/canned-replies/export", headers=admin.headers) as r:
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.headers["Content-Disposition"] == 'attachment; filename="canned-replies.csv"'
        assert r.headers["Cache-Control"] == "no-store"

    before = (await admin.call("GET", "/canned-replies"))[1]["items"]
    for item in before:
        assert (await admin.call("DELETE", f"/canned-replies/{item['id']}"))[0] == 204
    status, report = await admin.upload("import", data, "常用语.csv", "application/vnd.ms-excel")
    assert status == 200, report
    assert report == {"created": 3, "updated": 0, "refused": []}
    after = (await admin.call("GET", "/canned-replies"))[1]["items"]
    fields = ("short_code", "title", "text", "scope", "team_id")
    assert sorted(tuple(i[f] for f in fields) for i in after) == sorted(
        tuple(i[f] for f in fields) for i in before
    )

    # importing it again changes them in place
    status, report = await admin.upload("import", data, "常用语.csv", "text/csv")
    assert report == {"created": 0, "updated": 3, "refused": []}


async def test_an_import_says_which_rows_it_refused_and_why(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    li = await agent(hub, "Li Na")
    await team(hub, "Support 售后", li)
    rows = (
        "short_code,title,text,scope,team\r\n"
        "thx,感谢,谢谢您的耐心！,,\r\n"
        'calc,Calc,=HYPERLINK("http://evil.test"),,\r\n'
        "t,T,x,team,Support 售后\r\n"
        "g,G,x,global,\r\n"
        "bad code,B,x,,\r\n"
        "thx,again,x,,\r\n"
    )
    status, report = await li.upload("import", rows.encode(), "replies.csv", "text/csv")
    assert status == 200, report
    assert report["created"] == 1
    assert [(r["row"], r["reason"].split(";")[0].split(",")[0]) for r in report["refused"]] == [
        (3, "text starts with '='"),
        (4, "only an admin may import team and global canned replies"),
        (5, "only an admin may import team and global canned replies"),
        (6, "short_code: a short code has no spaces or control characters"),
        (7, "short_code 'thx' is on row 2 too"),
    ]
    assert await li.codes() == ["thx"]
    assert await admin.codes() == []  # an agent's import is theirs alone


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("short_code,title,text\r\n退货,退货流程,请寄回\r\n".encode("gbk"), "not UTF-8"),
        ("short_code,title,text\r\n退货,退货流程,请寄回\r\n".encode("utf-16"), "UTF-16"),
        (b"code,title,text\r\na,b,c\r\n", "unknown column 'code'"),
        (b"short_code,title\r\na,b\r\n", "names no 'text' column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (b"\xef\xbb\xbf", "the file is empty"),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_whole(
    hub: RunningHub, data: bytes, reason: str
) -> None:
    admin = await admin_of(hub)
    status, refused = await admin.upload("import", data, "replies.csv", "text/csv")
    assert status == 422, refused
    assert reason in refused["error"]["reason"]
    assert await admin.codes() == []


async def test_an_import_needs_a_multipart_file(hub: RunningHub) -> None:
    admin = await admin_of(hub)
    status, refused = await admin.call("POST", "/canned-replies/import", data=b"a,b,c")
    assert status == 400
    assert "multipart/form-data" in refused["error"]["reason"]
    form = aiohttp.FormData()
    form.add_field("other", b"short_code,title,text\r\n", filename="x.csv")
    status, refused = await admin.call("POST", "/canned-replies/import", data=form)
    assert (status, refused["error"]["reason"]) == (400, "no field named 'file' in the upload")
    form = aiohttp.FormData()
    form.add_field("file", b"", filename="x.csv", content_type="text/csv")
    status, refused = await admin.call("POST", "/canned-replies/import", data=form)
    assert status == 422


async def test_the_database_keeps_shelves_whole_and_codes_unique(hub: RunningHub) -> None:
    """What the API checks first, the schema holds too: for a race, or a hand-made row."""
    admin = await admin_of(hub)
    await made(admin, reply("thx", scope="global"))
    engines = hub.extras["server"].app[HUB].engines
    at = datetime.now(UTC)
    row = {
        "short_code": "THX",
        "code_key": "thx",
        "title": "t",
        "text": "x",
        "files": [],
        "search_key": "thx",
        "created_at": at,
        "updated_at": at,
    }
    for broken in (
        {"scope": "global"},  # the same code on the global shelf
        {"scope": "team", "code_key": "a"},  # a team one without its team
        {"scope": "personal", "code_key": "b"},  # a personal one without its agent
        {"scope": "global", "owner_id": admin.id, "code_key": "c"},  # a global one with one
    ):
        with pytest.raises(IntegrityError):
            async with engines.write.begin() as conn:
                await conn.execute(insert(canned_replies).values(**{**row, **broken}))
    async with engines.write.begin() as conn:
        await conn.execute(
            insert(canned_replies).values(**{**row, "scope": "global", "code_key": "d"})
        )
    assert sorted(await admin.codes()) == ["THX", "thx"]
