"""Canned replies as CSV for spreadsheets: UTF-8 with a BOM (so that Excel reads Chinese right),
cells that a spreadsheet would run as formulas escaped on the way out and refused on the way
in, and a reason for every file or row that cannot be read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub.domain.errors import InvalidInput

COLUMNS = ("short_code", "title", "text", "scope", "team")
REQUIRED = ("short_code", "title", "text")
BOM = "\ufeff"
MAX_ROWS = 5000
#: what starts a formula in Excel, LibreOffice and Google Sheets (OWASP's CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@")
#: escaped on export with a leading apostrophe: the formula starts, the tab and carriage return
#: that some spreadsheets skip before one, and the apostrophe itself (so that import can tell
#: its own escape from a cell that began with one)
_ESCAPED_STARTS = (*FORMULA_STARTS, "\t", "\r", "'")
_ENCODING_ADVICE = (
    'save it as "CSV UTF-8" (Excel: Save As → CSV UTF-8 (Comma delimited) (*.csv); '
    "WPS and LibreOffice: choose UTF-8 as the character set)"
)


@dataclass(frozen=True)
class CsvRow:
    #: the row's number as a spreadsheet shows it: the header is row 1
    row: int
    short_code: str
    title: str
    text: str
    scope: str
    team: str


@dataclass(frozen=True)
class Refusal:
    row: int
    reason: str


def escape_cell(value: str) -> str:
    """A cell that no spreadsheet runs as a formula: one starting like a formula gets a leading
    apostrophe, which spreadsheets show and ``read`` takes off again."""
    return "'" + value if value.startswith(_ESCAPED_STARTS) else value


def _unescape(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(_ESCAPED_STARTS):
        return value[1:]
    return value


def write(rows: Iterable[Sequence[str]]) -> bytes:
    """The header and the rows (in ``COLUMNS`` order), every cell escaped, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
    return (BOM + out.getvalue()).encode()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(
            f"the file is UTF-16 (Excel's Unicode Text), not CSV: {_ENCODING_ADVICE}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 (byte {exc.start + 1} is not UTF-8; a file saved as GBK or "
            f"GB2312, Excel's default for Chinese, is like that): {_ENCODING_ADVICE}"
        ) from None
    if "\x00" in text:
        raise InvalidInput("the file holds NUL characters: it is not a CSV text file")
    return text


def _columns(header: list[str]) -> list[str]:
    names = [name.strip().lstrip(BOM).strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()
    expected = ", ".join(COLUMNS)
    unknown = [name or "(empty)" for name in names if name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"unknown column {unknown[0]!r} in the first row; the columns are {expected}"
        )
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise InvalidInput(
            f"the first row names no {missing[0]!r} column; the columns are {expected} "
            "(scope and team may be left out: personal)"
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidInput(
            f"the first row names the column {twice[0]!r} twice; the columns are {expected}"
        )
    return names


def read(data: bytes) -> tuple[list[CsvRow], list[Refusal]]:
    """The rows of a file, and those refused with the reason; ``InvalidInput`` for a file that
    cannot be read at all (not UTF-8, not CSV, wrong columns, too many rows).

    Blank rows are skipped. A cell that starts like a formula (``=``, ``+``, ``-``, ``@``)
    refuses its row, unless an apostrophe escapes it, as ``write`` does: then it is taken as
    text without the apostrophe.
    """
    text = _decode(data)
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(records, None)
        if header is None:
            raise InvalidInput("the file is empty; the first row names the columns")
        names = _columns(header)
        rows: list[CsvRow] = []
        refused: list[Refusal] = []
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(refused) >= MAX_ROWS:
                raise InvalidInput(f"the file has more than {MAX_ROWS} rows; split it")
            parsed = _row(number, names, record)
            if isinstance(parsed, Refusal):
                refused.append(parsed)
            else:
                rows.append(parsed)
    except csv.Error as exc:
        raise InvalidInput(
            f"the file is not valid CSV near row {records.line_num}: {exc}"
        ) from None
    return rows, refused


def _row(number: int, names: list[str], record: list[str]) -> CsvRow | Refusal:
    extra = [cell for cell in record[len(names) :] if cell.strip()]
    if extra:
        return Refusal(number, f"{len(record)} cells, but the first row names {len(names)} columns")
    cells: dict[str, str] = dict.fromkeys(COLUMNS, "")
    for name, raw in zip(names, record, strict=False):
        if raw.startswith(FORMULA_STARTS):
            return Refusal(
                number,
                f"{name} starts with {raw[0]!r}, which a spreadsheet runs as a formula; to "
                f"keep it as text, start the cell with an apostrophe ('{raw[0]}…), as exports do",
            )
        cells[name] = _unescape(raw)
    return CsvRow(
        row=number,
        short_code=cells["short_code"].strip(),
        title=cells["title"].strip(),
        text=cells["text"],
        scope=cells["scope"].strip().lower(),
        team=cells["team"].strip(),
    )
