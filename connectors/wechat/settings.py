"""The settings of the WeChat Official Account and WeCom channels, as pydantic models.

The Token and EncodingAESKey rules are the consoles' own: the Token is 3-32 letters and digits,
the EncodingAESKey 43 base64 characters that decode to 32 bytes.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    field_validator,
)

from connectors.wechat.crypto import aes_key_is_valid
from hub.domain.settings import setting
from hub.domain.texts import text

OA_API_BASE_URL = "https://api.weixin.qq.com"
WECOM_API_BASE_URL = "https://qyapi.weixin.qq.com"

Ident = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_\-]{1,128}$")]
Token = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{3,32}$")]


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _aes_key(value: str) -> str:
    value = value.strip()
    if not aes_key_is_valid(value):
        raise ValueError("must be the 43 letters and digits from the console")
    return value


def _base_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValueError("must be an http(s) URL without a query")
    return value.rstrip("/")


AesKey = Annotated[str, AfterValidator(_aes_key)]
OptionalAesKey = Annotated[AesKey | None, BeforeValidator(_blank_is_none)]


def _api_base_url(default: str) -> Any:
    return setting(
        default,
        label=text("API address (optional)", "API 地址（可选）"),
        help=text(f"Leave empty for {default}.", f"留空即使用 {default}。"),
        placeholder=default,
        destination=True,
    )


def _with_default(default: str) -> BeforeValidator:
    return BeforeValidator(lambda value: default if value is None or value == "" else value)


_SECRET_HELP = text(
    "Saved secrets show as ******** and stay as they are unless you type a new value.",
    "已保存的密钥显示为 ********，除非输入新值，否则保持不变。",
)
_TOKEN_LABEL = text("Token (令牌)", "Token（令牌）")
_TOKEN_HELP = text(
    "3–32 letters or digits. Generate one, then paste the same value into the console.",
    "3–32 位字母或数字。点击“随机生成”，再把同一个值填入后台。",
)
_AES_LABEL = text("EncodingAESKey (消息加解密密钥)", "EncodingAESKey（消息加解密密钥）")


class OfficialAccountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: Ident = setting(label=text("AppID (开发者ID)", "AppID（开发者ID）"), placeholder="wx…")
    app_secret: Ident = setting(
        label=text("AppSecret (开发者密码)", "AppSecret（开发者密码）"),
        help=_SECRET_HELP,
        secret=True,
    )
    token: Token = setting(label=_TOKEN_LABEL, help=_TOKEN_HELP, secret=True, generate="token")
    encoding_aes_key: OptionalAesKey = setting(
        None,
        label=_AES_LABEL,
        help=text(
            "43 letters and digits. Needed for safe mode (安全模式) and compatible mode; "
            "may stay empty in plaintext mode.",
            "43 位字母或数字。安全模式和兼容模式必填；明文模式可留空。",
        ),
        secret=True,
        generate="aes_key",
    )
    subscribe_reply: Annotated[str | None, BeforeValidator(_blank_is_none)] = setting(
        None,
        label=text("Reply sent when someone follows (optional)", "关注自动回复（可选）"),
        help=text(
            "Plain text, up to 2048 bytes. Leave empty to send nothing.",
            "纯文本，最多 2048 字节。留空则不发送。",
        ),
        multiline=True,
        max_length=2048,
    )
    api_base_url: Annotated[str, _with_default(OA_API_BASE_URL), AfterValidator(_base_url)] = (
        _api_base_url(OA_API_BASE_URL)
    )

    @field_validator("subscribe_reply")
    @classmethod
    def _fits_wechat(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip().encode()) > 2048:
            raise ValueError("is longer than WeChat's 2048 bytes")
        return value.strip() if value else None


class WeComKfSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corp_id: Ident = setting(label=text("Corp ID (企业ID)", "企业ID（Corp ID）"), placeholder="ww…")
    secret: Ident = setting(
        label=text("Secret (微信客服 Secret)", "Secret（微信客服的 Secret）"),
        help=_SECRET_HELP,
        secret=True,
    )
    token: Token = setting(label=_TOKEN_LABEL, help=_TOKEN_HELP, secret=True, generate="token")
    encoding_aes_key: AesKey = setting(
        label=_AES_LABEL,
        help=text(
            "43 letters and digits. Required: WeCom always encrypts callbacks.",
            "43 位字母或数字。必填：企业微信的回调总是加密的。",
        ),
        secret=True,
        generate="aes_key",
    )
    open_kfid: Ident = setting(
        label=text("Customer-service account ID (open_kfid)", "客服账号ID（open_kfid）"),
        help=text(
            "Starts with wk; shown in 微信客服 → the account's details.",
            "以 wk 开头，在微信客服的客服账号详情中查看。",
        ),
        placeholder="wk…",
    )
    welcome_text: Annotated[str | None, BeforeValidator(_blank_is_none)] = setting(
        None,
        label=text(
            "Welcome message when a customer enters the chat (optional)", "进入会话欢迎语（可选）"
        ),
        help=text(
            "Sent automatically when a customer opens the chat. Leave empty to send nothing.",
            "客户进入会话时自动发送。留空则不发送。",
        ),
        multiline=True,
        max_length=1024,
    )
    api_base_url: Annotated[str, _with_default(WECOM_API_BASE_URL), AfterValidator(_base_url)] = (
        _api_base_url(WECOM_API_BASE_URL)
    )
