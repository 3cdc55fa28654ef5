"""A real hub on a real port in a thread of its own, for clients that block (the fuzzer's)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from hub.bootstrap import Hub
from hub.config import Settings
from hub.domain.model import Role
from hub.web.auth import hash_password
from hub.web.keys import HUB
from tests.clients import VisitorSocket
from tests.integration.conftest import RunningHub, inprocess_hub

T = TypeVar("T")

#: the password of every agent the fuzz hub starts with
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Member:
    """An agent of the fuzz hub, with a token that stays valid for the whole run."""

    id: int
    email: str
    token: str


class ThreadedHub:
    """``inprocess_hub`` run on an event loop in a thread, so that a blocking client in the test
    thread can call it; its REST answers are checked against the document when it stops."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-hub", daemon=True)
        self.running: RunningHub | None = None

    @property
    def hub(self) -> Hub:
        assert self.running is not None
        return self.running.extras["server"].app[HUB]

    @property
    def base(self) -> str:
        assert self.running is not None
        return self.running.base

    def start(self, within_s: float = 60) -> None:
        self._thread.start()
        if not self._ready.wait(within_s):
            raise AssertionError("the fuzz hub did not start")
        if self._error is not None:
            raise self._error

    def stop(self, within_s: float = 60) -> None:
        """Stop the hub; raises what went wrong in its thread, the answers' check included."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(within_s)
        if self._thread.is_alive():
            raise AssertionError("the fuzz hub did not stop")
        if self._error is not None:
            raise self._error

    def call(self, coro: Coroutine[Any, Any, T], within_s: float = 30) -> T:
        """Run a coroutine on the hub's loop (its directory, say) and wait for its result."""
        assert self._loop is not None
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(within_s)

    def member(self, email: str, role: Role) -> Member:
        async def create() -> Member:
            agent = await self.hub.directory.create_agent(
                email, email.split("@")[0], role, hash_password(PASSWORD)
            )
            token = await self.hub.directory.create_token(agent.id, "fuzz", None)
            return Member(agent.id, email, token)

        return self.call(create())

    def token(self, agent_id: int) -> str:
        return self.call(self.hub.directory.create_token(agent_id, "throwaway", None))

    def conversation(self, text: str) -> None:
        """A visitor writes on the web chat channel: a contact, a conversation, a message."""
        running = self.running
        assert running is not None

        async def visit() -> None:
            visitor = await VisitorSocket.connect(running.http, running.base, running.channel_key)
            await visitor.say(text)
            await visitor.close()

        self.call(visit())

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start() or stop() in the test thread
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with inprocess_hub(self._settings) as running:
            self.running = running
            self._ready.set()
            await self._stop.wait()
