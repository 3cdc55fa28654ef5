"""What a send asks of Twilio, and Twilio's answers as the hub's receipts and errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from connectors.twilio.api import message_form, messages_url, send_outcome
from connectors.twilio.errors import REASONS, refused
from hub.domain.errors import PermanentSendError, TransientSendError
from hub.domain.model import AttachmentRef, MessageKind, MessageStatus, Outbound
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, SERVICE_SID, TWILIO_NUMBER

SETTINGS: dict[str, Any] = {
    "account_sid": ACCOUNT_SID,
    "auth_token": AUTH_TOKEN,
    "phone_number": TWILIO_NUMBER,
    "messaging_service_sid": None,
    "api_base_url": "https://api.twilio.com",
}
CALLBACK = "https://kefu.example.com/hooks/7/sms_status"
CJK = re.compile(r"[\u4e00-\u9fff]")
PHOTO = AttachmentRef(kind=MessageKind.IMAGE, content_type="image/png", storage_key="ab/cd.png")


def outbound(text: str = "", *attachments: AttachmentRef) -> Outbound:
    return Outbound(
        message_id=1,
        conversation_id=2,
        recipient_id=CUSTOMER,
        kind=attachments[0].kind if attachments else MessageKind.TEXT,
        text=text,
        attachments=attachments,
    )


def twilio_error(code: int, message: str, status: int = 400) -> str:
    return json.dumps(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )


# -- what is sent -------------------------------------------------------------------------


def test_a_reply_is_sent_from_the_number_with_a_status_callback() -> None:
    text = "您好！" * 400  # 1200 UCS-2 characters: Twilio splits it into segments itself
    assert messages_url("https://api.twilio.com/", ACCOUNT_SID) == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    )
    assert message_form(SETTINGS, outbound(text), CALLBACK) == [
        ("To", CUSTOMER),
        ("From", TWILIO_NUMBER),
        ("Body", text),
        ("StatusCallback", CALLBACK),
    ]


def test_a_messaging_service_sends_instead_of_the_number() -> None:
    settings = {**SETTINGS, "messaging_service_sid": SERVICE_SID}
    form = dict(message_form(settings, outbound("hi"), CALLBACK))
    assert form["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in form


FILE_URL = "https://kefu.example.com/files/SIGNED/photo.png"
PUBLIC_PHOTO = PHOTO.model_copy(update={"url": FILE_URL})


def test_files_go_as_media_urls_twilio_fetches_from_the_hub() -> None:
    second = PUBLIC_PHOTO.model_copy(update={"url": FILE_URL.replace("photo", "receipt")})
    form = message_form(SETTINGS, outbound("see attached", PUBLIC_PHOTO, second), CALLBACK)
    assert ("Body", "see attached") in form
    assert [v for k, v in form if k == "MediaUrl"] == [FILE_URL, second.url]
    # A file alone is an MMS without a body.
    alone = message_form(SETTINGS, outbound("", PUBLIC_PHOTO), CALLBACK)
    assert "Body" not in dict(alone)
    assert dict(alone)["MediaUrl"] == FILE_URL


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (outbound("see attached", PHOTO), "twilio.no_public_file_url"),
        (outbound("", *[PUBLIC_PHOTO] * 11), "twilio.too_many_files"),
        (outbound("   "), "twilio.empty"),
    ],
)
def test_a_reply_with_nothing_sms_can_carry_fails_clearly(message: Outbound, code: str) -> None:
    with pytest.raises(PermanentSendError) as failed:
        message_form(SETTINGS, message, CALLBACK)
    assert failed.value.code == code
    assert CJK.search(failed.value.texts["zh-CN"])
    assert failed.value.texts["en"]


# -- what Twilio answers ------------------------------------------------------------------


def test_201_is_a_receipt_with_the_message_sid() -> None:
    body = json.dumps({"sid": "SM" + "a" * 32, "status": "queued", "to": CUSTOMER})
    receipt = send_outcome(201, body)
    assert receipt.provider_message_id == "SM" + "a" * 32
    assert receipt.status == MessageStatus.SENT


@pytest.mark.parametrize(
    ("code", "words_en", "words_zh"),
    [
        (21211, "not a valid number", "无效"),
        (21610, "STOP", "退订"),
        (21408, "country or region", "国家或地区"),
        (21606, "cannot send SMS", "无法"),
        (20003, "credentials", "凭据"),
        (30003, "unreachable", "无法接通"),
        (30005, "unknown", "不存在"),
        (30006, "landline", "固定电话"),
        (30007, "spam", "垃圾"),
    ],
)
def test_known_refusals_are_explained_in_both_languages(
    code: int, words_en: str, words_zh: str
) -> None:
    status = 401 if code == 20003 else 400
    with pytest.raises(PermanentSendError) as failed:
        send_outcome(status, twilio_error(code, "Twilio's own words", status))
    error = failed.value
    assert error.code == f"twilio.{code}"
    assert words_en in error.texts["en"]
    assert words_zh in error.texts["zh-CN"]
    assert str(code) in error.texts["en"]
    assert str(code) in error.texts["zh-CN"]
    # Only "unsubscribed" tells the hub to remember the customer's STOP.
    assert error.opted_out is (code == 21610)
    assert f"twilio.{code}" in error.reason
    assert "Twilio's own words" not in error.texts["en"]


def test_every_explained_code_has_both_languages() -> None:
    for code, texts in REASONS.items():
        assert texts["en"].strip(), code
        assert CJK.search(texts["zh-CN"]), code
        assert refused(code).code == f"twilio.{code}"


def test_an_unknown_refusal_says_what_twilio_said() -> None:
    with pytest.raises(PermanentSendError) as failed:
        send_outcome(400, twilio_error(21999, "Something new went wrong"))
    assert failed.value.code == "twilio.21999"
    assert "Something new went wrong" in failed.value.texts["en"]
    assert "Something new went wrong" in failed.value.texts["zh-CN"]
    assert CJK.search(failed.value.texts["zh-CN"])


def test_a_4xx_without_twilio_s_body_is_refused_by_status() -> None:
    with pytest.raises(PermanentSendError) as failed:
        send_outcome(403, "<html>Forbidden</html>")
    assert failed.value.code == "twilio.http_403"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, twilio_error(20429, "Too Many Requests", 429)),
        (500, twilio_error(20500, "An internal server error has occurred", 500)),
        (502, "Bad Gateway"),
        (503, ""),
        (400, twilio_error(20429, "Too Many Requests")),
        (302, ""),
    ],
)
def test_rate_limits_and_twilio_s_trouble_are_retried(status: int, body: str) -> None:
    with pytest.raises(TransientSendError):
        send_outcome(status, body)
