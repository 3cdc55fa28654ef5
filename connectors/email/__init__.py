"""Email channel: a support mailbox in the inbox, kind ``email``."""

from connectors.email.connector import EmailConnector
from hub.registry import ConnectorEnv


def connector(env: ConnectorEnv) -> EmailConnector:
    """The ``kefu.connectors`` entry point."""
    return EmailConnector(allow_private=env.allow_private_networks)


__all__ = ["EmailConnector", "connector"]
