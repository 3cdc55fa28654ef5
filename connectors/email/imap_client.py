"""A read-only session on one IMAP folder, with aioimaplib: what the mailbox reader needs.

The server's address is checked the way outbound calls are (``hub.domain.destinations``): the
name is resolved once, every address it gives is checked, and the connection goes to a checked
address with TLS verified against the name, so a name that resolves differently later cannot
reach an address the hub may not call. aioimaplib has no STARTTLS; the command is sent with
its own ``Command`` and the connection is upgraded with asyncio's ``start_tls``.

https://www.rfc-editor.org/rfc/rfc3501 (IMAP4rev1), https://www.rfc-editor.org/rfc/rfc2177 (IDLE)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import aioimaplib

from hub.domain.destinations import address_problem, host_problem

#: how long one command may take before the session is given up
COMMAND_TIMEOUT_S = 60.0
#: how long the server may take to end an IDLE (a reader being stopped waits for it)
IDLE_DONE_S = 5.0
_VALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")
#: untagged answers that end an IDLE: the session is in trouble
_TROUBLE = frozenset({b"NO", b"BAD", b"BYE"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MailboxError(Exception):
    """The mailbox cannot be read now: the reason is for the admin's log."""

    def __init__(self, reason: str, *, login_refused: bool = False) -> None:
        super().__init__(reason)
        self.login_refused = login_refused


@dataclass(frozen=True)
class Folder:
    #: changes when the server renumbers the folder: every stored UID is then meaningless
    uid_validity: int
    #: the UID the next mail will get (0 when the server does not say)
    uid_next: int


def folder_name(name: str) -> str:
    """A folder name as IMAP writes it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return '"' + "".join(out) + '"'


def search_date(day: date) -> str:
    """A date as IMAP's SEARCH SINCE takes it (``1-Feb-2026``), independent of the locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


class _GuardedImap(aioimaplib.IMAP4):  # type: ignore[misc]  # untyped library
    """aioimaplib's client connecting to a checked address, verifying TLS for the name."""

    def __init__(
        self,
        address: str,
        port: int,
        *,
        server_name: str,
        tls: ssl.SSLContext | None,
        on_lost: Callable[[Exception | None], None],
    ) -> None:
        self._server_name = server_name
        super().__init__(
            address, port, timeout=COMMAND_TIMEOUT_S, conn_lost_cb=on_lost, ssl_context=tls
        )

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        running = loop or asyncio.get_running_loop()
        protocol = aioimaplib.IMAP4ClientProtocol(running, conn_lost_cb)
        self.protocol = protocol
        self._client_task = running.create_task(
            running.create_connection(
                lambda: protocol,
                host,
                port,
                ssl=ssl_context,
                server_hostname=self._server_name if ssl_context else None,
            )
        )


class Mailbox:
    """One logged-in session with a folder selected."""

    def __init__(self, client: _GuardedImap, folder: Folder, lost: asyncio.Event) -> None:
        self._client = client
        self.folder = folder
        self._lost = lost

    @property
    def can_idle(self) -> bool:
        return bool(self._client.has_capability("IDLE"))

    async def uids_from(self, first: int) -> list[int]:
        """The UIDs of the folder's mails from ``first`` on, ascending."""
        # "n:*" always matches the newest mail, even below n: filtered out here
        response = await self._client.uid_search("UID", f"{first}:*", charset=None)
        return [uid for uid in _search_result(response) if uid >= first]

    async def uids_since(self, day: date) -> list[int]:
        response = await self._client.uid_search("SINCE", search_date(day), charset=None)
        return _search_result(response)

    async def sizes(self, uids: list[int]) -> dict[int, int]:
        response = await self._checked(
            self._client.uid("fetch", _uid_set(uids), "(UID RFC822.SIZE)"), "fetch sizes"
        )
        sizes: dict[int, int] = {}
        for line in response.lines:
            if isinstance(line, bytes | bytearray) and b"FETCH" in line:
                uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
                if uid and size:
                    sizes[int(uid[1])] = int(size[1])
        return sizes

    async def bodies(self, uids: list[int], *, headers_only: bool = False) -> dict[int, bytes]:
        """Each mail's bytes (only its header with ``headers_only``), read without marking
        it as read (``BODY.PEEK``)."""
        part = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
        response = await self._checked(
            self._client.uid("fetch", _uid_set(uids), f"(UID {part})"), "fetch mail"
        )
        return _fetched_literals(response.lines)

    async def wait_for_news(self, timeout_s: float) -> bool:
        """IDLE until the server announces a new mail (true) or the time runs out (false)."""
        idle = await self._client.idle_start(timeout=timeout_s)
        lost = asyncio.ensure_future(self._lost.wait())
        news = False
        refused = ""
        try:
            while not news and not self._lost.is_set():
                push = asyncio.ensure_future(self._client.wait_server_push(timeout_s + 5))
                await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
                if not push.done():
                    push.cancel()
                    break
                pushed = push.result() if push.exception() is None else None
                if pushed is None or pushed == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                lines = [bytes(line) for line in (pushed if isinstance(pushed, list) else [pushed])]
                news = any(b"EXISTS" in line for line in lines)
                # a server that reports trouble on the folder (deleted, rebuilt) may go on
                # idling on it forever: a new session sees the folder as it is now
                trouble = next((line for line in lines if line.split(b" ", 1)[0] in _TROUBLE), None)
                if trouble is not None:
                    refused = trouble.decode("utf-8", "replace")[:200]
                    break
        finally:
            lost.cancel()
            if not self._lost.is_set():
                if self._client.has_pending_idle():
                    self._client.idle_done()
                with contextlib.suppress(TimeoutError, aioimaplib.AioImapException):
                    await asyncio.wait_for(idle, IDLE_DONE_S)
            else:
                idle.cancel()
        if self._lost.is_set():
            raise MailboxError("the connection to the mail server was lost")
        if refused:
            raise MailboxError(f"the server reported trouble while idling: {refused}")
        return news

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.logout(), 5)

    async def _checked(self, call: Any, what: str) -> Any:
        try:
            response = await call
        except (TimeoutError, aioimaplib.AioImapException, OSError) as exc:
            raise MailboxError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.result != "OK":
            raise MailboxError(f"{what} refused: {_said(response)}")
        return response


@asynccontextmanager
async def open_mailbox(
    settings: Mapping[str, Any], *, allow_private: bool
) -> AsyncIterator[Mailbox]:
    """Connect, secure, log in and select the channel's folder; log out at the end."""
    host = str(settings["imap_host"])
    port = int(settings["imap_port"])
    security = str(settings["imap_security"])
    address = await _checked_address(host, port, allow_private=allow_private)
    tls = ssl.create_default_context()
    lost = asyncio.Event()
    client = _GuardedImap(
        address,
        port,
        server_name=host,
        tls=tls if security == "ssl" else None,
        on_lost=lambda _exc: lost.set(),
    )
    try:
        try:
            await client.wait_hello_from_server()
        except (TimeoutError, OSError, aioimaplib.AioImapException) as exc:
            raise MailboxError(f"cannot connect to {host}:{port}: {exc}") from exc
        if security == "starttls":
            await _start_tls(client, host, tls)
        user = str(settings.get("imap_username") or settings["address"])
        try:
            login = await client.login(aioimaplib.quoted(user), str(settings["imap_password"]))
        except (TimeoutError, aioimaplib.AioImapException) as exc:
            raise MailboxError(f"login: {exc}") from exc
        if login.result != "OK":
            raise MailboxError(f"login refused: {_said(login)}", login_refused=True)
        name = str(settings.get("imap_folder") or "INBOX")
        try:
            selected = await client.select(folder_name(name))
        except (TimeoutError, aioimaplib.AioImapException) as exc:
            raise MailboxError(f"select {name}: {exc}") from exc
        if selected.result != "OK":
            raise MailboxError(f"folder {name} cannot be opened: {_said(selected)}")
        folder = _folder(selected.lines)
        if folder is None:
            raise MailboxError(f"folder {name}: the server gave no UIDVALIDITY")
        mailbox = Mailbox(client, folder, lost)
        try:
            yield mailbox
        finally:
            await mailbox.close()
    finally:
        transport = client.protocol.transport if client.protocol is not None else None
        if transport is not None:
            transport.close()


async def _checked_address(host: str, port: int, *, allow_private: bool) -> str:
    problem = host_problem(host, allow_private=allow_private)
    if problem:
        raise MailboxError(f"the hub may not connect to {host}: {problem}")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MailboxError(f"the mail server's name does not resolve: {exc}") from exc
    for info in infos:
        if problem := address_problem(str(info[4][0]), allow_private=allow_private):
            raise MailboxError(f"{host} resolves to {problem}")
    if not infos:
        raise MailboxError(f"{host} resolves to no address")
    return str(infos[0][4][0])


async def _start_tls(client: _GuardedImap, host: str, tls: ssl.SSLContext) -> None:
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise MailboxError("the server offers no STARTTLS; choose ssl or another port")
    try:
        response = await asyncio.wait_for(
            protocol.execute(
                aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
            ),
            COMMAND_TIMEOUT_S,
        )
        if response.result != "OK":
            raise MailboxError(f"STARTTLS refused: {_said(response)}")
        protocol.transport = await asyncio.get_running_loop().start_tls(
            protocol.transport, protocol, tls, server_hostname=host
        )
        # what the server offered before TLS may have been tampered with: ask again
        await asyncio.wait_for(protocol.capability(), COMMAND_TIMEOUT_S)
    except (TimeoutError, OSError, ssl.SSLError, aioimaplib.AioImapException) as exc:
        raise MailboxError(f"STARTTLS failed: {exc}") from exc


def _folder(lines: list[Any]) -> Folder | None:
    validity = next((int(m[1]) for line in lines if (m := _VALIDITY.search(bytes(line)))), None)
    if validity is None:
        return None
    uid_next = next((int(m[1]) for line in lines if (m := _UIDNEXT.search(bytes(line)))), 0)
    return Folder(validity, uid_next)


def _search_result(response: Any) -> list[int]:
    if response.result != "OK":
        raise MailboxError(f"search refused: {_said(response)}")
    first = bytes(response.lines[0]) if response.lines else b""
    words = first.split()
    if words[:1] == [b"SEARCH"]:
        words = words[1:]
    return sorted({int(word) for word in words if word.isdigit()})


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _fetched_literals(lines: list[Any]) -> dict[int, bytes]:
    """The literal each FETCH answer carried, by its UID (in the line before or after)."""
    found: dict[int, bytes] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if (
            isinstance(line, bytes)
            and b"FETCH" in line
            and _LITERAL.search(line)
            and index + 1 < len(lines)
            and isinstance(lines[index + 1], bytearray)
        ):
            data = bytes(lines[index + 1])
            tail = bytes(lines[index + 2]) if index + 2 < len(lines) else b""
            uid = _FETCH_UID.search(line) or _FETCH_UID.search(tail)
            if uid:
                found[int(uid[1])] = data
            index += 2
            continue
        index += 1
    return found


def _said(response: Any) -> str:
    last = response.lines[-1] if response.lines else b""
    return bytes(last).decode("utf-8", "replace")[:200]
