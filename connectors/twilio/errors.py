"""Twilio's error codes as the hub's errors, with reasons an agent can read in en and zh-CN.

A refused send becomes ``PermanentSendError`` with a code in the ``twilio`` namespace
(``twilio.21610``); rate limits, Twilio's own failures and network errors become
``TransientSendError`` (retried with backoff). The codes are Twilio's:
https://www.twilio.com/docs/api/errors
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.domain.errors import PermanentSendError
from hub.domain.model import Failure
from hub.domain.texts import Text, text

NAMESPACE = "twilio"

#: what the agent reads for the refusals a support team meets most
REASONS: Mapping[int, Text] = {
    20003: text(
        "Twilio refused the channel's credentials: check the Account SID and Auth Token",
        "Twilio 拒绝了渠道的凭据：请检查 Account SID 和 Auth Token",
    ),
    20404: text(
        "Twilio does not know this account or resource: check the Account SID",
        "Twilio 找不到该账户或资源：请检查 Account SID",
    ),
    21211: text(
        "the customer's phone number is not a valid number",
        "客户的手机号码无效",
    ),
    21408: text(
        "the account may not send SMS to this country or region: enable it in the Twilio "
        "Console's Messaging Geographic Permissions",
        "该账户未开通向此国家或地区发送短信的权限：请在 Twilio 控制台的"
        "“Messaging Geographic Permissions”中开通",
    ),
    21606: text(
        "the channel's phone number cannot send SMS to this customer (it is not SMS-capable "
        "or not allowed for this destination)",
        "渠道的号码无法向该客户发送短信（号码不支持短信，或不能发往该目的地）",
    ),
    21610: text(
        "the customer has unsubscribed by replying STOP; they must reply START before you can "
        "text them again",
        "客户已回复 STOP 退订短信；需客户回复 START 重新订阅后才能再发送",
    ),
    21612: text(
        "Twilio cannot route a message between these two numbers",
        "Twilio 无法在这两个号码之间发送短信",
    ),
    21614: text(
        "the customer's number cannot receive SMS (it may be a landline)",
        "客户的号码无法接收短信（可能是固定电话）",
    ),
    21617: text(
        "the message is longer than Twilio's 1600 characters: shorten it or split it",
        "消息超过 Twilio 的 1600 字符上限：请缩短或分条发送",
    ),
    21620: text(
        "Twilio could not read the attachment's address",
        "Twilio 无法识别附件的地址",
    ),
    30003: text(
        "the customer's phone is unreachable (switched off or out of coverage)",
        "客户的手机无法接通（关机或不在服务区）",
    ),
    30004: text(
        "the customer's carrier blocked the message (the customer may block SMS from this number)",
        "客户的运营商拦截了短信（客户可能屏蔽了该号码）",
    ),
    30005: text(
        "the customer's number is unknown to their carrier or no longer exists",
        "客户的号码不存在或已停用",
    ),
    30006: text(
        "the customer's number is a landline or cannot receive SMS",
        "客户的号码是固定电话或无法接收短信",
    ),
    30007: text(
        "the carrier filtered the message as spam or unregistered traffic",
        "运营商将短信判定为垃圾或未登记的短信并拦截",
    ),
    30008: text(
        "the carrier could not deliver the message (unknown error)",
        "运营商未能送达短信（原因未知）",
    ),
}

#: "Attempt to send to unsubscribed recipient": the customer replied STOP at some point
UNSUBSCRIBED = 21610

#: codes that may work later: Twilio's rate limits and its own trouble
TRANSIENT_CODES = frozenset({20429, 20500, 20503})


def reason_texts(code: int, message: str = "") -> Text:
    """What Twilio's ``code`` means, in every language; Twilio's own words when we have none."""
    known = REASONS.get(code)
    if known is not None:
        return known
    # Twilio's message is its English text about the request (no customer data in it).
    said = f": {message}" if message else ""
    return text(f"Twilio refused the message{said}", f"Twilio 拒绝了该短信{said}")


def refused(code: int, message: str = "") -> PermanentSendError:
    """The hub's refusal for a Twilio error code, namespaced ``twilio.<code>``."""
    texts = reason_texts(code, message)
    return PermanentSendError(
        f"{texts['en']} (twilio.{code})",
        f"{NAMESPACE}.{code}",
        text(f"{texts['en']} (error {code})", f"{texts['zh-CN']}（错误码 {code}）"),
        opted_out=code == UNSUBSCRIBED,
    )


def delivery_failure(code: int | None) -> Failure:
    """Why a status callback says a message was not delivered, for the thread."""
    if code is None:
        return Failure(
            code=f"{NAMESPACE}.undelivered",
            text=text(
                "Twilio could not deliver the message (no error code given)",
                "Twilio 未能送达短信（未提供错误码）",
            ),
        )
    texts = REASONS.get(code) or text(
        "the carrier or Twilio could not deliver the message",
        "运营商或 Twilio 未能送达短信",
    )
    return Failure(
        code=f"{NAMESPACE}.{code}",
        text=text(f"{texts['en']} (error {code})", f"{texts['zh-CN']}（错误码 {code}）"),
    )


CANCELED = Failure(
    code=f"{NAMESPACE}.canceled",
    text=text("the scheduled message was canceled at Twilio", "定时短信已在 Twilio 取消"),
)


def fail(code: str, en: str, zh: str) -> PermanentSendError:
    """A refusal of our own making (no text to send, a file gone), namespaced like the rest."""
    return PermanentSendError(en, f"{NAMESPACE}.{code}", text(en, zh))
