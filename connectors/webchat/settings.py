"""The web chat channel's settings: what the widget looks like and where it may be embedded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from hub.domain.settings import OptionalFileKey, setting
from hub.domain.texts import text


class WebchatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = setting(
        "",
        label=text("Widget title", "窗口标题"),
        help=text(
            "Shown at the top of the chat; empty shows the channel's name.",
            "显示在聊天窗口顶部；留空则显示渠道名称。",
        ),
        max_length=80,
    )
    welcome_text: str = setting(
        "",
        label=text("Welcome message (欢迎语)", "欢迎语"),
        help=text("Shown to every visitor who opens the chat.", "访客打开聊天窗口时显示。"),
        multiline=True,
        max_length=500,
    )
    color: str = setting(
        "#1f6feb",
        label=text("Colour", "主题色"),
        widget="color",
        pattern=r"^#[0-9a-fA-F]{6}$",
    )
    position: Literal["right", "left"] = setting(
        "right",
        label=text("Position on the page", "窗口位置"),
        help=text("The corner the chat button sits in.", "聊天按钮所在的页面角落。"),
    )
    language: Literal["auto", "zh-CN", "en"] = setting(
        "auto",
        label=text("Language", "语言"),
        help=text(
            "auto follows the page's language, then the visitor's browser.",
            "auto 跟随页面语言，其次是访客浏览器的语言。",
        ),
    )
    launcher_text: str = setting(
        "",
        label=text("Text on the chat button", "聊天按钮文字"),
        help=text(
            "Shown beside the button's icon, e.g. “在线咨询”; empty shows the icon alone.",
            "显示在按钮图标旁，如“在线咨询”；留空则只显示图标。",
        ),
        max_length=20,
    )
    logo: OptionalFileKey = setting(
        None,
        label=text("Logo", "标志"),
        help=text(
            "A square picture (PNG, JPEG, WebP or GIF) shown at the top of the chat.",
            "显示在聊天窗口顶部的方形图片（PNG、JPEG、WebP 或 GIF）。",
        ),
        widget="image",
    )
    agent_avatars: bool = setting(
        True,
        label=text("Show agents' initials beside their replies", "在客服回复旁显示客服头像"),
    )
    offline_phone: bool = setting(
        False,
        label=text(
            "Ask for a phone number in the leave-a-message form",
            "留言表单中询问电话号码",
        ),
    )
    prechat_form: bool = setting(
        False,
        label=text(
            "Ask for name and email before the chat (pre-chat form)",
            "咨询前填写姓名和邮箱（询前表单）",
        ),
    )
    allowed_origins: list[str] = setting(
        default_factory=list,
        label=text(
            "Allowed origins (one per line; empty allows any site)",
            "允许的网站来源（每行一个；留空则允许所有网站）",
        ),
        help=text(
            "Sites allowed to embed the chat, like https://shop.example.com.",
            "允许嵌入聊天窗口的网站，例如 https://shop.example.com。",
        ),
        widget="lines",
        placeholder="https://shop.example.com",
        max_length=50,
    )

    new_visitors_per_minute: int = setting(
        30,
        label=text("New visitors per minute from one address", "每个地址每分钟新访客数"),
        help=text(
            "Chat sessions one network address may start per minute (0: no limit).",
            "同一网络地址每分钟最多开启的会话数（0 表示不限）。",
        ),
        ge=0,
        le=100_000,
    )
    messages_per_minute: int = setting(
        30,
        label=text("Messages per minute from one visitor", "每位访客每分钟消息数"),
        help=text(
            "More are refused with a request to wait (0: no limit).",
            "超出后提示访客稍后再发（0 表示不限）。",
        ),
        ge=0,
        le=100_000,
    )
    messages_per_address_per_minute: int = setting(
        120,
        label=text("Messages per minute from one address", "每个地址每分钟消息数"),
        help=text(
            "All visitors behind one network address together (0: no limit).",
            "同一网络地址下所有访客合计（0 表示不限）。",
        ),
        ge=0,
        le=1_000_000,
    )

    visitor_panel: bool = setting(
        True,
        label=text(
            "Show agents who is browsing the site (live visitor panel)",
            "向客服显示正在浏览网站的访客（访客面板）",
        ),
        help=text(
            "The widget reports each page a visitor opens: agents see where they came from, "
            "the page they are on and their trail. Turn it off where your privacy notice does "
            "not cover it.",
            "挂件会报告访客打开的每个页面：客服可看到访客来源、当前页面和访问轨迹。若您的隐私"
            "声明未涵盖此项，请关闭。",
        ),
    )
    keep_addresses: bool = setting(
        False,
        label=text("Show visitors' IP addresses to agents", "向客服显示访客的 IP 地址"),
        help=text(
            "Off: the region is shown (when the hub has a GeoIP database), never the address.",
            "关闭时只显示地区（需配置 GeoIP 数据库），不显示地址。",
        ),
    )
    pages_per_minute: int = setting(
        30,
        label=text("Page reports per minute from one visitor", "每位访客每分钟页面报告数"),
        help=text(
            "More are ignored (they never hold up the chat).",
            "超出部分将被忽略（不影响聊天）。",
        ),
        ge=1,
        le=10_000,
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        result = []
        for origin in value:
            parts = urlsplit(origin.strip())
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
            ):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example.com")
            result.append(f"{parts.scheme}://{parts.netloc}".lower())
        return result


def origin_allowed(settings: Mapping[str, Any], origin: str | None) -> bool:
    allowed = settings.get("allowed_origins") or []
    if not allowed:
        return True
    return origin is not None and origin.lower().rstrip("/") in allowed
