"""Twilio channel, SMS, MMS and calls: kind ``twilio``."""

from connectors.twilio.connector import TwilioConnector
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> TwilioConnector:
    """The ``kefu.connectors`` entry point."""
    return TwilioConnector(env.http, env.public_url, phones=env.phones, state_for=env.state_for)


__all__ = ["TwilioConnector", "connector"]
