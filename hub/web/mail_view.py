"""A kept mail as the inbox's original view shows it: its HTML made safe to serve as a page of
its own, its inline (``cid:``) images found among the message's files, and its sender.

The email channel keeps, with each inbound message, the sanitised HTML, the whole text, To,
Cc, the subject and the storage key of the raw mail (``data``); it does not keep which file an
inline image's Content-ID names, so that is read again from the raw mail's MIME headers here
(RFC 2045 for the parts, RFC 2392 for ``cid:`` URLs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError, MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import nh3

from hub.domain import mail_html
from hub.domain.message_data import WHOLE_HTML, WHOLE_TEXT
from hub.domain.records import Attachment


@dataclass(frozen=True)
class KeptMail:
    """What an email channel keeps of a mail in its message's ``data``."""

    raw_key: str
    subject: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    full_text: str
    #: sanitised when the mail was received; ``None`` for a text-only mail
    html: str | None


def kept_mail(data: Mapping[str, Any]) -> KeptMail | None:
    """The mail a message's ``data`` keeps, or ``None`` when it keeps no raw mail: another
    channel's message, an agent's reply, a system message."""
    raw_key = data.get("raw_key")
    if not isinstance(raw_key, str) or not raw_key:
        return None
    html = data.get(WHOLE_HTML)
    return KeptMail(
        raw_key=raw_key,
        subject=_string(data.get("subject")),
        to=_strings(data.get("to")),
        cc=_strings(data.get("cc")),
        full_text=_string(data.get(WHOLE_TEXT)),
        html=html if isinstance(html, str) and html.strip() else None,
    )


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    # Stored JSON: whatever an older writer left there, only strings are addresses.
    items = value if isinstance(value, list) else []
    return tuple(item for item in items if isinstance(item, str) and item)


# --- the HTML as a page ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServedHtml:
    html: str
    #: images loaded from other servers, which the page shows only when the agent asks: a
    #: remote image tells its sender that and when the mail was read
    remote_images: int
    #: ``cid:`` images that were found among the message's files
    inline_images: int


#: cleaned again as it is served with the allow-list the email channel cleaned it with when
#: it arrived: a second lock should a stored row hold anything else
_REMOTE = re.compile(r"(?:https?:)?//", re.I)


def serve_html(html: str, inline_urls: Mapping[str, str]) -> ServedHtml:
    """The mail's HTML with its ``cid:`` images pointing at the hub's files (``inline_urls``,
    by ``cid_key``), links opening a new tab without a handle on the inbox, and its remote
    images counted.

    Remote images stay in the HTML: the page's Content-Security-Policy is what keeps the
    browser from loading them until the agent asks.
    """
    remote = inline = 0

    def attribute(tag: str, name: str, value: str) -> str | None:
        nonlocal remote, inline
        if mail_html.kept_value(tag, name, value) is None:
            return None
        url = value.strip()
        lowered = url.lower()
        if tag != "img" or name != "src":
            return value
        if lowered.startswith("cid:"):
            found = inline_urls.get(cid_key(url[4:]))
            if found is not None:
                inline += 1
            return found  # an image not found loses its src, and shows its alt text
        if _REMOTE.match(url):
            remote += 1
            return value
        # A relative address means nothing in a mail; in the page it would name the hub.
        return value if lowered.startswith("data:image/") else None

    cleaned = nh3.clean(
        html,
        tags=set(mail_html.TAGS),
        clean_content_tags=set(mail_html.DROP_WITH_CONTENT),
        attributes=mail_html.ATTRIBUTES,
        attribute_filter=attribute,
        url_schemes=set(mail_html.URL_SCHEMES),
        filter_style_properties=set(mail_html.STYLE_PROPERTIES),
        # Sandboxed without allow-top-navigation, a link could not open in the frame's
        # parent anyway; a new tab is where the agent expects it.
        set_tag_attribute_values={"a": {"target": "_blank"}},
        link_rel="noopener noreferrer",
    )
    return ServedHtml(cleaned, remote, inline)


_PAGE_STYLE = (
    "body{margin:0;padding:16px 20px;color:#1b1f24;overflow-wrap:anywhere;"
    'font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",'
    '"Noto Sans CJK SC",sans-serif}'
    "img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}"
    "blockquote{margin:8px 0;padding-left:10px;border-left:3px solid #d7dbe2;color:#4b5563}"
)


def page(body: str) -> str:
    """A whole document around the served HTML, for a frame of its own."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{_PAGE_STYLE}</style></head><body>{body}</body></html>"
    )


def content_policy(file_sources: Sequence[str], *, remote_images: bool) -> str:
    """The page's Content-Security-Policy: no scripts, no fetches, images only from ``data:``
    and the hub's file links (``file_sources``), and from anywhere once the agent asks."""
    images = ["data:", *file_sources, *(("https:", "http:") if remote_images else ())]
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            "img-src " + " ".join(images),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
            # Also sandboxed when opened on its own, not in the inbox's frame.
            "sandbox allow-popups allow-popups-to-escape-sandbox",
        ]
    )


# --- inline images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InlinePart:
    """A part of the raw mail that HTML can show by its Content-ID."""

    content_id: str
    content_type: str
    size: int


def cid_key(value: str) -> str:
    """A Content-ID or the rest of a ``cid:`` URL, as both are compared: the URL is
    percent-encoded (RFC 2392), the header wrapped in <>, and clients differ in case."""
    return unquote(value).strip().strip("<>").strip().lower()


def inline_parts(raw: bytes, *, max_depth: int = 20) -> list[InlinePart]:
    """The parts with a Content-ID, in the order the email channel stores a mail's files.

    The parts are walked as the channel walks them (depth first, not into attached mails), so
    that equal files match in the same order. A mail nobody can read has none.
    """
    try:
        # compat32: only the MIME structure is wanted, not the structured headers, whose
        # parsers are slow on hostile values
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
    except (RecursionError, MessageError, ValueError, TypeError, LookupError):
        return []
    found: list[InlinePart] = []
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > max_depth:
            continue
        kind = part.get_content_type()
        if part.is_multipart():
            if kind.startswith("message/"):
                continue
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            stack.extend(
                (child, depth + 1) for child in reversed(children) if isinstance(child, Message)
            )
            continue
        content_id = cid_key(str(part.get("Content-ID", "") or ""))
        if not content_id:
            continue
        try:
            data = part.get_payload(decode=True)
        except (MessageError, ValueError, TypeError, LookupError):
            continue
        if isinstance(data, bytes):
            found.append(InlinePart(content_id, kind, len(data)))
    return found


def inline_files(
    parts: Sequence[InlinePart], attachments: Sequence[Attachment]
) -> dict[str, Attachment]:
    """Which stored file each Content-ID names: the next unclaimed one of the same type and
    size, in order (the channel stores the parts in the order ``inline_parts`` finds them)."""
    unclaimed = [a for a in sorted(attachments, key=lambda a: a.id) if a.storage_key]
    named: dict[str, Attachment] = {}
    for part in parts:
        match = next(
            (
                a
                for a in unclaimed
                if a.content_type.lower() == part.content_type and a.size == part.size
            ),
            None,
        )
        if match is None:
            continue
        unclaimed.remove(match)
        named.setdefault(part.content_id, match)
    return named


def inline_urls(
    raw: bytes, attachments: Sequence[Attachment], file_url: Callable[[Attachment], str | None]
) -> dict[str, str]:
    """The hub's file link of each inline image of ``raw``, by ``cid_key``."""
    named = inline_files(inline_parts(raw), attachments)
    return {cid: url for cid, item in named.items() if (url := file_url(item))}


# --- the sender ------------------------------------------------------------------------------

#: far past any real header block: a mail's headers are read from its first bytes only
_MAX_HEADERS = 256 * 1024
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class MailHeaders:
    #: the From's display name; empty when the mail gives none or it cannot be read without
    #: replacement characters
    from_name: str
    #: lowercased; empty when the mail has no readable From
    from_address: str
    date: datetime | None


def mail_headers(raw: bytes) -> MailHeaders:
    """The From and the Date of a raw mail, as its sender wrote them."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:_MAX_HEADERS])
        # raw_items: the values as written, 8-bit bytes kept, never a parser's reading
        items = [(key.lower(), _FOLD.sub("", value)) for key, value in headers.raw_items()]
    except (MessageError, ValueError, TypeError, LookupError):
        return MailHeaders("", "", None)
    senders = [value for key, value in items if key == "from"]
    pairs = [(name, address) for name, address in getaddresses(senders) if "@" in address]
    name, address = pairs[0] if pairs else ("", "")
    dates = [value for key, value in items if key == "date"]
    return MailHeaders(
        _header_text(name), _eight_bit(address).strip().lower(), _date(dates[0] if dates else "")
    )


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip()) if value.strip() else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # "-0000" says the zone is unknown (RFC 5322 3.3); UTC is the least wrong reading
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


def _header_text(value: str) -> str:
    text = _eight_bit(value)
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (HeaderParseError, ValueError, LookupError, UnicodeError):
            return ""
    return "" if "\ufffd" in text else text.strip()


def _eight_bit(value: str) -> str:
    """A header value read as ASCII keeps raw 8-bit bytes as lone surrogates: those are read
    as UTF-8, else GB18030 (what unlabelled Chinese mail is written in)."""
    if value.isascii() or not any("\udc80" <= c <= "\udcff" for c in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")
