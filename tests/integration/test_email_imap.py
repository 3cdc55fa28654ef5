"""Email read from a real mailbox: Dovecot on the loopback, the hub's IMAP reader through the
whole hub (SSL and STARTTLS), a restart in the middle of a mailbox and a renumbered folder."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from connectors.email import imap
from connectors.email.imap_client import folder_name
from hub.services.polling import lease_key
from tests.dovecot import Dovecot, running_dovecot
from tests.integration.conftest import (
    SUPPORT,
    Processes,
    RunningHub,
    email_channel,
    hub_env,
    inprocess_hub,
    inprocess_hub_again,
    make_settings,
    subprocess_hub_admin,
)

PASSWORD = "mailbox secret"
CUSTOMER = "li.lei@customer.test"


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    with running_dovecot({SUPPORT: PASSWORD}) as server:
        # the hub verifies the server's certificate as it would a provider's
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield server


@pytest.fixture
def hub(mail_hub: RunningHub) -> RunningHub:
    return mail_hub


def mail(subject: str, body: str, *, days_ago: int = 0, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"李雷 <{CUSTOMER}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(time_ago(days_ago), usegmt=True)
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="customer.test"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def time_ago(days: int) -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


async def imap_channel(
    hub: RunningHub, server: Dovecot, security: str = "ssl", folder: str = "INBOX"
) -> dict[str, Any]:
    return await email_channel(
        hub,
        25,
        imap_host="127.0.0.1",
        imap_port=server.imaps_port if security == "ssl" else server.imap_port,
        imap_security=security,
        imap_password=PASSWORD,
        imap_folder=folder,
    )


def stored_mail(database: Path, channel_id: int) -> list[tuple[int, str, str]]:
    """(conversation id, provider message id, text) of every mail stored for the channel."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT m.conversation_id, m.provider_message_id, m.text FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.channel_id = ? AND m.direction = 'in' ORDER BY m.id",
            (channel_id,),
        ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


async def until(condition: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def flags(server: Dovecot, folder: str = "INBOX") -> list[bytes]:
    with server.client(SUPPORT) as client:
        client.select(f'"{folder}"', readonly=True)
        status, data = client.uid("FETCH", "1:*", "(FLAGS)")
        assert status == "OK"
        return [bytes(line) for line in data if isinstance(line, bytes)]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_a_mailbox_is_read_once_and_idle_brings_new_mail_at_once(
    hub: RunningHub, dovecot: Dovecot, tmp_path: Path, security: str
) -> None:
    first = make_msgid(domain="customer.test")
    dovecot.append(SUPPORT, mail("上个月的旧邮件", "old news", days_ago=30), days_ago=30)
    dovecot.append(SUPPORT, mail("订单 1001 没有发货", "请帮我查一下订单。", message_id=first))
    dovecot.append(SUPPORT, mail("Invoice please", "Could I get an invoice?"))
    channel = await imap_channel(hub, dovecot, security)
    database = tmp_path / "kefu.db"

    rows = await until(
        lambda: (
            len(stored_mail(database, channel["id"])) >= 2 and stored_mail(database, channel["id"])
        )
    )
    texts = sorted(text for _, _, text in rows)
    assert texts == ["Could I get an invoice?", "请帮我查一下订单。"]  # not the month-old one

    # the customer answers: IDLE brings it within moments (the reader's own reads are a
    # minute apart), into the first mail's conversation
    started = time.monotonic()
    await dovecot.append_async(
        SUPPORT,
        mail("Re: 订单 1001 没有发货", "还没收到，谢谢", in_reply_to=first, references=first),
    )
    rows = await until(
        lambda: (
            len(stored_mail(database, channel["id"])) >= 3 and stored_mail(database, channel["id"])
        )
    )
    assert time.monotonic() - started < imap.READ_EVERY_S / 4
    by_text = {text: conversation for conversation, _, text in rows}
    assert by_text["还没收到，谢谢"] == by_text["请帮我查一下订单。"]
    assert len(rows) == 3

    # the hub only read: the business's own client still sees every mail unread
    assert all(b"\\Seen" not in line for line in flags(dovecot))


def position(database: Path, channel_id: int, folder: str = "INBOX") -> imap.Position | None:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT value FROM channel_state WHERE channel_id = ? AND key = ?",
            (channel_id, imap.position_key(folder)),
        ).fetchone()
    return imap.Position.decode(row[0]) if row else None


async def test_a_hub_restart_in_the_middle_of_a_mailbox_reads_every_mail_once(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 60
    for number in range(count):
        dovecot.append(SUPPORT, mail(f"问题 {number}", f"mail number {number}"))
    # small batches, paced, so that the restart falls in the middle of the mailbox
    monkeypatch.setattr(imap, "BATCH", 4)
    keep = imap._Reader._keep

    async def paced(self: Any, batch: Any) -> None:
        await keep(self, batch)
        await asyncio.sleep(0.1)

    monkeypatch.setattr(imap._Reader, "_keep", paced)
    settings = make_settings(tmp_path, poll_check_s=0.2)
    database = tmp_path / "kefu.db"
    async with inprocess_hub(settings) as hub:
        channel = await imap_channel(hub, dovecot)
        await until(lambda: len(stored_mail(database, channel["id"])) >= 12)
    stopped_at = position(database, channel["id"])
    assert stopped_at is not None
    assert stopped_at.last_uid < count  # stopped in the middle of the mailbox

    async with inprocess_hub_again(settings):
        await until(lambda: len(stored_mail(database, channel["id"])) >= count)
        await asyncio.sleep(0.5)  # anything read twice would be stored by now
    rows = stored_mail(database, channel["id"])
    assert sorted(text for _, _, text in rows) == sorted(f"mail number {n}" for n in range(count))
    assert len({provider_id for _, provider_id, _ in rows}) == count
    settled = position(database, channel["id"])
    assert settled is not None
    assert settled.last_uid == count


async def test_a_renumbered_folder_is_read_again_without_duplicates_or_gaps(
    hub: RunningHub, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "BACKOFF_S", (0.2, 0.5))
    folder = "客服 Support"
    with dovecot.client(SUPPORT) as client:
        assert client.create(folder_name(folder))[0] == "OK"
    before = [mail(f"旧邮件 {n}", f"before {n}") for n in range(3)]
    for raw in before:
        dovecot.append(SUPPORT, raw, folder)
    channel = await imap_channel(hub, dovecot, folder=folder)
    database = tmp_path / "kefu.db"
    await until(lambda: len(stored_mail(database, channel["id"])) >= 3)
    first = position(database, channel["id"], folder)
    assert first is not None

    # the folder is rebuilt (as a server migration or a restored backup does): the same mails
    # and two new ones under new UIDs, with a new UIDVALIDITY, while the reader is in IDLE
    with dovecot.client(SUPPORT) as client:
        assert client.delete(folder_name(folder))[0] == "OK"
        assert client.create(folder_name(folder))[0] == "OK"
    for raw in [*before, mail("新邮件 1", "after 1"), mail("新邮件 2", "after 2")]:
        dovecot.append(SUPPORT, raw, folder)

    await until(lambda: len(stored_mail(database, channel["id"])) >= 5)
    await asyncio.sleep(0.5)
    rows = stored_mail(database, channel["id"])
    assert sorted(text for _, _, text in rows) == [
        "after 1",
        "after 2",
        "before 0",
        "before 1",
        "before 2",
    ]
    renumbered = position(database, channel["id"], folder)
    assert renumbered is not None
    assert renumbered.uid_validity != first.uid_validity
    assert renumbered.last_uid == 5


async def test_the_reader_comes_back_after_the_mail_server_restarts(
    hub: RunningHub, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "BACKOFF_S", (0.2, 0.5))
    channel = await imap_channel(hub, dovecot)
    database = tmp_path / "kefu.db"
    dovecot.append(SUPPORT, mail("第一封", "one"))
    await until(lambda: len(stored_mail(database, channel["id"])) >= 1)

    dovecot.stop()  # the session in IDLE is cut
    await asyncio.sleep(0.5)
    dovecot.start()
    dovecot.append(SUPPORT, mail("第二封", "two"))
    await until(lambda: len(stored_mail(database, channel["id"])) >= 2)
    assert sorted(text for _, _, text in stored_mail(database, channel["id"])) == ["one", "two"]


async def test_an_oversized_or_unreadable_mail_never_holds_up_the_good_mail_after_it(
    hub: RunningHub, dovecot: Dovecot, tmp_path: Path
) -> None:
    huge = EmailMessage()
    huge["From"] = f"李雷 <{CUSTOMER}>"
    huge["To"] = SUPPORT
    huge["Subject"] = "工厂视频"
    huge["Message-ID"] = "<huge@customer.test>"
    huge.set_content("the video is attached")
    huge.add_attachment(
        # base64 makes it about 26 MB, just over the limit
        b"\x00" * (19_500 * 1024),
        maintype="video",
        subtype="mp4",
        filename="工厂.mp4",
    )
    dovecot.append(SUPPORT, bytes(huge))
    dovecot.append(SUPPORT, b"\r\n\r\nno headers at all, not a mail\r\n")
    dovecot.append(SUPPORT, mail("还在吗", "the good mail after them"))
    channel = await imap_channel(hub, dovecot)
    database = tmp_path / "kefu.db"

    rows = await until(
        lambda: (
            len(stored_mail(database, channel["id"])) >= 2 and stored_mail(database, channel["id"])
        ),
        timeout_s=60,
    )
    texts = {provider_id: text for _, provider_id, text in rows}
    assert re.match(
        r"This mail \(2[5-7]\.\d MB\) is larger than the hub takes in \(25 MB\)",
        texts.pop("huge@customer.test"),
    )
    assert list(texts.values()) == ["the good mail after them"]
    settled = position(database, channel["id"])
    assert settled is not None
    assert settled.last_uid == 3


async def test_a_mailbox_just_connected_is_read_at_once(dovecot: Dovecot, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, poll_check_s=30.0)  # the hub's own look is far off
    dovecot.append(SUPPORT, mail("你好", "waiting in the mailbox"))
    async with inprocess_hub(settings) as hub:
        started = time.monotonic()
        channel = await imap_channel(hub, dovecot)
        await until(lambda: stored_mail(tmp_path / "kefu.db", channel["id"]), timeout_s=10)
        assert time.monotonic() - started < 5


async def test_a_refused_login_shows_on_the_channel_until_the_password_is_right(
    hub: RunningHub, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(imap, "BACKOFF_S", (0.2, 0.5))
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "email",
            "name": "客服邮箱",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "smtp_security": "none",
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.imaps_port,
                "imap_password": "wrong password",
            },
        },
    )
    assert status == 201, channel

    async def problems() -> list[dict[str, Any]]:
        status, now = await hub.api("GET", f"/channels/{channel['id']}")
        assert status == 200
        return list(now["problems"])

    deadline = time.monotonic() + 20
    while not (found := await problems()):
        assert time.monotonic() < deadline, "no problem reported"
        await asyncio.sleep(0.1)
    [problem] = found
    assert problem["reader"] == "imap"
    assert problem["text"]["en"].startswith("The mail server refused the login")
    assert "授权码" in problem["text"]["zh-CN"]
    status, listed = await hub.api("GET", "/channels")
    assert [c["problems"] for c in listed["items"] if c["id"] == channel["id"]] == [found]

    dovecot.append(SUPPORT, mail("密码改好了", "read at last"))
    status, fixed = await hub.api(
        "PATCH",
        f"/channels/{channel['id']}",
        json={"settings": {**channel["settings"], "imap_password": PASSWORD}},
    )
    assert status == 200, fixed
    await until(lambda: stored_mail(tmp_path / "kefu.db", channel["id"]))
    deadline = time.monotonic() + 10
    while await problems():
        assert time.monotonic() < deadline, "the problem stayed after a good read"
        await asyncio.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.redis
async def test_with_two_workers_one_reads_the_mailbox_and_the_other_takes_over(
    dovecot: Dovecot, tmp_path: Path, pg_url: str, redis_url: str, processes: Processes
) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url=redis_url)
    token = await subprocess_hub_admin(settings)
    env = {**hub_env(settings), "KEFU_POLL_CHECK_S": "0.3", "KEFU_POLL_LEASE_S": "3"}
    workers = {name: processes.start(name, ["worker"], env) for name in ("worker-1", "worker-2")}
    base = await processes.serve("serve", settings)
    for number in range(5):
        dovecot.append(SUPPORT, mail(f"问题 {number}", f"before {number}"))
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(
            f"{base}/api/v1/channels",
            json={
                "kind": "email",
                "name": "客服邮箱",
                "settings": {
                    "address": SUPPORT,
                    "smtp_host": "127.0.0.1",
                    "smtp_security": "none",
                    "imap_host": "127.0.0.1",
                    "imap_port": dovecot.imap_port,
                    "imap_security": "none",
                    "imap_password": PASSWORD,
                },
            },
        ) as response,
    ):
        assert response.status == 201, await response.text()
    db = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:

        async def stored() -> list[str]:
            rows = await db.fetch("SELECT text FROM messages WHERE direction = 'in' ORDER BY id")
            return [str(row["text"]) for row in rows]

        deadline = time.monotonic() + 30
        while len(await stored()) < 5:
            assert time.monotonic() < deadline, "the mailbox was not read"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # several looks of both workers: still one reader
        assert dovecot.logins(secured=False) == 1

        # the worker that reads dies: the other takes the mailbox over once the lease runs out
        owner = await db.fetchval(
            "SELECT value FROM channel_state WHERE key = $1", lease_key(imap.POLLER)
        )
        reader_pid = int(str(owner).split(":")[1])
        [reader] = [p for p in workers.values() if p.pid == reader_pid]
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=10)
        dovecot.append(SUPPORT, mail("后来的邮件", "after the crash"))
        deadline = time.monotonic() + 30
        while len(await stored()) < 6:
            assert time.monotonic() < deadline, "nobody took the mailbox over"
            await asyncio.sleep(0.1)
        texts = await stored()
        assert sorted(texts) == sorted([*(f"before {n}" for n in range(5)), "after the crash"])
        assert dovecot.logins(secured=False) == 2
    finally:
        await db.close()
