"""End-to-end fixtures: a real ``kefu serve`` subprocess, and Debian's Chromium via Playwright."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEFU = Path(sys.executable).with_name("kefu")
ADMIN_EMAIL = "admin@e2e.kefu"
ADMIN_PASSWORD = "admin-password-1"
AGENT_EMAIL = "li.na@e2e.kefu"
AGENT_PASSWORD = "agent-password-1"
#: small, so the "too big" test needs no large file
MAX_UPLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Hub:
    base: str
    port: int
    key: str
    channel_id: int
    admin_token: str
    data_dir: Path

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return api_call(self.base, method, path, body, self.admin_token)


def api_call(
    base: str, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kefu serve exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"kefu serve did not become healthy:\n{log.read_text()}")


def hub_env(data_dir: Path, base: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEFU_CONFIG": str(data_dir / "absent.toml"),
        "KEFU_DATA_DIR": str(data_dir),
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/kefu.db",
        "KEFU_PUBLIC_URL": base,
        "KEFU_REDIS_URL": "",
        # the providers' fakes listen on the loopback
        "KEFU_ALLOW_PRIVATE_NETWORKS": "true",
        "KEFU_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def serving(data_dir: Path, **extra_env: str) -> Iterator[tuple[str, int, str, dict[str, str]]]:
    """A migrated hub with the admin, serving on a free port: (base, port, token, env)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = hub_env(data_dir, base, **extra_env)

    def kefu(*args: str) -> None:
        subprocess.run([str(KEFU), *args], env=env, check=True, capture_output=True, timeout=60)

    kefu("migrate")
    kefu("user", "add", ADMIN_EMAIL, "--name", "Wang Fang 王芳", "--role", "admin",
         "--password", ADMIN_PASSWORD)  # fmt: skip
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(KEFU), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(base, proc, log)
        token = api_call(
            base, "POST", "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )["token"]
        yield base, port, token, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="package")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A migrated hub with an admin, an agent and a web chat channel, serving on a free port."""
    data_dir = tmp_path_factory.mktemp("kefu")
    with serving(data_dir, KEFU_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES)) as (base, port, token, env):
        subprocess.run(
            [str(KEFU), "user", "add", AGENT_EMAIL, "--name", "Li Na 李娜", "--role", "agent",
             "--password", AGENT_PASSWORD],
            env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        channel = api_call(
            base,
            "POST",
            "/channels",
            {
                "kind": "webchat",
                "name": "Shop web chat",
                "settings": {
                    "title": "Lotus & Co. 莲记",
                    "welcome_text": "您好，有什么可以帮您？ Hi, how can we help?",
                    "allowed_origins": [base],
                },
            },
            token,
        )
        yield Hub(base, port, channel["public_key"], channel["id"], token, data_dir)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing; .ci/run should have installed it")
        pytest.skip(
            "!!! /usr/bin/chromium is missing: the browser tests did NOT run. "
            "Install it with `apt-get install -y chromium fonts-wqy-microhei` !!!"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Opens pages in fresh browser contexts (separate storage: one per person)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(locale: str = "en-US", width: int = 1280, height: int = 820) -> Any:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the pages: {errors}"


def login(page: Any, hub: Hub, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{hub.base}/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector(".list-pane")
    page.locator("body[data-live=up]").wait_for(state="attached")


WIDGET = "#kefu-hub-widget"


def open_widget(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{WIDGET}[data-state=ready]", state="attached")
    page.click(f"{WIDGET} >> .launcher")
    page.wait_for_selector(f"{WIDGET} >> .panel.open")


class LoopThread:
    """An async fake server (``running()`` context) on an event loop of its own, in a thread,
    for the browser tests, which are synchronous."""

    def __init__(self, running: Callable[[], AbstractAsyncContextManager[Any]], what: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        ready = threading.Event()

        async def serve() -> None:
            self._stop = asyncio.Event()
            async with running():
                ready.set()
                await self._stop.wait()

        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(serve(),))
        self._thread.start()
        assert ready.wait(10), f"{what} did not start"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=15)

    def close(self) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self.loop.close()
