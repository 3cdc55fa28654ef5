"""Twilio channel, SMS and MMS: kind ``twilio``."""

from connectors.twilio.connector import TwilioConnector
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> TwilioConnector:
    """The ``kefu.connectors`` entry point."""
    return TwilioConnector(env.http, env.public_url)


__all__ = ["TwilioConnector", "connector"]
