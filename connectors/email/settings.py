"""An email channel's settings: the support address and the mail server replies go out through."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.domain.model import Email
from hub.domain.settings import setting
from hub.domain.texts import text

Security = Literal["none", "starttls", "ssl"]


def _host(value: str) -> str:
    value = value.strip().rstrip(".").lower()
    if not value or any(c.isspace() or c in "/@:" for c in value):
        raise ValueError("must be a host name or an IP address, e.g. smtp.example.com")
    return value


def _optional_host(value: str) -> str:
    return _host(value) if value.strip() else ""


def _folder(value: str) -> str:
    value = value.strip()
    # a mailbox name goes into IMAP commands: no line breaks or quotes that would end it early
    if not value or any(c in '"\\\r\n' or ord(c) < 32 for c in value):
        raise ValueError("must be a folder name such as INBOX or Support")
    return value


_SECRET_HELP = text(
    "Saved secrets show as ******** and stay as they are unless you type a new value.",
    "已保存的密钥显示为 ********，除非输入新值，否则保持不变。",
)


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: Annotated[Email, Field(max_length=320)] = setting(
        label=text("Support address", "客服邮箱地址"),
        help=text(
            "The address customers write to, e.g. support@shop.example. Mail the hub's SMTP "
            "receiver gets for it comes to this channel; replies are sent from it.",
            "客户发信的地址，如 support@shop.example。本系统 SMTP 接收器收到的发往该地址的"
            "邮件进入本渠道，回复也从该地址发出。",
        ),
        placeholder="support@shop.example",
    )
    display_name: str = setting(
        "",
        label=text("Sender name", "发件人名称"),
        help=text(
            "Shown after the agent's name in the customer's mail client, e.g. “Lotus & Co.”.",
            "显示在客户邮件客户端中客服姓名之后，如“莲记”。",
        ),
        max_length=100,
    )
    smtp_host: Annotated[str, AfterValidator(_host)] = setting(
        label=text("Outgoing mail server (SMTP)", "发信服务器（SMTP）"),
        help=text(
            "Your mail provider's SMTP host, e.g. smtp.exmail.qq.com or smtp.gmail.com.",
            "邮件服务商的 SMTP 服务器，如 smtp.exmail.qq.com 或 smtp.gmail.com。",
        ),
        placeholder="smtp.example.com",
        destination=("smtp_password",),
        max_length=253,
    )
    smtp_port: int = setting(
        587,
        label=text("SMTP port", "SMTP 端口"),
        help=text("587 with STARTTLS, 465 with SSL.", "STARTTLS 用 587，SSL 用 465。"),
        ge=1,
        le=65535,
    )
    smtp_security: Security = setting(
        "starttls",
        label=text("SMTP security", "SMTP 加密方式"),
        help=text(
            "starttls (port 587), ssl (port 465), or none only inside your own network.",
            "starttls（端口 587）、ssl（端口 465）；none 仅用于自己的内网。",
        ),
    )
    smtp_username: str = setting(
        "",
        label=text("SMTP user name", "SMTP 用户名"),
        help=text(
            "Usually the support address itself; empty when the server needs no login.",
            "通常就是客服邮箱地址；服务器无需登录时留空。",
        ),
        max_length=320,
    )
    smtp_password: str = setting(
        "",
        label=text("SMTP password", "SMTP 密码"),
        help=text(
            "The mailbox's password or app password (授权码 at QQ and NetEase). "
            + _SECRET_HELP["en"],
            "邮箱密码或客户端授权码（QQ 邮箱、网易邮箱需使用授权码）。" + _SECRET_HELP["zh-CN"],
        ),
        secret=True,
        max_length=500,
    )
    imap_host: Annotated[str, AfterValidator(_optional_host)] = setting(
        "",
        label=text("Incoming mail server (IMAP)", "收信服务器（IMAP）"),
        help=text(
            "Optional: the hub reads new mail from this mailbox, e.g. imap.exmail.qq.com or "
            "imap.gmail.com. Leave empty when mail comes in through the hub's SMTP receiver.",
            "可选：本系统从该邮箱读取新邮件，如 imap.exmail.qq.com 或 imap.gmail.com。"
            "邮件经由本系统 SMTP 接收器进入时留空。",
        ),
        placeholder="imap.example.com",
        destination=("imap_password",),
        max_length=253,
    )
    imap_port: int = setting(
        993,
        label=text("IMAP port", "IMAP 端口"),
        help=text("993 with SSL, 143 with STARTTLS.", "SSL 用 993，STARTTLS 用 143。"),
        ge=1,
        le=65535,
    )
    imap_security: Security = setting(
        "ssl",
        label=text("IMAP security", "IMAP 加密方式"),
        help=text(
            "ssl (port 993), starttls (port 143), or none only inside your own network.",
            "ssl（端口 993）、starttls（端口 143）；none 仅用于自己的内网。",
        ),
    )
    imap_username: str = setting(
        "",
        label=text("IMAP user name", "IMAP 用户名"),
        help=text(
            "Empty: the support address.",
            "留空则使用客服邮箱地址。",
        ),
        max_length=320,
    )
    imap_password: str = setting(
        "",
        label=text("IMAP password", "IMAP 密码"),
        help=text(
            "The mailbox's password or app password (授权码). " + _SECRET_HELP["en"],
            "邮箱密码或客户端授权码。" + _SECRET_HELP["zh-CN"],
        ),
        secret=True,
        max_length=500,
    )
    imap_folder: Annotated[str, AfterValidator(_folder)] = setting(
        "INBOX",
        label=text("IMAP folder", "IMAP 文件夹"),
        help=text(
            "The folder the hub reads, usually INBOX. The hub only reads: it marks nothing as "
            "read and deletes nothing.",
            "本系统读取的文件夹，通常为 INBOX。本系统只读取，不标记已读，也不删除邮件。",
        ),
        max_length=200,
    )
