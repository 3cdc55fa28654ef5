"""Twilio's webhooks as Twilio sends them: signed with ``RequestValidator.compute_signature``
over the URL it called and the form fields, read into the hub's values or refused."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
import pytest
from defusedxml import ElementTree
from twilio.request_validator import RequestValidator

from connectors.twilio import TwilioConnector
from hub.domain.channels import WebhookRequest, WebhookResult
from hub.domain.errors import InvalidSignature, MalformedPayload, NotFound
from hub.domain.model import MessageKind, MessageStatus
from hub.domain.records import Channel
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    TWILIO_NUMBER,
    inbound_fields,
    status_fields,
)

HUB = "https://kefu.example.com"
SMS_URL = f"{HUB}/hooks/7/sms"
STATUS_URL = f"{HUB}/hooks/7/sms_status"
MESSAGE_SID = "SM" + "1f0e2d3c4b5a69788796a5b4c3d2e1f0"
MEDIA_URL = (
    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM"
    "0a1b2c3d4e5f60718293a4b5c6d7e8f9/Media/ME0a1b2c3d4e5f60718293a4b5c6d7e8f9"
)


def channel(**settings: Any) -> Channel:
    return Channel(
        id=7,
        kind="twilio",
        name="SMS",
        public_key="pk",
        settings={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "phone_number": TWILIO_NUMBER,
            "messaging_service_sid": None,
            "api_base_url": "https://api.twilio.com",
            **settings,
        },
        team_id=None,
        active=True,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def twilio_signature(url: str, fields: list[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    """Exactly what Twilio computes: the package's own validator over the URL and the fields."""
    return str(RequestValidator(token).compute_signature(url, dict(fields)))


def post(
    url: str,
    fields: list[tuple[str, str]],
    *,
    signature: str | None = None,
    body: bytes | None = None,
) -> WebhookRequest:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    headers["X-Twilio-Signature"] = (
        twilio_signature(url, fields) if signature is None else signature
    )
    return WebhookRequest(
        method="POST",
        url=url,
        query={},
        headers=headers,
        body=urlencode(fields).encode() if body is None else body,
    )


@pytest.fixture
def connector() -> TwilioConnector:
    # The webhooks never call out: no session is needed.
    return TwilioConnector(cast(aiohttp.ClientSession, None), HUB)


async def test_a_signed_sms_becomes_one_inbound_message(connector: TwilioConnector) -> None:
    fields = inbound_fields(MESSAGE_SID, CUSTOMER, "我的快递到哪了？ Where is my parcel?")
    result = await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))

    [item] = result.inbound
    assert item.provider_event_id == MESSAGE_SID
    assert item.provider_message_id == MESSAGE_SID
    assert item.sender_id == CUSTOMER
    assert item.sender_phone == CUSTOMER
    assert item.kind == MessageKind.TEXT
    assert item.text == "我的快递到哪了？ Where is my parcel?"
    assert item.attachments == ()
    assert result.statuses == ()
    assert_empty_twiml(result)


@pytest.mark.parametrize(
    ("body", "extra", "opt_out", "event"),
    [
        ("STOP", [], True, "opted_out"),
        (" stop ", [], True, "opted_out"),
        ("Unsubscribe", [], True, "opted_out"),
        ("退订", [], True, "opted_out"),
        ("TD", [], True, "opted_out"),
        ("START", [], False, "opted_in"),
        ("订阅", [], False, "opted_in"),
        # An account's own keyword, which Twilio's Advanced Opt-Out reports as a STOP.
        ("ARRET", [("OptOutType", "STOP")], True, "opted_out"),
        # "yes" resubscribes at Twilio, but it also answers agents' questions: a message.
        ("Yes", [], False, None),
        ("stop sending the blue one, I want red", [], None, None),
        ("退订单", [], None, None),
    ],
)
async def test_opt_out_and_opt_in_keywords(
    connector: TwilioConnector,
    body: str,
    extra: list[tuple[str, str]],
    opt_out: bool | None,
    event: str | None,
) -> None:
    fields = inbound_fields(MESSAGE_SID, CUSTOMER, body) + extra
    [item] = (await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))).inbound
    assert item.opt_out is opt_out
    assert item.text == body
    assert item.data.get("event") == event
    assert item.kind == (MessageKind.EVENT if event else MessageKind.TEXT)
    if event:
        assert event in connector.info.events


def assert_empty_twiml(result: WebhookResult) -> None:
    """Twilio is answered at once with TwiML that sends nothing back."""
    assert result.response.status == 200
    assert result.response.content_type == "text/xml"
    root = ElementTree.fromstring(result.response.body)
    assert root.tag == "Response"
    assert list(root) == []
    assert not (root.text or "").strip()


async def test_an_mms_carries_its_media_as_attachments(connector: TwilioConnector) -> None:
    video = MEDIA_URL.replace("ME0a1b", "ME9f8e")
    fields = inbound_fields(
        MESSAGE_SID, CUSTOMER, "", media=[(MEDIA_URL, "image/jpeg"), (video, "video/mp4")]
    )
    [item] = (await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))).inbound

    assert item.kind == MessageKind.IMAGE
    assert item.text == ""
    photo, clip = item.attachments
    assert photo.provider_ref == MEDIA_URL
    assert photo.kind == MessageKind.IMAGE
    assert photo.content_type == "image/jpeg"
    assert photo.filename == "ME0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg"
    assert photo.storage_key is None
    assert clip.provider_ref == video
    assert clip.kind == MessageKind.VIDEO
    assert clip.filename.endswith(".mp4")


async def test_an_mms_with_text_is_a_text_message_with_its_media(
    connector: TwilioConnector,
) -> None:
    fields = inbound_fields(MESSAGE_SID, body="see the photo", media=[(MEDIA_URL, "image/png")])
    [item] = (await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))).inbound
    assert item.kind == MessageKind.TEXT
    assert item.text == "see the photo"
    assert [a.content_type for a in item.attachments] == ["image/png"]


async def test_at_most_ten_media_are_read(connector: TwilioConnector) -> None:
    media = [(f"{MEDIA_URL}{n:02d}", "image/gif") for n in range(12)]
    fields = inbound_fields(MESSAGE_SID, media=media)
    [item] = (await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))).inbound
    assert [a.provider_ref for a in item.attachments] == [url for url, _ in media[:10]]


async def test_a_sender_that_is_no_phone_number_has_no_phone(connector: TwilioConnector) -> None:
    fields = inbound_fields(MESSAGE_SID, "ACMEBANK", "alphanumeric sender id")
    [item] = (await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))).inbound
    assert item.sender_id == "ACMEBANK"
    assert item.sender_phone is None


async def test_a_webhook_configured_for_get_is_signed_over_its_query(
    connector: TwilioConnector,
) -> None:
    fields = inbound_fields(MESSAGE_SID, CUSTOMER, "by GET")
    url = f"{SMS_URL}?{urlencode(fields)}"
    request = WebhookRequest(
        method="GET",
        url=url,
        query=dict(fields),
        headers={"X-Twilio-Signature": twilio_signature(url, [])},
        body=b"",
    )
    [item] = (await connector.handle_webhook(channel(), "sms", request)).inbound
    assert item.text == "by GET"


async def test_the_signature_may_be_made_with_the_default_port(
    connector: TwilioConnector,
) -> None:
    # Twilio signs some requests with ":443" in the URL; the validator accepts both forms.
    fields = inbound_fields(MESSAGE_SID, CUSTOMER, "port")
    signature = twilio_signature(SMS_URL.replace(HUB, HUB + ":443"), fields)
    result = await connector.handle_webhook(
        channel(), "sms", post(SMS_URL, fields, signature=signature)
    )
    assert len(result.inbound) == 1


def _forgeries() -> dict[str, WebhookRequest]:
    fields = inbound_fields(MESSAGE_SID, CUSTOMER, "transfer the money")
    good = post(SMS_URL, fields)
    tampered = [(k, "transfer it all" if k == "Body" else v) for k, v in fields]
    no_header = WebhookRequest(
        method="POST", url=SMS_URL, query={}, headers={}, body=urlencode(fields).encode()
    )
    return {
        "another account's token": post(
            SMS_URL, fields, signature=twilio_signature(SMS_URL, fields, "0" * 32)
        ),
        "no signature header": no_header,
        "an empty signature": post(SMS_URL, fields, signature=""),
        "a changed field": replace(good, body=urlencode(tampered).encode()),
        "signed for a proxy's host": post(
            SMS_URL,
            fields,
            signature=twilio_signature("http://10.0.0.5:8080/hooks/7/sms", fields),
        ),
        "signed for another channel": post(
            SMS_URL, fields, signature=twilio_signature(f"{HUB}/hooks/8/sms", fields)
        ),
        "signed for http, called over https": post(
            SMS_URL,
            fields,
            signature=twilio_signature(SMS_URL.replace("https:", "http:"), fields),
        ),
    }


@pytest.mark.parametrize("forged", list(_forgeries().values()), ids=list(_forgeries()))
async def test_a_request_twilio_did_not_sign_is_refused(
    connector: TwilioConnector, forged: WebhookRequest
) -> None:
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(channel(), "sms", forged)


async def test_status_callbacks_are_signed_too(connector: TwilioConnector) -> None:
    fields = status_fields(MESSAGE_SID, "delivered")
    forged = post(STATUS_URL, fields, signature=twilio_signature(SMS_URL, fields))
    with pytest.raises(InvalidSignature):
        await connector.handle_webhook(channel(), "sms_status", forged)


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
async def test_a_message_without_a_required_field_is_malformed(
    connector: TwilioConnector, missing: str
) -> None:
    fields = [(k, v) for k, v in inbound_fields(MESSAGE_SID, body="hi") if k != missing]
    with pytest.raises(MalformedPayload, match=missing):
        await connector.handle_webhook(channel(), "sms", post(SMS_URL, fields))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ([("NumMedia", "1")], "MediaUrl0"),
        ([("NumMedia", "two")], "NumMedia"),
        ([("NumMedia", "1"), ("MediaUrl0", "javascript:alert(1)")], "MediaUrl0"),
        ([("From", "x" * 300)], "sender_id"),
    ],
    ids=["media without its URL", "NumMedia not a number", "media URL not http", "long sender"],
)
async def test_media_fields_that_make_no_sense_are_malformed(
    connector: TwilioConnector, fields: list[tuple[str, str]], named: str
) -> None:
    changed = dict(fields)
    form = [(k, changed.pop(k, v)) for k, v in inbound_fields(MESSAGE_SID, body="x")]
    form += list(changed.items())
    with pytest.raises(MalformedPayload, match=named):
        await connector.handle_webhook(channel(), "sms", post(SMS_URL, form))


@pytest.mark.parametrize(
    "body", [b"not a form at all", b"\xff\xfe\x00not utf-8", b'{"MessageSid": "SM1"}']
)
async def test_a_body_that_is_no_form_is_malformed(connector: TwilioConnector, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        await connector.handle_webhook(channel(), "sms", post(SMS_URL, [], body=body))


async def test_an_unknown_webhook_is_not_found(connector: TwilioConnector) -> None:
    fields = inbound_fields(MESSAGE_SID, body="x")
    url = f"{HUB}/hooks/7/fax"
    with pytest.raises(NotFound):
        await connector.handle_webhook(channel(), "fax", post(url, fields))


# -- status callbacks ---------------------------------------------------------------------


async def status(connector: TwilioConnector, *fields: tuple[str, str]) -> WebhookResult:
    form = list(fields)
    result = await connector.handle_webhook(channel(), "sms_status", post(STATUS_URL, form))
    assert result.inbound == ()
    assert result.response.status == 200
    assert result.response.body == b""
    return result


@pytest.mark.parametrize(
    ("twilio", "hub"),
    [
        ("queued", MessageStatus.SENT),
        ("sending", MessageStatus.SENT),
        ("sent", MessageStatus.SENT),
        ("delivered", MessageStatus.DELIVERED),
    ],
)
async def test_delivery_reports_become_status_updates(
    connector: TwilioConnector, twilio: str, hub: MessageStatus
) -> None:
    result = await status(connector, *status_fields(MESSAGE_SID, twilio))
    [update] = result.statuses
    assert update.provider_message_id == MESSAGE_SID
    assert update.status == hub
    assert update.error is None


@pytest.mark.parametrize(
    ("twilio", "code", "words"),
    [
        ("undelivered", 30003, "unreachable"),
        ("undelivered", 30005, "no longer exists"),
        ("failed", 30006, "landline"),
        ("failed", 30007, "spam"),
        ("failed", 39999, "could not deliver"),
    ],
)
async def test_failed_reports_carry_the_reason_in_both_languages(
    connector: TwilioConnector, twilio: str, code: int, words: str
) -> None:
    result = await status(connector, *status_fields(MESSAGE_SID, twilio, code))
    [update] = result.statuses
    assert update.status == MessageStatus.FAILED
    assert update.error is not None
    assert words in update.error
    assert f"twilio.{code}" in update.error
    assert update.failure is not None
    assert update.failure.code == f"twilio.{code}"
    assert words in update.failure.text["en"]
    assert f"错误码 {code}" in update.failure.text["zh-CN"]
    assert re.search(r"[\u4e00-\u9fff]{4}", update.failure.text["zh-CN"])


async def test_a_canceled_message_says_so(connector: TwilioConnector) -> None:
    result = await status(connector, *status_fields(MESSAGE_SID, "canceled"))
    [update] = result.statuses
    assert update.failure is not None
    assert update.failure.code == "twilio.canceled"
    assert "取消" in update.failure.text["zh-CN"]


async def test_a_status_the_hub_does_not_track_changes_nothing(
    connector: TwilioConnector,
) -> None:
    result = await status(connector, *status_fields(MESSAGE_SID, "receiving"))
    assert result.statuses == ()


async def test_a_status_callback_without_a_status_is_malformed(
    connector: TwilioConnector,
) -> None:
    fields = [(k, v) for k, v in status_fields(MESSAGE_SID, "sent") if "Status" not in k]
    with pytest.raises(MalformedPayload, match="MessageStatus"):
        await status(connector, *fields)
