"""WeChat Official Account (公众号) channel: kind ``wechat``."""

from connectors.wechat.connector import WeChatConnector
from connectors.wechat.window import (
    Opener,
    opener_for_event,
    reply_window,
    window_from_activity,
)

__all__ = [
    "Opener",
    "WeChatConnector",
    "opener_for_event",
    "reply_window",
    "window_from_activity",
]
