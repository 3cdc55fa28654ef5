"""This process's copies of channel records, shared by the directory and the store.

Every visitor request names its channel by key, every provider callback (``/hooks/{id}/...``)
by id, and every processing batch needs its channel's settings: reading and decrypting them from
the database each time was a large share of the work under load.
A change made in this process is seen at once; one made in another process at most
``CHANNEL_CACHE_S`` late.
"""

from __future__ import annotations

import time

from hub.domain.records import Channel

CHANNEL_CACHE_S = 5.0


class ChannelCache:
    def __init__(self, ttl_s: float = CHANNEL_CACHE_S) -> None:
        self._ttl_s = ttl_s
        self._by_id: dict[int, tuple[float, Channel]] = {}
        self._by_key: dict[str, tuple[float, Channel]] = {}

    def by_id(self, channel_id: int) -> Channel | None:
        return _fresh(self._by_id.get(channel_id))

    def by_key(self, public_key: str) -> Channel | None:
        return _fresh(self._by_key.get(public_key))

    def put(self, channel: Channel) -> None:
        entry = (time.monotonic() + self._ttl_s, channel)
        self._by_id[channel.id] = entry
        self._by_key[channel.public_key] = entry

    def forget(self, channel: Channel) -> None:
        self._by_id.pop(channel.id, None)
        self._by_key.pop(channel.public_key, None)


def _fresh(entry: tuple[float, Channel] | None) -> Channel | None:
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]
