"""WeChat Official Account (公众号) channel: kind ``wechat``."""

from connectors.wechat.connector import WeChatConnector
from connectors.wechat.window import (
    Opener,
    opener_for_event,
    reply_window,
    window_from_activity,
)
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> WeChatConnector:
    """The ``kefu.connectors`` entry point."""
    return WeChatConnector(env.http)


__all__ = [
    "Opener",
    "WeChatConnector",
    "connector",
    "opener_for_event",
    "reply_window",
    "window_from_activity",
]
