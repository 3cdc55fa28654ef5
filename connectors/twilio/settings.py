"""The settings of a Twilio SMS channel, as a pydantic model.

Formats are Twilio's own: an Account SID is ``AC`` and 32 hex digits, a Messaging Service SID
``MG`` and 32 hex digits, an Auth Token 32 hex digits, and phone numbers are E.164
(https://www.twilio.com/docs/glossary/what-e164).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from hub.domain.model import PhoneNumber
from hub.domain.settings import OptionalFileKey, setting
from hub.domain.texts import text

API_BASE_URL = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_AUTH_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")
#: what people type between the digits of a phone number


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
OptionalServiceSid = Annotated[ServiceSid | None, BeforeValidator(_blank_is_none)]
OptionalPhoneNumber = Annotated[PhoneNumber | None, BeforeValidator(_blank_is_none)]


def _menu_line(value: str) -> str:
    digit, _, team = value.strip().partition(" ")
    if len(digit) != 1 or not digit.isdigit() or not team.strip():
        raise ValueError("each line is a digit, a space and a team's name, e.g. “2 售后”")
    return f"{digit} {team.strip()}"


MenuLine = Annotated[str, Field(max_length=200), AfterValidator(_menu_line)]


def menu_choices(lines: list[str]) -> dict[str, str]:
    """Digit → team name, from the settings' menu lines."""
    return {line[0]: line[2:] for line in lines}


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

    # -- voice ------------------------------------------------------------------------------
    voice_language: Literal["zh-CN", "en-US"] = setting(
        "zh-CN",
        label=text("Language of the spoken prompts", "语音提示的语言"),
        help=text(
            "The voice that reads the greeting, the menu and the voicemail prompt.",
            "朗读欢迎语、菜单和留言提示所用的语音。",
        ),
    )
    voice_greeting: str = setting(
        "您好，欢迎致电。",
        label=text("Greeting", "欢迎语"),
        help=text(
            "Read to every caller first. Leave empty for none.",
            "每位来电者首先听到的话。留空则不播放。",
        ),
        multiline=True,
        max_length=1000,
    )
    voice_greeting_audio: OptionalFileKey = setting(
        None,
        label=text("Greeting recording (optional)", "欢迎语录音（可选）"),
        help=text(
            "An MP3 or WAV file played instead of reading the greeting.",
            "用于代替朗读欢迎语的 MP3 或 WAV 文件。",
        ),
        widget="audio",
    )
    voice_menu: list[MenuLine] = setting(
        default_factory=list,
        label=text("Phone menu (IVR)", "语音菜单（IVR）"),
        help=text(
            "One choice per line: a digit and the name of the team that takes the call, e.g. "
            "“1 售前” and “2 售后”. Empty: every call goes to the channel's team.",
            "每行一个选项：按键数字和接听该来电的团队名称，例如“1 售前”“2 售后”。"
            "留空则所有来电转给本渠道的团队。",
        ),
        widget="lines",
        max_length=9,
    )
    ring_seconds: int = setting(
        20,
        label=text("Ring agents for (seconds)", "呼叫客服的时长（秒）"),
        help=text(
            "How long the online agents' phones ring before the caller is offered voicemail.",
            "在线客服的电话响铃多久后转入语音留言。",
        ),
        ge=5,
        le=60,
    )
    voicemail_prompt: str = setting(
        "现在无人接听，请在提示音后留言，我们会尽快回复您。",
        label=text("Voicemail prompt", "留言提示"),
        help=text("Read when nobody answers, before the tone.", "无人接听时在提示音之前朗读。"),
        multiline=True,
        max_length=1000,
    )
    voicemail_max_seconds: int = setting(
        120,
        label=text("Longest voicemail (seconds)", "留言最长时间（秒）"),
        ge=10,
        le=600,
    )

    @model_validator(mode="after")
    def _has_a_sender(self) -> Self:
        if self.phone_number is None and self.messaging_service_sid is None:
            raise ValueError("set a Twilio phone number or a Messaging Service SID (MG…)")
        return self
