"""In-memory ``ChannelState`` and ``BlobStorage`` for connector tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hub.domain.channels import SendContext
from hub.domain.events import HubEvent


class FakeChannelState:
    """A dict with expiry, like the shared per-channel state the hub provides."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, datetime | None]] = {}

    async def get(self, key: str) -> str | None:
        item = self.values.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and expires_at <= datetime.now(UTC):
            return None
        return value

    async def set(self, key: str, value: str, expires_at: datetime | None = None) -> None:
        self.values[key] = (value, expires_at)

    async def claim(self, key: str, owner: str, ttl_s: float) -> bool:
        holder = await self.get(key)
        if holder is not None and holder != owner:
            return False
        self.values[key] = (owner, datetime.now(UTC) + timedelta(seconds=ttl_s))
        return True

    async def release(self, key: str, owner: str) -> None:
        if await self.get(key) == owner:
            del self.values[key]


class FakeBlobStorage:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}
        self._ids = itertools.count(1)

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        key = f"blob-{next(self._ids)}"
        self.files[key] = (data, filename, content_type)
        return key

    async def get(self, key: str) -> bytes:
        return self.files[key][0]


async def _no_publish(topic: str, event: HubEvent) -> None:
    return None


def fake_send_context(
    state: FakeChannelState | None = None, blobs: FakeBlobStorage | None = None
) -> SendContext:
    return SendContext(
        blobs=blobs or FakeBlobStorage(), publish=_no_publish, state=state or FakeChannelState()
    )
