"""Web chat: the embeddable widget's channel, spoken over a websocket with visitors."""

from connectors.webchat.connector import WebchatConnector
from connectors.webchat.tokens import VisitorTokens
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> WebchatConnector:
    """The ``kefu.connectors`` entry point."""
    return WebchatConnector(VisitorTokens(env.derived_secret("kefu.webchat")))


__all__ = ["WebchatConnector", "connector"]
