"""Real hubs for integration tests: in-process apps and ``kefu`` subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from redis.asyncio import Redis
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters.db.migrate import upgrade_async
from hub.config import Settings
from hub.domain.model import Role
from hub.web.api import api
from hub.web.app import create_app
from hub.web.auth import hash_password
from hub.web.keys import HUB
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.twilio_api import FakeTwilio
from tests.services import create_pg_database, drop_pg_database, require_redis

KEFU = str(Path(sys.executable).with_name("kefu"))


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    url = require_redis()
    client = Redis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"


def make_settings(tmp_path: Path, database_url: str | None = None, **extra: Any) -> Settings:
    # The providers' fakes listen on the loopback, which real hubs may not call by default.
    extra.setdefault("allow_private_networks", True)
    return Settings(
        database_url=database_url or sqlite_url(tmp_path),
        data_dir=tmp_path,
        secret_key="integration-test-secret-key",
        queue_name=f"kefu:test:{uuid.uuid4().hex[:8]}",
        **extra,
    )


@dataclass(frozen=True)
class Answer:
    """One response of the REST API as a test got it."""

    method: str
    #: the route's template, as the document names it: ``/api/v1/conversations/{id}``
    path: str
    status: int
    content_type: str
    body: bytes


class ApiContract:
    """The OpenAPI document the hub serves, as a checker of the answers it gives."""

    URI = "urn:kefu-hub:openapi"

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.URI, resource)

    def problem(self, answer: Answer) -> str | None:
        """What is wrong with an answer by the document, or ``None`` when it is as declared."""
        where = f"{answer.method} {answer.path} answered {answer.status}"
        operation = self.document["paths"].get(answer.path, {}).get(answer.method.lower())
        if operation is None:
            return f"{where}, but the document has no such operation"
        responses = operation["responses"]
        key = str(answer.status)
        if key not in responses:
            key = f"{answer.status // 100}XX"
        if key not in responses:
            return f"{where}, a status the document does not declare (only {', '.join(responses)})"
        content = responses[key].get("content")
        if not content:
            return f"{where} with a body, but the document declares none" if answer.body else None
        if answer.content_type not in content:
            declared = "JSON" if "application/json" in content else ", ".join(content)
            return f"{where} with {answer.content_type!r}, but the document declares {declared}"
        if answer.content_type != "application/json":
            return None  # a file (a CSV export), declared as a string of its type
        try:
            body = json.loads(answer.body)
        except ValueError:
            return f"{where} with a body that is not JSON: {answer.body[:200]!r}"
        schema = content["application/json"]["schema"]
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in ("", "paths", answer.path, answer.method.lower(), "responses", key)
        )
        validator = Draft202012Validator(
            {"$ref": f"{self.URI}#{pointer}/content/application~1json/schema"},
            registry=self.registry,
        )
        error = best_match(validator.iter_errors(body))
        if error is None:
            return None
        declared = str(schema.get("$ref", "its schema")).rsplit("/", 1)[-1]
        return f"{where} with a body that is no {declared}: {error.message} (at {error.json_path})"


@cache
def api_contract() -> ApiContract:
    return ApiContract(api.document("http://hub.test"))


class AnswerLog:
    """Records every answer of the REST API an in-process hub gives, to check at the end."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []

    def attach(self, app: web.Application) -> None:
        # First in the list is outermost: it sees the answers the error middleware makes.
        app.middlewares.insert(0, self.middleware)

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.add(request, exc)
            raise
        self.add(request, response)
        return response

    def add(self, request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        # An unrouted path has no operation to check; the live channel is no REST answer.
        if resource is None or isinstance(response, web.WebSocketResponse):
            return
        if not resource.canonical.startswith(api.prefix + "/"):
            return
        body = response.body if isinstance(response, web.Response) else None
        self.answers.append(
            Answer(
                request.method,
                resource.canonical,
                response.status,
                response.content_type,
                body if isinstance(body, bytes) else b"",
            )
        )

    def check(self) -> None:
        contract = api_contract()
        problems = dict.fromkeys(filter(None, map(contract.problem, self.answers)))
        if problems:
            raise AssertionError(
                "answers that differ from the OpenAPI document:\n" + "\n".join(problems)
            )


@dataclass
class RunningHub:
    """A hub listening on a real port, with an admin and a web chat channel."""

    base: str
    token: str
    channel_key: str
    channel_id: int
    http: aiohttp.ClientSession
    extras: dict[str, Any] = field(default_factory=dict)
    answers: AnswerLog = field(default_factory=AnswerLog)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(
            method, self.base + "/api/v1" + path, headers=self.auth(), **kwargs
        ) as response:
            body = await response.read()
            return response.status, json.loads(body) if body else None


async def seed(hub_base: str, http: aiohttp.ClientSession, token: str) -> tuple[int, str]:
    async with http.post(
        hub_base + "/api/v1/channels",
        json={"kind": "webchat", "name": "Shop chat 商店"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 201, await response.text()
        channel = await response.json()
    return channel["id"], channel["public_key"]


def checked_server(settings: Settings, answers: AnswerLog) -> TestServer:
    """A test server for a hub whose REST answers are recorded, to check against the document."""
    app = create_app(settings)
    answers.attach(app)
    return TestServer(app, host="127.0.0.1")


@asynccontextmanager
async def inprocess_hub(settings: Settings) -> AsyncIterator[RunningHub]:
    """A hub in this process with an admin and a web chat channel; at the end, every answer of
    its REST API is checked against the OpenAPI document (after a test that passed)."""
    await upgrade_async(settings.database_url)
    answers = AnswerLog()
    server = checked_server(settings, answers)
    await server.start_server()
    hub_ = server.app[HUB]
    admin = await hub_.directory.create_agent(
        "admin@shop.test", "Admin 管理员", Role.ADMIN, hash_password("correct horse")
    )
    token = await hub_.directory.create_token(admin.id, "test", None)
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        channel_id, key = await seed(base, http, token)
        try:
            yield RunningHub(base, token, key, channel_id, http, {"server": server}, answers)
        finally:
            await server.close()
    answers.check()


@asynccontextmanager
async def inprocess_hub_again(settings: Settings) -> AsyncIterator[RunningHub]:
    """Start a hub on an existing database, as a restart would; logs in as its admin."""
    answers = AnswerLog()
    server = checked_server(settings, answers)
    await server.start_server()
    hub_ = server.app[HUB]
    admin = (await hub_.directory.list_agents())[0]
    token = await hub_.directory.create_token(admin.id, "test", None)
    channel = (await hub_.directory.list_channels())[0]
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        try:
            yield RunningHub(base, token, channel.public_key, channel.id, http, answers=answers)
        finally:
            await server.close()
    answers.check()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hub_env(settings: Settings, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATABASE_URL=settings.database_url,
        KEFU_REDIS_URL=settings.redis_url,
        KEFU_DATA_DIR=str(settings.data_dir),
        KEFU_SECRET_KEY=settings.secret_key,
        KEFU_QUEUE_NAME=settings.queue_name,
        KEFU_JOB_TIMEOUT_S=str(settings.job_timeout_s),
        KEFU_SWEEP_AFTER_S=str(settings.sweep_after_s),
        KEFU_SWEEP_EVERY_S=str(settings.sweep_every_s),
        KEFU_ALLOW_PRIVATE_NETWORKS=str(settings.allow_private_networks).lower(),
        KEFU_LOG_LEVEL="INFO",
    )
    if port:
        env["KEFU_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    return env


class Processes:
    """``kefu`` subprocesses, each logging to a file, all killed at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.tmp_path / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [KEFU, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp_path
            )
        self.running.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    async def serve(self, name: str, settings: Settings) -> str:
        port = free_port()
        self.start(name, ["serve", "--port", str(port)], hub_env(settings, port))
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(base, lambda: self.log(name))
        return base

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


async def wait_until_up(base: str, log: Callable[[], str], within_s: float = 20) -> None:
    async with aiohttp.ClientSession() as http:
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            with suppress(aiohttp.ClientError):
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{base} did not come up:\n{log()}")
            await asyncio.sleep(0.1)


async def cli(args: list[str], settings: Settings, stdin: bytes | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        KEFU,
        *args,
        env=hub_env(settings),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=settings.data_dir,
    )
    out, _ = await process.communicate(stdin)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def production_hub(
    processes: Processes, settings: Settings, **worker_env: str
) -> tuple[str, str]:
    """Migrate, add an admin, start a ``kefu worker`` and a ``kefu serve``: (base URL, token)."""
    token = await subprocess_hub_admin(settings)
    processes.start("worker", ["worker"], {**hub_env(settings), **worker_env})
    base = await processes.serve("serve", settings)
    return base, token


async def subprocess_hub_admin(settings: Settings) -> str:
    """Migrate, add an admin and return an API token, all through the CLI."""
    await cli(["migrate"], settings)
    await cli(
        ["user", "add", "admin@shop.test", "--name", "Admin 管理员", "--role", "admin"],
        settings,
        stdin=b"correct horse battery\n",
    )
    return (await cli(["token", "create", "admin@shop.test"], settings)).strip()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """Twilio's REST API on loopback (``tests/fakes/twilio_api.py``)."""
    api = FakeTwilio()
    async with api.running():
        yield api


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub in this process on SQLite (modules that need another define their own)."""
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


#: the support address of the email channels the tests make
SUPPORT = "support@shop.test"


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on the loopback that the hub's replies reach."""
    async with SmtpSink().running() as running:
        yield running


@pytest.fixture
async def mail_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub in this process whose SMTP receiver listens on ``extras["smtp_port"]``."""
    port = free_port()
    async with inprocess_hub(make_settings(tmp_path, smtp_port=port, poll_check_s=0.2)) as hub:
        hub.extras["smtp_port"] = port
        yield hub


async def email_channel(hub: RunningHub, smtp_port: int, **settings: Any) -> dict[str, Any]:
    """An email channel for ``SUPPORT`` whose replies go to ``smtp_port`` on the loopback;
    ``settings`` add to or replace the defaults (an IMAP mailbox to read)."""
    status, channel = await hub.api(
        "POST",
        "/channels",
        json={
            "kind": "email",
            "name": "客服邮箱",
            "settings": {
                "address": SUPPORT,
                "display_name": "Lotus & Co. 莲记",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "none",
                **settings,
            },
        },
    )
    assert status == 201, channel
    return dict(channel)
