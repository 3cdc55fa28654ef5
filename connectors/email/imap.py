"""Reading a support mailbox over IMAP: every new mail once, across restarts and renumbering.

The hub runs this poller in exactly one process per channel (a lease), so one session reads the
folder. It keeps its place as the folder's UIDVALIDITY and the last UID read, saved only after
what a batch held is stored: a crash in between reads the batch again, and each mail's
Message-ID (its provider event id) keeps it from being stored twice. When the server renumbers
the folder (a new UIDVALIDITY), the stored UID means nothing: the folder is read again from the
day before the last read, and the Message-IDs sort out what was already there.

The mailbox is only read: nothing is marked read (``BODY.PEEK``), moved or deleted, so the
business's own mail client sees it as before. A new channel starts with the mail of the last
``FIRST_READ`` days rather than years of history. With IDLE the server announces new mail at
once; without it, the folder is read every ``READ_EVERY_S``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from connectors.email.imap_client import Folder, Mailbox, MailboxError, open_mailbox
from connectors.email.keep import keep_mail
from connectors.email.mail import MAX_MAIL_BYTES, too_large_notice
from connectors.email.parse import MalformedMail, ParsedMail, parse_mail
from hub.domain.channels import PollContext
from hub.domain.model import Inbound
from hub.domain.records import Channel
from hub.domain.texts import Text, text

log = logging.getLogger(__name__)

POLLER = "imap"
#: how often a folder is read when the server has no IDLE
READ_EVERY_S = 60.0
#: an IDLE is ended and the folder read this often even without news (RFC 2177 asks for less
#: than 29 minutes; a connection silently cut shows up sooner this way)
IDLE_FOR_S = 300.0
#: how far back a new channel's first read goes
FIRST_READ = timedelta(days=7)
#: mails read and stored together, before the place in the folder is saved
BATCH = 25
#: waits after a failed session, growing to the last one
BACKOFF_S = (5.0, 30.0, 120.0, 600.0)


def position_key(folder: str) -> str:
    return f"imap_position:{folder}"


@dataclass(frozen=True)
class Position:
    """Where the reader is in a folder: saved as ``uidvalidity:last_uid:date``."""

    uid_validity: int
    last_uid: int
    #: the day of the last read, from which to read again when the folder is renumbered
    read_on: date

    def encode(self) -> str:
        return f"{self.uid_validity}:{self.last_uid}:{self.read_on.isoformat()}"

    @classmethod
    def decode(cls, value: str | None) -> Position | None:
        try:
            validity, last, day = (value or "").split(":")
            return cls(int(validity), int(last), date.fromisoformat(day))
        except ValueError:
            return None


class ImapPoller:
    name = POLLER

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        failures = 0
        while True:
            reader = _Reader(channel, ctx)
            try:
                async with open_mailbox(
                    channel.settings, allow_private=self._allow_private
                ) as mailbox:
                    await reader.follow(mailbox)
            except MailboxError as exc:
                await ctx.report(_problem(exc))
                # a refused login will not heal by itself soon: wait the longest at once
                step = len(BACKOFF_S) - 1 if exc.login_refused else failures
                wait_s = BACKOFF_S[min(step, len(BACKOFF_S) - 1)]
                failures = 0 if reader.read_any else failures + 1
                log.warning(
                    "imap: mailbox not readable now; trying again later",
                    extra={"channel_id": channel.id, "error": str(exc), "retry_in_s": wait_s},
                )
                await asyncio.sleep(wait_s)


class _Reader:
    def __init__(self, channel: Channel, ctx: PollContext) -> None:
        self._channel = channel
        self._ctx = ctx
        self._folder_name = str(channel.settings.get("imap_folder") or "INBOX")
        #: a read completed in this session: the backoff starts over
        self.read_any = False

    async def follow(self, mailbox: Mailbox) -> None:
        """Read what is new, then wait for news, until cancelled or the session fails."""
        while True:
            await self.read_new(mailbox)
            self.read_any = True
            await self._ctx.report(None)
            if mailbox.can_idle:
                await mailbox.wait_for_news(IDLE_FOR_S)
            else:
                await self._ctx.woken(READ_EVERY_S)

    async def read_new(self, mailbox: Mailbox) -> None:
        folder = mailbox.folder
        today = datetime.now(UTC).date()
        position = Position.decode(await self._ctx.state.get(position_key(self._folder_name)))
        if position is None:
            uids = await mailbox.uids_since(today - FIRST_READ)
        elif position.uid_validity != folder.uid_validity:
            log.warning(
                "imap: the folder was renumbered; reading it again from the last read",
                extra={
                    "channel_id": self._channel.id,
                    "uid_validity": folder.uid_validity,
                    "was": position.uid_validity,
                },
            )
            uids = await mailbox.uids_since(position.read_on - timedelta(days=1))
        else:
            uids = await mailbox.uids_from(position.last_uid + 1)
        saved = position
        last = saved.last_uid if saved is not None and _same(saved, folder) else 0
        batches = [uids[start : start + BATCH] for start in range(0, len(uids), BATCH)]
        # the next batch is fetched while this one is stored: the server and the hub's storage
        # work at the same time
        coming = asyncio.ensure_future(_fetch(mailbox, batches[0])) if batches else None
        try:
            for number, batch in enumerate(batches):
                assert coming is not None
                fetched = await coming
                coming = (
                    asyncio.ensure_future(_fetch(mailbox, batches[number + 1]))
                    if number + 1 < len(batches)
                    else None
                )
                await self._keep(fetched)
                last = max(last, *batch)
                saved = await self._save(Position(folder.uid_validity, last, today))
        finally:
            if coming is not None and not coming.done():
                coming.cancel()
        # every UID below UIDNEXT existed when the folder was opened: read above, or older
        # than the first read (or than a renumbered folder's last read), never to be read
        settled = Position(folder.uid_validity, max(last, folder.uid_next - 1), today)
        if settled != saved:
            await self._save(settled)
        if uids:
            log.info("imap: mail read", extra={"channel_id": self._channel.id, "count": len(uids)})

    async def _keep(self, batch: _Fetched) -> None:
        """Store what a batch held: one thread hop parses it all, files are written together."""
        parsed = await asyncio.to_thread(_parse_batch, batch)
        for uid, reason in parsed.unreadable:
            # not a mail at all (no headers): it stays in the mailbox, and the reader goes on
            log.warning(
                "imap: unreadable mail left in the mailbox",
                extra={"channel_id": self._channel.id, "uid": uid, "reason": reason},
            )

        async def store(data: bytes, filename: str, content_type: str) -> str:
            return await self._ctx.blobs.put(data, filename=filename, content_type=content_type)

        kept = await asyncio.gather(*(keep_mail(mail, raw, store) for mail, raw in parsed.mails))
        items = [*(k.inbound for k in kept if k.inbound is not None), *parsed.notices]
        statuses = [k.status for k in kept if k.status is not None]
        if items:
            await self._ctx.accept(items)
        if statuses:
            await self._ctx.apply_statuses(statuses)

    async def _save(self, position: Position) -> Position:
        await self._ctx.state.set(position_key(self._folder_name), position.encode())
        return position


@dataclass(frozen=True)
class _Fetched:
    bodies: dict[int, bytes]
    #: mails too large to bring in: their header, and their size
    heads: dict[int, tuple[bytes, int]]


async def _fetch(mailbox: Mailbox, uids: list[int]) -> _Fetched:
    sizes = await mailbox.sizes(uids)
    small = [uid for uid in uids if sizes.get(uid, 0) <= MAX_MAIL_BYTES]
    large = [uid for uid in uids if sizes.get(uid, 0) > MAX_MAIL_BYTES]
    bodies = await mailbox.bodies(small) if small else {}
    heads = await mailbox.bodies(large, headers_only=True) if large else {}
    # a UID in neither was deleted from the folder since the search: nothing to read
    return _Fetched(bodies, {uid: (head, sizes[uid]) for uid, head in heads.items()})


@dataclass(frozen=True)
class _Parsed:
    mails: list[tuple[ParsedMail, bytes]]
    notices: list[Inbound]
    unreadable: list[tuple[int, str]]


def _parse_batch(batch: _Fetched) -> _Parsed:
    parsed = _Parsed([], [], [])
    for uid, raw in batch.bodies.items():
        try:
            parsed.mails.append((parse_mail(raw), raw))
        except MalformedMail as exc:
            parsed.unreadable.append((uid, str(exc)[:200]))
    for uid, (head, size) in batch.heads.items():
        try:
            parsed.notices.append(too_large_notice(parse_mail(head), size))
        except MalformedMail as exc:
            parsed.unreadable.append((uid, str(exc)[:200]))
    return parsed


def _problem(exc: MailboxError) -> Text:
    if exc.login_refused:
        return text(
            "The mail server refused the login: check the IMAP user name and password (an "
            f"app password, 授权码, at QQ Mail and NetEase). The server said: {exc}",
            "邮件服务器拒绝登录：请检查 IMAP 用户名和密码（QQ 邮箱、网易邮箱需使用授权码）。"
            f"服务器返回：{exc}",
        )
    return text(f"The mailbox cannot be read now: {exc}", f"暂时无法读取邮箱：{exc}")


def _same(position: Position, folder: Folder) -> bool:
    return position.uid_validity == folder.uid_validity
