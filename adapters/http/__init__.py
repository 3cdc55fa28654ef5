"""The HTTP client the connectors call providers with."""
