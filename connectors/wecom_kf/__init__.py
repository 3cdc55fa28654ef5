"""WeCom 微信客服 (WeChat Customer Service) channel: kind ``wecom_kf``."""

from connectors.wecom_kf.connector import WeComKfConnector

__all__ = ["WeComKfConnector"]
