"""The settings of a Twilio SMS channel, as a pydantic model.

Formats are Twilio's own: an Account SID is ``AC`` and 32 hex digits, a Messaging Service SID
``MG`` and 32 hex digits, an Auth Token 32 hex digits, and phone numbers are E.164
(https://www.twilio.com/docs/glossary/what-e164).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from hub.domain.settings import setting
from hub.domain.texts import text

API_BASE_URL = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_AUTH_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
#: what people type between the digits of a phone number
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _sid(prefix: str, pattern: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        value = value.strip()
        if not pattern.match(value):
            raise ValueError(f"must be {prefix} followed by 32 hexadecimal digits")
        # Twilio writes the hex digits in lower case (and signs the URLs it gives with them).
        return prefix + value[2:].lower()

    return AfterValidator(check)


def _auth_token(value: str) -> str:
    value = value.strip()
    if not _AUTH_TOKEN.match(value):
        raise ValueError("must be the 32 hexadecimal digits shown in the Twilio Console")
    return value


def _phone_number(value: str) -> str:
    value = _PHONE_PUNCTUATION.sub("", value)
    if not _E164.match(value):
        raise ValueError("must be in E.164 form: + and the country code, 8-15 digits in all")
    return value


def _blank_is_default(value: Any) -> Any:
    return API_BASE_URL if value is None or _blank_is_none(value) is None else value


def _base_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http(s) URL without a query")
    return value.rstrip("/")


AccountSid = Annotated[str, _sid("AC", _ACCOUNT_SID)]
ServiceSid = Annotated[str, _sid("MG", _SERVICE_SID)]
PhoneNumber = Annotated[str, AfterValidator(_phone_number)]
OptionalServiceSid = Annotated[ServiceSid | None, BeforeValidator(_blank_is_none)]
OptionalPhoneNumber = Annotated[PhoneNumber | None, BeforeValidator(_blank_is_none)]

_SECRET_HELP = text(
    "Saved secrets show as ******** and stay as they are unless you type a new value.",
    "已保存的密钥显示为 ********，除非输入新值，否则保持不变。",
)


class TwilioSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_sid: AccountSid = setting(
        label=text("Account SID", "账户 SID（Account SID）"),
        help=text(
            "On the Twilio Console's home page, under Account Info; starts with AC.",
            "在 Twilio 控制台首页的 Account Info 中，以 AC 开头。",
        ),
        placeholder="AC…",
    )
    auth_token: Annotated[str, AfterValidator(_auth_token)] = setting(
        label=text("Auth Token", "身份验证令牌（Auth Token）"),
        help=text(
            "Beside the Account SID. Twilio signs its webhooks with it. " + _SECRET_HELP["en"],
            "在 Account SID 旁边。Twilio 用它为回调签名。" + _SECRET_HELP["zh-CN"],
        ),
        secret=True,
    )
    phone_number: OptionalPhoneNumber = setting(
        None,
        label=text("Twilio phone number", "Twilio 电话号码"),
        help=text(
            "The number customers text, in E.164 form (+14155550100). "
            "Needed unless you set a Messaging Service.",
            "客户发短信的号码，E.164 格式（如 +8613800138000）。未填写消息服务时必填。",
        ),
        placeholder="+14155550100",
    )
    messaging_service_sid: OptionalServiceSid = setting(
        None,
        label=text("Messaging Service SID (optional)", "消息服务 SID（可选）"),
        help=text(
            "Starts with MG. When set, replies go through the Messaging Service, which picks "
            "the sending number from its sender pool.",
            "以 MG 开头。填写后，回复经由该消息服务发送，由其号码池选择发送号码。",
        ),
        placeholder="MG…",
    )
    api_base_url: Annotated[str, BeforeValidator(_blank_is_default), AfterValidator(_base_url)] = (
        setting(
            API_BASE_URL,
            label=text("API address (optional)", "API 地址（可选）"),
            help=text(f"Leave empty for {API_BASE_URL}.", f"留空即使用 {API_BASE_URL}。"),
            placeholder=API_BASE_URL,
            destination=True,
        )
    )

    @model_validator(mode="after")
    def _has_a_sender(self) -> Self:
        if self.phone_number is None and self.messaging_service_sid is None:
            raise ValueError("set a Twilio phone number or a Messaging Service SID (MG…)")
        return self
