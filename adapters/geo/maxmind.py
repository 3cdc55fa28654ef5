"""Regions from a MaxMind database file (GeoLite2-City or GeoIP2-City, ``.mmdb``) the admin
supplies at ``KEFU_GEOIP_PATH``: read locally with ``maxminddb``, never looked up online.

https://dev.maxmind.com/geoip/docs/databases/city-and-country
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

import maxminddb

from hub.domain.texts import Text

log = logging.getLogger(__name__)


class MaxMindRegions:
    def __init__(self, path: Path) -> None:
        # MODE_MEMORY: the file is read once; lookups are then pure computation
        self._reader = maxminddb.open_database(str(path), maxminddb.MODE_MEMORY)

    def region_of(self, address: str) -> Text | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if not ip.is_global:
            return None
        try:
            record = self._reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            log.warning("geoip lookup failed", exc_info=True)
            return None
        return region_text(record) if isinstance(record, dict) else None

    def close(self) -> None:
        self._reader.close()


def region_text(record: dict[str, Any]) -> Text | None:
    """ "Pudong, Shanghai, China" and "中国 上海 浦东" from a City record (a Country record
    gives the country alone); a part without a name in a language falls back to English."""
    parts = [
        record.get("country"),
        *(record.get("subdivisions") or [])[:1],
        record.get("city"),
    ]
    names: list[dict[str, Any]] = [
        p["names"] for p in parts if isinstance(p, dict) and isinstance(p.get("names"), dict)
    ]
    if not names:
        return None
    english = _distinct([str(n.get("en") or "") for n in names])
    chinese = _distinct([str(n.get("zh-CN") or n.get("en") or "") for n in names])
    if not english and not chinese:
        return None
    return {"en": ", ".join(reversed(english)), "zh-CN": " ".join(chinese)}


def _distinct(names: list[str]) -> list[str]:
    """Names in order without blanks or repeats (a city that is its own province)."""
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen
