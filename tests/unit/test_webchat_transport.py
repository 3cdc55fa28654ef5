"""Web chat's visitor endpoints without a server: fakes of the hub and of a websocket."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.webchat import transport as transport_module
from connectors.webchat.connector import WebchatConnector
from connectors.webchat.tokens import VisitorTokens
from connectors.webchat.transport import CLOSE_RESYNC, VisitorTransport
from hub.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MalformedPayload,
    NotFound,
    TooManyRequests,
)
from hub.domain.events import AGENTS_TOPIC, HubEvent, visitor_topic
from hub.domain.model import (
    AttachmentRef,
    Direction,
    Inbound,
    MessageKind,
    MessageStatus,
    SenderType,
)
from hub.domain.ports import SubscriberOverflow
from hub.domain.records import Attachment, Channel, Message
from hub.domain.routing import QueuePlace
from hub.domain.service_rules import VisitorService
from hub.domain.transports import Request
from hub.domain.visitors import PageReport, PageView

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
CHANNEL = Channel(
    7, "webchat", "Shop chat", "pk_shop", {"allowed_origins": ["https://shop.example.com"]},
    None, True, NOW,
)  # fmt: skip


def reply(message_id: int, *, private: bool = False) -> Message:
    return Message(
        id=message_id,
        conversation_id=1,
        channel_id=CHANNEL.id,
        direction=Direction.OUT,
        sender_type=SenderType.AGENT,
        sender_agent_id=3,
        kind=MessageKind.TEXT,
        text="您好，请问订单号是多少？",
        data={},
        private=private,
        attachments=(),
        status=MessageStatus.SENT,
        error=None,
        provider_message_id=None,
        created_at=NOW,
        updated_at=NOW,
    )


@dataclass
class FakeHubAccess:
    channels: dict[str, Channel] = field(default_factory=lambda: {"pk_shop": CHANNEL})
    accepted: list[Inbound] = field(default_factory=list)
    published: list[tuple[str, HubEvent]] = field(default_factory=list)
    messages: dict[int, Message] = field(default_factory=dict)
    queues: dict[str, asyncio.Queue[HubEvent | None]] = field(
        default_factory=lambda: defaultdict(asyncio.Queue)
    )
    counts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    pages: list[tuple[str, str, PageReport]] = field(default_factory=list)
    chatting: list[tuple[str, int]] = field(default_factory=list)
    closed: list[tuple[str, str]] = field(default_factory=list)
    invitations: list[tuple[str, str]] = field(default_factory=list)
    #: where each visitor's conversation waits
    places: dict[str, QueuePlace] = field(default_factory=dict)
    place_reads: int = 0
    max_upload_bytes: int = 1024
    upload_types: Sequence[str] = ("image/png",)
    open: bool = True
    awaiting: set[int | None] = field(default_factory=set)
    services: list[tuple[int | None, str | None]] = field(default_factory=list)
    ratings: list[tuple[str, int | None, int, str]] = field(default_factory=list)

    async def channel_by_key(self, key: str) -> Channel:
        if key not in self.channels:
            raise NotFound("no channel has this key")
        return self.channels[key]

    async def accept(self, channel: Channel, items: Sequence[Inbound]) -> None:
        self.accepted.extend(items)

    async def history(self, channel_id: int, sender_id: str) -> list[Message]:
        return list(self.messages.values())

    async def pending(
        self, channel_id: int, event_id_prefix: str
    ) -> list[tuple[datetime, Inbound]]:
        return [(NOW, i) for i in self.accepted if i.provider_event_id.startswith(event_id_prefix)]

    async def agent_names(self) -> dict[int, str]:
        return {3: "Li Na 李娜"}

    async def agents_online(self) -> bool:
        return True

    async def latest_conversation_id(self, channel_id: int, sender_id: str) -> int | None:
        return 1

    async def message(self, message_id: int) -> Message | None:
        return self.messages.get(message_id)

    async def queue_place(self, channel: Channel, customer: str) -> QueuePlace | None:
        self.place_reads += 1
        return self.places.get(customer)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[HubEvent]]:
        queue = self.queues[topic]

        async def events() -> AsyncIterator[HubEvent]:
            while (event := await queue.get()) is not None:
                yield event
            raise SubscriberOverflow

        yield events()

    async def publish(self, topic: str, event: HubEvent) -> None:
        self.published.append((topic, event))

    def file_url(self, attachment: Attachment) -> str | None:
        return f"/files/{attachment.id}"

    async def throttle(self, rules: Sequence[tuple[str, int, float]]) -> None:
        for key, limit, window_s in rules:
            self.counts[key] += 1
            if self.counts[key] > limit:
                raise TooManyRequests("too many requests; try again in 60 s", window_s)

    def page_opened(
        self, channel: Channel, visitor_id: str, connection: str, report: PageReport
    ) -> None:
        self.pages.append((visitor_id, connection, report))

    def visitor_chatting(self, channel: Channel, visitor_id: str, conversation_id: int) -> None:
        self.chatting.append((visitor_id, conversation_id))

    def page_closed(self, channel: Channel, visitor_id: str, connection: str) -> None:
        self.closed.append((visitor_id, connection))

    async def invitation(
        self, channel: Channel, visitor_id: str, invitation: Mapping[str, Any], outcome: str
    ) -> int | None:
        self.invitations.append((str(invitation["invitation_id"]), outcome))
        return 42 if outcome == "accepted" else None

    def trail(self, channel: Channel, visitor_id: str) -> tuple[PageView, ...]:
        return tuple(PageView(r.url, r.title, NOW) for v, _, r in self.pages if v == visitor_id)

    async def service(
        self, channel: Channel, conversation_id: int | None, language: str | None
    ) -> VisitorService:
        self.services.append((conversation_id, language))
        waiting = (conversation_id, "Rate us") if conversation_id in self.awaiting else None
        return VisitorService(self.open, None, f"closed ({language})", waiting)

    async def rate(
        self, channel: Channel, customer: str, conversation_id: int | None, score: int, comment: str
    ) -> None:
        if conversation_id not in self.awaiting:
            raise Conflict("this conversation asked for no rating")
        self.awaiting.discard(conversation_id)
        self.ratings.append((customer, conversation_id, score, comment))


class FakeSocket:
    def __init__(self) -> None:
        self.accepted = False
        self.sent: list[dict[str, Any]] = []
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed: tuple[int, str] | None = None

    async def accept(self) -> None:
        self.accepted = True

    async def send_text(self, text: str) -> None:
        if self.closed:
            raise ConnectionResetError("closed")
        self.sent.append(json.loads(text))

    async def __aiter__(self) -> AsyncIterator[str]:
        while (frame := await self.incoming.get()) is not None:
            yield frame

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        await self.incoming.put(None)

    async def wait_for(self, kind: str) -> dict[str, Any]:
        for _ in range(100):
            found = [f for f in self.sent if f["type"] == kind]
            if found:
                return found[-1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {kind} frame in {self.sent}")


@pytest.fixture
def hub() -> FakeHubAccess:
    return FakeHubAccess()


@pytest.fixture
def transport(hub: FakeHubAccess) -> VisitorTransport:
    return VisitorTransport("webchat", hub, VisitorTokens("secret"))


def request(path_key: str = "pk_shop", **kwargs: Any) -> Request:
    headers = {"Origin": "https://shop.example.com", **kwargs.pop("headers", {})}
    return Request(
        method=kwargs.pop("method", "POST"),
        path=f"/webchat/{path_key}/x",
        params={"key": path_key},
        query=kwargs.pop("query", {}),
        headers=headers,
        client=kwargs.pop("client", "203.0.113.7"),
        **kwargs,
    )


async def test_a_visitor_chats_over_the_socket(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    socket = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), socket))
    hello = await socket.wait_for("hello")
    assert socket.accepted
    assert hello["settings"]["title"] == "Shop chat"
    visitor = hello["visitor_id"]
    await socket.incoming.put('{"type":"message","client_id":"c1234567","text":"在吗？"}')
    assert (await socket.wait_for("ack"))["client_id"] == "c1234567"
    assert [(i.provider_event_id, i.text) for i in hub.accepted] == [
        (f"{visitor}:c1234567", "在吗？")
    ]
    await socket.incoming.put('{"type":"message","client_id":"bad id!","text":"x"}')
    assert "client_id" in (await socket.wait_for("error"))["reason"]
    # an agent's reply reaches the open widget; a private note never does
    hub.messages = {10: reply(10, private=True), 11: reply(11)}
    topic = visitor_topic(CHANNEL.id, visitor)
    await hub.queues[topic].put(HubEvent("message", {"message_id": 10}))
    await hub.queues[topic].put(HubEvent("message", {"message_id": 11}))
    pushed = await socket.wait_for("message")
    assert pushed["message"]["id"] == 11
    assert pushed["message"]["sender_name"] == "Li Na 李娜"
    # a gap in the live feed tells the widget to reconnect and resync
    await hub.queues[topic].put(None)
    await asyncio.wait_for(task, 2)
    assert socket.closed is not None
    assert socket.closed[0] == CLOSE_RESYNC


async def test_a_refused_site_or_unknown_key_is_answered_before_the_upgrade(
    transport: VisitorTransport,
) -> None:
    socket = FakeSocket()
    with pytest.raises(Forbidden):
        await transport.socket(
            request(method="GET", headers={"Origin": "https://evil.example"}), socket
        )
    with pytest.raises(NotFound):
        await transport.socket(request("pk_unknown", method="GET"), socket)
    assert not socket.accepted


async def test_another_kinds_channel_is_not_a_web_chat(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    hub.channels["pk_wx"] = replace(CHANNEL, kind="wechat", public_key="pk_wx")
    with pytest.raises(NotFound):
        await transport.http_session(request("pk_wx"))


async def test_cors_answers_only_the_sites_the_channel_allows(
    transport: VisitorTransport,
) -> None:
    allowed = await transport.cors(request())
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert await transport.cors(request(headers={"Origin": "https://evil.example"})) == {}
    assert await transport.cors(request("pk_unknown")) == {}


async def test_http_needs_a_session_and_uploads_become_attachments(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    with pytest.raises(InvalidInput, match="start a session first"):
        await transport.http_frame(request(body=b'{"type":"ping"}'))
    session = json.loads((await transport.http_session(request())).body)
    token = {"X-Visitor-Token": session["visitor_token"]}
    stored = AttachmentRef(
        kind=MessageKind.IMAGE,
        filename="receipt.png",
        content_type="image/png",
        size=3,
        storage_key="ab/receipt.png",
    )

    async def receive() -> AttachmentRef:
        return stored

    uploaded = await transport.http_upload(request(headers=token, receive_upload=receive))
    assert uploaded.status == 201
    upload_token = json.loads(uploaded.body)["token"]
    frame = {"type": "message", "client_id": "c7654321", "attachments": [upload_token]}
    answer = await transport.http_frame(request(headers=token, body=json.dumps(frame).encode()))
    assert answer.status == 202
    [item] = hub.accepted
    assert item.kind == MessageKind.IMAGE
    assert item.attachments == (stored,)
    with pytest.raises(MalformedPayload):
        await transport.http_frame(request(headers=token, body=b'{"type":"identify"}'))


def test_the_connector_embeds_its_own_widget() -> None:
    connector = WebchatConnector(VisitorTokens("secret"))
    html = connector.embed_html(CHANNEL, "https://support.example.com/")
    assert 'src="https://support.example.com/assets/webchat/widget.js"' in html
    assert 'data-kefu-key="pk_shop"' in html
    assert connector.info.assets is not None
    assert (connector.info.assets / "widget.js").is_file()


async def test_the_channels_limits_refuse_floods_per_visitor_and_per_address(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    limits = {"new_visitors_per_minute": 2, "messages_per_minute": 3}
    hub.channels["pk_shop"] = replace(CHANNEL, settings={**CHANNEL.settings, **limits})
    sessions = [json.loads((await transport.http_session(request())).body) for _ in range(2)]
    with pytest.raises(TooManyRequests):
        await transport.http_session(request())  # a third new visitor from one address
    await transport.http_session(request(client="198.51.100.9"))  # another address is fine
    # a returning visitor is not a new session
    token = {"X-Visitor-Token": sessions[0]["visitor_token"]}
    await transport.http_session(request(headers=token))

    def frame(n: int) -> bytes:
        return json.dumps({"type": "message", "client_id": f"c{n:07d}", "text": "hi"}).encode()

    for n in range(3):
        await transport.http_frame(request(headers=token, body=frame(n)))
    with pytest.raises(TooManyRequests):
        await transport.http_frame(request(headers=token, body=frame(3)))
    assert len(hub.accepted) == 3  # the refused one stored nothing


async def test_a_flooding_socket_gets_an_error_frame_with_the_wait(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    hub.channels["pk_shop"] = replace(
        CHANNEL, settings={**CHANNEL.settings, "messages_per_minute": 1}
    )
    socket = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), socket))
    await socket.wait_for("hello")
    for n in range(2):
        await socket.incoming.put(f'{{"type":"message","client_id":"c{n:07d}","text":"x"}}')
    error = await socket.wait_for("error")
    assert error["client_id"] == "c0000001"
    assert error["retry_after"] == 60
    await socket.close(1000, "bye")
    await asyncio.wait_for(task, 2)


async def test_the_pages_a_visitor_opens_reach_the_panel_and_their_conversation(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    socket = FakeSocket()
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831)"
    )
    task = asyncio.create_task(
        transport.socket(request(method="GET", headers={"User-Agent": iphone}), socket)
    )
    visitor = (await socket.wait_for("hello"))["visitor_id"]
    await socket.incoming.put(
        '{"type":"page","url":"https://shop.example.com/kettle","title":"水壶",'
        '"referrer":"https://www.baidu.com/s?wd=kettle","visits":2}'
    )
    await socket.incoming.put('{"type":"message","client_id":"c7654321","text":"有货吗？"}')
    await socket.wait_for("ack")
    [(who, connection, report)] = hub.pages
    assert who == visitor
    assert connection.startswith("ws:")
    assert (report.url, report.title, report.visits) == (
        "https://shop.example.com/kettle",
        "水壶",
        2,
    )
    assert report.address == "203.0.113.7"
    assert report.device is not None
    assert report.device.browser == "WeChat Browser 8"
    # the message carries the trail, so the conversation shows where the visitor was
    [message] = hub.accepted
    assert [p["url"] for p in message.data["pages"]] == ["https://shop.example.com/kettle"]
    await socket.incoming.put('{"type":"message","client_id":"c7654322","text":"在吗"}')
    for _ in range(100):
        if len(hub.accepted) == 2:
            break
        await asyncio.sleep(0.01)
    assert "pages" not in hub.accepted[-1].data  # the same trail is not sent twice
    # beyond the channel's limit, page reports are dropped without a word to the visitor
    for n in range(40):
        await socket.incoming.put(
            f'{{"type":"page","url":"https://shop.example.com/p/{n}","title":"p"}}'
        )
    await socket.incoming.put('{"type":"ping"}')
    await socket.wait_for("pong")
    assert len(hub.pages) == 30  # the limit of 30 a minute
    assert not [f for f in socket.sent if f["type"] == "error"]
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)
    assert hub.closed == [(visitor, connection)]


async def test_a_channel_without_the_panel_reports_no_pages(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    hub.channels["pk_shop"] = replace(
        CHANNEL, settings={**CHANNEL.settings, "visitor_panel": False}
    )
    socket = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), socket))
    await socket.wait_for("hello")
    await socket.incoming.put('{"type":"page","url":"https://shop.example.com/","title":"首页"}')
    await socket.incoming.put('{"type":"ping"}')
    await socket.wait_for("pong")
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)
    assert hub.pages == []


async def test_an_agent_s_invitation_is_shown_and_its_answer_recorded(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    socket = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), socket))
    visitor = (await socket.wait_for("hello"))["visitor_id"]
    topic = visitor_topic(CHANNEL.id, visitor)
    invite = {"invitation_id": "inv_1", "text": "需要帮忙吗？", "agent_id": 3, "agent_name": "李娜"}
    await hub.queues[topic].put(HubEvent("invite", invite))
    shown = await socket.wait_for("invite")
    assert shown == {
        "type": "invite",
        "invitation_id": "inv_1",
        "text": "需要帮忙吗？",
        "agent_name": "李娜",
    }
    # an answer to an invitation this page never showed changes nothing
    await socket.incoming.put('{"type":"invite_reply","invitation_id":"inv_9","accepted":true}')
    assert "no such invitation" in (await socket.wait_for("error"))["reason"]
    await socket.incoming.put('{"type":"invite_reply","invitation_id":"inv_1","accepted":true}')
    await socket.incoming.put('{"type":"ping"}')
    await socket.wait_for("pong")
    assert hub.invitations == [("inv_1", "sent"), ("inv_1", "accepted")]
    # a second invitation left unanswered when the page closes is recorded as ignored
    await hub.queues[topic].put(HubEvent("invite", {**invite, "invitation_id": "inv_2"}))
    for _ in range(100):
        if ("inv_2", "sent") in hub.invitations:
            break
        await asyncio.sleep(0.01)
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)
    for _ in range(100):  # recorded by a task of its own, beyond the closing handler
        if hub.invitations[-1] == ("inv_2", "ignored"):
            break
        await asyncio.sleep(0.01)
    assert hub.invitations[-2:] == [("inv_2", "sent"), ("inv_2", "ignored")]


async def test_the_hello_says_when_the_service_is_closed_in_the_widgets_language(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    hub.open = False
    socket = FakeSocket()
    task = asyncio.create_task(
        transport.socket(request(method="GET", query={"lang": "zh-CN"}), socket)
    )
    hello = await socket.wait_for("hello")
    assert hello["service"] == {
        "open": False,
        "next_opening": None,
        "closed_text": "closed (zh-CN)",
    }
    assert hello["rating_request"] is None
    # the visitor's messages keep the language, for the hub's automatic answers
    await socket.incoming.put('{"type":"message","client_id":"c1234567","text":"在吗？"}')
    await socket.wait_for("ack")
    assert hub.accepted[-1].data["language"] == "zh-CN"
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)
    # without a lang, the browser's first language
    await transport.http_session(request(headers={"Accept-Language": "en-GB,en;q=0.8"}))
    assert hub.services[-1] == (None, "en-GB")


async def test_a_visitor_rates_the_conversation_that_asked_and_only_once(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    hub.messages = {11: reply(11)}
    hub.awaiting = {1}
    token = json.loads((await transport.http_session(request())).body)["visitor_token"]
    socket = FakeSocket()
    task = asyncio.create_task(
        transport.socket(request(method="GET", query={"token": token}), socket)
    )
    hello = await socket.wait_for("hello")
    # the history names conversation 1, which waits for a rating
    assert hello["rating_request"] == {"conversation_id": 1, "text": "Rate us"}
    visitor = hello["visitor_id"]
    for wrong in ('{"type":"rating","score":6}', '{"type":"rating","score":0}'):
        await socket.incoming.put(wrong)
        assert "score" in (await socket.wait_for("error"))["reason"]
        socket.sent.clear()
    assert hub.ratings == []
    await socket.incoming.put('{"type":"rating","score":4,"comment":"快，谢谢"}')
    assert await socket.wait_for("rated") == {"type": "rated", "conversation_id": 1, "score": 4}
    assert hub.ratings == [(visitor, 1, 4, "快，谢谢")]
    await socket.incoming.put('{"type":"rating","score":5}')
    assert "asked for no rating" in (await socket.wait_for("error"))["reason"]
    # the server asks on a page that is open when the agent resolves
    topic = visitor_topic(CHANNEL.id, visitor)
    await hub.queues[topic].put(HubEvent("rating_request", {"conversation_id": 2, "text": "评分"}))
    asked = await socket.wait_for("rating_request")
    assert asked == {"type": "rating_request", "conversation_id": 2, "text": "评分"}
    socket.sent.clear()
    await hub.queues[topic].put(HubEvent("rated", {"conversation_id": 2}))
    assert await socket.wait_for("rated") == {"type": "rated", "conversation_id": 2}
    await hub.queues[topic].put(None)
    await asyncio.wait_for(task, 2)


async def test_a_waiting_visitor_is_told_their_place_each_time_their_queue_moves(
    hub: FakeHubAccess, transport: VisitorTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "QUEUE_SETTLE_S", 0)
    socket = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), socket))
    hello = await socket.wait_for("hello")
    assert hello["queue"] is None
    visitor = hello["visitor_id"]
    agents = hub.queues[AGENTS_TOPIC]

    async def told(count: int) -> list[tuple[int | None, int | None]]:
        for _ in range(100):
            frames = [f for f in socket.sent if f["type"] == "queue"]
            if len(frames) >= count:
                break
            await asyncio.sleep(0.01)
        return [(f["position"], f["estimated_wait_s"]) for f in frames]

    # the visitor's first message opens a conversation of team 1 that waits behind two others
    hub.places[visitor] = QueuePlace(5, 1, 3, 360)
    await socket.incoming.put('{"type":"message","client_id":"c1234567","text":"在吗？"}')
    assert await told(1) == [(3, 360)]
    assert socket.sent[-1] == {"type": "queue", "position": 3, "estimated_wait_s": 360}
    # neither an event about no conversation nor a change in another team reads it again
    reads = hub.place_reads
    await agents.put(HubEvent("visitor.typing", {"on": True}))
    await agents.put(HubEvent("conversation.updated", {"id": 8, "team_id": 2}))
    # the first ahead is taken: the place moves
    hub.places[visitor] = QueuePlace(5, 1, 2, 240)
    await agents.put(HubEvent("conversation.updated", {"id": 3, "team_id": 1}))
    assert await told(2) == [(3, 360), (2, 240)]
    assert hub.place_reads == reads + 1
    # the next ahead is transferred to another team: its change names that team only
    hub.places[visitor] = QueuePlace(5, 1, 1, 120)
    await agents.put(HubEvent("conversation.updated", {"id": 4, "team_id": 2}))
    await agents.put(
        HubEvent("conversation.transferred", {"conversation_id": 4, "from_team_id": 1})
    )
    assert await told(3) == [(3, 360), (2, 240), (1, 120)]
    # an unchanged place is not told again; the visitor's own taken leaves the queue
    await agents.put(HubEvent("conversation.updated", {"id": 9, "team_id": 1}))
    del hub.places[visitor]
    await agents.put(HubEvent("conversation.updated", {"id": 5, "team_id": 1}))
    assert await told(4) == [(3, 360), (2, 240), (1, 120), (None, None)]
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)


async def test_a_returning_visitor_who_waits_is_told_at_the_hello(
    hub: FakeHubAccess, transport: VisitorTransport
) -> None:
    first = FakeSocket()
    task = asyncio.create_task(transport.socket(request(method="GET"), first))
    hello = await first.wait_for("hello")
    await first.incoming.put(None)
    await asyncio.wait_for(task, 2)
    hub.messages = {11: reply(11)}
    hub.places[hello["visitor_id"]] = QueuePlace(1, 1, 3, None)
    again = FakeSocket()
    query = {"token": hello["visitor_token"]}
    task = asyncio.create_task(transport.socket(request(method="GET", query=query), again))
    assert (await again.wait_for("hello"))["queue"] == {"position": 3, "estimated_wait_s": None}
    await again.incoming.put(None)
    await asyncio.wait_for(task, 2)
