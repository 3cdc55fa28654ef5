"""Email ingest benchmark over IMAP: mails per second the hub reads from a real mailbox into the
inbox, beside a bare reader that fetches the same mails the same way (aioimaplib, UID FETCH in
batches) and only parses them with the standard library, run in the same run.

A real Dovecot on the loopback (Debian's ``dovecot-imapd``, run by ``tests/dovecot.py``) holds
``--mails`` realistic mails (Chinese text, a quoted reply, some with a small attachment). The
bare reader reads them all; then a hub is started and given an email channel on the mailbox,
and the rate is measured from the first mail in the inbox until every mail is (none lost):
the hub's own look for new channels' readers, every few seconds, is not part of it. Embedded
mode (SQLite) and PostgreSQL + Redis with a ``kefu worker`` (which then runs the reader).

    .venv/bin/python bench/imap_ingest.py [--quick] [--only embedded|postgres]

Results go to ``bench/results/latest-imap.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aioimaplib
from ingest import (
    BENCH,
    KEFU,
    CpuMeter,
    Processes,
    create_channel,
    free_port,
    hub_env,
    prepare_hub,
    wait_healthy,
)
from smtp_ingest import SUPPORT, mails, stored_messages

# the Dovecot runner is the tests' own, in the repository beside this folder
sys.path.insert(0, str(BENCH.parent))
from connectors.email.imap import BATCH
from tests.dovecot import Dovecot, running_dovecot

PASSWORD = "bench mailbox"


def fill(server: Dovecot, count: int) -> None:
    """Put the mails in the mailbox before anything is measured."""
    pool = mails(count, secrets.token_hex(3))
    with server.client(SUPPORT) as client:
        for mail in pool:
            status, answer = client.append("INBOX", None, None, bytes(mail))
            assert status == "OK", answer


async def bare_read(port: int, count: int) -> dict[str, Any]:
    """Fetch every mail as the hub's reader does and parse it with the standard library."""
    began = time.monotonic()
    client = aioimaplib.IMAP4("127.0.0.1", port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(aioimaplib.quoted(SUPPORT), PASSWORD)
    await client.select('"INBOX"')
    found = await client.uid_search("UID", "1:*", charset=None)
    uids = [int(word) for word in bytes(found.lines[0]).split() if word.isdigit()]
    parsed = 0
    for start in range(0, len(uids), BATCH):
        batch = ",".join(str(uid) for uid in uids[start : start + BATCH])
        await client.uid("fetch", batch, "(UID RFC822.SIZE)")
        answer = await client.uid("fetch", batch, "(UID BODY.PEEK[])")
        for line in answer.lines:
            if isinstance(line, bytearray):
                mail: Any = message_from_bytes(bytes(line), policy=policy.default)
                body = mail.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
                parsed += 1
    await client.logout()
    elapsed = time.monotonic() - began
    assert parsed == count, (parsed, count)
    return {"read": parsed, "rate": parsed / elapsed, "seconds": round(elapsed, 2)}


@contextmanager
def hub(mode: str, work: Path) -> Iterator[tuple[str, str, dict[str, int], Processes]]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"imap-{mode}-", dir=work))
    port = free_port()
    env = hub_env(mode, data_dir, port, "WARNING")
    procs = Processes(data_dir)
    try:
        token = prepare_hub(mode, env, data_dir)
        procs.start("serve", [KEFU, "serve", "--port", str(port)], env, data_dir)
        if mode == "postgres":
            procs.start("worker", [KEFU, "worker"], env, data_dir)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base, procs))
        yield base, token, procs.pids(), procs
        procs.check()
    finally:
        procs.stop_all()


def run(mode: str, work: Path, server: Dovecot, count: int, bare_rate: float) -> dict[str, Any]:
    with hub(mode, work) as (base, token, pids, _procs):
        body = {
            "kind": "email",
            "name": "bench",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "smtp_port": 9,
                "smtp_security": "none",
                "imap_host": "127.0.0.1",
                "imap_port": server.imap_port,
                "imap_security": "none",
                "imap_password": PASSWORD,
            },
        }
        meter = CpuMeter(pids)
        meter.begin()
        began = time.monotonic()
        channel = asyncio.run(create_channel(base, token, body))
        stored = asyncio.run(stored_messages(base, token, int(channel["id"]), count, wait_s=600))
        elapsed = time.monotonic() - began
        return {
            "read": stored,
            "rate": stored / elapsed,
            "seconds": round(elapsed, 2),
            "lost": max(0, count - stored),
            "x_bare": round(stored / elapsed / bare_rate, 3),
            "cpu_ms_per_mail": meter.per_message(stored),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 mails instead of 2,000")
    parser.add_argument("--mails", type=int, default=None)
    parser.add_argument("--only", choices=["embedded", "postgres"], default=None)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest-imap.json")
    args = parser.parse_args(argv)
    count = args.mails or (500 if args.quick else 2000)
    modes = [args.only] if args.only else ["embedded", "postgres"]
    rows: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="kefu-imap-bench-") as tmp,
        running_dovecot({SUPPORT: PASSWORD}) as server,
    ):
        work = Path(tmp)
        fill(server, count)
        rows["bare"] = asyncio.run(bare_read(server.imap_port, count))
        for mode in modes:
            rows[mode] = run(mode, work, server, count, rows["bare"]["rate"])
    print(f"{'scenario':<12} {'mails/s':>8} {'x bare':>7} {'seconds':>8} {'lost':>5}  cpu/mail")
    for name, row in rows.items():
        print(
            f"{name:<12} {row['rate']:>8.0f} {row.get('x_bare', 1.0):>7.3f} "
            f"{row['seconds']:>8.2f} {row.get('lost', 0):>5}  {row.get('cpu_ms_per_mail', '')}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": platform.platform(), "mails": count, "rows": rows}, indent=2)
    )
    return 0 if all(row.get("lost", 0) == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
