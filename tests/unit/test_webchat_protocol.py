"""The web chat's frame parsing, tokens and settings, without a server."""

from __future__ import annotations

import pytest

from connectors.webchat.protocol import Identify, SendMessage, parse_frame
from connectors.webchat.settings import WebchatSettings, origin_allowed
from connectors.webchat.tokens import Visitor, VisitorTokens
from hub.domain.errors import InvalidInput, MalformedPayload, PayloadTooLarge
from hub.domain.model import AttachmentRef, MessageKind
from hub.domain.settings import validate_settings


def test_a_message_frame_parses() -> None:
    frame = parse_frame('{"type":"message","client_id":"abc12345","text":"<b>hi</b>"}')
    assert isinstance(frame, SendMessage)
    assert frame.text == "<b>hi</b>"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[]", "frame"),
        ("nope", "JSON"),
        ('{"type":"message","client_id":"a b c d e f","text":"x"}', "client_id"),
        ('{"type":"message","client_id":"abc12345","text":"x","extra":1}', "extra"),
        ('{"type":"identify","email":"not-an-email"}', "email"),
        ('{"type":"teleport"}', "type"),
    ],
)
def test_bad_frames_say_what_is_wrong(raw: str, reason: str) -> None:
    with pytest.raises(MalformedPayload) as error:
        parse_frame(raw)
    assert reason in str(error.value)


def test_oversized_frames_are_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_frame("x" * 20_000)


def test_identify_accepts_internal_domains() -> None:
    frame = parse_frame('{"type":"identify","name":"李雷","email":"li.lei@corp.local"}')
    assert isinstance(frame, Identify)
    assert frame.email == "li.lei@corp.local"


def test_visitor_tokens_round_trip_and_refuse_forgery() -> None:
    tokens = VisitorTokens("secret")
    visitor, token = tokens.new_visitor(7)
    assert tokens.verify(token, 7) == visitor
    assert tokens.verify(token, 8) is None
    assert VisitorTokens("other secret").verify(token, 7) is None
    assert tokens.verify(token + "x", 7) is None
    stored = AttachmentRef(
        kind=MessageKind.IMAGE,
        filename="a.png",
        content_type="image/png",
        size=3,
        storage_key="ab/key.png",
    )
    upload = tokens.issue_upload(visitor, stored)
    assert tokens.verify_upload(upload, visitor) == stored
    assert tokens.verify_upload(upload, Visitor(7, "v_someone_else")) is None
    assert tokens.verify_upload(upload + "x", visitor) is None


def test_settings_are_validated_and_origins_normalised() -> None:
    settings = validate_settings(
        WebchatSettings, {"allowed_origins": ["HTTPS://Shop.Example.com/"]}
    )
    assert settings["allowed_origins"] == ["https://shop.example.com"]
    assert origin_allowed(settings, "https://shop.example.com")
    assert not origin_allowed(settings, "https://evil.example.com")
    assert not origin_allowed(settings, None)
    assert origin_allowed({"allowed_origins": []}, None)
    with pytest.raises(InvalidInput):
        validate_settings(WebchatSettings, {"color": "red"})
    with pytest.raises(InvalidInput):
        validate_settings(WebchatSettings, {"allowed_origins": ["https://shop.example.com/path"]})
    with pytest.raises(InvalidInput, match="settings must be an object"):
        validate_settings(WebchatSettings, None)
