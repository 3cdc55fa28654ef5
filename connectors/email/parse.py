"""Read a raw mail: who wrote what, in which thread, and whether a person or a machine did.

Standards: RFC 5322 (message), RFC 2045-2047 (MIME, encoded words), RFC 2231 (parameter
values), RFC 3464 (delivery status notifications), RFC 3834 (Auto-Submitted). The stdlib
parser reads the structure; header and body bytes are decoded here, because Chinese mail often
names a narrower charset than it uses and the stdlib then replaces the characters it cannot map.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import nh3

from connectors.email.quotes import new_part
from hub.domain import mail_html


class MalformedMail(ValueError):
    """Nothing usable can be read: not a mail, or no headers at all."""


@dataclass(frozen=True)
class MailFile:
    """An attachment or inline image, with a name that is safe to store and show."""

    filename: str
    content_type: str
    data: bytes
    #: what ``cid:`` URLs in the HTML call an inline image, without <>
    content_id: str | None
    inline: bool


@dataclass(frozen=True)
class Bounce:
    """A mail server's report that a mail the hub sent did not arrive."""

    #: the Message-ID of the mail that bounced, without <>, to mark that reply failed
    original_message_id: str | None
    recipient: str | None
    #: the enhanced status code (RFC 3463), e.g. "5.1.1"
    status: str | None
    reason: str


@dataclass(frozen=True)
class ParsedMail:
    """One mail as the hub understands it; every field is decoded, none can be missing."""

    #: without <>; "hash-" + sha256 of the mail when it has none, so redelivery dedupes
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    #: only what the writer added: quoted history and signature folded away
    text: str
    full_text: str
    #: sanitised; remote images are left for the page to allow or block
    html: str | None
    attachments: tuple[MailFile, ...]
    #: out-of-office and other machine replies, which must not reopen a conversation
    auto_reply: bool
    bounce: Bounce | None


def parse_mail(raw: bytes, *, max_depth: int = 20) -> ParsedMail:
    """Parse a mail; parts nested deeper than ``max_depth`` are ignored.

    Raises ``MalformedMail`` only when nothing can be read; anything else, however broken,
    yields a ``ParsedMail`` with what could be read.
    """
    message = _read(raw)
    body = _collect(message, max_depth)
    html = _sanitised("\n".join(body.htmls)) if body.htmls else None
    full_text = "\n".join(body.texts).strip() or (_html_to_text(html) if html else "")
    subject = _header_text(_first(message, "Subject"))
    senders = _addresses(message, "From")
    from_name, from_address = senders[0] if senders else ("", "")
    return ParsedMail(
        message_id=_message_id(message, raw),
        in_reply_to=_ids(" ".join(_values(message, "In-Reply-To"))),
        references=_ids(" ".join(_values(message, "References"))),
        from_address=from_address,
        from_name=from_name,
        to=tuple(address for _, address in _addresses(message, "To")),
        cc=tuple(address for _, address in _addresses(message, "Cc")),
        subject=subject,
        date=_date(_first(message, "Date")),
        text=new_part(full_text),
        full_text=full_text,
        html=html,
        attachments=tuple(body.files),
        auto_reply=_is_auto_reply(message, subject),
        bounce=_bounce(message, body, full_text, from_address),
    )


#: the hub's conversation token in a subject; "[#0]" is never issued
_TOKEN = re.compile(r"\[#([1-9][0-9]{0,17})\]")


def conversation_token(subject: str) -> int | None:
    """The conversation id from the hub's "[#1234]" subject token, which survives lost headers."""
    match = _TOKEN.search(subject)
    return int(match[1]) if match else None


#: what the stdlib's structured header parsers raise on hostile values
_HEADER_PARSER_ERRORS = (IndexError, TypeError, ValueError, AttributeError, LookupError)
#: the stdlib's MIME header parsers take time quadratic in a header's length and run on every
#: lookup; no real Content-Type or Content-Disposition comes near this, a hostile one takes
#: minutes
_MAX_PARSED_HEADER = 4096
#: headers only ever read through get_content_type() and get_param(), which split their text:
#: their structured parse would be wasted (and is the slow one)
_READ_AS_TEXT = frozenset({"content-type", "content-disposition"})


class _RawHeader(UnstructuredHeader, BaseHeader):
    """A header kept as plain text."""


class _TolerantHeaders(HeaderRegistry):
    """``policy.default``'s headers, except that one its parsers choke on stays plain text.

    They raise even from inside the MIME parser (a Content-Disposition with a dangling
    parameter), which would lose the whole mail; as text, the header still answers
    get_content_type() and get_param(), which split strings.
    """

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if name.lower() in _READ_AS_TEXT or len(value) > _MAX_PARSED_HEADER:
            return _RawHeader(name, value[:_MAX_PARSED_HEADER])
        try:
            return super().__call__(name, value)
        except (*_HEADER_PARSER_ERRORS, HeaderParseError):
            return _RawHeader(name, value)


_POLICY = policy.default.clone(header_factory=_TolerantHeaders())


def _read(raw: bytes) -> Message:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedMail("a mail is bytes")
    try:
        message = BytesParser(policy=_POLICY).parsebytes(bytes(raw))
    except RecursionError as error:
        raise MalformedMail("parts nested too deeply to read") from error
    if not message.keys():
        raise MalformedMail("no mail headers")
    return message


# --- charsets -----------------------------------------------------------------------------

#: labels mail clients use that Python does not know
_ALIASES = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "x-gb2312": "gb2312",
    "utf8mb4": "utf-8",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "x-euc-jp": "euc_jp",
}
#: labels read as a wider charset from the start: GBK and GB18030 text is routinely labelled
#: gb2312, and Windows-1252 text latin-1 (as browsers read them)
_READ_AS = {"gb2312": "gb18030", "gbk": "gb18030", "iso8859-1": "cp1252"}
#: what to try when the labelled charset cannot read the bytes
_WIDER = {
    "big5": ("big5hkscs", "cp950"),
    "cp950": ("big5hkscs",),
    "shift_jis": ("cp932",),
    "euc_jp": ("euc_jis_2004",),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2"),
    "euc_kr": ("cp949",),
    "cp1252": ("iso8859-1",),
}


#: what a charset name can look like; anything else is not worth a codec lookup
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.:+-]{0,39}")


def _decode(data: bytes, label: str | None) -> str:
    """Text from bytes whose label may be missing, unknown, too narrow or wrong."""
    candidates = [*_codecs_for(label), "utf-8", "gb18030"]
    known: str | None = None  # the first real codec: its replacement characters are fewest
    for codec in dict.fromkeys(candidates):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            known = known or codec
            continue
        except LookupError:
            continue
        return text.removeprefix("\ufeff")
    return data.decode(known or "utf-8", errors="replace")


def _codecs_for(label: str | None) -> list[str]:
    if not label:
        return []
    name = label.strip().strip("\"'").split("*")[0].lower()
    name = _ALIASES.get(name, name)
    if not _LABEL.fullmatch(name):
        return []
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return []
    first = _READ_AS.get(name, name)
    return [first, *_WIDER.get(first, ()), *_WIDER.get(name, ())]


def _bytes_of(text: str) -> bytes:
    """The bytes a header was read from: the parser keeps 8-bit bytes as lone surrogates."""
    return text.encode("utf-8", "surrogateescape")


# --- headers ------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _values(message: Message, name: str) -> list[str]:
    """Raw values: ``raw_items`` never runs the policy's header parser, which can raise."""
    wanted = name.lower()
    return [
        _FOLD.sub("", value).strip() for key, value in message.raw_items() if key.lower() == wanted
    ]


def _first(message: Message, name: str) -> str:
    values = _values(message, name)
    return values[0] if values else ""


def _header_text(value: str) -> str:
    """An unstructured header (subject, a display name) decoded from RFC 2047 or raw 8-bit."""
    if "=?" not in value:
        return _decode(_bytes_of(value), None).strip()
    try:
        chunks = decode_header(value)
    except (HeaderParseError, ValueError):
        return _decode(_bytes_of(value), None).strip()
    return "".join(
        _decode(chunk if isinstance(chunk, bytes) else _bytes_of(chunk), charset)
        for chunk, charset in chunks
    ).strip()


def _plain(value: str) -> str:
    return _decode(_bytes_of(value), "utf-8")


#: a display name that is itself an address ("a@x.com <b@y.com>"), which parsers split in two
_BARE_NAME = re.compile(r'(^|,)\s*([^",<>()@]*@[^",<>()]*?)\s*(?=<)')


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(decoded display name, lowercased address) pairs; names are decoded after splitting,
    since an encoded name may hide a comma."""
    values = [_BARE_NAME.sub(r'\1"\2" ', value) for value in _values(message, name)]
    return [
        (_header_text(display), _plain(address).strip().lower())
        for display, address in getaddresses(values)
        if address.strip()
    ]


_ID = re.compile(r"<([^<>]*)>")


def _ids(value: str) -> tuple[str, ...]:
    """Message ids in order, without <> and the whitespace of folded lines."""
    found = _ID.findall(value) or re.split(r"[\s,]+", value)
    ids = ("".join(_plain(token).split()) for token in found)
    return tuple(dict.fromkeys(token for token in ids if token))


def _first_id(value: str) -> str | None:
    ids = _ids(value)
    return ids[0] if ids else None


def _message_id(message: Message, raw: bytes) -> str:
    found = _first_id(" ".join(_values(message, "Message-ID")))
    return found or "hash-" + hashlib.sha256(_canonical(raw)).hexdigest()


def _canonical(raw: bytes) -> bytes:
    """The mail without what transport changes: line endings and trailing whitespace."""
    lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return b"\n".join(line.rstrip(b" \t") for line in lines).strip(b"\n")


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_plain(value))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # "-0000" means the zone is unknown (RFC 5322 3.3); UTC is the least wrong reading.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- body ---------------------------------------------------------------------------------


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    files: list[MailFile] = field(default_factory=list)
    #: headers of mails carried inside this one (a bounce's original)
    originals: list[Message] = field(default_factory=list)
    #: the field blocks of message/delivery-status parts
    reports: list[Message] = field(default_factory=list)


def _collect(message: Message, max_depth: int) -> _Body:
    """Walk the parts without recursion: hostile mail nests multiparts hundreds deep."""
    body = _Body()
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > max_depth:
            continue
        kind = part.get_content_type()
        inner = _inner_messages(part)
        if kind == "message/delivery-status":
            body.reports.extend(inner)
        elif kind.startswith("message/") and inner:
            body.originals.append(inner[0])
            body.files.append(_file(part, _serialised(inner[0]), _filename(part), len(body.files)))
        elif part.is_multipart():
            stack.extend((child, depth + 1) for child in reversed(inner))
        else:
            _take_leaf(part, body)
    return body


def _inner_messages(part: Message) -> list[Message]:
    if not part.is_multipart():
        return []  # a leaf's get_payload() decodes it under its charset label, which may raise
    payload = part.get_payload()
    return (
        [item for item in payload if isinstance(item, Message)] if isinstance(payload, list) else []
    )


def _take_leaf(part: Message, body: _Body) -> None:
    kind = part.get_content_type()
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    if kind.startswith("multipart/") and not data:
        return  # a container whose boundary the parser never found: nothing inside to keep
    filename = _filename(part)
    is_body = part.get_content_disposition() != "attachment" and filename is None
    if kind in ("text/plain", "text/html") and is_body:
        text = _decode(data, part.get_content_charset()).replace("\r\n", "\n")
        (body.texts if kind == "text/plain" else body.htmls).append(text)
        return
    if kind == "text/rfc822-headers":
        body.originals.append(BytesHeaderParser(policy=_POLICY).parsebytes(data))
    body.files.append(_file(part, data, filename, len(body.files)))


def _file(part: Message, data: bytes, filename: str | None, earlier: int) -> MailFile:
    content_id = _first_id(_first(part, "Content-ID"))
    disposition = part.get_content_disposition()
    return MailFile(
        filename=_safe_filename(filename, earlier + 1),
        content_type=part.get_content_type(),
        data=data,
        content_id=content_id,
        inline=disposition == "inline" or (disposition is None and content_id is not None),
    )


def _serialised(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=_POLICY.clone(refold_source="none"))
    except (*_HEADER_PARSER_ERRORS, HeaderParseError):
        return b""


def _filename(part: Message) -> str | None:
    return _param(part, "Content-Disposition", "filename") or _param(part, "Content-Type", "name")


def _param(part: Message, header: str, name: str) -> str | None:
    """A parameter decoded from RFC 2231 or RFC 2047, under its charset or a wider one."""
    raw = _first(part, header)
    if not raw or len(raw) > _MAX_PARSED_HEADER:
        return None
    # A compat32 message keeps RFC 2231 values as (charset, language, bytes), so a narrow or
    # wrong charset label can be second-guessed like any other.
    holder = Message()
    # Raw 8-bit bytes are decoded first: compat32 would turn them into replacement characters.
    holder[header] = _decode(_bytes_of(raw), None)
    try:
        value = holder.get_param(name, header=header)
    except (TypeError, ValueError, IndexError, LookupError):
        return None  # the stdlib trips over mixed-up RFC 2231 sections ("name*" beside "name*0*")
    if isinstance(value, tuple):
        charset, _, text = value
        return _decode(_latin1_bytes(str(text)), charset) or None
    if not isinstance(value, str):
        return None
    return _header_text(value) or None


def _latin1_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:
        return _bytes_of(text)


#: never stored in a filename: control characters, bidi overrides that disguise an extension
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_MAX_FILENAME = 200


def _safe_filename(name: str | None, number: int) -> str:
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c) not in _UNSAFE_CATEGORIES)
    base = base.strip().lstrip(".").strip()
    if len(base) > _MAX_FILENAME:
        stem, dot, extension = base.rpartition(".")
        if dot and stem and len(extension) <= 16:
            base = stem[: _MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            base = base[:_MAX_FILENAME]
    return base or f"attachment-{number}"


# --- HTML ---------------------------------------------------------------------------------


def _sanitised(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(mail_html.TAGS),
        clean_content_tags=set(mail_html.DROP_WITH_CONTENT),
        attributes=mail_html.ATTRIBUTES,
        attribute_filter=mail_html.kept_value,
        url_schemes=set(mail_html.URL_SCHEMES),
        filter_style_properties=set(mail_html.STYLE_PROPERTIES),
    ).strip()


_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "div"}
    | {"dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"header", "hr", "li", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody"}
    | {"tfoot", "thead", "tr", "ul"}
)
#: blocks a browser sets apart with a margin, so a blank line follows them
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "table"})


class _TextWriter(HTMLParser):
    """Plain text as a mail client shows HTML: blocks on their own lines, quotes as "> "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._words: list[str] = []
        self._quote = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._flush(keep_empty=True)
        elif tag in _BLOCKS:
            self._flush()
        elif tag in ("td", "th"):
            self._words.append(" ")
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._words.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._flush()
        if tag in _PARAGRAPHS and self.lines and self.lines[-1]:
            self.lines.append("")
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._pre:
            self._words.append(re.sub(r"[ \t\n\r\f]+", " ", data))
            return
        for number, piece in enumerate(data.split("\n")):
            if number:
                self._flush(keep_empty=True)
            self._words.append(piece)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self, *, keep_empty: bool = False) -> None:
        line = "".join(self._words).replace("\xa0", " ")
        line = line.rstrip() if self._pre else line.strip()
        self._words = []
        if line or keep_empty:
            self.lines.append(("> " * self._quote + line).rstrip())


def _html_to_text(html: str) -> str:
    """Plain text of sanitised HTML, for mail that has no text part and for quote folding."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(writer.lines)).strip()


# --- machine mail -------------------------------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw|fw|fwd|回复|答复)\s*[:：]\s*)*"
    r"(?:automatic reply|auto[- ]?reply|out of (?:the )?office|out-of-office"
    r"|自动回复|自动答复|自動回覆|自動回复|自動回應)",
    re.IGNORECASE,
)
_SUPPRESSED = frozenset({"all", "oof", "autoreply"})


def _token(value: str) -> str:
    """A header's first word: "auto-replied (vacation)" -> "auto-replied"."""
    return re.split(r"[\s;(]", value.strip().lower(), maxsplit=1)[0]


def _is_auto_reply(message: Message, subject: str) -> bool:
    """RFC 3834's Auto-Submitted, the older vendor headers, and out-of-office subjects."""
    submitted = _token(_first(message, "Auto-Submitted"))
    vendor = [
        _token(v) for name in ("X-Autoreply", "X-Autorespond") for v in _values(message, name)
    ]
    suppress = {t.strip().lower() for t in _first(message, "X-Auto-Response-Suppress").split(",")}
    return (
        submitted not in ("", "no")
        or any(value not in ("no", "false", "0") for value in vendor)
        or _token(_first(message, "Precedence")) in ("bulk", "junk", "list")
        or bool(suppress & _SUPPRESSED)
        or bool(_AUTO_SUBJECT.match(subject))
    )


_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
#: an enhanced status code in free text: after an SMTP reply code ("550 5.1.1") or "Status:"
_TEXT_STATUS = re.compile(r"(?:\b[245]\d\d[ -]|status:?\s*)([245]\.\d{1,3}\.\d{1,3})\b", re.I)
_SMTP_REPLY = re.compile(r"\b[45]\d\d[ -]")
_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TEXT_MESSAGE_ID = re.compile(r"^[ \t]*Message-ID:[ \t]*<?([^\s<>]+)>?", re.I | re.MULTILINE)


def _bounce(message: Message, body: _Body, text: str, sender: str) -> Bounce | None:
    if message.get_content_type() == "multipart/report" and body.reports:
        return _reported_bounce(body, text)
    failed = _values(message, "X-Failed-Recipients")
    if sender.partition("@")[0] in _DAEMONS and (body.originals or failed):
        return _classic_bounce(message, body, text, failed)
    return None


def _classic_bounce(message: Message, body: _Body, text: str, failed: list[str]) -> Bounce:
    """A bounce written for people (QQ Mail's 退信, Exim): its facts are found in the text."""
    ours = {address for _, address in _addresses(message, "From") + _addresses(message, "To")}
    recipients = _ADDRESS.findall(" ".join(failed)) or [
        found for found in _ADDRESS.findall(text) if found.lower() not in ours
    ]
    status = _TEXT_STATUS.search(text)
    return Bounce(
        original_message_id=_original_id(body, text),
        recipient=recipients[0].lower() if recipients else None,
        status=status[1] if status else None,
        reason=_smtp_reason(text) or _summary(text),
    )


def _reported_bounce(body: _Body, text: str) -> Bounce | None:
    """A delivery status notification (RFC 3464); only reports of failure are bounces."""
    recipients = [b for b in body.reports if _field(b, "Final-Recipient") or _field(b, "Status")]
    failed = [b for b in recipients if _token(_field(b, "Action")) == "failed"]
    if not failed and any(_field(b, "Action") for b in recipients):
        return None  # delayed, relayed or delivered: the mail may still arrive
    block = (failed or recipients or [Message()])[0]
    recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
    diagnostic = re.sub(r"^[\w-]+\s*;\s*", "", _field(block, "Diagnostic-Code"))
    status = _STATUS.search(_field(block, "Status")) or _STATUS.search(diagnostic)
    envelope = next(filter(None, (_field(b, "Original-Envelope-Id") for b in body.reports)), "")
    address = _first_id(recipient.rpartition(";")[2])
    return Bounce(
        original_message_id=_original_id(body, text) or _first_id(envelope),
        recipient=address.lower() if address else None,
        status=status[1] if status else None,
        reason=" ".join(diagnostic.split()) or _summary(text),
    )


def _field(block: Message, name: str) -> str:
    return " ".join(_plain(_first(block, name)).split())


def _original_id(body: _Body, text: str) -> str | None:
    for original in body.originals:
        found = _first_id(" ".join(_values(original, "Message-ID")))
        if found:
            return found
    # Exim and others quote the original's headers in the report text instead.
    quoted = _TEXT_MESSAGE_ID.search(text)
    return quoted[1] if quoted else None


def _smtp_reason(text: str) -> str:
    """The remote server's reply, with the indented lines it wraps onto; one that carries an
    enhanced status code is surer to be the reply than any line with a 4xx or 5xx number."""
    lines = text.splitlines()
    for pattern in (_TEXT_STATUS, _SMTP_REPLY):
        for number, line in enumerate(lines):
            if pattern.search(line):
                reply = [line, *_continuation(lines[number + 1 :])]
                return " ".join(" ".join(reply).split())
    return ""


def _continuation(lines: list[str]) -> list[str]:
    wrapped: list[str] = []
    for line in lines:
        if not line[:1].isspace() or not line.strip():
            break
        wrapped.append(line)
    return wrapped


def _summary(text: str, lines: int = 5) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[:lines])[:500]
