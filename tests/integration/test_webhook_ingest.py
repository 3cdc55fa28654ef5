"""Provider webhooks through the real web app: served from the channel cache, ids out of range
are not found, and stale or unsigned callbacks are refused with nothing stored."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from sqlalchemy import event, func, select
from wechatpy.crypto import WeChatCrypto

from adapters.db import tables as T
from adapters.db.engine import Engines
from connectors.wechat.crypto import REPLAY_WINDOW_S
from hub.web.keys import HUB
from tests.clients import AgentSocket
from tests.fakes.wechat_api import CORP_ID, OA_APP_ID
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings, sqlite_url
from tests.services import create_pg_database, drop_pg_database
from tests.unit.connectors.wechat_support import AES_KEY, TOKEN, sign

_ids = itertools.count(7_100_000_000_000_001)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else await create_pg_database()
    try:
        async with inprocess_hub(make_settings(tmp_path, url)) as running:
            yield running
    finally:
        if request.param == "postgres":
            await drop_pg_database(url)


def engines_of(hub: RunningHub) -> Engines:
    engines: Engines = hub.extras["server"].app[HUB].engines
    return engines


@contextmanager
def statements(engines: Engines) -> Iterator[list[str]]:
    """Every SQL statement the hub runs meanwhile, on either engine."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    targets = {id(e): e.sync_engine for e in (engines.read, engines.write)}.values()
    for target in targets:
        event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", record)


def reads_channels(sql: str) -> bool:
    return re.search(r"\bFROM channels\b", sql) is not None


async def oa_channel(hub: RunningHub, **settings: Any) -> dict[str, Any]:
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "wechat",
            "name": "公众号",
            "settings": {
                "app_id": OA_APP_ID,
                "app_secret": "oa-secret",
                "token": TOKEN,
                "encoding_aes_key": AES_KEY,
                **settings,
            },
        },
    )
    assert status == 201, channel
    return channel


def text_xml(content: str, openid: str = "oCustomer7") -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{next(_ids)}</MsgId></xml>"
    )


def safe_mode(plain: str, *, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
    """What WeChat POSTs in safe mode, built with wechatpy's own crypto."""
    ts, nonce = str(timestamp or int(time.time())), "424242"
    packed = xmltodict.parse(
        WeChatCrypto(TOKEN, AES_KEY, OA_APP_ID).encrypt_message(plain, nonce, ts)
    )
    query = {
        "signature": sign(TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": packed["xml"]["MsgSignature"],
    }
    body = (
        f"<xml><ToUserName>gh_shop</ToUserName><Encrypt>{packed['xml']['Encrypt']}</Encrypt></xml>"
    )
    return query, body.encode()


async def post(hub: RunningHub, path: str, query: dict[str, str], body: bytes) -> tuple[int, str]:
    async with hub.http.post(hub.base + path, params=query, data=body) as response:
        return response.status, await response.text()


async def stored_events(hub: RunningHub) -> int:
    async with engines_of(hub).read.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(T.inbound_events))
    return int(count or 0)


async def test_callbacks_are_served_from_the_channel_cache(hub: RunningHub) -> None:
    channel = await oa_channel(hub)
    path = f"/hooks/{channel['id']}/callback"
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    assert await post(hub, path, *safe_mode(text_xml("first"))) == (200, "success")
    await agent.message_created("first")
    with statements(engines_of(hub)) as seen:
        for n in range(20):
            assert await post(hub, path, *safe_mode(text_xml(f"cached {n}"))) == (200, "success")
        for n in range(20):  # processed too, still without reading the channel
            await agent.message_created(f"cached {n}")
    assert any("inbound_events" in sql for sql in seen), "the listener saw the accepts"
    assert [sql for sql in seen if reads_channels(sql)] == []
    await agent.close()


async def test_a_changed_channel_is_seen_at_once(hub: RunningHub) -> None:
    channel = await oa_channel(hub)
    path = f"/hooks/{channel['id']}/callback"
    assert (await post(hub, path, *safe_mode(text_xml("before"))))[0] == 200
    masked = channel["settings"]  # secrets masked: sent back unchanged, they are kept
    status, body = await hub.api(
        "PATCH",
        f"/channels/{channel['id']}",
        json={"settings": {**masked, "token": "anothertoken"}},
    )
    assert status == 200, body
    # the old token's signature no longer checks: the cached channel was replaced
    status, _ = await post(hub, path, *safe_mode(text_xml("after")))
    assert status == 403
    status, _ = await hub.api("PATCH", f"/channels/{channel['id']}", json={"active": False})
    assert status == 200
    status, _ = await post(hub, path, *safe_mode(text_xml("inactive")))
    assert status == 404


@pytest.mark.parametrize(
    "channel_id", ["99999999999999999999", "9223372036854775808", "0", "-1", "abc", "1e3"]
)
async def test_ids_that_no_channel_can_have_are_not_found(hub: RunningHub, channel_id: str) -> None:
    query, body = safe_mode(text_xml("hello"))
    for method in ("GET", "POST"):
        async with hub.http.request(
            method, hub.base + f"/hooks/{channel_id}/callback", params=query, data=body
        ) as response:
            assert response.status == 404, (method, await response.text())


async def test_a_stale_callback_is_refused_and_nothing_is_stored(hub: RunningHub) -> None:
    channel = await oa_channel(hub)
    path = f"/hooks/{channel['id']}/callback"
    before = await stored_events(hub)
    stale = int(time.time()) - REPLAY_WINDOW_S - 30
    status, text = await post(hub, path, *safe_mode(text_xml("replayed"), timestamp=stale))
    assert status == 403
    assert "window" in text
    assert await stored_events(hub) == before
    # the same message signed now is accepted
    assert (await post(hub, path, *safe_mode(text_xml("fresh"))))[0] == 200
    assert await stored_events(hub) == before + 1


async def test_wecom_refuses_a_wrong_signature_before_reading_the_body(hub: RunningHub) -> None:
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "wecom_kf",
            "name": "微信客服",
            "settings": {
                "corp_id": CORP_ID,
                "secret": "kf-secret",
                "token": TOKEN,
                "encoding_aes_key": AES_KEY,
                "open_kfid": "wkKefuHubAccount01",
            },
        },
    )
    assert status == 201, channel
    query = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}
    path = f"/hooks/{channel['id']}/callback"
    status, text = await post(hub, path, query, b"this body is not even XML")
    assert status == 403, text
    assert await stored_events(hub) == 0
