"""Pulling 微信客服 messages with ``kf/sync_msg``: one reader per account, woken by callbacks.

A WeCom callback (``kf_msg_or_event``) carries no message, only "there is something new" and a
``Token`` that lifts sync_msg's strict rate limit for 10 minutes. So the callback is answered
at once with a wake, and this poller, which the hub runs in exactly one process per channel,
pulls from the cursor: callbacks that arrive during a pull share the next one, and two
processes never pull the same account at once.

Nothing is lost on the way: WeCom keeps messages for 3 days, and the cursor is saved only after
the hub has committed what a page held, so a crash in between pulls the page again (each
message's ``msgid`` is its provider event id: nothing is stored twice). A lost wake only
delays a message until the poller's own read, every ``READ_EVERY_S``.

https://developer.work.weixin.qq.com/document/path/94670
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.wechat.errors import ApiError
from connectors.wecom_kf.kind import KF_PRODUCT
from connectors.wecom_kf.parse import parse_kf_message, status_from_kf_message
from hub.domain.channels import PollContext
from hub.domain.errors import HubError
from hub.domain.model import Inbound, MessageKind, StatusUpdate
from hub.domain.records import Channel
from hub.domain.texts import text

if TYPE_CHECKING:
    from connectors.wecom_kf.connector import WeComKfConnector

log = logging.getLogger(__name__)

POLLER = "kf_sync"
#: How often the poller reads without a wake (a wake lost, a callback URL not set up yet).
READ_EVERY_S = 60.0
#: A callback's Token is valid 10 minutes; it is used for 9, then reads go without one.
TOKEN_FOR_S = 9 * 60.0
#: WeCom's errcode for a Token that is invalid or expired: read again without it.
TOKEN_INVALID = 95007
#: Waits after a failed read, growing to the last one.
BACKOFF_S = (1.0, 5.0, 30.0, 120.0)
#: how long WeCom keeps messages for sync_msg
SYNC_RETENTION = timedelta(days=3)
#: The time of the last read is written again only when older than this: the gap it reveals
#: is days long.
LAST_SYNC_EVERY = timedelta(minutes=1)


def cursor_key(open_kfid: str) -> str:
    return f"kf_cursor:{open_kfid}"


def last_sync_key(open_kfid: str) -> str:
    return f"kf_last_sync:{open_kfid}"


class KfSyncPoller:
    name = POLLER

    def __init__(self, connector: WeComKfConnector) -> None:
        self._connector = connector

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        open_kfid = str(channel.settings["open_kfid"])
        reader = _Reader(self._connector, channel, ctx, open_kfid)
        await reader.start()
        failures = 0
        hints: list[str] = []
        while True:
            reader.heard(hints)
            try:
                await reader.read()
                failures = 0
            except (ApiError, HubError) as exc:
                wait_s = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                refused = KF_PRODUCT.refused(exc) if isinstance(exc, ApiError) else exc
                reason = str(refused)
                said = getattr(refused, "texts", None) or text(reason, reason)
                await ctx.report(
                    text(
                        f"Pulling messages from WeCom failed: {said['en']}",
                        f"从企业微信拉取消息失败：{said.get('zh-CN', said['en'])}",
                    )
                )
                log.warning(
                    "kf sync_msg failed; reading again later",
                    extra={"channel_id": channel.id, "error": reason, "retry_in_s": wait_s},
                )
                await asyncio.sleep(wait_s)
                hints = await ctx.woken(0)
                continue
            await ctx.report(None)
            hints = await ctx.woken(READ_EVERY_S)


class _Reader:
    """The cursor, the newest Token and the time of the last read of one account."""

    def __init__(
        self, connector: WeComKfConnector, channel: Channel, ctx: PollContext, open_kfid: str
    ) -> None:
        self._api = connector.api(channel, ctx.state)
        self._channel = channel
        self._ctx = ctx
        self._open_kfid = open_kfid
        self._cursor = ""
        self._token = ""
        self._token_at = 0.0
        self._last_sync: datetime | None = None
        self._last_written: datetime | None = None
        #: the newest cursor whose pages are stored, and the task saving it
        self._saved = ""
        self._saving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        state = self._ctx.state
        self._cursor = self._saved = await state.get(cursor_key(self._open_kfid)) or ""
        previous = await state.get(last_sync_key(self._open_kfid))
        self._last_sync = self._last_written = (
            datetime.fromisoformat(previous) if previous else None
        )

    def heard(self, hints: list[str]) -> None:
        tokens = [hint for hint in hints if hint]
        if tokens:
            self._token, self._token_at = tokens[-1], time.monotonic()

    async def read(self) -> None:
        """Pull every page since the cursor, storing each before the cursor moves past it."""
        count = 0
        while True:
            page = await self._page()
            inbound: list[Inbound] = []
            statuses: list[StatusUpdate] = []
            for raw in page.get("msg_list") or ():
                if not isinstance(raw, Mapping):
                    continue
                item = _parse_safely(raw)
                if item is not None:
                    inbound.append(item)
                status = status_from_kf_message(raw)
                if status is not None:
                    statuses.append(status)
            if inbound:
                await self._ctx.accept(inbound)
            if statuses:
                await self._ctx.apply_statuses(statuses)
            count += len(inbound)
            self._cursor = str(page.get("next_cursor") or self._cursor)
            self._save_cursor()
            if not page.get("has_more"):
                break
        await self._mark_read()
        if count:
            log.info("kf messages pulled", extra={"channel_id": self._channel.id, "count": count})

    def _save_cursor(self) -> None:
        """Save the cursor beside the next pull, not before it: this process is the only
        reader, so it keeps its cursor itself, and a cursor saved late (or lost with the
        process) only makes the next reader pull stored pages again, which stores nothing
        twice. What must never happen, saving it before its pages are stored, cannot: it is
        set only after ``accept`` returned."""
        if self._saving is None or self._saving.done():
            self._saving = asyncio.create_task(self._save_latest())

    async def _save_latest(self) -> None:
        while self._saved != self._cursor:
            cursor = self._cursor
            try:
                await self._ctx.state.set(cursor_key(self._open_kfid), cursor)
            except Exception:
                # The next page saves it again; until then a restart pulls a little more.
                log.warning("kf cursor not saved", extra={"channel_id": self._channel.id})
                return
            self._saved = cursor

    async def _page(self) -> dict[str, Any]:
        body: dict[str, Any] = {"limit": 1000, "open_kfid": self._open_kfid}
        if self._cursor:
            body["cursor"] = self._cursor
        if self._token and time.monotonic() - self._token_at < TOKEN_FOR_S:
            body["token"] = self._token
        try:
            return await self._api.call("POST", "cgi-bin/kf/sync_msg", body=body)
        except ApiError as exc:
            if exc.errcode != TOKEN_INVALID or "token" not in body:
                raise
            self._token = ""
            del body["token"]
            return await self._api.call("POST", "cgi-bin/kf/sync_msg", body=body)

    async def _mark_read(self) -> None:
        """Note the time of this read, and tell the agents if reads stopped for longer than
        WeCom keeps messages: the oldest are gone at WeCom's end, and agents must hear of it
        rather than find a silent hole in the history."""
        now = datetime.now(UTC)
        previous, self._last_sync = self._last_sync, now
        if previous is not None and now - previous > SYNC_RETENTION:
            log.warning(
                "kf sync gap longer than WeCom keeps messages",
                extra={"channel_id": self._channel.id, "since": previous.isoformat()},
            )
            await self._ctx.accept([_gap_notice(self._open_kfid, previous, now)])
        if self._last_written is None or now - self._last_written > LAST_SYNC_EVERY:
            await self._ctx.state.set(last_sync_key(self._open_kfid), now.isoformat())
            self._last_written = now


def _gap_notice(open_kfid: str, since: datetime, until: datetime) -> Inbound:
    previous = since.isoformat()
    return Inbound(
        provider_event_id=f"sync_gap:{open_kfid}:{previous}",
        sender_id=f"kf:{open_kfid}",
        sender_name="微信客服通知 WeCom notice",
        kind=MessageKind.EVENT,
        text=(
            f"No messages were pulled from WeCom between {previous[:16]} and "
            f"{until.isoformat()[:16]} (UTC). WeCom keeps messages for 3 days, so customers' "
            "messages from before the last 3 days of that gap are lost. "
            "消息同步中断超过 3 天，企业微信只保留 3 天内的消息，更早的客户消息已无法取回。"
        ),
        data={"event": "sync_gap", "since": previous, "until": until.isoformat()},
    )


def _parse_safely(raw: Mapping[str, Any]) -> Inbound | None:
    """One odd message must not lose the page: it is kept raw as an event instead."""
    try:
        return parse_kf_message(raw)
    except (ValueError, TypeError, KeyError) as exc:
        msgid = raw.get("msgid")
        log.warning("kf message kept raw", extra={"error": type(exc).__name__})
        if not isinstance(msgid, str) or not msgid:
            return None
        sender = str(raw.get("external_userid") or f"kf:{raw.get('open_kfid', 'unknown')}")
        return Inbound(
            provider_event_id=msgid[:255],
            sender_id=sender,
            kind=MessageKind.EVENT,
            text="Unreadable WeChat Customer Service message",
            provider_message_id=msgid,
            data={"event": "unknown_message", "raw": dict(raw)},
        )
