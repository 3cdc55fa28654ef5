"""The web edge: REST API, websockets, provider webhooks and pages."""
