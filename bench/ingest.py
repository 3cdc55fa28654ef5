"""Ingest benchmark: messages accepted, processed and pushed to a connected agent, per channel.

Measures, in one run and the same way (HTTP over loopback from this load-generator process):

* ``bare``: a bare aiohttp handler (``bench/bare_server.py``: same payload, parsed, 200);
* ``accept``: durable accepts per second (``202 ack`` = the raw event is committed) with
  ``--concurrency`` connections and many visitors, on a fresh hub;
* ``e2e``: an open-loop sender at a fixed rate while one agent websocket measures the latency
  from the (scheduled) send to the ``message.created`` push, on another fresh hub;
* ``max``: the same at rising rates until one misses its latency target (not with --quick).

for the embedded default (SQLite, no Redis, one ``kefu serve``) and PostgreSQL + Redis
(``kefu serve`` + ``kefu worker``), for each channel asked for with ``--channel``: web chat
(the default), WeChat Official Account callbacks in plaintext and in safe mode, WeCom 微信客服
callbacks and Twilio SMS webhooks (see ``bench/channel_loads.py``). Every rate is printed as a
ratio to the bare handler.

    .venv/bin/python bench/ingest.py [--quick] [--only embedded|postgres] [--channel all]

Results go to ``bench/results/latest.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from channel_loads import CHANNELS, Load, WebChat, WeComKf, make_load

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
KEFU = str(VENV_BIN / "kefu") if (VENV_BIN / "kefu").exists() else "kefu"

PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c"]
PG_DB = "kefu_bench"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/3"
QUEUE_NAME = "kefu:bench"

ADMIN_EMAIL = "bench@bench.invalid"
ADMIN_ROLE_AND_PASSWORD = ("--role", "admin", "--password", "bench-password")

# The targets, as ratios to the bare handler measured in the same run.
ACCEPT_RATIO = 0.30
E2E_TARGETS = {"embedded": (0.01, 250.0), "postgres": (0.05, 100.0)}
#: a rate is "sustained" when this share of the offered rate is pushed, with nothing lost
SUSTAINED_SHARE = 0.95
#: Callbacks that must be encrypted are built before the closed-loop phase, enough for this
#: share of the bare handler's rate; a hub faster than that ends its measured window early,
#: when they run out (the rate is over the shorter window, and the row says so).
POOL_SHARE = {"wechat_aes": 0.6, "wecom_kf": 0.6, "twilio_sms": 0.6}


# -- results ----------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    mode: str
    kind: str  # bare | accept | e2e | max
    rate: float  # acks/s (bare, accept) or pushes/s (e2e, max)
    ratio: float
    p50_ms: float | None
    p99_ms: float | None
    target: str = ""
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)
    channel: str = "webchat"


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


# -- processes --------------------------------------------------------------------------------


class Processes:
    """Every subprocess the bench starts; each is stopped by its own id on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._running.append((name, proc))

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._running}

    def check(self) -> None:
        for name, proc in self._running:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}"
                )

    def stop_all(self) -> None:
        for _, proc in reversed(self._running):
            if proc.poll() is None:
                # its own session: the group is the process and, under py-spy, its child
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        for _, proc in reversed(self._running):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._running.clear()


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_ticks(pid: int) -> int:
    """CPU ticks (user + system) of a process and its children (py-spy's child, say)."""
    total = 0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_tree_ticks(int(child)) for child in children)


def _busy_ticks() -> int:
    """All CPUs' busy ticks since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle


class CpuMeter:
    """CPU time spent per message by each process the bench started, the bench itself, and
    everything else (PostgreSQL, Redis), over one measured interval."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: tuple[dict[str, int], float, int] | None = None

    def _read(self) -> tuple[dict[str, int], float, int]:
        ticks = {name: _tree_ticks(pid) for name, pid in self._pids.items()}
        return ticks, time.process_time(), _busy_ticks()

    def begin(self) -> None:
        self._start = self._read()

    def per_message(self, messages: int) -> dict[str, float]:
        """Milliseconds of CPU per message since ``begin``; ``other`` is the rest of the box."""
        assert self._start is not None
        ticks0, own0, busy0 = self._start
        ticks1, own1, busy1 = self._read()
        if messages <= 0:
            return {}
        result = {
            name: (ticks1[name] - ticks0[name]) / _TICK for name in self._pids if name in ticks0
        }
        result["bench"] = own1 - own0
        result["other"] = max(0.0, (busy1 - busy0) / _TICK - sum(result.values()))
        return {name: round(1000 * seconds / messages, 3) for name, seconds in result.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cmd(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def wait_healthy(base: str, procs: Processes, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            procs.check()
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not become healthy within {within_s:.0f}s")


# -- the systems under test -------------------------------------------------------------------


@dataclass
class Target:
    """One running server: the bare handler or a fresh hub, with what a client needs."""

    mode: str
    base: str
    #: what a customer's message looks like on this target's channel
    load: Load
    api_token: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    #: starts the kefu workers a hub was started without (``fresh_hub(defer_workers=True)``)
    start_workers: Callable[[], None] | None = None

    @property
    def host_port(self) -> str:
        return self.base.removeprefix("http://")


@contextlib.contextmanager
def bare_server(work: Path) -> Iterator[Target]:
    procs = Processes(work)
    port = free_port()
    try:
        procs.start(
            "bare",
            [sys.executable, str(BENCH / "bare_server.py"), "--port", str(port)],
            env=dict(os.environ),
            cwd=work,
        )
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base, procs))
        load = WebChat()
        load.bind(base.removeprefix("http://"), {"public_key": "bare"})
        yield Target("bare", base, load, pids=procs.pids())
    finally:
        procs.stop_all()


#: extra KEFU_* settings for the hub processes (``--hub-env``), e.g. worker tuning
EXTRA_ENV: dict[str, str] = {}


def hub_env(mode: str, data_dir: Path, port: int, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_CONFIG=str(data_dir / "absent.toml"),
        KEFU_DATA_DIR=str(data_dir),
        KEFU_SECRET_KEY=secrets.token_urlsafe(32),
        KEFU_PUBLIC_URL=f"http://127.0.0.1:{port}",
        KEFU_LOG_LEVEL=log_level,
        KEFU_QUEUE_NAME=QUEUE_NAME,
        # the providers' fakes listen on this machine's loopback
        KEFU_ALLOW_PRIVATE_NETWORKS="true",
    )
    if mode == "embedded":
        env["KEFU_DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / 'kefu.db'}"
        env["KEFU_REDIS_URL"] = ""
    else:
        env["KEFU_DATABASE_URL"] = PG_URL
        env["KEFU_REDIS_URL"] = REDIS_URL
    env.update(EXTRA_ENV)
    return env


def prepare_hub(mode: str, env: dict[str, str], data_dir: Path) -> str:
    """A new database (PostgreSQL and Redis emptied first), migrated, with an admin; gives
    the admin's API token."""
    if mode == "postgres":
        reset_postgres_and_redis()
    run_cmd([KEFU, "migrate"], env, data_dir)
    run_cmd(
        [KEFU, "user", "add", ADMIN_EMAIL, "--name", "Bench", *ADMIN_ROLE_AND_PASSWORD],
        env,
        data_dir,
    )
    return run_cmd([KEFU, "token", "create", ADMIN_EMAIL], env, data_dir).strip().split()[-1]


def reset_postgres_and_redis() -> None:
    run_cmd([*PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"])
    run_cmd([*PG_ADMIN, f"CREATE DATABASE {PG_DB}"])
    run_cmd(["redis-cli", "-n", "3", "FLUSHDB"])


#: ``kefu worker`` processes beside ``kefu serve`` in the postgres mode (``--workers``)
WORKERS = 1


#: messages each WeCom callback announces in the fake API's queue (``--kf-page``)
KF_PAGE = 1
#: web chat channels check their flood limits (``--no-flood-limits`` turns them off)
FLOOD_LIMITS = True


@contextlib.contextmanager
def fresh_hub(
    mode: str,
    work: Path,
    log_level: str,
    profile: Path | None = None,
    *,
    defer_workers: bool = False,
    channel: str = "webchat",
) -> Iterator[Target]:
    """Migrate a new database, add an admin and a token, start the processes, add a channel.

    With ``defer_workers``, the postgres mode's ``kefu worker`` processes start only when the
    caller calls ``Target.start_workers``: accepted events wait in the database meanwhile.
    A channel whose provider the hub calls (WeCom) gets its fake API first.
    """
    load = make_load(channel, kf_page=KF_PAGE, flood_limits=FLOOD_LIMITS)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=work))
    port = free_port()
    env = hub_env(mode, data_dir, port, log_level)
    procs = Processes(data_dir)
    try:
        token = prepare_hub(mode, env, data_dir)

        def wrap(name: str, argv: list[str]) -> list[str]:
            if profile is None:
                return argv
            profile.mkdir(parents=True, exist_ok=True)
            out = profile / f"{data_dir.name}-{name}.txt"
            # --gil: only what holds the interpreter lock, i.e. where Python's CPU goes
            # The venv's own, when the bench runs with its interpreter without activating it.
            exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = [exe, "record", "--gil", "--format", "raw", "-r", "200", "-o", str(out)]
            return [*spy, "--", *argv]

        procs.start("serve", wrap("serve", [KEFU, "serve", "--port", str(port)]), env, data_dir)

        def start_workers() -> None:
            for n in range(WORKERS):
                name = "worker" if n == 0 else f"worker{n + 1}"
                procs.start(name, wrap(name, [KEFU, "worker"]), env, data_dir)

        if mode == "postgres" and not defer_workers:
            start_workers()
        fake_base = None
        if load.needs_fake:
            fake_port = free_port()
            procs.start(
                "fake",
                [
                    sys.executable,
                    str(BENCH / "fake_wecom.py"),
                    "--port",
                    str(fake_port),
                    "--queue",
                    str(data_dir / "kf-queue.txt"),
                ],
                env=dict(os.environ),
                cwd=data_dir,
            )
            fake_base = f"http://127.0.0.1:{fake_port}"
            asyncio.run(wait_healthy(fake_base, procs))
            if isinstance(load, WeComKf):
                load.open_queue(str(data_dir / "kf-queue.txt"))
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base, procs))
        created = asyncio.run(create_channel(base, token, load.channel_body(fake_base)))
        load.bind(base.removeprefix("http://"), created)
        yield Target(
            mode,
            base,
            load,
            token,
            pids=procs.pids(),
            start_workers=start_workers if mode == "postgres" and defer_workers else None,
        )
        procs.check()
    finally:
        procs.stop_all()


async def create_channel(base: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        http.post(f"{base}/api/v1/channels", json=body) as resp,
    ):
        created: dict[str, Any] = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"creating the channel failed: {resp.status} {created}")
        return created


async def new_visitors(http: aiohttp.ClientSession, target: Target, count: int) -> None:
    """``count`` customers: web chat visitors get their sessions; a WeChat customer is an id."""
    load = target.load
    if not isinstance(load, WebChat):
        return
    if target.mode == "bare":
        load.tokens = [f"bare-visitor-{i}" for i in range(count)]
        return

    async def one() -> str:
        async with http.post(f"{target.base}/webchat/{load.channel['public_key']}/session") as r:
            r.raise_for_status()
            return str((await r.json())["visitor_token"])

    tokens: list[str] = []
    for start in range(0, count, 32):
        tokens += await asyncio.gather(*(one() for _ in range(start, min(count, start + 32))))
    load.tokens = tokens


def connector(limit: int) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=limit, force_close=False, enable_cleanup_closed=False)


# -- the agent's websocket --------------------------------------------------------------------


class AgentListener:
    """One agent websocket: matches each ``message.created`` to its send by the text's id."""

    def __init__(self, target: Target, prefix: str) -> None:
        self.target = target
        self.prefix = prefix
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.pushed = 0
        self.first_push: float | None = None
        self.last_push: float | None = None
        self.closed_with: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def expect(self, message_id: str, at: float) -> None:
        self.sent_at[message_id] = at

    async def __aenter__(self) -> AgentListener:
        self._http = aiohttp.ClientSession()
        ws_url = self.target.base.replace("http://", "ws://") + "/api/v1/ws"
        self._ws = await self._http.ws_connect(ws_url, heartbeat=None, max_msg_size=0)
        await self._ws.send_json({"type": "auth", "token": self.target.api_token})
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._ws.close()
        await self._http.close()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        prefix = self.prefix
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = loop.time()
            event = json.loads(msg.data)
            kind = event.get("type")
            if kind == "ready":
                self._ready.set()
            if kind != "message.created":
                continue
            text = event["data"].get("text") or ""
            if not text.startswith(prefix):
                continue
            message_id = text.split(" ", 1)[0]
            self.pushed += 1
            if self.first_push is None:
                self.first_push = now
            self.last_push = now
            sent = self.sent_at.pop(message_id, None)
            if sent is not None:
                self.latencies.append(now - sent)
        self.closed_with = f"closed: code {self._ws.close_code}"

    async def wait_for(self, count: int, *, idle_s: float, within_s: float) -> None:
        """Until ``count`` pushes arrived, nothing arrived for ``idle_s``, or ``within_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        seen, seen_at = self.pushed, loop.time()
        while self.pushed < count and loop.time() < deadline:
            await asyncio.sleep(0.05)
            if self.pushed != seen:
                seen, seen_at = self.pushed, loop.time()
            elif loop.time() - seen_at > idle_s or self.closed_with:
                return


class StalledAgent:
    """A second agent socket that never reads: a slow browser must not stall the broadcast.

    aiohttp stops reading the socket once its small buffer is full, so the hub's writes to it
    back up in the kernel; the hub should cut it off (close 4000) and keep serving the others.
    """

    def __init__(self, target: Target) -> None:
        self.target = target

    async def __aenter__(self) -> StalledAgent:
        self._http = aiohttp.ClientSession()
        ws_url = self.target.base.replace("http://", "ws://") + "/api/v1/ws"
        self._ws = await self._http.ws_connect(ws_url, heartbeat=None, autoping=False)
        await self._ws.send_json({"type": "auth", "token": self.target.api_token})
        return self

    def state(self) -> str:
        return "closed by the hub" if self._ws.closed else "open (not read)"

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), timeout=2)
        await self._http.close()


# -- phases -----------------------------------------------------------------------------------


class RawConnection(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive client connection: one request at a time.

    The load generator must not be the bottleneck: aiohttp's client costs several times more
    CPU per request than its server, so the closed-loop phases write requests and parse the
    ``Content-Length`` answers by hand.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        at = head.find(b"content-length:")
        if at < 0:
            length = 0  # every answer measured here has a body with a Content-Length
        else:
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15 : stop if stop >= 0 else None])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        del self._buffer[:total]
        self._waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionResetError("connection lost"))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def accept_phase(
    target: Target,
    *,
    concurrency: int,
    visitors: int,
    duration_s: float,
    warmup_s: float,
    pool_size: int | None = None,
) -> dict[str, Any]:
    """Closed loop: ``concurrency`` connections each post, await the ack, post again.

    With ``pool_size``, the requests are built before the loop starts (see ``POOL_SHARE``).
    """
    prefix = "acc" + secrets.token_hex(3)
    load = target.load
    async with aiohttp.ClientSession() as http:
        await new_visitors(http, target, visitors)
    host, port = target.host_port.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    load.begin()
    pool: list[bytes] | None = None
    if pool_size is not None:
        built = time.monotonic()
        pool = [load.request(f"{prefix}-{i}", i % visitors) for i in range(pool_size)]
        say(f"  {pool_size} requests built in {time.monotonic() - built:.1f}s")
    listener = AgentListener(target, prefix) if target.api_token else None
    connections = [await RawConnection.open(host, int(port)) for _ in range(concurrency)]
    if listener is not None:
        await listener.__aenter__()
    try:
        start = loop.time()
        measure_from = start + warmup_s
        stop_at = measure_from + duration_s
        acked_in_all = 0  # warm-up and tail included: what the drain must see pushed
        acked: list[tuple[float, float]] = []  # (answered at, latency) in the measured window
        errors: dict[str, int] = {}
        sent = 0
        exhausted_at: float | None = None
        meter = CpuMeter(target.pids)
        cpu: dict[str, float] = {}

        def meter_end() -> None:
            if not cpu:
                cpu.update(meter.per_message(len(acked)))

        def measured_until() -> float:
            return stop_at if exhausted_at is None else min(stop_at, exhausted_at)

        loop.call_at(measure_from, meter.begin)
        end_handle = loop.call_at(stop_at, meter_end)

        async def client(worker: int) -> None:
            nonlocal sent, acked_in_all, exhausted_at
            conn = connections[worker]
            while loop.time() < stop_at:
                i = sent
                if pool is not None:
                    if i >= len(pool):
                        if exhausted_at is None:
                            exhausted_at = loop.time()
                            if exhausted_at > measure_from:
                                end_handle.cancel()
                                meter_end()
                        return
                    raw = pool[i]
                    pool[i] = b""  # sent: let it go
                else:
                    raw = load.request(f"{prefix}-{i}", i % visitors)
                sent += 1
                load.announce(f"{prefix}-{i}", i % visitors)
                began = loop.time()
                try:
                    status = await conn.request(raw)
                except OSError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    conn = await RawConnection.open(host, int(port))
                    connections.append(conn)
                    continue
                done = loop.time()
                if status in (200, 202):
                    acked_in_all += 1
                    if measure_from <= done <= stop_at:
                        acked.append((done, done - began))
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        await asyncio.wait_for(
            asyncio.gather(*(client(i) for i in range(concurrency))),
            timeout=warmup_s + duration_s + 60,
        )
        ended = loop.time()
        until = measured_until()
        latencies = [latency for done, latency in acked if done <= until]
        counted = len(latencies)
        window = max(1e-9, until - measure_from)
        if exhausted_at is not None and exhausted_at <= measure_from:
            raise RuntimeError(
                f"the {len(pool or [])} prepared requests ran out during the warm-up; "
                "raise POOL_SHARE"
            )
        result: dict[str, Any] = {
            "acks": counted,
            "rate": counted * load.per_request / window,
            "requests_per_s": counted / window,
            "messages_per_request": load.per_request,
            "p50_ms": ms(percentile(latencies, 50)),
            "p99_ms": ms(percentile(latencies, 99)),
            "errors": errors,
            "sent": sent,
            "concurrency": concurrency,
            "visitors": visitors,
            "duration_s": round(window, 2),
            "cpu_ms_per_message": {
                name: round(value / load.per_request, 3) for name, value in cpu.items()
            },
        }
        if pool is not None:
            result["prepared_requests"] = len(pool)
            if exhausted_at is not None:
                result["prepared_requests_ran_out_after_s"] = round(window, 2)
        if listener is not None:
            # How far processing kept up while accepts ran flat out (informative only).
            expected = acked_in_all * load.per_request
            pushed = listener.pushed
            result["pushed_during_phase_per_s"] = round(pushed / (ended - start), 1)
            result["backlog_at_end"] = expected - pushed
            # Then every accepted message must still reach the agent: nothing accepted is lost.
            if target.start_workers is not None:
                target.start_workers()
            await listener.wait_for(expected, idle_s=30, within_s=300)
            drained = loop.time()
            result["accepted_in_all"] = expected
            result["pushed_in_all"] = listener.pushed
            result["lost"] = expected - listener.pushed
            result["drain_s"] = round(drained - ended, 1)
            drain_s = max(1e-9, drained - ended)
            result["drain_per_s"] = round((listener.pushed - pushed) / drain_s, 1)
            if listener.closed_with:
                result["agent_socket"] = listener.closed_with
    finally:
        for conn in connections:
            conn.close()
        if listener is not None:
            await listener.__aexit__(None, None, None)
    return result


async def e2e_phase(
    target: Target, *, rate: float, visitors: int, duration_s: float, grace_s: float = 10.0
) -> dict[str, Any]:
    """Open loop at ``rate`` messages/s; latency from each one's scheduled send to its push."""
    prefix = "e2e" + secrets.token_hex(3)
    load = target.load
    async with aiohttp.ClientSession(connector=connector(512)) as http:
        await new_visitors(http, target, visitors)
        # the load generator must not eat the CPU it measures: raw requests, as in the
        # closed-loop phases, cost a fraction of aiohttp's client
        pool = RawPool(target)
        loop = asyncio.get_running_loop()
        per_request = load.per_request
        request_rate = rate / per_request
        total = int(request_rate * duration_s)
        load.begin()
        # Built before anything is sent (encrypting is work the provider does, not the hub).
        warm = [load.request(f"{prefix}-warm{n}", n) for n in range(visitors)]
        measured = [load.request(f"{prefix}-{i}", i % visitors) for i in range(total)]
        async with AgentListener(target, prefix) as listener, StalledAgent(target) as stalled:
            # Warm up: every visitor's first message, sent at the measured rate but not
            # measured, so the phase sees returning customers, warm caches and prepared
            # statements (a new customer's first message costs more; the accept phase, whose
            # visitors are all new, shows that cost).
            warm_at = loop.time() + 0.05
            for n, raw in enumerate(warm):
                for message_id in load.message_ids(f"{prefix}-warm{n}"):
                    listener.expect(message_id, warm_at + n / request_rate)
                delay = warm_at + n / request_rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                load.announce(f"{prefix}-warm{n}", n)
                await pool.post(raw)
            await listener.wait_for(visitors * per_request, idle_s=30, within_s=60)
            if listener.pushed < visitors * per_request:
                raise RuntimeError("warm-up messages never reached the agent socket")
            listener.pushed, listener.latencies = 0, []
            listener.first_push = listener.last_push = None

            errors: dict[str, int] = {}
            skipped = 0
            inflight: set[asyncio.Task[None]] = set()
            max_inflight = 2000

            acks: list[float] = []  # scheduled send -> answer, to split the latency

            async def send(i: int, at: float) -> None:
                ids = load.message_ids(f"{prefix}-{i}")
                for message_id in ids:
                    listener.expect(message_id, at)
                load.announce(f"{prefix}-{i}", i % visitors)
                status = await pool.post(measured[i])
                measured[i] = b""
                acks.append(loop.time() - at)
                if status != load.ok_status:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    for message_id in ids:
                        listener.sent_at.pop(message_id, None)

            meter = CpuMeter(target.pids)
            meter.begin()
            start = loop.time() + 0.05
            for i in range(total):
                at = start + i / request_rate
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if len(inflight) >= max_inflight:
                    skipped += 1  # the hub stopped acking: the offered rate is not being met
                    continue
                task = asyncio.create_task(send(i, at))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
            if inflight:
                await asyncio.wait(inflight, timeout=30)
            sent = (total - skipped - sum(errors.values())) * per_request
            await listener.wait_for(sent, idle_s=grace_s, within_s=60)
            received = len(listener.latencies)
            cpu = meter.per_message(received)
            pool.close()
            lost = sent - received
            # a lost message counts as infinitely late, so loss shows in p99
            latencies = listener.latencies + [math.inf] * max(0, lost)
            last = listener.last_push or loop.time()
            sustained = received / max(1e-9, last - start)
            return {
                "offered_rate": rate,
                "rate": sustained,
                "messages_per_request": per_request,
                "sent": sent,
                "received": received,
                "lost": lost,
                "skipped": skipped,
                "errors": errors,
                "p50_ms": ms(percentile(latencies, 50)),
                "p90_ms": ms(percentile(latencies, 90)),
                "ack_p50_ms": ms(percentile(acks, 50)),
                "ack_p99_ms": ms(percentile(acks, 99)),
                "p99_ms": ms(percentile(latencies, 99)),
                "max_ms": ms(max(latencies) if latencies else None),
                "duration_s": duration_s,
                "visitors": visitors,
                "agent_socket": listener.closed_with,
                "stalled_agent_socket": stalled.state(),
                "cpu_ms_per_message": cpu,
            }


class RawPool:
    """Keep-alive raw connections for the open-loop phases: one request per connection at a
    time, a new connection whenever all are busy (as a browser fleet would open them)."""

    def __init__(self, target: Target) -> None:
        self._host, port = target.host_port.rsplit(":", 1)
        self._port = int(port)
        self._idle: list[RawConnection] = []
        self._all: list[RawConnection] = []

    async def post(self, raw: bytes) -> int:
        conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = await RawConnection.open(self._host, self._port)
                self._all.append(conn)
            status = await conn.request(raw)
        except OSError:
            return -1
        self._idle.append(conn)
        return status

    def close(self) -> None:
        for conn in self._all:
            conn.close()


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Plan:
    concurrency: int
    visitors: int
    accept_s: float
    warmup_s: float
    e2e_s: float
    search: bool
    log_level: str
    profile: Path | None = None
    phases: tuple[str, ...] = ("accept", "e2e")
    channels: tuple[str, ...] = ("webchat",)
    #: the phases' length for the channels other than web chat (a full run of every channel
    #: must stay well under a quarter of an hour)
    channel_s: float = 5.0

    def seconds(self, channel: str) -> float:
        return self.accept_s if channel == "webchat" else self.channel_s


def e2e_ok(result: dict[str, Any], p99_limit: float) -> bool:
    p99 = result["p99_ms"]
    return (
        result["lost"] == 0
        and result["skipped"] == 0
        and not result["errors"]
        and p99 is not None
        and p99 <= p99_limit
        and result["rate"] >= SUSTAINED_SHARE * result["offered_rate"]
    )


def scenario(mode: str, channel: str, what: str) -> str:
    """``embedded: durable accept`` for web chat (as before), ``embedded wechat: ...`` else."""
    return f"{mode}: {what}" if channel == "webchat" else f"{mode} {channel}: {what}"


def run_mode(mode: str, plan: Plan, bare_rate: float, work: Path, rows: list[Row]) -> None:
    failures = []
    for channel in plan.channels:
        try:
            if "accept" in plan.phases:
                run_accept(mode, channel, plan, bare_rate, work, rows)
            if "e2e" in plan.phases:
                run_e2e(mode, channel, plan, bare_rate, work, rows)
        except Exception as exc:  # the other channels are measured all the same
            failures.append(f"{channel}: {type(exc).__name__}: {exc}")
            say(f"FAILED {mode} {failures[-1]}")
    if failures:
        raise RuntimeError("; ".join(failures))


def closed_loop(
    target: Target, plan: Plan, duration_s: float, bare_rate: float | None = None
) -> dict[str, Any]:
    """The closed-loop accept phase against ``target``, with the plan's load."""
    share = POOL_SHARE.get(target.load.name) if target.load.precompute else None
    pool_size = None
    if share is not None and bare_rate is not None:
        pool_size = math.ceil(share * bare_rate * (plan.warmup_s + duration_s))
    return asyncio.run(
        accept_phase(
            target,
            concurrency=plan.concurrency,
            visitors=plan.visitors,
            duration_s=duration_s,
            warmup_s=plan.warmup_s,
            pool_size=pool_size,
        )
    )


def run_accept(
    mode: str, channel: str, plan: Plan, bare_rate: float, work: Path, rows: list[Row]
) -> None:
    # The postgres mode's target row measures the tier that accepts: its workers start after
    # the burst (the same as workers that are down or busy), then must drain the backlog.
    # The row with the worker running is the same burst on a box the two tiers share (web
    # chat only: it is informative).
    variants = [(True, "durable accept")]
    if channel == "webchat":
        variants.append((False, "durable accept, worker running"))
    seconds = plan.seconds(channel)
    for deferred, label in variants if mode == "postgres" else [(False, "durable accept")]:
        name = scenario(mode, channel, label)
        say(f"{name} ({seconds:.0f}s, {plan.concurrency} connections)")
        with fresh_hub(
            mode, work, plan.log_level, plan.profile, defer_workers=deferred, channel=channel
        ) as target:
            acc = closed_loop(target, plan, seconds, bare_rate)
        targeted = label == "durable accept"
        rows.append(
            Row(
                name,
                mode,
                "accept",
                acc["rate"],
                acc["rate"] / bare_rate,
                acc["p50_ms"],
                acc["p99_ms"],
                f">= {ACCEPT_RATIO:.2f}x, none lost" if targeted else "",
                (
                    acc["rate"] >= ACCEPT_RATIO * bare_rate
                    and not acc["errors"]
                    and acc.get("lost") == 0
                )
                if targeted
                else None,
                acc,
                channel,
            )
        )


def run_e2e(
    mode: str, channel: str, plan: Plan, bare_rate: float, work: Path, rows: list[Row]
) -> None:
    ratio, p99_limit = E2E_TARGETS[mode]
    rate = max(1.0, round(ratio * bare_rate))
    seconds = plan.seconds(channel)
    say(f"{scenario(mode, channel, 'accept -> agent push')} at {rate:.0f}/s ({seconds:.0f}s)")
    with fresh_hub(mode, work, plan.log_level, plan.profile, channel=channel) as target:
        e2e = asyncio.run(e2e_phase(target, rate=rate, visitors=plan.visitors, duration_s=seconds))
        rows.append(
            Row(
                scenario(mode, channel, f"accept->push @{rate:.0f}/s"),
                mode,
                "e2e",
                e2e["rate"],
                e2e["rate"] / bare_rate,
                e2e["p50_ms"],
                e2e["p99_ms"],
                f">= {ratio:.2f}x, p99 <= {p99_limit:.0f}ms",
                e2e_ok(e2e, p99_limit) and e2e["rate"] >= ratio * bare_rate * SUSTAINED_SHARE,
                e2e,
                channel,
            )
        )
    # the search is web chat's: the other channels share its processing and push path
    if not plan.search or channel != "webchat":
        return
    if e2e_ok(e2e, p99_limit):
        # upwards on a new hub (the target run left it idle, but with a grown database)
        factors: tuple[float, ...] = (1.5, 2.0, 3.0, 4.0, 6.0)
    else:
        # downwards, each on a fresh hub: a missed rate leaves a backlog behind
        factors = (0.7, 0.5, 0.35, 0.25, 0.15, 0.1)
    for factor in factors:
        offered = max(1, round(rate * factor))
        say(f"{mode}: max sustained search at {offered}/s")
        with fresh_hub(mode, work, plan.log_level, plan.profile) as target:
            found = asyncio.run(
                e2e_phase(target, rate=offered, visitors=plan.visitors, duration_s=plan.e2e_s)
            )
        ok = e2e_ok(found, p99_limit)
        rows.append(
            Row(
                f"{mode}: search @{offered}/s",
                mode,
                "max",
                found["rate"],
                found["rate"] / bare_rate,
                found["p50_ms"],
                found["p99_ms"],
                f"p99 <= {p99_limit:.0f}ms",
                ok,
                found,
            )
        )
        if ok != (factor > 1):  # the first failure going up, the first success going down
            break


def measure_bare(
    plan: Plan, work: Path, rows: list[Row], label: str, reference: float | None = None
) -> float:
    say(f"{label}: {plan.accept_s:.0f}s, {plan.concurrency} connections")
    with bare_server(work) as bare:
        result = closed_loop(bare, plan, plan.accept_s)
    rate = float(result["rate"])
    ratio = rate / reference if reference else 1.0
    rows.append(
        Row(label, "bare", "bare", rate, ratio, result["p50_ms"], result["p99_ms"], details=result)
    )
    return rate


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "rate/s", "x bare", "p50 ms", "p99 ms", "target", "result")
    table = [header] + [
        (
            r.scenario,
            f"{r.rate:.0f}",
            f"{r.ratio:.3f}",
            fmt(r.p50_ms),
            fmt(r.p99_ms),
            r.target or "-",
            {True: "PASS", False: "FAIL", None: "-"}[r.passed],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for n, line in enumerate(table):
        print(
            "  ".join(
                cell.ljust(w) if i in (0, 5) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("\nCPU milliseconds per message (the bench is the load generator; other is the rest of")
    print("the box: PostgreSQL, Redis; fake is the fake WeCom API):")
    for r in rows:
        cpu = r.details.get("cpu_ms_per_message") or {}
        if cpu:
            parts = "  ".join(f"{name} {value:.3f}" for name, value in cpu.items())
            print(f"  {r.scenario}: {parts}")
    notes = [
        f"  {r.scenario}: the prepared requests ran out after "
        f"{r.details['prepared_requests_ran_out_after_s']}s (the rate is over that window)"
        for r in rows
        if "prepared_requests_ran_out_after_s" in r.details
    ]
    if notes:
        print("\n" + "\n".join(notes))
    maxima = {(r.mode, r.channel): r for r in rows if r.kind in ("e2e", "max") and r.passed}
    for (mode, channel), best in maxima.items():
        print(
            f"{scenario(mode, channel, 'highest sustained rate that met its target')}: "
            f"{best.rate:.0f}/s ({best.ratio:.3f}x bare)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Kefu Hub ingest benchmark", formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs, no max-rate search")
    parser.add_argument("--only", choices=["embedded", "postgres"], default=None)
    parser.add_argument(
        "--channel",
        action="append",
        choices=[*CHANNELS, "all"],
        default=None,
        help="the channel whose ingest path to measure (repeatable; default webchat):\n"
        "webchat, wechat (Official Account, plaintext), wechat_aes (safe mode),\n"
        "wecom_kf (WeCom callbacks, the hub pulling from a fake API), twilio_sms, or all",
    )
    parser.add_argument(
        "--kf-page",
        type=int,
        default=1,
        help="messages each WeCom callback announces in the fake API's queue (default 1)",
    )
    parser.add_argument(
        "--no-flood-limits",
        action="store_true",
        help="create web chat channels with their flood limits off (default: checked on\n"
        "every message, set too high to refuse any)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="accept-phase connections")
    parser.add_argument("--visitors", type=int, default=256, help="distinct visitors")
    parser.add_argument("--duration", type=float, default=None, help="seconds per phase")
    parser.add_argument(
        "--log-level", default="WARNING", help="KEFU_LOG_LEVEL of the hub (default WARNING)"
    )
    parser.add_argument(
        "--hub-env",
        action="append",
        default=[],
        metavar="KEFU_X=VALUE",
        help="an extra setting for the hub processes (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the hubs' data folders and logs")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the hub processes with py-spy (collapsed stacks) into this folder",
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH / "results" / "latest.json", help="JSON results file"
    )
    parser.add_argument(
        "--phase",
        choices=["accept", "e2e"],
        default=None,
        help="run only this phase of each mode (default: both)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="kefu worker processes in the postgres mode"
    )
    args = parser.parse_args(argv)
    global WORKERS, KF_PAGE, FLOOD_LIMITS  # read by fresh_hub; set once, here
    WORKERS = max(1, args.workers)
    KF_PAGE = max(1, args.kf_page)
    FLOOD_LIMITS = not args.no_flood_limits
    for item in args.hub_env:
        name, _, value = item.partition("=")
        if not name.startswith("KEFU_"):
            parser.error(f"--hub-env takes KEFU_NAME=VALUE, not {item!r}")
        EXTRA_ENV[name] = value
    asked = args.channel or ["webchat"]
    channels = tuple(c for c in CHANNELS if c in asked or "all" in asked)
    seconds = args.duration or (4.0 if args.quick else 10.0)
    plan = Plan(
        concurrency=args.concurrency,
        visitors=args.visitors,
        accept_s=seconds,
        warmup_s=1.0,
        e2e_s=seconds,
        search=not args.quick,
        log_level=args.log_level,
        profile=args.profile,
        phases=(args.phase,) if args.phase else ("accept", "e2e"),
        channels=channels,
        channel_s=args.duration or (4.0 if args.quick else 5.0),
    )
    modes = [args.only] if args.only else ["embedded", "postgres"]
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        say(
            f"warning: the 1-minute load average is {load_before:.1f}; other work on this box "
            "skews every number below (the ratios less than the rates)"
        )
    work = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    rows: list[Row] = []
    failed: str | None = None
    try:
        first_rate = bare_rate = measure_bare(plan, work, rows, "bare aiohttp handler")
        for n, mode in enumerate(modes):
            # The box's speed drifts over minutes, so each mode is compared with a bare run
            # measured just before it rather than with one from the start of the run.
            if n > 0:
                bare_rate = measure_bare(plan, work, rows, f"bare handler, before {mode}")
            try:
                run_mode(mode, plan, bare_rate, work, rows)
            except Exception as exc:  # report what was measured, then the failure
                failed = f"{mode}: {type(exc).__name__}: {exc}"
                say(f"FAILED {failed}")
        # again at the end: if the two differ much, something else was using the box
        again = measure_bare(plan, work, rows, "bare handler, end of run", first_rate)
        if abs(again - first_rate) > 0.15 * first_rate:
            say(
                f"warning: the bare handler did {first_rate:.0f}/s first and {again:.0f}/s at the "
                "end; the box was not idle, so treat every ratio with care"
            )
    finally:
        if failed or args.keep:
            say(f"logs and data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()[0],
                "plan": asdict(plan),
                "kf_page": KF_PAGE,
                "webchat_flood_limits": FLOOD_LIMITS,
                "hub_env": EXTRA_ENV,
                "failed": failed,
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nresults: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
