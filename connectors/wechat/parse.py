"""Turn one decrypted WeChat callback XML (Official Account, or a WeCom app) into an ``Inbound``.

Formats: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
and https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html;
WeCom apps use the same shapes plus ``AgentID`` (https://developer.work.weixin.qq.com/document/path/90239).
wechatpy's message classes read the fields; each class has a small pure function below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wechatpy.enterprise.events import EVENT_TYPES as ENTERPRISE_EVENT_TYPES
from wechatpy.enterprise.messages import MESSAGE_TYPES as ENTERPRISE_MESSAGE_TYPES
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage

from connectors.wechat.xmlsafe import parse_xml, text_field
from hub.domain.errors import MalformedPayload
from hub.domain.model import AttachmentRef, Inbound, MessageKind

#: WeChat voice comes as AMR or Speex; other values fall back to octet-stream.
_VOICE_TYPES = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class _Common:
    event_id: str
    sender_id: str
    occurred_at: datetime
    raw: dict[str, Any]


def parse_callback(xml: bytes | str, *, enterprise: bool = False) -> Inbound:
    """Parse and normalise one callback; raise ``MalformedPayload`` if it is not a WeChat message.

    ``provider_event_id`` is identical for WeChat's retries of the same callback: the ``MsgId``
    for messages; ``FromUserName:CreateTime:Event`` for events, which carry no MsgId.
    """
    return inbound_from_fields(parse_xml(xml), enterprise=enterprise)


def inbound_from_fields(fields: dict[str, Any], *, enterprise: bool = False) -> Inbound:
    """Normalise a callback already parsed by ``parse_xml``: the XML is parsed only once."""
    msg_type = text_field(fields, "MsgType")
    sender = text_field(fields, "FromUserName")
    created = text_field(fields, "CreateTime")
    if not msg_type or not sender:
        raise MalformedPayload("a WeChat callback needs MsgType and FromUserName")
    if not created.isdigit():
        raise MalformedPayload("CreateTime must be a Unix timestamp")
    common = _Common(
        event_id=provider_event_id(fields),
        sender_id=sender,
        occurred_at=datetime.fromtimestamp(int(created), UTC),
        raw=dict(fields),
    )
    try:
        message = wechatpy_message(dict(fields), enterprise=enterprise)
        kind = str(message.type)
        if kind == "event":
            handler = _EVENT_HANDLERS.get(str(message.event), _other_event)
        else:
            # wechatpy's UnknownMessage (type "unknown") covers unknown messages and events.
            handler = _MESSAGE_HANDLERS.get(kind, _unknown)
        return handler(message, common)
    except MalformedPayload:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise MalformedPayload(
            f"unexpected WeChat {msg_type} fields ({type(exc).__name__})"
        ) from exc


def wechatpy_message(message: dict[str, Any], *, enterprise: bool = False) -> Any:
    """wechatpy's message or event object for parsed fields (``message`` is changed in place).

    The class is chosen exactly as ``wechatpy.parse_message`` (1.8) and
    ``wechatpy.enterprise.parse_message`` choose it; they take XML text and would parse it
    again, so the choice is repeated here on the fields we already have.
    """
    message_type = message["MsgType"].lower()
    if enterprise:
        if message_type == "event":
            return ENTERPRISE_EVENT_TYPES.get(message["Event"].lower(), UnknownMessage)(message)
        return ENTERPRISE_MESSAGE_TYPES.get(message_type, UnknownMessage)(message)
    if message_type != "event" and not message_type.startswith("device_"):
        return MESSAGE_TYPES.get(message_type, UnknownMessage)(message)
    event_type = message["Event"].lower() if "Event" in message else None
    if event_type is None and message_type.startswith("device_"):
        event_type = message_type
    elif message_type.startswith("device_"):
        event_type = f"device_{event_type}"
    if event_type == "subscribe" and message.get("EventKey"):
        event_key = message["EventKey"]
        if event_key.startswith(("scanbarcode|", "scanimage|")):
            event_type = "subscribe_scan_product"
            message["Event"] = event_type
        elif event_key.startswith("qrscene_"):
            # Scan to subscribe with scene id event
            event_type = "subscribe_scan"
            message["Event"] = event_type
            message["EventKey"] = event_key[len("qrscene_") :]
    return EVENT_TYPES.get(event_type, UnknownMessage)(message)


def provider_event_id(fields: dict[str, Any]) -> str:
    """The dedupe key of a callback (see ``parse_callback``); over-long keys are hashed."""
    msg_id = text_field(fields, "MsgId")
    if msg_id and msg_id != "0":
        key = msg_id
    else:
        parts = [text_field(fields, "FromUserName"), text_field(fields, "CreateTime")]
        event = text_field(fields, "Event") or text_field(fields, "MsgType")
        key = ":".join([*parts, event])
    if len(key) > 255:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _inbound(common: _Common, kind: MessageKind, text: str = "", **extra: Any) -> Inbound:
    msg_id = text_field(common.raw, "MsgId")
    return Inbound(
        provider_event_id=common.event_id,
        sender_id=common.sender_id,
        kind=kind,
        text=text,
        provider_message_id=msg_id or None,
        occurred_at=common.occurred_at,
        **extra,
    )


def _media(kind: MessageKind, media_id: str, content_type: str) -> tuple[AttachmentRef, ...]:
    if not media_id:
        raise MalformedPayload(f"a {kind.value} message without MediaId")
    return (AttachmentRef(kind=kind, provider_ref=media_id, content_type=content_type),)


def _text(message: Any, common: _Common) -> Inbound:
    return _inbound(common, MessageKind.TEXT, str(message.content or ""))


def _image(message: Any, common: _Common) -> Inbound:
    # WeChat re-encodes customer photos as JPEG; the download's header has the final word.
    return _inbound(
        common,
        MessageKind.IMAGE,
        attachments=_media(MessageKind.IMAGE, str(message.media_id or ""), "image/jpeg"),
        data={"pic_url": str(message.image or "")},
    )


def _voice(message: Any, common: _Common) -> Inbound:
    fmt = str(message.format or "").lower()
    recognition = str(getattr(message, "recognition", None) or "")
    data: dict[str, Any] = {"format": fmt}
    if recognition:
        # Speech-to-text WeChat adds when the account enabled it: the text agents can read.
        data["recognition"] = recognition
    return _inbound(
        common,
        MessageKind.AUDIO,
        recognition,
        attachments=_media(
            MessageKind.AUDIO,
            str(message.media_id or ""),
            _VOICE_TYPES.get(fmt, "application/octet-stream"),
        ),
        data=data,
    )


def _video(message: Any, common: _Common) -> Inbound:
    return _inbound(
        common,
        MessageKind.VIDEO,
        attachments=_media(MessageKind.VIDEO, str(message.media_id or ""), "video/mp4"),
        data={
            "thumb_media_id": str(message.thumb_media_id or ""),
            "short_video": message.type == "shortvideo",
        },
    )


def _location(message: Any, common: _Common) -> Inbound:
    label = str(message.label or "")
    return _inbound(
        common,
        MessageKind.LOCATION,
        label,
        data={
            "latitude": float(message.location_x),
            "longitude": float(message.location_y),
            "scale": str(message.scale or ""),
            "label": label,
            # WeChat's coordinates are GCJ-02 (what AMap and Tencent Maps expect)
            "datum": "gcj02",
        },
    )


def _link(message: Any, common: _Common) -> Inbound:
    title = str(message.title or "")
    return _inbound(
        common,
        MessageKind.LINK,
        title,
        data={
            "title": title,
            "description": str(message.description or ""),
            "url": str(message.url or ""),
        },
    )


def _miniprogram(message: Any, common: _Common) -> Inbound:
    title = str(message.title or "")
    return _inbound(
        common,
        MessageKind.LINK,
        title,
        data={
            "title": title,
            "miniprogram": {
                "appid": str(message.app_id or ""),
                "pagepath": str(message.page_path or ""),
                "thumb_url": str(message.thumb_url or ""),
                "thumb_media_id": str(message.thumb_media_id or ""),
            },
        },
    )


def _unknown(message: Any, common: _Common) -> Inbound:
    """A type we do not know yet: kept as an event with every raw field, never dropped."""
    msg_type = text_field(common.raw, "MsgType")
    event = text_field(common.raw, "Event")
    what = f"event {event}" if event else f"message type {msg_type}"
    return _inbound(
        common,
        MessageKind.EVENT,
        f"Unsupported WeChat {what}",
        data={"event": event.lower() if event else "unknown_message", "raw": common.raw},
    )


def _subscribe(message: Any, common: _Common) -> Inbound:
    # wechatpy turns "subscribe" + EventKey "qrscene_X" into subscribe_scan with scene "X";
    # we keep the event "subscribe" (a follow is a follow) and add the scene.
    scene = str(getattr(message, "scene_id", "") or "")
    data: dict[str, Any] = {"event": "subscribe"}
    text = "Followed the account"
    if scene:
        data |= {"scene": scene, "ticket": str(message.ticket or "")}
        text = f"Followed the account by scanning a QR code (scene {scene})"
    return _inbound(common, MessageKind.EVENT, text, data=data)


def _unsubscribe(message: Any, common: _Common) -> Inbound:
    return _inbound(
        common, MessageKind.EVENT, "Unfollowed the account", data={"event": "unsubscribe"}
    )


def _scan(message: Any, common: _Common) -> Inbound:
    scene = str(message.scene_id or "")
    return _inbound(
        common,
        MessageKind.EVENT,
        f"Scanned a QR code (scene {scene})",
        data={"event": "scan", "scene": scene, "ticket": str(message.ticket or "")},
    )


def _click(message: Any, common: _Common) -> Inbound:
    key = str(message.key or "")
    return _inbound(
        common, MessageKind.EVENT, f"Clicked menu item {key}", data={"event": "click", "key": key}
    )


def _view(message: Any, common: _Common) -> Inbound:
    url = str(message.url or "")
    return _inbound(
        common, MessageKind.EVENT, "Opened a menu link", data={"event": "view", "url": url}
    )


def _location_event(message: Any, common: _Common) -> Inbound:
    return _inbound(
        common,
        MessageKind.EVENT,
        "Reported their location",
        data={
            "event": "location",
            "latitude": float(message.latitude),
            "longitude": float(message.longitude),
            "precision": float(message.precision),
            "datum": "gcj02",
        },
    )


def _other_event(message: Any, common: _Common) -> Inbound:
    """Events wechatpy knows but the inbox shows generically (kf sessions, pictures, ...)."""
    event = text_field(common.raw, "Event")
    return _inbound(
        common,
        MessageKind.EVENT,
        f"WeChat event {event}",
        data={"event": event.lower(), "raw": common.raw},
    )


Handler = Callable[[Any, _Common], Inbound]

_MESSAGE_HANDLERS: dict[str, Handler] = {
    "text": _text,
    "image": _image,
    "voice": _voice,
    "video": _video,
    "shortvideo": _video,
    "location": _location,
    "link": _link,
    "miniprogrampage": _miniprogram,
}


_EVENT_HANDLERS: dict[str, Handler] = {
    "subscribe": _subscribe,
    "subscribe_scan": _subscribe,
    "unsubscribe": _unsubscribe,
    "scan": _scan,
    "click": _click,
    "view": _view,
    "location": _location_event,
}
