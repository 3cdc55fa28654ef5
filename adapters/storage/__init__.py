"""Attachment storage."""
