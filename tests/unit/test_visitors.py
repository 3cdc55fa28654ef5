"""The live visitor panel's parts: search words, devices, page frames and the board's events."""

from __future__ import annotations

import asyncio

import pytest

from adapters.realtime.local import LocalEventBus
from connectors.webchat.protocol import Page, parse_frame
from connectors.webchat.visits import device_of
from hub.domain.errors import MalformedPayload
from hub.domain.events import AGENTS_TOPIC, HubEvent
from hub.domain.texts import Text
from hub.domain.visitors import PageReport, search_words
from hub.services.visitors import VisitorBoard


@pytest.mark.parametrize(
    ("referrer", "words"),
    [
        ("https://www.baidu.com/s?ie=utf-8&wd=%E9%80%80%E8%B4%A7%E6%B5%81%E7%A8%8B", "退货流程"),
        ("https://m.baidu.com/s?word=%E6%B0%B4%E5%A3%B6", "水壶"),
        ("https://www.sogou.com/web?query=kettle+repair", "kettle repair"),
        ("https://www.so.com/s?q=%E5%8F%91%E7%A5%A8", "发票"),
        ("https://www.google.com.hk/search?q=lotus+tea", "lotus tea"),
        ("https://www.google.de/search?q=tee", "tee"),
        ("https://cn.bing.com/search?q=refund", "refund"),
        ("https://www.baidu.com/", None),  # no words given
        ("https://notbaidu.com/s?wd=x", None),  # not the engine
        ("https://googleusercontent.example/?q=x", None),
        ("https://shop.example/cart", None),
        ("not a url at all", None),
    ],
)
def test_search_words_come_from_the_engines_own_parameters(
    referrer: str, words: str | None
) -> None:
    assert search_words(referrer) == words


def test_devices_are_read_from_the_user_agent() -> None:
    wechat = device_of(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI"
    )
    assert wechat is not None
    assert (wechat.kind, wechat.browser, wechat.os) == ("mobile", "WeChat Browser 8", "iOS 17")
    desktop = device_of(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36"
    )
    assert desktop is not None
    assert (desktop.kind, desktop.browser, desktop.os) == ("desktop", "Chrome 120", "Windows 10")
    assert device_of("") is None


def test_page_frames_take_only_web_addresses() -> None:
    frame = parse_frame(
        '{"type":"page","url":"https://shop.example/p/1","title":"水壶","visits":3}'
    )
    assert isinstance(frame, Page)
    assert (frame.url, frame.title, frame.referrer, frame.visits) == (
        "https://shop.example/p/1",
        "水壶",
        "",
        3,
    )
    for bad in (
        '{"type":"page","url":"javascript:alert(1)"}',
        '{"type":"page","url":"https://shop.example","referrer":"data:text/html,x"}',
        '{"type":"page","url":""}',
        '{"type":"page","url":"https://shop.example","visits":0}',
        '{"type":"page","url":"https://shop.example/' + "a" * 2100 + '"}',
    ):
        with pytest.raises(MalformedPayload):
            parse_frame(bad)


class _Regions:
    def region_of(self, address: str) -> Text | None:
        return {"en": "Shanghai, China", "zh-CN": "中国 上海"} if address == "1.2.3.4" else None


def report(url: str, referrer: str = "", address: str = "1.2.3.4") -> PageReport:
    return PageReport(
        url=url,
        title=url.rsplit("/", 1)[-1],
        referrer=referrer,
        visits=2,
        device=None,
        address=address,
        keep_address=False,
        conversation_id=None,
    )


@pytest.fixture
def bus() -> LocalEventBus:
    return LocalEventBus()


async def changes(bus: LocalEventBus, boards: list[VisitorBoard]) -> list[HubEvent]:
    """What the agents heard while the boards flushed once."""
    heard: list[HubEvent] = []
    async with bus.subscribe(AGENTS_TOPIC) as events:

        async def collect() -> None:
            async for event in events:
                heard.append(event)

        task = asyncio.create_task(collect())
        await asyncio.sleep(0)
        for board in boards:
            await board.flush()
        await asyncio.sleep(0.01)
        task.cancel()
    return [e for e in heard if e.type == "visitors.changed"]


async def test_agents_hear_one_event_for_many_page_views_and_a_visitor_leaves_after_a_pause(
    bus: LocalEventBus,
) -> None:
    board = VisitorBoard(bus, _Regions(), process="a", leave_after_s=0.05)
    search = "https://www.baidu.com/s?wd=%E6%B0%B4%E5%A3%B6"
    board.page_opened(1, "v_1", "ws:1", report("https://shop.example/", referrer=search))
    board.page_opened(1, "v_1", "ws:1", report("https://shop.example/kettle"))
    board.page_opened(1, "v_2", "ws:2", report("https://shop.example/", address="10.0.0.1"))
    [event] = await changes(bus, [board])
    by_id = {v["visitor_id"]: v for v in event.data["visitors"]}
    first = by_id["v_1"]
    assert first["current_page"]["url"] == "https://shop.example/kettle"
    assert [p["url"] for p in first["pages"]] == [
        "https://shop.example/",
        "https://shop.example/kettle",
    ]
    assert first["search_words"] == "水壶"
    assert first["region"] == {"en": "Shanghai, China", "zh-CN": "中国 上海"}
    assert first["ip"] is None  # the channel keeps no addresses
    assert by_id["v_2"]["region"] is None
    assert await changes(bus, [board]) == []  # nothing changed: nothing sent

    # going to the next page closes one connection just before the next opens: no flicker
    board.closed(1, "v_1", "ws:1")
    board.page_opened(1, "v_1", "ws:3", report("https://shop.example/cart"))
    [event] = await changes(bus, [board])
    assert event.data["left"] == []
    board.closed(1, "v_1", "ws:3")
    await asyncio.sleep(0.06)
    [event] = await changes(bus, [board])
    assert event.data["left"] == ["1:v_1"]
    assert [v.visitor_id for v in board.visitors()] == ["v_2"]


async def test_every_process_knows_every_visitor_and_forgets_those_of_a_process_that_died(
    bus: LocalEventBus,
) -> None:
    first = VisitorBoard(bus, _Regions(), process="a", alive_every_s=0.05)
    await first.start()
    try:
        first.page_opened(3, "v_a", "ws:1", report("https://shop.example/a"))
        await first.flush()
        # a process that starts later hears of the visitors the others have
        second = VisitorBoard(bus, _Regions(), process="b", alive_every_s=0.05)
        await second.start()
        try:
            for _ in range(100):
                if second.visitor("3:v_a") is not None:
                    break
                await asyncio.sleep(0.01)
            found = second.visitor("3:v_a")
            assert found is not None
            assert found.current is not None
            assert found.current.url == "https://shop.example/a"
            second.page_opened(3, "v_b", "ws:9", report("https://shop.example/b"))
            await second.flush()
            await asyncio.sleep(0.01)
            assert {v.visitor_id for v in first.visitors([3])} == {"v_a", "v_b"}
            assert first.visitors([4]) == []
        finally:
            # "b" dies without a word: "a" forgets its visitors once they are not said alive
            for task in second._tasks:
                task.cancel()
        for _ in range(100):
            await first.flush()
            if first.visitor("3:v_b") is None:
                break
            await asyncio.sleep(0.01)
        assert first.visitor("3:v_b") is None
        assert first.visitor("3:v_a") is not None
    finally:
        await first.stop()
