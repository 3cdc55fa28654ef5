"""Web chat: the embeddable widget's channel, spoken over a websocket with visitors."""

from connectors.webchat.connector import WebchatConnector

__all__ = ["WebchatConnector"]
