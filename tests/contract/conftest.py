"""The contract suite's session: the sample connector installed, one run per registered kind.

The sample connector (``tests/contract/sample_connector``) is installed as a third party would
install it — ``pip install`` into a folder of its own — once per session, from a copy so no
build files land in the repository. That folder is on ``sys.path`` (and ``PYTHONPATH``) only
while this package's tests run, so other suites see the hub's own connectors alone.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.bootstrap import Hub
from hub.domain.channels import ChannelState
from hub.registry import ConnectorEnv, Registry, load_connectors
from hub.web.keys import HUB
from tests.contract.kits import KITS, ContractKit, Target
from tests.integration.conftest import RunningHub, inprocess_hub, make_settings

SAMPLE_PACKAGE = Path(__file__).resolve().parent / "sample_connector"

_installed: list[Path] = []


@cache
def sample_site() -> Path:
    """Install the sample connector package into a fresh folder; returns that folder."""
    root = Path(tempfile.mkdtemp(prefix="kefu-contract-"))
    _installed.append(root)
    source = root / "kefu-sample-connector"
    shutil.copytree(
        SAMPLE_PACKAGE,
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "dist"),
    )
    site = root / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"installing the sample connector failed:\n{done.stdout}{done.stderr}")
    return site


@contextmanager
def installed(site: Path) -> Iterator[None]:
    """``site`` importable, and its entry points found, by this process and its children."""
    before = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), before]))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
        importlib.invalidate_caches()


def _unused_state(channel_id: int) -> ChannelState:
    raise AssertionError("no connector factory may use channel state while it is built")


#: what the factories are given when the suite only asks which kinds are registered
_LISTING_ENV = ConnectorEnv(
    http=cast(aiohttp.ClientSession, None),
    state_for=_unused_state,
    secret_key="contract-listing",
    public_url="http://hub.invalid",
)


@cache
def registry() -> Registry:
    """The connectors a hub started now would register (the sample one included)."""
    with installed(sample_site()):
        return load_connectors(_LISTING_ENV)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kind" in metafunc.fixturenames:
        kinds = sorted(registry().connectors)
        metafunc.parametrize("kind", kinds, ids=kinds)


def pytest_unconfigure(config: pytest.Config) -> None:
    for root in _installed:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package", autouse=True)
def sample_connector_installed() -> Iterator[Path]:
    site = sample_site()
    with installed(site):
        yield site


@pytest.fixture
def kit(kind: str) -> ContractKit:
    make = KITS.get(kind)
    if make is None:
        pytest.fail(f"no contract kit for kind {kind}: add one in tests/contract/kits.py")
    made = make()
    assert made.kind == kind, f"the kit registered for {kind!r} plays {made.kind!r}"
    return made


@pytest.fixture
async def provider(kit: ContractKit) -> AsyncIterator[str]:
    """The provider's fake API, running; its base URL."""
    async with kit.provider() as base:
        yield base


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    with socket.socket() as sock:  # a free port for the SMTP receiver
        sock.bind(("127.0.0.1", 0))
        smtp_port = int(sock.getsockname()[1])
    async with inprocess_hub(make_settings(tmp_path, smtp_port=smtp_port)) as running:
        running.extras["smtp_port"] = smtp_port
        yield running


@pytest.fixture
async def channel(hub: RunningHub, kind: str, kit: ContractKit, provider: str) -> dict[str, Any]:
    """A channel of the kind under test, made through the API with the kit's settings."""
    status, created = await hub.api(
        "POST",
        "/channels",
        json={"kind": kind, "name": f"Contract {kind} 合同", "settings": kit.settings(provider)},
    )
    assert status == 201, created
    result: dict[str, Any] = created
    return result


@pytest.fixture
def target(hub: RunningHub, channel: dict[str, Any]) -> Target:
    return Target(
        hub.base,
        hub.http,
        int(channel["id"]),
        str(channel["public_key"]),
        smtp_port=int(hub.extras.get("smtp_port", 0)),
    )


def hub_of(hub: RunningHub) -> Hub:
    """The ``Hub`` behind a running in-process hub: its directory, engines and deps."""
    server: TestServer = hub.extras["server"]
    assert server.app is not None
    return server.app[HUB]
