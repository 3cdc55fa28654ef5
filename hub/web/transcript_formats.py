"""A conversation as a transcript (聊天记录): readable HTML, CSV for a spreadsheet, and JSON.

Every format is built from one ``Transcript``; text a customer wrote is escaped for HTML and
neutralised where a spreadsheet would run it as a formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

#: a CSV cell starting with one of these is run as a formula by Excel and its kin
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Line:
    at: datetime
    #: "customer", "agent", "bot" or "note" (an internal note, in the internal version only)
    who: str
    name: str
    text: str
    files: tuple[tuple[str, str | None], ...]  # (file name, link while it works)
    event: str | None = None


@dataclass(frozen=True)
class Transcript:
    conversation_id: int
    channel: str
    channel_kind: str
    contact: str
    contact_email: str | None
    contact_phone: str | None
    status: str
    started: datetime
    lines: tuple[Line, ...]
    internal: bool
    made: datetime

    def filename(self, extension: str) -> str:
        return f"conversation-{self.conversation_id}.{extension}"


#: the page, beside this module; autoescaped: every name and text is the customer's own
_HTML = Environment(
    loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(default=True)
).get_template("transcript.html")


def as_html(transcript: Transcript) -> str:
    return _HTML.render(t=transcript)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def as_csv(transcript: Transcript) -> bytes:
    """UTF-8 with a BOM, so that Excel reads Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "who", "name", "text", "files"])
    for line in transcript.lines:
        writer.writerow(
            [
                line.at.isoformat(timespec="seconds"),
                line.who,
                _cell(line.name),
                _cell(line.text),
                _cell("; ".join(name for name, _ in line.files)),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
