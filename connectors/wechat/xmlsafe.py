"""Parse untrusted WeChat callback XML into a dict, refusing DTDs, entities and oversized bodies."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree
import xmltodict

from hub.domain.errors import MalformedPayload, PayloadTooLarge

#: WeChat callbacks are a few hundred bytes; anything near this is not from WeChat.
MAX_BODY_BYTES = 256 * 1024


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Return the children of the ``<xml>`` root element as a dict of strings and sub-dicts.

    defusedxml screens the document first, so an entity-expansion bomb or an external entity
    is refused before xmltodict (which wechatpy also uses) ever sees it.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"XML body of {len(raw)} bytes exceeds {MAX_BODY_BYTES}")
    if not raw.strip():
        raise MalformedPayload("empty XML body")
    try:
        defusedxml.ElementTree.fromstring(raw, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise MalformedPayload(
            f"XML with a DTD or entities is refused ({type(exc).__name__})"
        ) from exc
    except ParseError as exc:
        raise MalformedPayload(f"malformed XML: {exc}") from exc
    try:
        parsed = xmltodict.parse(raw, disable_entities=True)
    except Exception as exc:  # expat raises its own ExpatError; keep the error tree closed
        raise MalformedPayload(f"malformed XML: {exc}") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise MalformedPayload("the XML root element must be <xml> with child elements")
    return root


def text_field(fields: dict[str, Any], name: str) -> str:
    """A child element's text, or ``""`` when absent, empty or not a plain value."""
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""
