"""Fakes of the hub's ports and of third-party servers, for tests."""
