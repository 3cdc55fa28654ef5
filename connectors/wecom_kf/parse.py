"""Turn the JSON messages pulled with ``kf/sync_msg`` into ``Inbound`` values and delivery failures.

Format: https://developer.work.weixin.qq.com/document/path/94670 (messages and events).
Each message type has a small pure function; unknown types become events with every raw field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hub.domain.model import AttachmentRef, Inbound, MessageKind, MessageStatus, StatusUpdate

log = logging.getLogger(__name__)

#: ``origin``: 3 the customer wrote, 4 a system event, 5 a servicer wrote in the WeCom app.
ORIGIN_CUSTOMER, ORIGIN_EVENT, ORIGIN_SERVICER = 3, 4, 5

#: ``msg_send_fail.fail_type`` → the reason an agent sees on the failed message.
FAIL_REASONS: Mapping[int, str] = {
    0: "WeCom could not deliver the message (unknown reason)",
    1: "the customer-service account was deleted",
    2: "the WeCom app is closed",
    4: "the session expired: the customer last wrote more than 48 hours ago",
    5: "the session was closed",
    6: "more than 5 messages were sent since the customer last wrote",
    8: "the WeCom organisation is not verified",
    10: "the customer refuses messages from this account",
    11: "no member of the organisation has logged in to the WeCom app",
    12: "WeChat Customer Service does not allow this message type",
}

#: Sync-msg media types → (hub kind, content type WeCom usually serves).
_MEDIA: Mapping[str, tuple[MessageKind, str]] = {
    "image": (MessageKind.IMAGE, "image/jpeg"),
    "voice": (MessageKind.AUDIO, "audio/amr"),
    "video": (MessageKind.VIDEO, "video/mp4"),
    "file": (MessageKind.FILE, "application/octet-stream"),
}


def parse_kf_message(msg: Mapping[str, Any]) -> Inbound | None:
    """Normalise one pulled message; ``None`` for an entry without a msgid (it cannot be deduped).

    ``provider_event_id`` is the ``msgid``, unique per message and repeated when a sync is
    re-run, so a re-pulled page is stored once.
    """
    msgid = msg.get("msgid")
    if not isinstance(msgid, str) or not msgid:
        log.warning("sync_msg entry without msgid skipped", extra={"msgtype": msg.get("msgtype")})
        return None
    msgtype = str(msg.get("msgtype") or "")
    origin = _int(msg.get("origin"))
    if msgtype == "event":
        return _event(msgid, msg)
    if origin == ORIGIN_SERVICER:
        return _servicer_message(msgid, msg)
    handler = _HANDLERS.get(msgtype, _unknown)
    return handler(msgid, msg)


def status_from_kf_message(msg: Mapping[str, Any]) -> StatusUpdate | None:
    """A ``msg_send_fail`` event as a delivery failure of the message we sent."""
    event = msg.get("event")
    if msg.get("msgtype") != "event" or not isinstance(event, Mapping):
        return None
    if event.get("event_type") != "msg_send_fail" or not event.get("fail_msgid"):
        return None
    reason = FAIL_REASONS.get(_int(event.get("fail_type")), FAIL_REASONS[0])
    return StatusUpdate(
        provider_message_id=str(event["fail_msgid"]), status=MessageStatus.FAILED, error=reason
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _inbound(
    msgid: str, msg: Mapping[str, Any], kind: MessageKind, text: str = "", **extra: Any
) -> Inbound:
    send_time = _int(msg.get("send_time"))
    return Inbound(
        provider_event_id=msgid[:255],
        sender_id=_sender(msg),
        kind=kind,
        text=text,
        provider_message_id=msgid,
        occurred_at=datetime.fromtimestamp(send_time, UTC) if send_time > 0 else None,
        **extra,
    )


def _sender(msg: Mapping[str, Any]) -> str:
    """The customer; events about a servicer or an account alone fall back to those ids."""
    event = msg.get("event") if isinstance(msg.get("event"), Mapping) else {}
    assert isinstance(event, Mapping)
    for source in (msg, event):
        if source.get("external_userid"):
            return str(source["external_userid"])
    servicer = event.get("servicer_userid") or msg.get("servicer_userid")
    if servicer:
        return f"servicer:{servicer}"
    return f"kf:{event.get('open_kfid') or msg.get('open_kfid') or 'unknown'}"


def _body(msg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = msg.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    body = _body(msg, "text")
    data = {"menu_id": str(body["menu_id"])} if body.get("menu_id") else {}
    return _inbound(msgid, msg, MessageKind.TEXT, str(body.get("content", "")), data=data)


def _media(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    msgtype = str(msg["msgtype"])
    kind, content_type = _MEDIA[msgtype]
    media_id = str(_body(msg, msgtype).get("media_id", ""))
    if not media_id:
        return _unknown(msgid, msg)
    ref = AttachmentRef(kind=kind, provider_ref=media_id, content_type=content_type)
    return _inbound(msgid, msg, kind, attachments=(ref,))


def _location(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    body = _body(msg, "location")
    name, address = str(body.get("name", "")), str(body.get("address", ""))
    data = {
        "latitude": float(body.get("latitude", 0) or 0),
        "longitude": float(body.get("longitude", 0) or 0),
        "label": name,
        "address": address,
        "datum": "gcj02",
    }
    return _inbound(msgid, msg, MessageKind.LOCATION, name or address, data=data)


def _link(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    body = _body(msg, "link")
    title = str(body.get("title", ""))
    data = {
        "title": title,
        "description": str(body.get("desc", "")),
        "url": str(body.get("url", "")),
        "image_url": str(body.get("pic_url", "")),
    }
    return _inbound(msgid, msg, MessageKind.LINK, title, data=data)


def _miniprogram(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    """A mini-program card is shown as a link card that names the mini program."""
    body = _body(msg, "miniprogram")
    title = str(body.get("title", ""))
    data = {
        "title": title,
        "miniprogram": {
            "appid": str(body.get("appid", "")),
            "pagepath": str(body.get("pagepath", "")),
            "thumb_media_id": str(body.get("thumb_media_id", "")),
        },
    }
    return _inbound(msgid, msg, MessageKind.LINK, title, data=data)


def _unknown(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    msgtype = str(msg.get("msgtype") or "unknown")
    return _inbound(
        msgid,
        msg,
        MessageKind.EVENT,
        f"Unsupported WeChat Customer Service message type {msgtype}",
        data={"event": "unknown_message", "msgtype": msgtype, "raw": dict(msg)},
    )


def _servicer_message(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    """A servicer answered inside the WeCom app: kept as an event, not as the customer's words."""
    return _inbound(
        msgid,
        msg,
        MessageKind.EVENT,
        "A servicer replied from the WeCom app",
        data={
            "event": "servicer_message",
            "servicer_userid": str(msg.get("servicer_userid", "")),
            "about_customer": True,
            "raw": dict(msg),
        },
    )


_SESSION_CHANGES = {
    1: "A servicer took the session from the queue",
    2: "The session was transferred",
    3: "The session was ended",
    4: "An ended or transferred session was taken again",
}


def _event(msgid: str, msg: Mapping[str, Any]) -> Inbound:
    event = _body(msg, "event")
    event_type = str(event.get("event_type") or "unknown")
    data: dict[str, Any] = {
        "event": event_type,
        "open_kfid": str(event.get("open_kfid", "")),
        # Account-level events (a servicer going offline) name no customer.
        "about_customer": bool(event.get("external_userid") or msg.get("external_userid")),
    }
    if event_type == "enter_session":
        scene = str(event.get("scene", ""))
        data |= {
            "scene": scene,
            "scene_param": str(event.get("scene_param", "")),
            # Valid 20 s for one kf/send_msg_on_event welcome message.
            "welcome_code": str(event.get("welcome_code", "")),
        }
        if isinstance(event.get("wechat_channels"), Mapping):
            data["wechat_channels"] = dict(event["wechat_channels"])
        text = f"Entered the session (scene {scene})" if scene else "Entered the session"
    elif event_type == "msg_send_fail":
        fail_type = _int(event.get("fail_type"))
        data |= {"fail_msgid": str(event.get("fail_msgid", "")), "fail_type": fail_type}
        text = f"A message could not be delivered: {FAIL_REASONS.get(fail_type, FAIL_REASONS[0])}"
    elif event_type == "servicer_status_change":
        status = _int(event.get("status"))
        data |= {"servicer_userid": str(event.get("servicer_userid", "")), "status": status}
        text = "A servicer started receiving" if status == 1 else "A servicer stopped receiving"
    elif event_type == "session_status_change":
        change = _int(event.get("change_type"))
        data |= {
            "change_type": change,
            "old_servicer_userid": str(event.get("old_servicer_userid", "")),
            "new_servicer_userid": str(event.get("new_servicer_userid", "")),
            "msg_code": str(event.get("msg_code", "")),
        }
        text = _SESSION_CHANGES.get(change, "The session state changed")
    else:
        data["raw"] = dict(msg)
        text = f"WeChat Customer Service event {event_type}"
    return _inbound(msgid, msg, MessageKind.EVENT, text, data=data)


Handler = Callable[[str, Mapping[str, Any]], Inbound]

_HANDLERS: dict[str, Handler] = {
    "text": _text,
    "image": _media,
    "voice": _media,
    "video": _media,
    "file": _media,
    "location": _location,
    "link": _link,
    "miniprogram": _miniprogram,
}
