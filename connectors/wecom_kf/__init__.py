"""WeCom 微信客服 (WeChat Customer Service) channel: kind ``wecom_kf``."""

from connectors.wecom_kf.connector import WeComKfConnector
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> WeComKfConnector:
    """The ``kefu.connectors`` entry point."""
    return WeComKfConnector(env.http)


__all__ = ["WeComKfConnector", "connector"]
