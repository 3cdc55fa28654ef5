"""The WeChat and WeCom connectors against a local fake API: real aiohttp client, real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.wechat import WeChatConnector
from connectors.wecom_kf import WeComKfConnector, sync
from hub.domain.channels import ChannelState, PollContext, Wake, WebhookRequest
from hub.domain.errors import PermanentSendError, TransientSendError
from hub.domain.model import AttachmentRef, Inbound, MessageKind, Outbound, StatusUpdate
from hub.domain.records import Channel
from tests.fakes.memory import FakeBlobStorage, FakeChannelState, fake_send_context
from tests.fakes.wechat_api import CORP_ID, KF_SECRET, OA_APP_ID, OA_SECRET, FakeWeChatApi
from tests.unit.connectors.wechat_support import AES_KEY, TOKEN, channel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"
SEND = "/cgi-bin/message/custom/send"
KF_SEND = "/cgi-bin/kf/send_msg"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeWeChatApi, str]]:
    api = FakeWeChatApi()
    async with api.running() as base_url:
        yield api, base_url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def out(kind: MessageKind = MessageKind.TEXT, text: str = "您好", **extra: Any) -> Outbound:
    return Outbound(
        message_id=7, conversation_id=3, recipient_id="oCustomer1", kind=kind, text=text, **extra
    )


def oa(base_url: str) -> Channel:
    return channel(
        "wechat",
        {"app_id": OA_APP_ID, "app_secret": OA_SECRET, "token": TOKEN, "api_base_url": base_url},
    )


# -- Official Account ----------------------------------------------------------------------


async def test_text_send_fetches_the_token_once_and_caches_it(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    connector, ctx = WeChatConnector(http), fake_send_context()
    await connector.send(oa(base), out(text="第一条"), ctx)
    await connector.send(oa(base), out(text="第二条"), ctx)
    assert api.token_requests == 1
    assert [body for _, body in api.calls] == [
        {"touser": "oCustomer1", "msgtype": "text", "text": {"content": "第一条"}},
        {"touser": "oCustomer1", "msgtype": "text", "text": {"content": "第二条"}},
    ]
    # Another process (another connector) sharing the state reuses the same token.
    await WeChatConnector(http).send(oa(base), out(), ctx)
    assert api.token_requests == 1


async def test_stale_token_is_refreshed_once_on_40001(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    connector, ctx = WeChatConnector(http), fake_send_context()
    await connector.send(oa(base), out(), ctx)
    api.revoke_tokens()
    await connector.send(oa(base), out(), ctx)
    assert api.token_requests == 2
    assert len(api.calls) == 2


@pytest.mark.parametrize(("errcode", "words"), [(45015, "48 hours"), (45047, "at most 5 replies")])
async def test_window_errors_are_permanent_with_a_reason(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession, errcode: int, words: str
) -> None:
    api, base = fake
    api.fail_next[SEND].append(errcode)
    with pytest.raises(PermanentSendError) as caught:
        await WeChatConnector(http).send(oa(base), out(), fake_send_context())
    assert caught.value.code == f"wechat.{errcode}"
    assert words in caught.value.reason
    # the agent reads it in Chinese too
    assert "请等待客户再次发消息" in caught.value.texts["zh-CN"]


async def test_system_busy_is_transient(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.fail_next[SEND].append(-1)
    with pytest.raises(TransientSendError):
        await WeChatConnector(http).send(oa(base), out(), fake_send_context())


async def test_network_error_is_transient(http: aiohttp.ClientSession) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(TransientSendError) as caught:
        await WeChatConnector(http).send(oa(closed), out(), fake_send_context())
    assert "access_token" not in str(caught.value)


async def test_wrong_secret_is_permanent(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    _, base = fake
    ch = channel("wechat", oa(base).settings | {"app_secret": "wrong"})
    with pytest.raises(PermanentSendError) as caught:
        await WeChatConnector(http).send(ch, out(), fake_send_context())
    assert caught.value.code == "wechat.40125"


async def test_image_is_uploaded_then_sent_with_caption(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    blobs = FakeBlobStorage()
    key = await blobs.put(b"\x89PNG fake", filename="a.png", content_type="image/png")
    ctx = fake_send_context(blobs=blobs)
    image = AttachmentRef(
        kind=MessageKind.IMAGE, filename="a.png", content_type="image/png", storage_key=key
    )
    message = out(MessageKind.IMAGE, "看图", attachments=(image,))
    await WeChatConnector(http).send(oa(base), message, ctx)
    (upload,) = api.uploads
    assert (upload.media_type, upload.filename, upload.data) == ("image", "a.png", b"\x89PNG fake")
    media_id = next(iter(api.media))
    assert [body["msgtype"] for _, body in api.calls] == ["image", "text"]
    assert api.calls[0][1]["image"] == {"media_id": media_id}
    # A retried delivery reuses the uploaded media instead of uploading again.
    await WeChatConnector(http).send(oa(base), message, ctx)
    assert len(api.uploads) == 1


async def test_link_goes_out_as_a_one_article_news(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    data = {"url": "https://example.com/o/1", "title": "订单", "description": "详情"}
    await WeChatConnector(http).send(
        oa(base), out(MessageKind.LINK, "", data=data), fake_send_context()
    )
    ((_, body),) = api.calls
    assert body["msgtype"] == "news"
    assert body["news"]["articles"] == [
        {"title": "订单", "description": "详情", "url": "https://example.com/o/1", "picurl": ""}
    ]


async def test_files_cannot_be_sent_by_an_official_account(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    _, base = fake
    pdf = AttachmentRef(kind=MessageKind.FILE, content_type="application/pdf", storage_key="k")
    with pytest.raises(PermanentSendError, match="cannot send files"):
        await WeChatConnector(http).send(
            oa(base), out(MessageKind.FILE, "", attachments=(pdf,)), fake_send_context()
        )


async def test_fetch_media_downloads_the_file(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.media["media_1"] = (b"JPEGDATA", "image/jpeg", "media_1.jpg")
    ref = AttachmentRef(kind=MessageKind.IMAGE, provider_ref="media_1", content_type="image/jpeg")
    media = await WeChatConnector(http).fetch_media(oa(base), ref, fake_send_context())
    assert (media.data, media.content_type, media.filename) == (
        b"JPEGDATA",
        "image/jpeg",
        "media_1.jpg",
    )


async def test_fetch_expired_media_is_permanent(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    _, base = fake
    ref = AttachmentRef(kind=MessageKind.IMAGE, provider_ref="gone")
    with pytest.raises(PermanentSendError) as caught:
        await WeChatConnector(http).fetch_media(oa(base), ref, fake_send_context())
    assert caught.value.code.endswith(".40007")


# -- WeCom 微信客服 -------------------------------------------------------------------------


def kf(base_url: str) -> Channel:
    return channel(
        "wecom_kf",
        {
            "corp_id": CORP_ID,
            "secret": KF_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "open_kfid": "wkKefuHubAccount01",
            "api_base_url": base_url,
        },
    )


def kf_callback(sync_token: str = "SYNC1") -> WebhookRequest:  # noqa: S107 - not a secret
    plain = (
        (FIXTURES / "wecom-kf-callback.xml")
        .read_text()
        .replace("ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", sync_token)
    )
    reply = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(plain, "n1", "1"))
    query = {"msg_signature": reply["xml"]["MsgSignature"], "timestamp": "1", "nonce": "n1"}
    body = (
        f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt>{reply['xml']['Encrypt']}</Encrypt></xml>"
    )
    return WebhookRequest("POST", "https://hub/hooks/1/callback", query, {}, body.encode())


def kf_messages() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / "wecom-kf-sync-messages.json").read_text())
    return data


class Pulls:
    """Runs the kf poller as the hub would, with what it stores and the wakes it hears."""

    def __init__(self, connector: WeComKfConnector, channel: Channel, state: ChannelState) -> None:
        self.accepted: list[Inbound] = []
        self.statuses: list[StatusUpdate] = []
        self.wakes: asyncio.Queue[str] = asyncio.Queue()
        self.refuse_accepts = 0
        self._poller = connector.pollers(channel)[0]
        self._channel = channel
        self._ctx = PollContext(
            state=state,
            blobs=FakeBlobStorage(),
            accept=self._accept,
            apply_statuses=self._apply,
            woken=self._woken,
        )
        self.task: asyncio.Task[None] | None = None

    async def _accept(self, items: Sequence[Inbound]) -> None:
        if self.refuse_accepts:
            self.refuse_accepts -= 1
            raise RuntimeError("the database is gone")
        self.accepted.extend(items)

    async def _apply(self, updates: Sequence[StatusUpdate]) -> None:
        self.statuses.extend(updates)

    async def _woken(self, timeout_s: float) -> list[str]:
        with contextlib.suppress(TimeoutError):
            first = await asyncio.wait_for(self.wakes.get(), min(timeout_s, 30))
            hints = [first]
            while not self.wakes.empty():
                hints.append(self.wakes.get_nowait())
            return hints
        return []

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self._poller.run(self._channel, self._ctx))
        return self.task

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def until(self, what: str, check: Callable[[], bool]) -> None:
        for _ in range(500):
            if check():
                return
            if self.task is not None and self.task.done():
                break
            await asyncio.sleep(0.01)
        raise AssertionError(f"the poller did not get there: {what}")

    def ids(self) -> list[str]:
        return [i.provider_event_id for i in self.accepted]


async def test_a_callback_is_answered_with_a_wake_and_pulls_nothing_itself(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.kf_messages = kf_messages()

    result = await WeComKfConnector(http).handle_webhook(kf(base), "callback", kf_callback())

    assert result.response.status == 200
    assert result.inbound == ()
    assert result.wake == (Wake("kf_sync", "SYNC1"),)
    assert api.sync_bodies == []


async def test_the_poller_reads_every_page_at_once_then_on_each_wake_with_its_token(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.kf_messages, api.kf_page_size = kf_messages(), 5
    state = FakeChannelState()
    pulls = Pulls(WeComKfConnector(http), kf(base), state)
    pulls.start()
    try:
        expected = [m["msgid"] for m in api.kf_messages]
        await pulls.until("every page stored", lambda: pulls.ids() == expected)
        assert [s.provider_message_id for s in pulls.statuses] == ["kfmsg-99"]
        assert len(api.sync_bodies) == 3
        assert "token" not in api.sync_bodies[0]  # no callback yet: a read of its own
        await pulls.until(
            "cursor saved",
            lambda: state.values.get("kf_cursor:wkKefuHubAccount01", ("",))[0] == "14",
        )

        # A wake starts from the saved cursor, finds only what is new, with the callback's token.
        api.kf_messages.append({**api.kf_messages[0], "msgid": "kf-text-2"})
        pulls.wakes.put_nowait("SYNC2")
        await pulls.until("the new message", lambda: pulls.ids()[-1:] == ["kf-text-2"])
        assert api.sync_bodies[-1]["token"] == "SYNC2"
        assert api.sync_bodies[-1]["cursor"] == "14"
        assert pulls.ids().count("kf-text-1") == 1
    finally:
        await pulls.stop()


async def test_the_cursor_moves_only_after_the_hub_stored_the_page(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.kf_messages = kf_messages()[:3]
    state = FakeChannelState()
    connector = WeComKfConnector(http)
    failing = Pulls(connector, kf(base), state)
    failing.refuse_accepts = 1
    task = failing.start()
    with pytest.raises(RuntimeError, match="database"):
        await asyncio.wait_for(task, 10)
    assert await state.get("kf_cursor:wkKefuHubAccount01") is None

    # The hub starts the poller again: it pulls the same messages from the same place.
    again = Pulls(connector, kf(base), state)
    again.start()
    try:
        await again.until(
            "stored", lambda: again.ids() == ["kf-text-1", "kf-image-1", "kf-voice-1"]
        )
        assert api.sync_bodies[0].get("cursor") == api.sync_bodies[1].get("cursor")
    finally:
        await again.stop()


async def test_an_outage_longer_than_wecom_keeps_messages_is_reported(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    api.kf_messages = kf_messages()[:1]
    state = FakeChannelState()
    four_days_ago = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    await state.set("kf_last_sync:wkKefuHubAccount01", four_days_ago)
    pulls = Pulls(WeComKfConnector(http), kf(base), state)
    pulls.start()
    try:
        await pulls.until("the notice", lambda: len(pulls.accepted) == 2)
        notice = pulls.accepted[-1]
        assert notice.data["event"] == "sync_gap"
        assert notice.data["since"] == four_days_ago
        assert "3 天" in notice.text
        assert "lost" in notice.text
        assert await state.get("kf_last_sync:wkKefuHubAccount01") != four_days_ago

        api.kf_messages.append({**api.kf_messages[0], "msgid": "kf-after-outage"})
        pulls.wakes.put_nowait("SYNC2")
        await pulls.until("the next message", lambda: pulls.ids()[-1] == "kf-after-outage")
        assert [i.data.get("event") for i in pulls.accepted].count("sync_gap") == 1
    finally:
        await pulls.stop()


async def test_an_expired_token_is_dropped_and_a_failed_read_is_tried_again(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "BACKOFF_S", (0.05,))
    api, base = fake
    pulls = Pulls(WeComKfConnector(http), kf(base), FakeChannelState())
    pulls.start()
    try:
        await pulls.until("the first read", lambda: len(api.sync_bodies) == 1)
        api.kf_messages = kf_messages()[:1]
        api.fail_next["/cgi-bin/kf/sync_msg"].append(95007)
        pulls.wakes.put_nowait("EXPIRED")
        await pulls.until("read without the token", lambda: pulls.ids() == ["kf-text-1"])
        assert api.sync_bodies[-2]["token"] == "EXPIRED"
        assert "token" not in api.sync_bodies[-1]

        api.kf_messages.append({**api.kf_messages[0], "msgid": "kf-after-busy"})
        api.fail_next["/cgi-bin/kf/sync_msg"].append(-1)  # WeCom busy: read again shortly
        pulls.wakes.put_nowait("")
        await pulls.until("read again", lambda: pulls.ids()[-1] == "kf-after-busy")
    finally:
        await pulls.stop()


async def test_kf_send_text_with_token_refresh(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    state: ChannelState = FakeChannelState()
    ctx = fake_send_context(state=state)  # type: ignore[arg-type]
    connector = WeComKfConnector(http)
    receipt = await connector.send(kf(base), out(text="您好"), ctx)
    api.revoke_tokens()
    await connector.send(kf(base), out(text="再见"), ctx)
    assert receipt.provider_message_id is not None
    assert api.token_requests == 2
    assert api.calls[0] == (
        KF_SEND,
        {
            "touser": "oCustomer1",
            "open_kfid": "wkKefuHubAccount01",
            "msgtype": "text",
            "text": {"content": "您好"},
        },
    )


async def test_kf_file_is_uploaded_then_sent(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    blobs = FakeBlobStorage()
    key = await blobs.put(b"%PDF", filename="r.pdf", content_type="application/pdf")
    pdf = AttachmentRef(
        kind=MessageKind.FILE, filename="r.pdf", content_type="application/pdf", storage_key=key
    )
    await WeComKfConnector(http).send(
        kf(base), out(MessageKind.FILE, "", attachments=(pdf,)), fake_send_context(blobs=blobs)
    )
    assert api.uploads[0].media_type == "file"
    assert api.calls[0][1]["file"] == {"media_id": next(iter(api.media))}


@pytest.mark.parametrize("errcode", [95001, 95002])
async def test_kf_limits_are_permanent(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession, errcode: int
) -> None:
    api, base = fake
    api.fail_next[KF_SEND].append(errcode)
    with pytest.raises(PermanentSendError) as caught:
        await WeComKfConnector(http).send(kf(base), out(), fake_send_context())
    assert caught.value.code == f"wecom_kf.{errcode}"
    assert "wait for the customer" in caught.value.reason
    assert "企业微信" in caught.value.texts["zh-CN"]


async def test_kf_link_without_thumbnail_degrades_to_text(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    data = {"url": "https://example.com/o/1", "title": "订单"}
    await WeComKfConnector(http).send(
        kf(base), out(MessageKind.LINK, "", data=data), fake_send_context()
    )
    assert api.calls[0][1]["text"] == {"content": "订单\nhttps://example.com/o/1"}


async def test_welcome_and_end_session(
    fake: tuple[FakeWeChatApi, str], http: aiohttp.ClientSession
) -> None:
    api, base = fake
    connector, ctx = WeComKfConnector(http), fake_send_context()
    receipt = await connector.send_welcome(kf(base), "WELCOMECODE", "欢迎咨询", ctx)
    await connector.end_session(kf(base), "wmCustomer01", ctx)
    assert receipt.provider_message_id
    assert api.calls == [
        (
            "/cgi-bin/kf/send_msg_on_event",
            {"code": "WELCOMECODE", "msgtype": "text", "text": {"content": "欢迎咨询"}},
        ),
        (
            "/cgi-bin/kf/service_state/trans",
            {
                "open_kfid": "wkKefuHubAccount01",
                "external_userid": "wmCustomer01",
                "service_state": 4,
            },
        ),
    ]
