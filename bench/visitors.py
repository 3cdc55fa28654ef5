"""Live visitor panel benchmark: many visitors browsing a shop on one web process while agents
watch the panel, beside a bare websocket server (``bench/bare_visitors.py``) in the same run.

Each visitor browses as the widget does: every page view opens a new websocket (a page load
loads the widget again), reads the hello, reports the page and keeps the socket until the next
page, every ``--period`` seconds (±50 %). So ``--visitors`` sockets are open at once and
``visitors / period`` page views arrive each second. Agents connected to ``/api/v1/ws`` get the
panel's ``visitors.changed`` events; the bench measures, for the bare server and for the hub:
page views per second, CPU per page view of the server's processes; for the hub also the
events and bytes each agent receives per second, how long a page view takes to reach an agent
(p50/p99; the board sends once a second), and how long ``GET /visitors`` takes with everyone on
the site.

    .venv/bin/python bench/visitors.py [--quick] [--visitors 2000] [--only embedded|postgres]

Results go to ``bench/results/latest-visitors.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
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

SHOP = "https://shop.bench.test"


class Load:
    def __init__(self) -> None:
        self.page_views = 0
        self.failures: dict[str, int] = {}
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.events = 0
        self.event_bytes = 0
        self.stop = False


async def visitor(
    http: aiohttp.ClientSession, url: str, n: int, period_s: float, load: Load
) -> None:
    """One visitor opening page after page until told to stop."""
    token = ""
    page = 0
    await asyncio.sleep(random.uniform(0, period_s))  # arrivals spread over a period
    while not load.stop:
        try:
            params = {"token": token} if token else {}
            async with http.ws_connect(url, params=params, heartbeat=None) as ws:
                hello = await ws.receive_json(timeout=30)
                token = hello.get("visitor_token", token)
                page += 1
                where = f"{SHOP}/p/{n}/{page}"
                load.sent_at[where] = time.monotonic()
                await ws.send_json(
                    {"type": "page", "url": where, "title": f"商品 {page}", "visits": 1}
                )
                load.page_views += 1
                await asyncio.sleep(period_s * random.uniform(0.5, 1.5))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            name = type(exc).__name__
            load.failures[name] = load.failures.get(name, 0) + 1
            await asyncio.sleep(1.0)


async def agent(
    http: aiohttp.ClientSession, base: str, token: str, load: Load, timing: bool
) -> None:
    ws = await http.ws_connect(base.replace("http", "ws", 1) + "/api/v1/ws")
    await ws.send_json({"type": "auth", "token": token})
    try:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if '"visitors.changed"' not in msg.data:
                continue
            load.events += 1
            load.event_bytes += len(msg.data)
            if timing:
                now = time.monotonic()
                for seen in json.loads(msg.data)["data"]["visitors"]:
                    sent = load.sent_at.pop((seen.get("current_page") or {}).get("url", ""), None)
                    if sent is not None:
                        load.latencies.append(now - sent)
    finally:
        await ws.close()


async def drive(
    base: str,
    key: str,
    token: str | None,
    visitors: int,
    agents: int,
    period_s: float,
    duration_s: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    load = Load()
    url = base.replace("http", "ws", 1) + f"/webchat/{key}/ws"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        watchers = [
            asyncio.create_task(agent(http, base, token, load, timing=i == 0))
            for i in range(agents if token else 0)
        ]
        browsing = [
            asyncio.create_task(visitor(http, url, n, period_s, load)) for n in range(visitors)
        ]
        await asyncio.sleep(period_s * 1.5)  # everyone has arrived
        meter = CpuMeter(pids)
        load.page_views = load.events = load.event_bytes = 0
        load.latencies.clear()
        meter.begin()
        started = time.monotonic()
        await asyncio.sleep(duration_s)
        elapsed = time.monotonic() - started
        views, events, sizes = load.page_views, load.events, load.event_bytes
        cpu = meter.per_message(views)
        result: dict[str, Any] = {
            "page_views_per_s": round(views / elapsed, 1),
            "cpu_ms_per_page_view": cpu,
            "failures": dict(load.failures),
        }
        if token:
            result["agent_events_per_s"] = round(events / max(1, agents) / elapsed, 2)
            result["agent_kb_per_s"] = round(sizes / max(1, agents) / elapsed / 1024, 1)
            result["to_agent_p50_ms"] = round(1000 * (percentile(load.latencies, 50) or 0))
            result["to_agent_p99_ms"] = round(1000 * (percentile(load.latencies, 99) or 0))
            lists = []
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
                for _ in range(10):
                    began = time.monotonic()
                    async with api.get(f"{base}/api/v1/visitors") as response:
                        listed = (await response.json())["items"]
                    lists.append(time.monotonic() - began)
            result["on_site"] = len(listed)
            result["list_p50_ms"] = round(1000 * (percentile(lists, 50) or 0), 1)
        load.stop = True
        for task in [*browsing, *watchers]:
            task.cancel()
        await asyncio.gather(*browsing, *watchers, return_exceptions=True)
        return result


@contextmanager
def bare(work: Path) -> Iterator[tuple[str, dict[str, int]]]:
    procs = Processes(work)
    port = free_port()
    try:
        procs.start(
            "bare_visitors",
            [sys.executable, str(BENCH / "bare_visitors.py"), "--port", str(port)],
            {},
            work,
        )
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base, procs))
        yield base, procs.pids()
    finally:
        procs.stop_all()


@contextmanager
def hub(mode: str, work: Path) -> Iterator[tuple[str, str, str, dict[str, int]]]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"visitors-{mode}-", dir=work))
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
        body = {
            "kind": "webchat",
            "name": "bench",
            # every bench visitor comes from the loopback: no per-address limits
            "settings": {"new_visitors_per_minute": 0, "pages_per_minute": 1000},
        }
        channel = asyncio.run(create_channel(base, token, body))
        yield base, str(channel["public_key"]), token, procs.pids()
        procs.check()
    finally:
        procs.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="15 s instead of 40 s")
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--period", type=float, default=10.0, help="seconds between pages")
    parser.add_argument("--only", choices=["embedded", "postgres"], default=None)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest-visitors.json")
    args = parser.parse_args(argv)
    duration = 15.0 if args.quick else 40.0
    modes = [args.only] if args.only else ["embedded", "postgres"]
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kefu-visitors-bench-") as tmp:
        work = Path(tmp)
        with bare(work) as (base, pids):
            rows["bare"] = asyncio.run(
                drive(base, "bare", None, args.visitors, 0, args.period, duration, pids)
            )
        for mode in modes:
            with hub(mode, work) as (base, key, token, pids):
                rows[mode] = asyncio.run(
                    drive(base, key, token, args.visitors, args.agents, args.period, duration, pids)
                )
    for name, row in rows.items():
        print(name, json.dumps(row, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "visitors": args.visitors,
                "agents": args.agents,
                "period_s": args.period,
                "rows": rows,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    failed = any(row["failures"] for row in rows.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
