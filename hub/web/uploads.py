"""Multipart uploads from agents and visitors: size and type limits, then storage."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from hub.domain.errors import InvalidInput, MalformedPayload, PayloadTooLarge
from hub.domain.model import AttachmentRef, MessageKind
from hub.domain.ports import BlobStorage


@dataclass(frozen=True)
class StoredUpload:
    storage_key: str
    filename: str
    content_type: str
    size: int

    def meta(self) -> dict[str, object]:
        return {"f": self.filename, "t": self.content_type, "s": self.size}

    def ref(self) -> AttachmentRef:
        return attachment_ref(self.storage_key, self.meta())


def kind_of(content_type: str) -> MessageKind:
    major = content_type.split("/", 1)[0]
    return {
        "image": MessageKind.IMAGE,
        "audio": MessageKind.AUDIO,
        "video": MessageKind.VIDEO,
    }.get(major, MessageKind.FILE)


def attachment_ref(storage_key: str, meta: dict[str, object]) -> AttachmentRef:
    content_type = str(meta["t"])
    size = meta["s"]
    return AttachmentRef(
        kind=kind_of(content_type),
        filename=str(meta["f"]),
        content_type=content_type,
        size=size if isinstance(size, int) else None,
        storage_key=storage_key,
    )


async def receive_upload(
    request: web.Request, blobs: BlobStorage, *, max_bytes: int, allowed_types: list[str]
) -> StoredUpload:
    """Read the ``file`` part of a multipart body, refusing what is too big or not allowed."""
    if not request.content_type.startswith("multipart/"):
        raise MalformedPayload("send the file as multipart/form-data in a field named 'file'")
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
        part = await reader.next()
    if part is None or not isinstance(part, BodyPartReader):
        raise MalformedPayload("no field named 'file' in the upload")
    filename = (part.filename or "file").replace("/", "_").replace("\\", "_")[-200:]
    content_type = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if content_type not in allowed_types:
        raise InvalidInput(f"files of type {content_type} are not accepted")
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data.extend(chunk)
        if len(data) > max_bytes:
            raise PayloadTooLarge(f"a file is at most {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the file is empty")
    key = await blobs.put(bytes(data), filename=filename, content_type=content_type)
    return StoredUpload(key, filename, content_type, len(data))
