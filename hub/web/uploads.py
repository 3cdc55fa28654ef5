"""Multipart uploads from agents and visitors: size and type limits, then storage."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hub.domain.errors import InvalidInput, MalformedPayload, PayloadTooLarge
from hub.domain.model import AttachmentRef, file_kind
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


def attachment_ref(storage_key: str, meta: dict[str, object]) -> AttachmentRef:
    content_type = str(meta["t"])
    size = meta["s"]
    return AttachmentRef(
        kind=file_kind(content_type),
        filename=str(meta["f"]),
        content_type=content_type,
        size=size if isinstance(size, int) else None,
        storage_key=storage_key,
    )


def signed_attachments(
    signer: URLSafeTimedSerializer, tokens: Sequence[str]
) -> list[AttachmentRef]:
    """The files an agent uploaded for a message, from the tokens ``POST /uploads`` gave."""
    files = []
    for token in tokens:
        try:
            data = signer.loads(token, max_age=24 * 3600)
        except BadSignature:
            raise InvalidInput("an attachment token is invalid or expired; upload again") from None
        files.append(attachment_ref(data["k"], data["m"]))
    return files


async def receive_upload(
    request: web.Request, blobs: BlobStorage, *, max_bytes: int, allowed_types: list[str]
) -> StoredUpload:
    """Read the ``file`` part of a multipart body, refusing what is too big or not allowed."""
    if not request.content_type.startswith("multipart/"):
        raise MalformedPayload("send the file as multipart/form-data in a field named 'file'")
    try:
        filename, content_type, data = await _read_file(
            request, max_bytes=max_bytes, allowed_types=allowed_types
        )
    # aiohttp's multipart reader says what is wrong with a body in these: no boundary in the
    # Content-Type, a body that does not start with it, a part with bad headers or encoding.
    except (ValueError, RuntimeError, HttpProcessingError) as exc:
        raise MalformedPayload(f"the multipart body cannot be read: {_first_line(exc)}") from None
    key = await blobs.put(data, filename=filename, content_type=content_type)
    return StoredUpload(key, filename, content_type, len(data))


async def _read_file(
    request: web.Request, *, max_bytes: int, allowed_types: list[str]
) -> tuple[str, str, bytes]:
    """The name, type and content of the ``file`` part."""
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
        part = await reader.next()
    if part is None or not isinstance(part, BodyPartReader):
        raise MalformedPayload("no field named 'file' in the upload")
    filename = safe_filename(part.filename or "file")
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
    return filename, content_type, bytes(data)


def safe_filename(name: str) -> str:
    """A name to store and to offer in downloads: no path, no control characters (PostgreSQL
    refuses NUL in text), at most 200 characters."""
    kept = "".join(ch if ch.isprintable() and ch not in "/\\" else "_" for ch in name)
    return kept[-200:] or "file"


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


#: the files a channel setting takes: sounds (a phone greeting, what telephony providers play)
#: and pictures (a widget's logo); no SVG, which can carry a script
CHANNEL_FILE_TYPES = [
    "audio/mpeg",
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
]


def audio_type(data: bytes) -> str | None:
    """What a sound file really is, from its first bytes: MP3 or WAV, else ``None``."""
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    return None


def image_type(data: bytes) -> str | None:
    """What a picture really is, from its first bytes: PNG, JPEG, WebP or GIF, else ``None``."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def channel_file_type(data: bytes) -> str | None:
    """A channel setting's file as its bytes say it is (sound or picture), else ``None``."""
    return audio_type(data) or image_type(data)
