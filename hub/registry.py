"""Finds the installed connectors (entry points ``kefu.connectors``) and checks each one.

A connector package registers a factory in its ``pyproject.toml``::

    [project.entry-points."kefu.connectors"]
    line = "kefu_line:connector"

The factory takes a ``ConnectorEnv`` and returns the connector. A package that fails to import,
declares a kind that another package already declared, or whose description is invalid is left
out with its reason (``Registry.problems``, logged by ``kefu serve`` at start); the other
channels keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from hub.domain.channels import ChannelKind, ChannelState, Connector, Phones
from hub.domain.settings import settings_model_problems
from hub.domain.texts import missing_languages

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "kefu.connectors"
#: this project's own distribution: its connectors win a clash over a kind's name
OWN_DISTRIBUTION = "kefu-hub"
_KIND = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ConnectorEnv:
    """What a connector factory is given by the process that loads it."""

    #: one client session per process, for providers' APIs
    http: aiohttp.ClientSession
    #: the per-channel state (tokens, cursors) shared by every process
    state_for: Callable[[int], ChannelState]
    #: the hub's secret key; use ``derived_secret`` rather than the key itself
    secret_key: str
    #: the address providers and browsers reach the hub at
    public_url: str
    #: whom a phone channel may ring now
    phones: Phones | None = None
    #: whether providers' servers may be on private networks (tests, on-premises fakes); the
    #: HTTP session enforces it, a connector with its own sockets (SMTP) checks it itself
    allow_private_networks: bool = False

    def derived_secret(self, purpose: str) -> str:
        """A key for one purpose (signing a widget's tokens), unrelated to the others."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LoadProblem:
    #: ``distribution:entry point``, e.g. ``kefu-line:line``
    source: str
    reason: str


@dataclass(frozen=True)
class Registry:
    connectors: dict[str, Connector] = field(default_factory=dict)
    problems: tuple[LoadProblem, ...] = ()


def load_connectors(
    env: ConnectorEnv, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None
) -> Registry:
    """Every usable connector by kind, and what was wrong with the others."""
    found = list(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if entry_points is None
        else entry_points
    )
    # Our own connectors load first, so a package cannot take one of their kinds.
    found.sort(key=lambda ep: (_distribution(ep) != OWN_DISTRIBUTION, _distribution(ep)))
    connectors: dict[str, Connector] = {}
    owners: dict[str, str] = {}
    problems: list[LoadProblem] = []
    for ep in found:
        source = f"{_distribution(ep)}:{ep.name}"
        try:
            factory = ep.load()
            connector = factory(env)
        except Exception as exc:  # a broken package must not stop the hub
            problems.append(LoadProblem(source, f"it failed to load: {type(exc).__name__}: {exc}"))
            continue
        reasons = connector_problems(connector)
        kind = getattr(getattr(connector, "info", None), "kind", None)
        if not reasons and kind in owners:
            reasons = [f"it declares the kind {kind!r}, which {owners[kind]} already declares"]
        if reasons:
            problems.append(LoadProblem(source, "; ".join(reasons)))
            continue
        assert isinstance(kind, str)
        connectors[kind] = connector
        owners[kind] = source
    # Listed (in the API and the admin page) by the rank each kind declares.
    connectors = dict(sorted(connectors.items(), key=lambda item: item[1].info.rank))
    for problem in problems:
        log.error(
            "connector left out",
            extra={"source": problem.source, "reason": problem.reason},
        )
    return Registry(connectors, tuple(problems))


def _distribution(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return str(dist.name) if dist is not None else "unknown"


def connector_problems(connector: Any) -> list[str]:
    """What makes a would-be connector unusable (empty when it is fine)."""
    info = getattr(connector, "info", None)
    if not isinstance(info, ChannelKind):
        return ["it has no ChannelKind as its `info`"]
    problems: list[str] = []
    if not _KIND.match(info.kind):
        problems.append(f"its kind {info.kind!r} is not 2-40 lowercase letters, digits or _")
    for method in ("handle_webhook", "send", "fetch_media"):
        if not callable(getattr(connector, method, None)):
            problems.append(f"it has no {method}()")
    problems += _texts("title", info.title)
    problems += _texts("contact_label", info.contact_label)
    problems += settings_model_problems(info.settings)
    problems += [
        f"its webhook name {name!r} is not a lowercase word"
        for name in info.webhook_names
        if not _NAME.match(name)
    ]
    if not _COLOR.match(info.color):
        problems.append(f"its color {info.color!r} is not #rrggbb")
    problems += _event_texts(info.events)
    if info.guide is not None:
        problems += _texts("guide title", info.guide.title)
        for number, step in enumerate(info.guide.steps, 1):
            problems += _texts(f"guide step {number}", step)
        if info.guide.webhook is not None and info.guide.webhook not in info.webhook_names:
            problems.append(f"its guide shows the unknown webhook {info.guide.webhook!r}")
    if info.assets is not None and not info.assets.is_dir():
        problems.append(f"its assets folder {info.assets} does not exist")
    return problems


def _texts(what: str, value: object) -> list[str]:
    lacking = missing_languages(value)
    return [f"its {what} has no text in {', '.join(lacking)}"] if lacking else []


def _event_texts(events: Mapping[str, object]) -> list[str]:
    problems: list[str] = []
    for name, label in events.items():
        problems += _texts(f"event {name!r}", label)
    return problems
