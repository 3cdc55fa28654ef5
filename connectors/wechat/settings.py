"""Validation helpers shared by the WeChat Official Account and WeCom channel settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connectors.wechat.crypto import aes_key_is_valid
from hub.domain.errors import InvalidInput

_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_IDENT = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def required_str(
    settings: Mapping[str, Any], name: str, *, pattern: re.Pattern[str] = _IDENT
) -> str:
    value = settings.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required")
    value = value.strip()
    if not pattern.match(value):
        raise InvalidInput(f"{name} has an invalid format")
    return value


def token(settings: Mapping[str, Any]) -> str:
    """The callback Token: the consoles accept 3-32 letters and digits."""
    return required_str(settings, "token", pattern=_TOKEN)


def aes_key(settings: Mapping[str, Any], *, required: bool) -> str | None:
    value = settings.get("encoding_aes_key")
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput("encoding_aes_key is required")
        return None
    if not isinstance(value, str) or not aes_key_is_valid(value.strip()):
        raise InvalidInput("encoding_aes_key must be the 43 letters and digits from the console")
    return value.strip()


def base_url(settings: Mapping[str, Any], default: str) -> str:
    value = settings.get("api_base_url") or default
    if not isinstance(value, str):
        raise InvalidInput("api_base_url must be a URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise InvalidInput("api_base_url must be an http(s) URL without a query")
    return value.strip().rstrip("/")
