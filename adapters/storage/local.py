"""Keeps attachments as files under one folder, named by random keys.

A stored file's name has no extension: the client's name and type are kept in the database,
and a file on disk must never be taken for a script or a page by whatever serves the folder.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path


class LocalFileStorage:
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        key = f"{secrets.token_hex(2)}/{secrets.token_urlsafe(18)}"
        path = self._path(key)
        await asyncio.to_thread(self._write, path, data)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise ValueError("storage key outside the storage folder")
        return path

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
