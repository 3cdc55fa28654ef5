"""Connector packages are found by entry point; a broken one is left out with its reason."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from hub.domain.settings import secret_names, settings_schema, validate_settings
from hub.registry import ENTRY_POINT_GROUP, ConnectorEnv, load_connectors
from tests.unit.registry_samples import Unlabelled

ENV = ConnectorEnv(
    http=None,  # type: ignore[arg-type]  # the sample factories never call out
    state_for=lambda channel_id: None,  # type: ignore[arg-type,return-value]
    secret_key="test-secret",
    public_url="https://hub.example.com",
)


def ep(name: str, target: str) -> EntryPoint:
    return EntryPoint(name, f"tests.unit.registry_samples:{target}", ENTRY_POINT_GROUP)


def test_the_hubs_own_connectors_are_registered() -> None:
    registry = load_connectors(ENV)
    assert list(registry.connectors) == ["webchat", "wechat", "wecom_kf", "twilio", "email"]
    assert registry.problems == ()
    for kind, connector in registry.connectors.items():
        assert connector.info.kind == kind


def test_a_good_package_loads_and_the_broken_ones_are_reported() -> None:
    registry = load_connectors(
        ENV,
        [
            ep("fake", "good"),
            EntryPoint("gone", "tests.unit.no_such_module:connector", ENTRY_POINT_GROUP),
            ep("raises", "raises"),
            ep("again", "same_kind"),
            ep("unlabelled", "bad_settings"),
            ep("object", "not_a_connector"),
        ],
    )
    # within a package, the entry points keep their declared order: the later one is refused
    assert list(registry.connectors) == ["fake"]
    reasons = {p.source.split(":")[1]: p.reason for p in registry.problems}
    assert set(reasons) == {"gone", "raises", "again", "unlabelled", "object"}
    assert "ModuleNotFoundError" in reasons["gone"]
    assert "the provider SDK is not installed" in reasons["raises"]
    assert "'fake'" in reasons["again"]
    assert "unknown:fake already declares" in reasons["again"]
    assert "setting 'token' has no label in zh-CN" in reasons["unlabelled"]
    assert "secret setting 'count' must be text" in reasons["unlabelled"]
    assert "no ChannelKind" in reasons["object"]


def test_derived_secrets_differ_by_purpose_and_key() -> None:
    first = ENV.derived_secret("kefu.webchat")
    assert first == ENV.derived_secret("kefu.webchat")
    assert first != ENV.derived_secret("kefu.other")
    assert first != ENV.secret_key


def test_the_form_schema_is_flat_and_carries_the_metadata() -> None:
    from connectors.wechat.settings import OfficialAccountSettings

    schema = settings_schema(OfficialAccountSettings)
    assert "$defs" not in str(schema)
    assert "anyOf" not in str(schema)
    aes = schema["properties"]["encoding_aes_key"]
    assert aes["type"] == "string"
    assert aes["x-nullable"] is True
    assert aes["x-secret"] is True
    assert aes["x-generate"] == "aes_key"
    assert aes["x-label"]["zh-CN"]
    assert schema["required"] == ["app_id", "app_secret", "token"]
    assert secret_names(OfficialAccountSettings) == {"app_secret", "token", "encoding_aes_key"}


@pytest.mark.parametrize("bad", [None, [], "text", 5])
def test_settings_that_are_no_object_are_refused(bad: Any) -> None:
    from hub.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="must be an object"):
        validate_settings(Unlabelled, bad)
