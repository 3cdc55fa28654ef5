"""What of a mail's HTML may be kept and shown: one allow-list for nh3, for every place that
cleans it (the email channel as mail arrives, the original view as it is served)."""

from __future__ import annotations

import re

import nh3

#: tags removed with everything inside them: code, frames and what only a browser shows
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "title", "template", "iframe", "object", "applet", "noscript"}
    | {"noframes", "noembed", "frameset", "xmp"}
)
TAGS = frozenset((nh3.ALLOWED_TAGS | {"font"}) - DROP_WITH_CONTENT)
_EXTRA_ATTRIBUTES = {
    "*": {"style", "dir", "lang", "title", "align"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor"},
    "td": {"width", "valign", "bgcolor"},
    "th": {"width", "valign", "bgcolor"},
}
ATTRIBUTES = {
    tag: set(nh3.ALLOWED_ATTRIBUTES.get(tag, set())) | _EXTRA_ATTRIBUTES.get(tag, set())
    for tag in {*nh3.ALLOWED_ATTRIBUTES, *_EXTRA_ATTRIBUTES}
}
#: inline images come as cid: (and some clients inline data: images)
URL_SCHEMES = frozenset(nh3.ALLOWED_URL_SCHEMES | {"cid", "data"})
#: layout and typography only: nothing that loads a URL or positions over the page
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font", "font-family", "font-size", "font-style"}
    | {"font-weight", "text-align", "text-decoration", "text-indent", "line-height"}
    | {"vertical-align", "white-space", "width", "height", "max-width", "direction"}
    | {"margin", "margin-top", "margin-right", "margin-bottom", "margin-left"}
    | {"padding", "padding-top", "padding-right", "padding-bottom", "padding-left"}
    | {"border", "border-top", "border-right", "border-bottom", "border-left"}
    | {"border-color", "border-style", "border-width", "border-collapse", "list-style-type"}
)
#: old IE ran style expressions and bindings; none belong in a mail
_STYLE_HAZARD = re.compile(r"expression|url\s*\(|javascript|vbscript|behavior|binding|\\", re.I)


def kept_value(tag: str, attribute: str, value: str) -> str | None:
    """An attribute's value as it may stay, or ``None`` to drop it: no style that runs code or
    loads a URL, and ``data:`` only as an inline image (a data: link opens a page of the
    sender's making)."""
    if attribute == "style" and _STYLE_HAZARD.search(value):
        return None
    lowered = value.strip().lower()
    if lowered.startswith("data:") and not (tag == "img" and lowered.startswith("data:image/")):
        return None
    return value
