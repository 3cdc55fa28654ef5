"""A Twilio channel's settings: Twilio's own formats accepted and normalised, others refused."""

from __future__ import annotations

from typing import Any, cast

import aiohttp
import pytest

from connectors.twilio import TwilioConnector
from connectors.twilio.settings import TwilioSettings
from hub.domain.errors import InvalidInput
from hub.domain.settings import settings_schema, validate_settings
from hub.registry import connector_problems
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, TWILIO_NUMBER

VALID = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_number": TWILIO_NUMBER}


def test_the_kind_is_a_valid_connector() -> None:
    connector = TwilioConnector(cast(aiohttp.ClientSession, None), "https://kefu.example.com")
    assert connector_problems(connector) == []
    info = connector.info
    assert info.kind == "twilio"
    assert info.title == {"en": "SMS and calls (Twilio)", "zh-CN": "短信和电话（Twilio）"}
    assert info.webhook_names == ("sms", "sms_status", "voice", "voice_status", "recording_status")
    assert info.guide is not None
    assert info.guide.webhook == "sms"
    assert any("StatusCallback" in step["en"] for step in info.guide.steps)
    assert any("A call comes in" in step["en"] for step in info.guide.steps)
    assert info.secret_settings == {"auth_token"}


def test_valid_settings_are_normalised() -> None:
    stored = validate_settings(
        TwilioSettings,
        {
            "account_sid": " AC5EF8732A3C49700934481ADDD5CE1659 ",
            "auth_token": f" {AUTH_TOKEN}",
            "phone_number": "+1 (415) 555-0100",
            "messaging_service_sid": "",
            "api_base_url": "http://127.0.0.1:9000/",
        },
    )
    assert {k: v for k, v in stored.items() if not k.startswith(("voice", "ring"))} == {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "phone_number": TWILIO_NUMBER,
        "messaging_service_sid": None,
        "api_base_url": "http://127.0.0.1:9000",
    }


def test_a_messaging_service_alone_is_enough_and_the_api_defaults_to_twilio() -> None:
    stored = validate_settings(
        TwilioSettings,
        {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "messaging_service_sid": SERVICE_SID,
        },
    )
    assert stored["phone_number"] is None
    assert stored["messaging_service_sid"] == SERVICE_SID
    assert stored["api_base_url"] == "https://api.twilio.com"
    blank = validate_settings(TwilioSettings, {**VALID, "api_base_url": "  "})
    assert blank["api_base_url"] == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"account_sid": "AC123"}, "settings.account_sid: must be AC followed by 32"),
        ({"account_sid": "MG" + ACCOUNT_SID[2:]}, "settings.account_sid"),
        ({"account_sid": ACCOUNT_SID + "0"}, "settings.account_sid"),
        ({"auth_token": "not-a-token"}, "settings.auth_token: must be the 32 hexadecimal"),
        ({"auth_token": AUTH_TOKEN[:-1] + "z"}, "settings.auth_token"),
        ({"phone_number": "4155550100"}, "settings.phone_number: must be in E.164 form"),
        ({"phone_number": "+0155550100"}, "settings.phone_number"),
        ({"phone_number": "+1234567"}, "settings.phone_number"),
        ({"phone_number": "+1234567890123456"}, "settings.phone_number"),
        ({"phone_number": "+86 138 0013 800a"}, "settings.phone_number"),
        ({"messaging_service_sid": "MG42"}, "settings.messaging_service_sid: must be MG"),
        ({"phone_number": None}, "set a Twilio phone number or a Messaging Service SID"),
        ({"phone_number": " "}, "set a Twilio phone number or a Messaging Service SID"),
        ({"api_base_url": "ftp://api.twilio.com"}, "settings.api_base_url"),
        ({"api_base_url": "https://api.twilio.com?x=1"}, "settings.api_base_url"),
        ({"unknown": "x"}, "settings.unknown"),
    ],
)
def test_invalid_settings_are_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_settings(TwilioSettings, {**VALID, **change})
    assert str(refused.value).startswith(reason), str(refused.value)


def test_the_auth_token_is_required() -> None:
    with pytest.raises(InvalidInput, match=r"settings\.auth_token"):
        validate_settings(
            TwilioSettings, {"account_sid": ACCOUNT_SID, "phone_number": TWILIO_NUMBER}
        )


def test_every_field_is_labelled_in_both_languages() -> None:
    schema = settings_schema(TwilioSettings)
    assert set(schema["properties"]) == {
        "account_sid",
        "auth_token",
        "phone_number",
        "messaging_service_sid",
        "api_base_url",
        "voice_language",
        "voice_greeting",
        "voice_greeting_audio",
        "voice_menu",
        "ring_seconds",
        "voicemail_prompt",
        "voicemail_max_seconds",
    }
    for name, prop in schema["properties"].items():
        assert set(prop["x-label"]) == {"en", "zh-CN"}, name
        assert all(prop["x-label"].values()), name
    assert schema["properties"]["auth_token"]["x-secret"] is True
    assert schema["properties"]["phone_number"]["x-nullable"] is True


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["12 售后"], "a digit, a space"),
        (["2"], "a digit, a space"),
        (["x 售后"], "a digit, a space"),
    ],
)
def test_a_menu_line_is_a_digit_and_a_team(lines: list[str], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        validate_settings(TwilioSettings, {**VALID, "voice_menu": lines})


def test_voice_settings_have_defaults_and_bounds() -> None:
    stored = validate_settings(TwilioSettings, {**VALID, "voice_menu": [" 1  售前 ", "2 售后"]})
    assert stored["voice_menu"] == ["1 售前", "2 售后"]
    assert stored["voice_language"] == "zh-CN"
    assert stored["ring_seconds"] == 20
    with pytest.raises(InvalidInput, match="ring_seconds"):
        validate_settings(TwilioSettings, {**VALID, "ring_seconds": 600})
    with pytest.raises(InvalidInput, match="voice_greeting_audio"):
        validate_settings(TwilioSettings, {**VALID, "voice_greeting_audio": "../../etc/passwd"})
    assert (
        validate_settings(TwilioSettings, {**VALID, "voice_greeting_audio": ""})[
            "voice_greeting_audio"
        ]
        is None
    )
