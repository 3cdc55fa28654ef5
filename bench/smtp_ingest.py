"""Email ingest benchmark: mails per second through the hub's SMTP receiver, beside a bare
aiosmtpd server that only parses them with the standard library (``bench/bare_smtp.py``), run
the same way in the same run.

A closed loop of ``--concurrency`` SMTP connections (aiosmtplib, one session each, a mail after
the other) sends realistic mails (Chinese text, a quoted reply, some with a small attachment)
for ``--duration`` seconds to each server; a mail counts when the server answered 250, which the
hub does only once the mail is stored. Afterwards every mail the hub acknowledged must be in
the inbox (none lost). Embedded mode (SQLite) and, with ``--only postgres`` or by default,
PostgreSQL + Redis with a ``kefu worker``.

    .venv/bin/python bench/smtp_ingest.py [--quick] [--only embedded|postgres]

Results go to ``bench/results/latest-smtp.json``.
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
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
from ingest import (
    BENCH,
    KEFU,
    CpuMeter,
    Processes,
    create_channel,
    free_port,
    hub_env,
    percentile,
    prepare_hub,
    wait_healthy,
)

SUPPORT = "support@bench.test"
QUOTE = (
    "\n\n在 2026年11月20日 10:00，客服 <support@bench.test> 写道：\n> 您好，请问有什么可以帮您？\n"
)


def mails(count: int, prefix: str) -> list[EmailMessage]:
    """Built before a phase: the load generator only writes bytes while it is measured."""
    built = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"] = f"顾客 {n % 200} <customer{n % 200}@bench.test>"
        mail["To"] = SUPPORT
        mail["Subject"] = f"订单 {n} 的问题 order question"
        mail["Message-ID"] = make_msgid(idstring=f"{prefix}{n}", domain="bench.test")
        mail.set_content(f"{prefix}-{n} 您好，我的订单还没有到，能帮我查一下吗？" + QUOTE)
        if n % 10 == 0:
            mail.add_attachment(
                b"\x89PNG\r\n\x1a\n" + bytes(20_000), maintype="image", subtype="png",
                filename="截图.png",
            )  # fmt: skip
        built.append(mail)
    return built


async def closed_loop(
    port: int, concurrency: int, duration_s: float, pool: list[EmailMessage]
) -> dict[str, Any]:
    """Each connection sends a mail, waits for 250, sends the next."""
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + duration_s
    latencies: list[float] = []
    errors: dict[str, int] = {}
    taken = 0

    async def client() -> None:
        nonlocal taken
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        try:
            while loop.time() < stop_at and taken < len(pool):
                mail = pool[taken]
                taken += 1
                began = loop.time()
                try:
                    await smtp.send_message(mail)
                    latencies.append(loop.time() - began)
                except aiosmtplib.SMTPException as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        finally:
            await smtp.quit()

    started = loop.time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = loop.time() - started
    return {
        "accepted": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": round(1000 * (percentile(latencies, 50) or 0), 1),
        "p99_ms": round(1000 * (percentile(latencies, 99) or 0), 1),
        "errors": errors,
        "seconds": round(elapsed, 2),
    }


@contextmanager
def bare(work: Path) -> Iterator[tuple[int, dict[str, int]]]:
    procs = Processes(work)
    port = free_port()
    try:
        procs.start(
            "bare_smtp",
            [sys.executable, str(BENCH / "bare_smtp.py"), "--port", str(port)],
            {},
            work,
        )
        time.sleep(1.0)
        procs.check()
        yield port, procs.pids()
    finally:
        procs.stop_all()


@contextmanager
def hub(mode: str, work: Path) -> Iterator[tuple[int, str, str, int, dict[str, int]]]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"smtp-{mode}-", dir=work))
    port, smtp_port = free_port(), free_port()
    env = hub_env(mode, data_dir, port, "WARNING")
    env["KEFU_SMTP_PORT"] = str(smtp_port)
    procs = Processes(data_dir)
    try:
        token = prepare_hub(mode, env, data_dir)
        procs.start("serve", [KEFU, "serve", "--port", str(port)], env, data_dir)
        if mode == "postgres":
            procs.start("worker", [KEFU, "worker"], env, data_dir)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base, procs))
        body = {
            "kind": "email",
            "name": "bench",
            "settings": {
                "address": SUPPORT,
                "smtp_host": "127.0.0.1",
                "smtp_port": 9,
                "smtp_security": "none",
            },
        }
        channel = asyncio.run(create_channel(base, token, body))
        yield smtp_port, base, token, int(channel["id"]), procs.pids()
        procs.check()
    finally:
        procs.stop_all()


async def stored_messages(
    base: str,
    token: str,
    channel_id: int,
    expected: int,
    *,
    poll_s: float = 1.0,
    wait_s: float = 60,
) -> int:
    """Messages of the channel in the inbox, waiting up to ``wait_s`` for processing to finish."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + wait_s
    count = 0
    async with aiohttp.ClientSession(headers=headers) as http:
        while time.monotonic() < deadline:
            count = 0
            cursor = None
            while True:
                url = f"{base}/api/v1/conversations?channel_id={channel_id}&limit=100"
                async with http.get(url + (f"&cursor={cursor}" if cursor else "")) as r:
                    page = await r.json()
                # nobody reads the bench's conversations: unread counts every mail in them
                count += sum(int(c["unread_count"]) for c in page["items"])
                cursor = page.get("next")
                if not cursor:
                    break
            if count >= expected:
                return count
            await asyncio.sleep(poll_s)
    return count


def run(
    mode: str, work: Path, concurrency: int, duration_s: float, bare_rate: float
) -> dict[str, Any]:
    with hub(mode, work) as (smtp_port, base, token, channel_id, pids):
        pool = mails(int(bare_rate * duration_s * 1.2) + 100, secrets.token_hex(3))
        meter = CpuMeter(pids)
        meter.begin()
        result = asyncio.run(closed_loop(smtp_port, concurrency, duration_s, pool))
        result["cpu_ms_per_mail"] = meter.per_message(result["accepted"])
        result["stored"] = asyncio.run(stored_messages(base, token, channel_id, result["accepted"]))
        result["lost"] = max(0, result["accepted"] - result["stored"])
        result["x_bare"] = round(result["rate"] / bare_rate, 3)
        return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="4 s phases")
    parser.add_argument("--only", choices=["embedded", "postgres"], default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest-smtp.json")
    args = parser.parse_args(argv)
    duration = 4.0 if args.quick else 10.0
    modes = [args.only] if args.only else ["embedded", "postgres"]
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kefu-smtp-bench-") as tmp:
        work = Path(tmp)
        with bare(work) as (port, pids):
            pool = mails(20_000, "bare")
            meter = CpuMeter(pids)
            meter.begin()
            rows["bare"] = asyncio.run(closed_loop(port, args.concurrency, duration, pool))
            rows["bare"]["cpu_ms_per_mail"] = meter.per_message(rows["bare"]["accepted"])
        bare_rate = rows["bare"]["rate"]
        for mode in modes:
            rows[mode] = run(mode, work, args.concurrency, duration, bare_rate)
    head = ("scenario", "mails/s", "x bare", "p50 ms", "p99 ms", "lost")
    print(
        f"{head[0]:<12} {head[1]:>8} {head[2]:>7} {head[3]:>7} {head[4]:>7} {head[5]:>5}  cpu/mail"
    )
    for name, row in rows.items():
        print(
            f"{name:<12} {row['rate']:>8.0f} {row.get('x_bare', 1.0):>7.3f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row.get('lost', 0):>5}  {row['cpu_ms_per_mail']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"machine": platform.platform(), "concurrency": args.concurrency, "rows": rows},
            indent=2,
        )
    )
    return 0 if all(row.get("lost", 0) == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
