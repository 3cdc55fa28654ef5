"""Would-be connector factories for the registry tests: one good, the others each broken."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.domain.settings import setting
from hub.domain.texts import text
from hub.registry import ConnectorEnv
from tests.fakes.hub import FAKE_KIND, FakeConnector


def good(env: ConnectorEnv) -> FakeConnector:
    return FakeConnector()


def raises(env: ConnectorEnv) -> Any:
    raise RuntimeError("the provider SDK is not installed")


def same_kind(env: ConnectorEnv) -> FakeConnector:
    return FakeConnector()


class Unlabelled(BaseModel):
    token: str = setting(label={"en": "Token"}, secret=True)
    count: int = setting(1, label=text("Count", "数量"), secret=True)


def bad_settings(env: ConnectorEnv) -> FakeConnector:
    from dataclasses import replace

    return FakeConnector(info=replace(FAKE_KIND, kind="unlabelled", settings=Unlabelled))


def not_a_connector(env: ConnectorEnv) -> object:
    return object()
