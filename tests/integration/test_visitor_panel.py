"""The live visitor panel through the whole hub: a visitor's widget reports pages over a real
websocket, agents see them live and in the API, the region comes from a GeoIP database file,
and on PostgreSQL + Redis every web process knows every visitor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from hub.services import visitors as board_module
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import (
    Processes,
    RunningHub,
    inprocess_hub,
    make_settings,
    seed,
    subprocess_hub_admin,
)

SHOP = "https://shop.example.com"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831)"
)


def geoip_file(path: Path) -> Path:
    """A City database as MaxMind's files are, with one network in Shanghai."""
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"]
    )
    writer.insert_network(
        IPSet(["101.226.0.0/16"]),
        {
            "country": {"iso_code": "CN", "names": {"en": "China", "zh-CN": "中国"}},
            "subdivisions": [{"names": {"en": "Shanghai", "zh-CN": "上海"}}],
            "city": {"names": {"en": "Pudong", "zh-CN": "浦东"}},
        },
    )
    writer.to_db_file(str(path))
    return path


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningHub]:
    monkeypatch.setattr(board_module, "LEAVE_AFTER_S", 0.3)
    settings = make_settings(
        tmp_path,
        geoip_path=geoip_file(tmp_path / "city.mmdb"),
        trusted_proxies=["127.0.0.1/32"],
    )
    async with inprocess_hub(settings) as running:
        yield running


def visitor_with(frame: dict[str, Any], visitor_id: str) -> dict[str, Any] | None:
    for visitor in frame["data"]["visitors"]:
        if visitor["visitor_id"] == visitor_id:
            found: dict[str, Any] = visitor
            return found
    return None


async def test_agents_see_who_browses_live_with_their_trail_region_and_device(
    hub: RunningHub,
) -> None:
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(
        hub.http,
        hub.base,
        hub.channel_key,
        headers={"User-Agent": IPHONE, "X-Forwarded-For": "101.226.4.6"},
    )
    visitor_id = visitor.hello["visitor_id"]
    await visitor.open_page(
        f"{SHOP}/", "莲记茶庄", referrer="https://www.baidu.com/s?wd=%E8%8C%B6%E5%8F%B6", visits=3
    )
    await visitor.open_page(f"{SHOP}/tea/longjing", "龙井 Longjing")
    frame = await agent.next(
        "visitors.changed",
        lambda f: (
            (v := visitor_with(f, visitor_id)) is not None
            and v["current_page"]["url"].endswith("/longjing")
        ),
    )
    seen = visitor_with(frame, visitor_id)
    assert seen is not None
    assert seen["search_words"] == "茶叶"
    assert seen["region"] == {"en": "Pudong, Shanghai, China", "zh-CN": "中国 上海 浦东"}
    assert seen["device"] == {"kind": "mobile", "browser": "WeChat Browser 8", "os": "iOS 17"}
    assert seen["visits"] == 3
    assert seen["ip"] is None  # the channel does not keep addresses
    assert seen["conversation_id"] is None

    status, listed = await hub.api("GET", "/visitors")
    assert status == 200
    [item] = [v for v in listed["items"] if v["visitor_id"] == visitor_id]
    assert item["page_count"] == 2
    status, one = await hub.api(
        "GET", f"/visitors/trail?channel_id={hub.channel_id}&visitor_id={visitor_id}"
    )
    assert status == 200
    assert [p["title"] for p in one["pages"]] == ["莲记茶庄", "龙井 Longjing"]
    status, _ = await hub.api("GET", f"/visitors/trail?channel_id={hub.channel_id}&visitor_id=v_x")
    assert status == 404

    # the visitor writes: the message keeps the trail, and the panel shows them chatting
    await visitor.say("龙井还有货吗？")
    created = await agent.message_created("龙井还有货吗？")
    assert [p["title"] for p in created["data"]["pages"]] == ["莲记茶庄", "龙井 Longjing"]
    await agent.next(
        "visitors.changed",
        lambda f: (
            (v := visitor_with(f, visitor_id)) is not None
            and v["conversation_id"] == created["conversation_id"]
        ),
    )

    # the last page closes: the visitor leaves the panel after a short pause
    await visitor.close()
    await agent.next(
        "visitors.changed", lambda f: f"{hub.channel_id}:{visitor_id}" in f["data"]["left"]
    )
    status, listed = await hub.api("GET", "/visitors")
    assert all(v["visitor_id"] != visitor_id for v in listed["items"])
    await agent.close()


async def test_a_channel_that_keeps_addresses_shows_them_and_one_without_the_panel_shows_nobody(
    hub: RunningHub,
) -> None:
    status, channel = await hub.api("GET", f"/channels/{hub.channel_id}")
    settings = {**channel["settings"], "keep_addresses": True}
    status, _ = await hub.api("PATCH", f"/channels/{hub.channel_id}", json={"settings": settings})
    assert status == 200
    visitor = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, headers={"X-Forwarded-For": "203.0.113.10"}
    )
    await visitor.open_page(f"{SHOP}/cart", "购物车")
    for _ in range(100):
        status, listed = await hub.api("GET", f"/visitors?channel_id={hub.channel_id}")
        if listed["items"]:
            break
        await asyncio.sleep(0.05)
    assert [v["ip"] for v in listed["items"]] == ["203.0.113.10"]
    await visitor.close()

    settings = {**settings, "visitor_panel": False}
    status, _ = await hub.api("PATCH", f"/channels/{hub.channel_id}", json={"settings": settings})
    hidden = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await hidden.open_page(f"{SHOP}/secret", "不显示")
    await asyncio.sleep(1.2)
    status, listed = await hub.api("GET", "/visitors")
    assert all(v["visitor_id"] != hidden.hello["visitor_id"] for v in listed["items"])
    await hidden.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_every_web_process_knows_every_visitor(
    tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    token = await subprocess_hub_admin(settings)
    first = await processes.serve("serve-a", settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        _, key = await seed(first, http, token)
        visitor = await VisitorSocket.connect(http, first, key)
        await visitor.open_page(f"{SHOP}/", "首页")
        # a process started after the visitor arrived hears of them from the first one
        second = await processes.serve("serve-b", settings)
        found: list[dict[str, Any]] = []
        for _ in range(100):
            async with http.get(f"{second}/api/v1/visitors", headers=headers) as response:
                found = (await response.json())["items"]
            if found:
                break
            await asyncio.sleep(0.1)
        assert [v["visitor_id"] for v in found] == [visitor.hello["visitor_id"]]
        assert found[0]["current_page"]["title"] == "首页"
        # a page opened later on the first process shows on the second within a second or so
        await visitor.open_page(f"{SHOP}/about", "关于我们")
        for _ in range(100):
            async with http.get(f"{second}/api/v1/visitors", headers=headers) as response:
                found = (await response.json())["items"]
            if found and found[0]["current_page"]["title"] == "关于我们":
                break
            await asyncio.sleep(0.1)
        assert found[0]["current_page"]["title"] == "关于我们"
        await visitor.close()


async def test_an_agent_invites_a_visitor_who_accepts_another_declines_a_third_ignores(
    hub: RunningHub,
) -> None:
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    status, me = await hub.api("GET", "/me")
    visitors = [await VisitorSocket.connect(hub.http, hub.base, hub.channel_key) for _ in range(3)]
    for n, visitor in enumerate(visitors):
        await visitor.open_page(f"{SHOP}/p/{n}", f"商品 {n}")
    ids = [v.hello["visitor_id"] for v in visitors]

    async def invite(visitor_id: str, text: str) -> str:
        for _ in range(100):  # the page report reaches the board a moment after it is sent
            status, answer = await hub.api(
                "POST",
                "/visitors/invite",
                json={"channel_id": hub.channel_id, "visitor_id": visitor_id, "text": text},
            )
            if status != 404:
                break
            await asyncio.sleep(0.05)
        assert status == 202, answer
        return str(answer["invitation_id"])

    accepting, declining, ignoring = visitors
    first = await invite(ids[0], "您好，需要帮您挑选茶叶吗？")
    shown = await accepting.next("invite")
    assert shown["text"] == "您好，需要帮您挑选茶叶吗？"
    assert shown["agent_name"] == me["name"]
    await accepting.ws.send_json({"type": "invite_reply", "invitation_id": first, "accepted": True})
    # the invitation becomes the agent's first message of a conversation assigned to them
    message = await accepting.reply_with("您好，需要帮您挑选茶叶吗？")
    assert message["direction"] == "out"
    event = await agent.next("visitor.invitation", lambda f: f["data"]["invitation_id"] == first)
    assert event["data"]["outcome"] == "accepted"
    status, conversation = await hub.api(
        "GET", f"/conversations/{event['data']['conversation_id']}"
    )
    assert conversation["assignee_id"] == me["id"]
    await accepting.say("好的，想要明前龙井")
    created = await agent.message_created("好的，想要明前龙井")
    assert created["conversation_id"] == conversation["id"]

    second = await invite(ids[1], "有什么可以帮您？")
    await declining.next("invite")
    await declining.ws.send_json(
        {"type": "invite_reply", "invitation_id": second, "accepted": False}
    )
    third = await invite(ids[2], "有什么可以帮您？")
    await ignoring.next("invite")
    await ignoring.close()
    outcomes = {}
    for invitation_id in (second, third):
        event = await agent.next(
            "visitor.invitation", lambda f, i=invitation_id: f["data"]["invitation_id"] == i
        )
        outcomes[invitation_id] = event["data"]["outcome"]
        assert event["data"]["conversation_id"] is None
    assert outcomes == {second: "declined", third: "ignored"}

    def outcome(visitor: dict[str, Any] | None) -> str | None:
        invitation = (visitor or {}).get("invitation")
        return invitation["outcome"] if invitation else None

    for _ in range(100):
        status, listed = await hub.api("GET", "/visitors")
        by_id = {v["visitor_id"]: v for v in listed["items"]}
        if outcome(by_id.get(ids[1])) == "declined":
            break
        await asyncio.sleep(0.05)
    assert by_id[ids[0]]["invitation"]["outcome"] == "accepted"
    assert by_id[ids[0]]["conversation_id"] == conversation["id"]
    assert by_id[ids[1]]["invitation"]["outcome"] == "declined"

    # nobody by that id on the site: nothing to invite
    status, refused = await hub.api(
        "POST",
        "/visitors/invite",
        json={"channel_id": hub.channel_id, "visitor_id": "v_gone", "text": "在吗"},
    )
    assert status == 404
    assert "not on the site" in refused["error"]["reason"]
    for visitor in (accepting, declining):
        await visitor.close()
    await agent.close()


async def test_a_rule_invites_visitors_on_the_checkout_and_counts_what_they_do(
    hub: RunningHub,
) -> None:
    status, rule = await hub.api(
        "POST",
        "/invitation-rules",
        json={
            "channel_id": hub.channel_id,
            "name": "结账犹豫",
            "message": "结账遇到问题了吗？我们可以帮您。",
            "page": "/checkout*",
            "delay_s": 1,
        },
    )
    assert status == 201, rule
    assert rule["counts"] == {"sent": 0, "accepted": 0, "declined": 0, "ignored": 0}

    # nobody online to answer: nobody is invited
    browsing = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await browsing.open_page(f"{SHOP}/checkout?step=1", "结账")
    with pytest.raises(TimeoutError):
        await browsing.next("invite", within_s=3)

    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)  # now someone is
    shown = await browsing.next("invite", within_s=10)
    assert shown["text"] == "结账遇到问题了吗？我们可以帮您。"
    await browsing.ws.send_json(
        {"type": "invite_reply", "invitation_id": shown["invitation_id"], "accepted": True}
    )
    # the rule's message opens the conversation, routed like any new one (here: unassigned)
    message = await browsing.reply_with("结账遇到问题了吗？我们可以帮您。")
    assert message["sender_type"] == "bot"
    event = await agent.next(
        "visitor.invitation", lambda f: f["data"]["invitation_id"] == shown["invitation_id"]
    )
    assert event["data"]["rule_id"] == rule["id"]
    assert event["data"]["agent_id"] is None
    assert event["data"]["outcome"] == "accepted"

    # on a page the rule does not name, and once invited, nobody is invited again
    other = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await other.open_page(f"{SHOP}/tea", "茶")
    await browsing.open_page(f"{SHOP}/checkout?step=2", "结账")
    with pytest.raises(TimeoutError):
        await other.next("invite", within_s=2.5)
    await other.open_page(f"{SHOP}/checkout", "结账")
    await other.next("invite", within_s=10)
    await other.close()  # left unanswered
    for _ in range(100):
        status, listed = await hub.api("GET", f"/invitation-rules?channel_id={hub.channel_id}")
        counts = listed["items"][0]["counts"]
        if counts["ignored"]:
            break
        await asyncio.sleep(0.05)
    assert counts == {"sent": 2, "accepted": 1, "declined": 0, "ignored": 1}
    await browsing.close()
    await agent.close()


async def test_invitation_rules_are_checked_changed_and_removed(
    hub: RunningHub,
) -> None:
    base = {"channel_id": hub.channel_id, "name": "首页", "message": "欢迎！"}
    for wrong, reason in (
        ({"page": "checkout"}, "page: a pattern starts with /"),
        ({"page": "/check out"}, "page: a pattern has no spaces"),
        ({"channel_id": 999_999}, "channel_id: there is no channel"),
        ({"delay_s": -1}, "delay_s"),
        ({"message": "   "}, "message"),
    ):
        status, answer = await hub.api("POST", "/invitation-rules", json={**base, **wrong})
        assert status == 422, (wrong, answer)
        assert reason in answer["error"]["reason"], (wrong, answer)
    status, rule = await hub.api("POST", "/invitation-rules", json=base)
    assert status == 201
    status, changed = await hub.api(
        "PATCH", f"/invitation-rules/{rule['id']}", json={"active": False, "min_visits": 3}
    )
    assert status == 200
    assert (changed["active"], changed["min_visits"], changed["message"]) == (False, 3, "欢迎！")
    status, _ = await hub.api("DELETE", f"/invitation-rules/{rule['id']}")
    assert status == 204
    status, _ = await hub.api("DELETE", f"/invitation-rules/{rule['id']}")
    assert status == 404
