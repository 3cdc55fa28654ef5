"""Every WeChat sample, shared and our own, parses into the right normalised message or event."""

from __future__ import annotations

from pathlib import Path

import pytest
import wechatpy
import wechatpy.enterprise
import xmltodict

from connectors.wechat.parse import parse_callback, wechatpy_message
from connectors.wechat.xmlsafe import parse_xml
from hub.domain.errors import MalformedPayload, PayloadTooLarge
from hub.domain.model import MessageKind
from tests.unit.connectors.wechat_support import OWN, SHARED, shared_fixtures

E, T = MessageKind.EVENT, MessageKind.TEXT
#: file → (kind, data["event"] for events); a new shared file fails until listed here.
EXPECTED: dict[str, tuple[MessageKind, str | None]] = {
    "oa-event-click-event.xml": (E, "click"),
    "oa-event-kf-close-session-event.xml": (E, "kf_close_session"),
    "oa-event-kf-create-session-event.xml": (E, "kf_create_session"),
    "oa-event-kf-switch-session-event.xml": (E, "kf_switch_session"),
    "oa-event-location-event.xml": (E, "location"),
    "oa-event-location-select-event.xml": (E, "location_select"),
    "oa-event-pic-photo-or-album-event.xml": (E, "pic_photo_or_album"),
    "oa-event-pic-sysphoto-event.xml": (E, "pic_sysphoto"),
    "oa-event-pic-wechat-event.xml": (E, "pic_weixin"),
    "oa-event-scan-code-push-event.xml": (E, "scancode_push"),
    "oa-event-scan-code-waitmsg-event.xml": (E, "scancode_waitmsg"),
    "oa-event-scan-event.xml": (E, "scan"),
    "oa-event-subscribe-event.xml": (E, "subscribe"),
    "oa-event-subscribe-scan-event.xml": (E, "subscribe"),
    "oa-event-unsubscribe-event.xml": (E, "unsubscribe"),
    "oa-event-view-event.xml": (E, "view"),
    "oa-parse-click-event.xml": (E, "click"),
    "oa-parse-image-message.xml": (MessageKind.IMAGE, None),
    "oa-parse-link-message.xml": (MessageKind.LINK, None),
    "oa-parse-location-event.xml": (E, "location"),
    "oa-parse-location-message.xml": (MessageKind.LOCATION, None),
    "oa-parse-scan-event.xml": (E, "scan"),
    "oa-parse-subscribe-event.xml": (E, "subscribe"),
    "oa-parse-subscribe-scan-event.xml": (E, "subscribe"),
    "oa-parse-text-message.xml": (T, None),
    "oa-parse-unknown-message.xml": (E, "unknown_message"),
    "oa-parse-video-message.xml": (MessageKind.VIDEO, None),
    "oa-parse-view-event.xml": (E, "view"),
    "oa-parse-voice-message.xml": (MessageKind.AUDIO, None),
    "wecom-parse-click-event.xml": (E, "click"),
    "wecom-parse-image-message.xml": (MessageKind.IMAGE, None),
    "wecom-parse-link-message.xml": (MessageKind.LINK, None),
    "wecom-parse-location-event.xml": (E, "location"),
    "wecom-parse-location-message.xml": (MessageKind.LOCATION, None),
    "wecom-parse-subscribe-event.xml": (E, "subscribe"),
    "wecom-parse-text-message.xml": (T, None),
    "wecom-parse-unknown-message.xml": (E, "unknown_message"),
    "wecom-parse-video-message.xml": (MessageKind.VIDEO, None),
    "wecom-parse-view-event.xml": (E, "view"),
    "wecom-parse-voice-message.xml": (MessageKind.AUDIO, None),
    "wecom-subscribe-event.xml": (E, "subscribe"),
}


def _shared_names() -> list[str]:
    return sorted(p.name for p in SHARED.glob("*.xml")) if SHARED.is_dir() else sorted(EXPECTED)


@pytest.mark.parametrize("name", _shared_names())
def test_every_shared_sample_parses_to_its_kind(name: str) -> None:
    path: Path = shared_fixtures() / name
    assert name in EXPECTED, f"new shared fixture {name}: add its expected kind"
    kind, event = EXPECTED[name]

    inbound = parse_callback(path.read_bytes(), enterprise=name.startswith("wecom-"))

    assert inbound.kind == kind
    assert inbound.sender_id
    assert inbound.occurred_at is not None
    if event is None:
        assert inbound.provider_event_id == "1234567890123456"  # the MsgId
    else:
        assert inbound.data["event"] == event
        assert inbound.text


def test_text_message_fields() -> None:
    inbound = parse_callback((shared_fixtures() / "oa-parse-text-message.xml").read_bytes())
    assert (inbound.text, inbound.sender_id) == ("this is a test", "fromUser")
    assert inbound.provider_message_id == "1234567890123456"
    assert int(inbound.occurred_at.timestamp()) == 1348831860  # type: ignore[union-attr]


def test_image_becomes_an_attachment_to_fetch() -> None:
    inbound = parse_callback((shared_fixtures() / "oa-parse-image-message.xml").read_bytes())
    (ref,) = inbound.attachments
    assert (ref.kind, ref.provider_ref, ref.storage_key) == (MessageKind.IMAGE, "media_id", None)


def test_subscribe_by_qr_code_keeps_the_scene() -> None:
    path = shared_fixtures() / "oa-event-subscribe-scan-event.xml"
    inbound = parse_callback(path.read_bytes())
    assert inbound.data == {"event": "subscribe", "scene": "123123", "ticket": "TICKET"}
    assert inbound.provider_event_id == "FromUser:123456789:subscribe"


def test_events_are_keyed_by_sender_time_and_event() -> None:
    inbound = parse_callback((shared_fixtures() / "oa-event-click-event.xml").read_bytes())
    assert inbound.provider_event_id == "FromUser:123456789:CLICK"
    assert inbound.data == {"event": "click", "key": "EVENTKEY"}


def test_unknown_message_keeps_raw_fields() -> None:
    inbound = parse_callback((shared_fixtures() / "oa-parse-unknown-message.xml").read_bytes())
    assert inbound.data["raw"]["MsgType"] == "notsure"


def test_voice_recognition_is_the_text() -> None:
    inbound = parse_callback((OWN / "oa-voice-recognition.xml").read_bytes())
    assert inbound.kind == MessageKind.AUDIO
    assert inbound.text == "我的订单什么时候发货"
    assert inbound.attachments[0].content_type == "audio/amr"
    assert inbound.data["recognition"] == inbound.text


def test_shortvideo_is_a_video() -> None:
    inbound = parse_callback((OWN / "oa-shortvideo.xml").read_bytes())
    assert inbound.kind == MessageKind.VIDEO
    assert inbound.data["short_video"] is True
    assert inbound.attachments[0].provider_ref == "shortvideo_media_1"


def test_unknown_event_is_kept_not_dropped() -> None:
    inbound = parse_callback((OWN / "oa-unknown-event.xml").read_bytes())
    assert inbound.kind == MessageKind.EVENT
    assert inbound.data["event"] == "brand_new_event"
    assert inbound.data["raw"]["SomethingNew"] == "value"


def test_xml_bomb_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="DTD"):
        parse_callback((OWN / "oa-bomb.xml").read_bytes())


def test_external_entity_is_refused() -> None:
    body = (
        b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>'
    )
    with pytest.raises(MalformedPayload):
        parse_callback(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<xml><MsgType>text</MsgType>",
        b"not xml at all",
        b"<other><MsgType>text</MsgType></other>",
        b"<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",
        b"<xml><MsgType>text</MsgType><FromUserName>a</FromUserName><CreateTime>x</CreateTime></xml>",
        b"<xml><MsgType>location</MsgType><FromUserName>a</FromUserName><CreateTime>1</CreateTime>"
        b"<Location_X>north</Location_X><Location_Y>1</Location_Y><MsgId>5</MsgId></xml>",
        b"<xml><MsgType>image</MsgType><FromUserName>a</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgId>5</MsgId></xml>",
        b"\xff\xfe<xml/>",
    ],
)
def test_malformed_bodies_raise_malformed_payload(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_callback(body)


def test_huge_body_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_callback(b"<xml>" + b"a" * 300_000 + b"</xml>")


def _all_samples() -> list[Path]:
    own = [p for p in sorted(OWN.glob("*.xml")) if p.name != "oa-bomb.xml"]
    return [shared_fixtures() / name for name in _shared_names()] + own


@pytest.mark.parametrize(
    "raw",
    [
        b'<xml><A x="1">t<B>2</B>u</A><A/><A>3</A><C><D>1</D><D>2</D></C>\n</xml>',
        "<xml><Content><![CDATA[中文 &amp; <b>]]></Content><E>a &amp; b</E></xml>".encode(),
        b'<?xml version="1.0" encoding="utf-8"?>\n<xml>\n <A> padded </A>\n</xml>',
    ],
)
def test_parse_xml_gives_xmltodicts_shape(raw: bytes) -> None:
    # wechatpy's message classes read xmltodict's dicts: one parse must give the same.
    assert parse_xml(raw) == xmltodict.parse(raw)["xml"]


def test_every_sample_gives_the_message_object_wechatpy_gives() -> None:
    """The class and fields ``wechatpy.parse_message`` chooses, from our one parse."""
    for path in _all_samples():
        raw = path.read_bytes()
        enterprise = path.name.startswith("wecom-")
        assert parse_xml(raw) == xmltodict.parse(raw)["xml"], path.name
        ours = wechatpy_message(parse_xml(raw), enterprise=enterprise)
        parse = wechatpy.enterprise.parse_message if enterprise else wechatpy.parse_message
        theirs = parse(raw.decode())
        assert type(ours) is type(theirs), path.name
        assert ours._data == theirs._data, path.name
