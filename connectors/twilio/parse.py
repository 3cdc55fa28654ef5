"""Twilio's messaging webhooks: check their signature, then read them as the hub's values.

Implements https://www.twilio.com/docs/usage/security#validating-requests (the signature over
the URL Twilio called and the sorted form fields), the fields of an incoming message
(https://www.twilio.com/docs/messaging/guides/webhook-request) and of a status callback
(https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationError

from connectors.twilio.errors import CANCELED, delivery_failure
from connectors.twilio.sdk import SIGNATURE_HEADER, signature_valid
from hub.domain.channels import WebhookRequest
from hub.domain.errors import InvalidSignature, MalformedPayload
from hub.domain.model import (
    E164,
    AttachmentRef,
    Inbound,
    MessageKind,
    MessageStatus,
    StatusUpdate,
    file_kind,
)

#: Twilio sends at most 10 media with one MMS
MAX_MEDIA = 10
#: an incoming message has about 20 fields (and 2 per media); far more is not Twilio
MAX_FIELDS = 200


#: Twilio's message statuses as the hub's. Twilio's own queue (accepted, scheduled, queued,
#: sending) is "sent" for the hub: the message has left it. The hub's "queued" means "waiting
#: for the hub's delivery job", which a report from Twilio can never mean.
STATUSES: Mapping[str, MessageStatus] = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def signed_fields(auth_token: str, request: WebhookRequest) -> dict[str, str]:
    """The request's fields, once ``X-Twilio-Signature`` proves Twilio sent them.

    Twilio signs the URL it called (``request.url``: the hub's public address, not a proxy's)
    followed by the POST fields sorted by name; a webhook configured for GET carries its fields
    in the signed URL's query instead.
    """
    headers = {name.lower(): value for name, value in request.headers.items()}
    signature = headers.get(SIGNATURE_HEADER.lower(), "").strip()
    if not signature:
        raise InvalidSignature(f"the request has no {SIGNATURE_HEADER} header")
    if request.method.upper() == "GET":
        signed: list[tuple[str, str]] = []
        fields = _form(urlsplit(request.url).query)
    else:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPayload("the body is not UTF-8 form data") from None
        signed = fields = _form(body)
    if not signature_valid(auth_token, request.url, signed, signature):
        raise InvalidSignature(f"the {SIGNATURE_HEADER} does not match")
    # A name Twilio sent twice was signed with both values; the first is the one we read.
    found: dict[str, str] = {}
    for name, value in fields:
        found.setdefault(name, value)
    return found


def _form(encoded: str) -> list[tuple[str, str]]:
    try:
        # Blank values count: Twilio signs "Body" with an empty text too.
        return parse_qsl(
            encoded, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
        )
    except ValueError as exc:
        raise MalformedPayload(f"the body is not Twilio's form data: {exc}") from None


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise MalformedPayload(f"the webhook has no {name}")
    return value


def inbound_from_fields(fields: Mapping[str, str]) -> Inbound:
    """An incoming SMS or MMS as the hub's ``Inbound``; its ``MessageSid`` is the event id, so
    Twilio's retries of one message make one message."""
    sid = _required(fields, "MessageSid")
    sender = _required(fields, "From")
    _required(fields, "To")
    text = fields.get("Body", "")
    attachments = _media(fields, sid)
    kind = attachments[0].kind if attachments and not text.strip() else MessageKind.TEXT
    opt_out = _opt_out(fields, text)
    data: dict[str, str] = {}
    if opt_out is not None and _word(text) != "YES":
        # "yes" also answers an agent's question: it resubscribes, but stays a message.
        kind = MessageKind.EVENT
        data = {"event": "opted_out" if opt_out else "opted_in", "keyword": text.strip()}
    try:
        return Inbound(
            provider_event_id=sid,
            provider_message_id=sid,
            sender_id=sender,
            sender_phone=sender if E164.match(sender) else None,
            kind=kind,
            text=text,
            attachments=attachments,
            opt_out=opt_out,
            data=data,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise MalformedPayload(f"the message's {where} is invalid: {first['msg']}") from None


#: Twilio's default opt-out and opt-in keywords
#: (https://help.twilio.com/articles/223134027), and the Chinese ones customers use
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "退订", "TD"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "订阅"})


def _opt_out(fields: Mapping[str, str], text: str) -> bool | None:
    """``True`` for an unsubscribe, ``False`` for a subscribe again, else ``None``.

    With Advanced Opt-Out, Twilio says which it was (``OptOutType``, also for keywords an
    account adds); otherwise the message must be the keyword alone, as Twilio's own rule is.
    """
    said = fields.get("OptOutType", "").strip().upper()
    if said in ("STOP", "START"):
        return said == "STOP"
    word = _word(text)
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None


def _word(text: str) -> str:
    return text.strip().rstrip(".!。！").upper()


def _media(fields: Mapping[str, str], sid: str) -> tuple[AttachmentRef, ...]:
    raw = fields.get("NumMedia", "0").strip() or "0"
    if not raw.isdigit():
        raise MalformedPayload("NumMedia is not a number")
    refs = []
    for n in range(min(int(raw), MAX_MEDIA)):
        url = _required(fields, f"MediaUrl{n}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MalformedPayload(f"MediaUrl{n} is not an http(s) URL")
        content_type = fields.get(f"MediaContentType{n}", "").strip().lower()
        content_type = content_type or "application/octet-stream"
        # The URL ends with the media's SID (ME…); Twilio gives no file name.
        name = parts.path.rstrip("/").rsplit("/", 1)[-1] or f"{sid}-{n}"
        refs.append(
            AttachmentRef(
                kind=file_kind(content_type),
                filename=name + (mimetypes.guess_extension(content_type) or ""),
                content_type=content_type,
                provider_ref=url,
            )
        )
    return tuple(refs)


def status_from_fields(fields: Mapping[str, str]) -> StatusUpdate | None:
    """A status callback as the hub's ``StatusUpdate``; ``None`` for a status the hub does not
    track (an incoming message's ``received``, a status Twilio adds later)."""
    sid = _required(fields, "MessageSid")
    name = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").strip().lower()
    if not name:
        raise MalformedPayload("the webhook has no MessageStatus")
    status = STATUSES.get(name)
    if status is None:
        return None
    if status != MessageStatus.FAILED:
        return StatusUpdate(provider_message_id=sid, status=status)
    raw = fields.get("ErrorCode", "").strip()
    failure = (
        CANCELED if name == "canceled" else delivery_failure(int(raw) if raw.isdigit() else None)
    )
    return StatusUpdate(
        provider_message_id=sid,
        status=status,
        error=f"{failure.text['en']} ({failure.code})",
        failure=failure,
    )
