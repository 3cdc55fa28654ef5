"""What ``data`` holds for the message kinds the inbox draws specially, whatever the channel.

A connector that produces a location, a link card or a call fills ``Inbound.data`` with these
fields (extra provider fields may sit beside them); the thread draws them the same way for every
channel. The contract tests check a connector's inbound items against these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.model import MessageKind

#: a received mail's whole text and sanitised HTML (quoted history included), kept in ``data``
WHOLE_TEXT = "full_text"
WHOLE_HTML = "html"
#: ``data`` fields kept with a message but left out of its views (the API's messages, live
#: events): bulky, and read only where they are shown (``GET /messages/{id}/original``)
KEPT_ONLY = frozenset({WHOLE_TEXT, WHOLE_HTML})


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class LocationData(_Data):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    label: str = ""
    address: str = ""
    #: the coordinate system: GPS's ``wgs84``, or ``gcj02`` as Chinese maps and WeChat use
    datum: Literal["wgs84", "gcj02"] = "wgs84"


class LinkData(_Data):
    url: str = ""
    title: str = ""
    description: str = ""


class CallData(_Data):
    """A phone call (kind ``call``) or a voicemail (kind ``voicemail``, with its recording)."""

    direction: Literal["in", "out"] = "in"
    status: Literal["ringing", "in-progress", "completed", "missed", "busy", "failed", "voicemail"]
    duration_s: int | None = Field(default=None, ge=0)
    #: the caller's and the called number (E.164) where the provider gives them
    from_number: str | None = None
    to_number: str | None = None


DATA_MODELS: dict[MessageKind, type[_Data]] = {
    MessageKind.LOCATION: LocationData,
    MessageKind.LINK: LinkData,
    MessageKind.CALL: CallData,
    MessageKind.VOICEMAIL: CallData,
}
