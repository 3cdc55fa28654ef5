"""The visitor protocol's frames, validated strictly; see ``docs/webchat-protocol.md``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from hub.domain.errors import MalformedPayload, PayloadTooLarge
from hub.domain.model import Email

#: Largest frame a visitor may send; files travel over HTTP uploads, not frames.
MAX_FRAME_BYTES = 16 * 1024
MAX_TEXT = 5000
MAX_COMMENT = 1000


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendMessage(_Frame):
    type: Literal["message"]
    #: chosen by the browser; a re-send after a lost ack reuses it and changes nothing
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(default="", max_length=MAX_TEXT)
    #: upload tokens returned by ``POST /webchat/{key}/uploads``
    attachments: list[str] = Field(default_factory=list, max_length=5)


class Typing(_Frame):
    type: Literal["typing"]
    on: bool = True


class Identify(_Frame):
    type: Literal["identify"]
    name: str = Field(default="", max_length=100)
    email: Email | None = None


class LeaveMessage(_Frame):
    type: Literal["leave_message"]
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(default="", max_length=100)
    email: Email | None = None
    #: asked for where the channel wants it (``offline_phone``): as visitors type it, a local
    #: number (13800138000) as much as an international one (+86 138 0013 8000)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9][0-9 ()-]{4,38}$")
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Ping(_Frame):
    type: Literal["ping"]


def _web_address(value: str) -> str:
    value = value.strip()
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http or https address")
    return value


WebAddress = Annotated[str, Field(max_length=2048), AfterValidator(_web_address)]


class Page(_Frame):
    """The page of the business's site the widget is on, for the live visitor panel."""

    type: Literal["page"]
    url: WebAddress = Field(min_length=1)
    title: str = Field(default="", max_length=300)
    referrer: WebAddress = ""
    #: the visitor's visits to the site, this one included, as the browser counts them
    visits: int = Field(default=1, ge=1, le=1_000_000)


class InviteReply(_Frame):
    """The visitor's answer to an agent's invitation to chat."""

    type: Literal["invite_reply"]
    invitation_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    accepted: bool


class Rating(_Frame):
    """The visitor's satisfaction rating (满意度评价) of their latest conversation, answering
    the server's ``rating_request``."""

    type: Literal["rating"]
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=MAX_COMMENT)


VisitorFrame = Annotated[
    SendMessage | Typing | Identify | LeaveMessage | Ping | Page | InviteReply | Rating,
    Field(discriminator="type"),
]
_frames: TypeAdapter[VisitorFrame] = TypeAdapter(VisitorFrame)


def parse_frame(raw: str | bytes) -> VisitorFrame:
    """Parse one frame from a visitor, or say exactly what is wrong with it."""
    if len(raw) > MAX_FRAME_BYTES:
        raise PayloadTooLarge(f"a frame is at most {MAX_FRAME_BYTES} bytes")
    try:
        return _frames.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise MalformedPayload("a frame must be a JSON object") from None
        where = ".".join(str(p) for p in first["loc"]) or "frame"
        raise MalformedPayload(f"{where}: {first['msg']}") from None
