"""WeChat Official Account (公众号) channel: kind ``wechat``."""

from connectors.wechat.connector import WeChatConnector
from connectors.wechat.window import Opener, ReplyWindow, opener_for_event, reply_window

__all__ = ["Opener", "ReplyWindow", "WeChatConnector", "opener_for_event", "reply_window"]
