"""Service rules through the whole hub, on SQLite and on PostgreSQL: business hours and
automatic messages in the API with every refusal, welcome and out-of-hours messages sent once
in the customer's language, ratings from the web chat widget, and conversations' times in
business hours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from adapters.db.tables import conversations
from hub.domain.model import Inbound
from hub.domain.service_rules import Rule
from hub.services import automatic, inbound, service_rules
from hub.web.keys import HUB
from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings
from tests.services import create_pg_database, drop_pg_database

#: a schedule that is never open, and one that always is
CLOSED = {"timezone": "UTC", "week": {}}
ALWAYS = {
    "timezone": "UTC",
    "week": {
        day: [{"start": "00:00", "end": "24:00"}]
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    },
}
SHANGHAI_OFFICE = {
    "timezone": "Asia/Shanghai",
    "week": {
        day: [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]
        for day in ("mon", "tue", "wed", "thu", "fri")
    },
    "holidays": ["2026-10-01", "2026-10-02"],
    "working_days": [{"date": "2026-09-27", "intervals": [{"start": "10:00", "end": "16:00"}]}],
}


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


async def as_agent(hub: RunningHub) -> dict[str, str]:
    """The headers of a new agent who is no admin."""
    email = "li.na@shop.test"
    status, made = await hub.api(
        "POST", "/agents", json={"email": email, "name": "Li Na 李娜", "password": "agent-pass-1"}
    )
    assert status == 201, made
    async with hub.http.post(
        hub.base + "/api/v1/auth/login", json={"email": email, "password": "agent-pass-1"}
    ) as response:
        token = (await response.json())["token"]
    return {"Authorization": f"Bearer {token}"}


async def call(
    hub: RunningHub, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    async with hub.http.request(
        method, hub.base + "/api/v1" + path, headers=headers, **kwargs
    ) as response:
        body = await response.read()
        return response.status, (await response.json()) if body else None


async def refused(hub: RunningHub, method: str, path: str, body: Any, reason: str) -> int:
    status, answer = await hub.api(method, path, json=body)
    assert 400 <= status < 500, answer
    assert reason in answer["error"]["reason"], answer
    return status


async def set_rules(
    hub: RunningHub, channel_id: int, language: str = "zh-CN", **messages: Any
) -> dict[str, Any]:
    status, saved = await hub.api(
        "PUT",
        f"/channels/{channel_id}/service-rules",
        json={"language": language, "messages": messages},
    )
    assert status == 200, saved
    return dict(saved)


async def set_hours(hub: RunningHub, channel_id: int, hours: dict[str, Any]) -> None:
    status, saved = await hub.api("PUT", f"/channels/{channel_id}/business-hours", json=hours)
    assert status == 200, saved


async def messages_of(hub: RunningHub, conversation_id: int) -> list[dict[str, Any]]:
    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages?limit=200")
    assert status == 200, page
    return list(page["items"])


async def automatic_of(hub: RunningHub, conversation_id: int) -> list[str]:
    return [
        m["data"]["automatic"]
        for m in await messages_of(hub, conversation_id)
        if "automatic" in m["data"]
    ]


async def eventually(
    hub: RunningHub, conversation_id: int, check: Any, within_s: float = 10
) -> Any:
    """The conversation once ``check`` holds of it."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        status, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
        assert status == 200, conversation
        if check(conversation):
            return conversation
        assert asyncio.get_running_loop().time() < deadline, conversation
        await asyncio.sleep(0.05)


# -- the API ------------------------------------------------------------------------------------


async def test_business_hours_of_teams_and_channels_and_every_refusal(hub: RunningHub) -> None:
    status, team = await hub.api("POST", "/teams", json={"name": "售后 After-sales"})
    assert status == 201, team
    team_path = f"/teams/{team['id']}/business-hours"
    channel_path = f"/channels/{hub.channel_id}/business-hours"
    assert (await hub.api("GET", team_path))[0] == 404
    assert (await hub.api("GET", channel_path))[0] == 404
    _, status_now = await hub.api("GET", f"/channels/{hub.channel_id}/service-status")
    assert status_now["source"] == "none"
    assert status_now["open"] is True

    week = {"mon": [{"start": "09:00", "end": "18:00"}]}
    await refused(hub, "PUT", team_path, {"timezone": "Mars/Olympus", "week": week}, "IANA")
    await refused(hub, "PUT", team_path, {"timezone": "../etc/passwd"}, "IANA")
    overlapping = {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]}
    await refused(hub, "PUT", team_path, {"timezone": "UTC", "week": overlapping}, "overlap")
    backwards = {"tue": [{"start": "18:00", "end": "09:00"}]}
    await refused(hub, "PUT", team_path, {"timezone": "UTC", "week": backwards}, "ends after")
    late = {"wed": [{"start": "09:00", "end": "25:00"}]}
    await refused(hub, "PUT", team_path, {"timezone": "UTC", "week": late}, "week.wed")
    await refused(hub, "PUT", team_path, {"timezone": "UTC", "week": {"monday": []}}, "monday")
    both = {**SHANGHAI_OFFICE, "holidays": ["2026-09-27"]}
    await refused(hub, "PUT", team_path, both, "both a holiday and a working day")
    twice = {**SHANGHAI_OFFICE, "working_days": SHANGHAI_OFFICE["working_days"] * 2}
    await refused(hub, "PUT", team_path, twice, "listed twice")
    await refused(hub, "PUT", team_path, {"timezone": "UTC", "holidays": ["2026-02-30"]}, "")
    assert (await hub.api("PUT", "/teams/999999/business-hours", json=CLOSED))[0] == 404
    assert (await hub.api("PUT", "/channels/999999/business-hours", json=CLOSED))[0] == 404

    status, saved = await hub.api("PUT", team_path, json=SHANGHAI_OFFICE)
    assert status == 200, saved
    assert saved["team_id"] == team["id"]
    assert saved["channel_id"] is None
    assert saved["timezone"] == "Asia/Shanghai"
    assert saved["week"]["mon"] == [
        {"start": "09:00", "end": "12:00"},
        {"start": "13:00", "end": "18:00"},
    ]
    assert saved["week"]["sat"] == []
    assert saved["holidays"] == ["2026-10-01", "2026-10-02"]
    assert saved["working_days"] == [
        {"date": "2026-09-27", "intervals": [{"start": "10:00", "end": "16:00"}]}
    ]
    assert isinstance(saved["open_now"], bool)
    assert (saved["next_opening"] is None) == saved["open_now"]
    assert (await hub.api("GET", team_path))[1] == saved
    # a PUT replaces the whole schedule
    status, again = await hub.api("PUT", team_path, json=ALWAYS)
    assert status == 200
    assert again["holidays"] == []
    assert again["open_now"] is True

    # the channel takes its team's hours until it has its own, which win
    status, _ = await hub.api("PATCH", f"/channels/{hub.channel_id}", json={"team_id": team["id"]})
    assert status == 200
    _, status_now = await hub.api("GET", f"/channels/{hub.channel_id}/service-status")
    assert (status_now["source"], status_now["open"]) == ("team", True)
    assert (await hub.api("PUT", channel_path, json=CLOSED))[0] == 200
    _, status_now = await hub.api("GET", f"/channels/{hub.channel_id}/service-status")
    assert (status_now["source"], status_now["open"]) == ("channel", False)
    assert status_now["next_opening"] is None  # never opens
    _, listed = await hub.api("GET", "/business-hours")
    owners = sorted((h["team_id"] or 0, h["channel_id"] or 0) for h in listed["items"])
    assert owners == [(0, hub.channel_id), (team["id"], 0)]

    agent = await as_agent(hub)
    assert (await call(hub, "GET", "/business-hours", agent))[0] == 200
    assert (await call(hub, "PUT", channel_path, agent, json=ALWAYS))[0] == 403
    assert (await call(hub, "DELETE", team_path, agent))[0] == 403

    assert (await hub.api("DELETE", channel_path))[0] == 204
    assert (await hub.api("DELETE", channel_path))[0] == 404
    _, status_now = await hub.api("GET", f"/channels/{hub.channel_id}/service-status")
    assert status_now["source"] == "team"
    assert (await hub.api("DELETE", team_path))[0] == 204
    assert (await hub.api("GET", team_path))[0] == 404
    assert (await hub.api("DELETE", "/teams/999999/business-hours"))[0] == 404
    _, listed = await hub.api("GET", "/business-hours")
    assert listed["items"] == []


async def test_a_channels_service_rules_and_every_refusal(hub: RunningHub) -> None:
    path = f"/channels/{hub.channel_id}/service-rules"
    status, rules = await hub.api("GET", path)
    assert status == 200, rules
    assert rules["rating_way"] == "widget"
    assert rules["language"] == "zh-CN"
    assert rules["updated_at"] is None
    for name in ("welcome", "out_of_hours", "rating_request", "rating_thanks"):
        assert rules["messages"][name]["active"] is False
        assert set(rules["messages"][name]["default_texts"]) == {"en", "zh-CN"}

    saved = await set_rules(
        hub,
        hub.channel_id,
        welcome={"active": True, "texts": {"zh-CN": " 您好！ ", "en": "Hello!"}},
        rating_request={"active": True},
    )
    assert saved["messages"]["welcome"] == {
        "active": True,
        "texts": {"zh-CN": "您好！", "en": "Hello!"},
        "default_texts": rules["messages"]["welcome"]["default_texts"],
    }
    assert saved["messages"]["rating_request"]["active"] is True
    assert saved["updated_at"] is not None
    assert (await hub.api("GET", path))[1] == saved

    await refused(hub, "PUT", path, {"language": "fr"}, "language")
    await refused(hub, "PUT", path, {"rating_reply_s": 10}, "rating_reply_s")
    await refused(hub, "PUT", path, {"messages": {"goodbye": {"active": True}}}, "goodbye")
    await refused(
        hub, "PUT", path, {"messages": {"welcome": {"texts": {"fr": "Bonjour"}}}}, "texts"
    )
    too_long = {"messages": {"welcome": {"texts": {"en": "x" * 1001}}}}
    await refused(hub, "PUT", path, too_long, "welcome")
    assert (await hub.api("PUT", "/channels/999999/service-rules", json={}))[0] == 404
    agent = await as_agent(hub)
    assert (await call(hub, "GET", path, agent))[0] == 200
    assert (await call(hub, "PUT", path, agent, json={}))[0] == 403
    assert (await hub.api("GET", path))[1] == saved  # the refusals changed nothing


# -- automatic messages -------------------------------------------------------------------------

CLOSED_TEXTS = {"en": "We are closed; we reply at 9.", "zh-CN": "现在下班了，明早九点回复您。"}
WELCOME_TEXTS = {"en": "Welcome to Lotus & Co.!", "zh-CN": "欢迎光临莲记！"}


async def test_out_of_hours_and_welcome_go_once_in_the_customers_language(
    hub: RunningHub,
) -> None:
    await set_rules(
        hub,
        hub.channel_id,
        language="zh-CN",
        welcome={"active": True, "texts": WELCOME_TEXTS},
        out_of_hours={"active": True, "texts": CLOSED_TEXTS},
    )
    await set_hours(hub, hub.channel_id, CLOSED)
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    english = {"Accept-Language": "en-US,en;q=0.9"}
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key, headers=english)
    # outside business hours the widget is told, with the out-of-hours text to show
    assert visitor.hello["service"]["open"] is False
    assert visitor.hello["service"]["closed_text"] == CLOSED_TEXTS["en"]
    await visitor.say("Is anyone there?")
    first = await agent.message_created("Is anyone there?")
    conversation_id = first["conversation_id"]
    # the visitor gets the out-of-hours message in English, and no welcome
    got = await visitor.reply_with(CLOSED_TEXTS["en"])
    assert got["sender_type"] == "bot"
    await visitor.say("Hello?")
    await agent.message_created("Hello?")
    await asyncio.sleep(0.5)  # time enough for a second one to be sent, were it sent
    assert await automatic_of(hub, conversation_id) == ["out_of_hours"]

    # in business hours a new conversation is welcomed, in Chinese for a Chinese browser
    assert (await hub.api("PUT", f"/channels/{hub.channel_id}/business-hours", json=ALWAYS))[0]
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    other = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key, headers=chinese)
    assert other.hello["service"]["open"] is True
    await other.say("你好")
    second = await agent.message_created("你好")
    await other.reply_with(WELCOME_TEXTS["zh-CN"])
    await other.say("在吗")
    await agent.message_created("在吗")
    await asyncio.sleep(0.5)
    assert await automatic_of(hub, second["conversation_id"]) == ["welcome"]
    [welcome] = [
        m for m in await messages_of(hub, second["conversation_id"]) if m["data"].get("automatic")
    ]
    assert welcome["data"]["language"] == "zh-CN"
    # a customer whose language is unknown gets the channel's
    unknown = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, headers={"Accept-Language": "fr-FR"}
    )
    await unknown.say("Bonjour")
    await unknown.reply_with(WELCOME_TEXTS["zh-CN"])
    for socket in (visitor, other, unknown, agent):
        await socket.close()


async def test_an_automatic_message_goes_once_however_often_it_is_sent(
    hub: RunningHub,
) -> None:
    """A retried job, or two processes at once, find the record of the first and send nothing."""
    deps = hub.extras["server"].app[HUB].deps
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say("我想退货")
    created = await agent.message_created("我想退货")
    conversation = await deps.rules.conversation(created["conversation_id"])
    assert conversation is not None
    sent = await asyncio.gather(
        *(automatic.send(deps, conversation, Rule.WELCOME, "您好！", "zh-CN") for _ in range(8))
    )
    assert len([s for s in sent if s is not None]) == 1
    assert await automatic_of(hub, conversation.id) == ["welcome"]
    # the customer got it once
    await visitor.reply_with("您好！")

    # the rules at work after a batch, run twice over the same messages
    await set_rules(hub, hub.channel_id, out_of_hours={"active": True, "texts": CLOSED_TEXTS})
    await set_hours(hub, hub.channel_id, CLOSED)
    channel = (await hub.extras["server"].app[HUB].directory.list_channels())[0]
    item = Inbound(provider_event_id="x", sender_id="v", text="还在吗", data={"language": "en"})
    arrived = [(channel, item, conversation)]
    await asyncio.gather(*(service_rules.after_inbound(deps, arrived, ()) for _ in range(3)))
    assert await automatic_of(hub, conversation.id) == ["welcome", "out_of_hours"]
    await visitor.reply_with(CLOSED_TEXTS["en"])
    # and the inbound job run again for an event it processed does nothing
    async with deps.store.unit() as uow:
        ids = await uow.unfinished_event_ids(datetime.now(UTC), 10)
    assert ids == []
    assert await inbound.process_inbound_batch(deps, [1, 2, 3]) == []
    assert await automatic_of(hub, conversation.id) == ["welcome", "out_of_hours"]
    await visitor.close()
    await agent.close()


# -- ratings in the web chat widget, and times in business hours ---------------------------------


async def test_a_resolved_web_chat_asks_for_stars_and_keeps_the_rating(hub: RunningHub) -> None:
    await set_rules(hub, hub.channel_id, rating_request={"active": True})
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, headers={"Accept-Language": "zh-CN"}
    )
    assert visitor.hello["rating_request"] is None
    await visitor.say("快递什么时候到？")
    created = await agent.message_created("快递什么时候到？")
    conversation_id = created["conversation_id"]
    # a rating now is refused: nothing was asked
    await visitor.ws.send_json({"type": "rating", "score": 5})
    assert "no rating" in (await visitor.next("error"))["reason"]

    status, _ = await hub.api(
        "POST", f"/conversations/{conversation_id}/messages", json={"text": "明天上午到。"}
    )
    assert status == 201
    await visitor.reply_with("明天上午到。")
    status, _ = await hub.api(
        "PATCH", f"/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert status == 200
    asked = await visitor.next("rating_request")
    assert asked["conversation_id"] == conversation_id
    assert asked["text"] == "请为本次服务评分。"
    # the thread says it asked
    line = await agent.next(
        "message.created", lambda f: f["data"]["data"].get("event") == "rating_requested"
    )
    assert line["data"]["kind"] == "event"

    # a page loaded now offers the stars too
    again = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, token=visitor.hello["visitor_token"]
    )
    assert again.hello["rating_request"] == {
        "conversation_id": conversation_id,
        "text": "请为本次服务评分。",
    }
    for wrong in (
        {"score": 0},
        {"score": 6},
        {"score": "five"},
        {"score": 3, "comment": "x" * 1001},
    ):
        await visitor.ws.send_json({"type": "rating", **wrong})
        error = await visitor.next("error")
        assert error["reason"].startswith(("rating.score", "rating.comment")), error
    await visitor.ws.send_json({"type": "rating", "score": 5, "comment": "送货很快，谢谢！"})
    rated = await visitor.next("rated")
    assert rated == {"type": "rated", "conversation_id": conversation_id, "score": 5}
    # the other page of the visitor's hears it and hides its stars
    assert (await again.next("rated"))["conversation_id"] == conversation_id
    line = await agent.next("message.created", lambda f: f["data"]["data"].get("event") == "rating")
    assert line["data"]["text"] == "★★★★★ 5/5\n送货很快，谢谢！"
    assert line["data"]["direction"] == "in"

    conversation = await eventually(hub, conversation_id, lambda c: c["rating"] is not None)
    assert conversation["rating"]["score"] == 5
    assert conversation["rating"]["comment"] == "送货很快，谢谢！"
    assert conversation["status"] == "resolved"
    assert conversation["rating_requested_at"] is not None
    # no business hours: every second counts, and the times are there for reports
    assert conversation["first_response_business_s"] is not None
    assert conversation["resolution_business_s"] is not None
    assert conversation["resolution_business_s"] >= conversation["first_response_business_s"]
    _, listed = await hub.api("GET", f"/conversations?channel_id={hub.channel_id}")
    assert listed["items"][0]["rating"]["score"] == 5

    await visitor.ws.send_json({"type": "rating", "score": 1})
    assert "rated already" in (await visitor.next("error"))["reason"]
    later = await VisitorSocket.connect(
        hub.http, hub.base, hub.channel_key, token=visitor.hello["visitor_token"]
    )
    assert later.hello["rating_request"] is None
    assert later.hello["history"][-1]["text"] == "★★★★★ 5/5\n送货很快，谢谢！"
    for socket in (visitor, again, later, agent):
        await socket.close()


async def test_times_count_business_hours_only(hub: RunningHub) -> None:
    """A conversation opened on Friday at 17:00 in Shanghai, answered on Monday at 10:00 and
    resolved at 14:00: an hour of Friday and one of Monday before the answer, and four hours
    (less lunch) before resolution."""
    await set_hours(hub, hub.channel_id, SHANGHAI_OFFICE)
    running = hub.extras["server"].app[HUB]
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say("周五下班前的问题")
    created = await agent.message_created("周五下班前的问题")
    conversation_id = created["conversation_id"]

    def shanghai(stamp: str) -> datetime:
        # stored in UTC, as the hub stores every time (SQLite keeps no zone)
        return datetime.fromisoformat(stamp).astimezone(UTC)

    async with running.engines.write.begin() as conn:
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(
                created_at=shanghai("2026-11-27T17:00:00+08:00"),
                first_response_at=shanghai("2026-11-30T10:00:00+08:00"),
                resolved_at=shanghai("2026-11-30T14:00:00+08:00"),
                status="resolved",
            )
        )
    measured = await service_rules.measure(running.deps, conversation_id)
    assert measured is not None
    _, conversation = await hub.api("GET", f"/conversations/{conversation_id}")
    assert conversation["first_response_business_s"] == 2 * 3600
    assert conversation["resolution_business_s"] == 5 * 3600
    # measured again, nothing changes
    assert await service_rules.measure(running.deps, conversation_id) == measured
    # reopened, it has no resolution time until resolved again
    status, _ = await hub.api("PATCH", f"/conversations/{conversation_id}", json={"status": "open"})
    assert status == 200
    await eventually(hub, conversation_id, lambda c: c["resolution_business_s"] is None)
    await visitor.close()
    await agent.close()
