"""Kefu Hub: the unified inbox domain, its services, web API and pages."""

__version__ = "0.1.0"
