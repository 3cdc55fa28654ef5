"""Parse untrusted WeChat callback XML into a dict, refusing DTDs, entities and oversized bodies."""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from hub.domain.errors import MalformedPayload, PayloadTooLarge

#: WeChat callbacks are a few hundred bytes; anything near this is not from WeChat.
MAX_BODY_BYTES = 256 * 1024


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Return the children of the ``<xml>`` root element as a dict of strings and sub-dicts.

    One expat pass builds the dict. A document with a DTD is refused as soon as the DTD
    starts, as defusedxml's ``forbid_dtd`` does, so an entity-expansion bomb or an external
    entity is never declared, let alone expanded. The dict has the shape xmltodict (which
    wechatpy uses) gives: repeated elements become lists, attributes ``@name`` keys, text
    beside children ``#text``, and empty elements ``None``.
    """
    if isinstance(body, str):
        raw, encoding = body.encode("utf-8"), "utf-8"
    else:
        raw, encoding = body, None
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"XML body of {len(raw)} bytes exceeds {MAX_BODY_BYTES}")
    if not raw.strip():
        raise MalformedPayload("empty XML body")
    builder = _DictBuilder()
    parser = expat.ParserCreate(encoding)
    parser.buffer_text = True
    parser.ordered_attributes = True
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
    parser.ExternalEntityRefHandler = _forbid_external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    try:
        parser.Parse(raw, True)
    except DefusedXmlException as exc:
        raise MalformedPayload(
            f"XML with a DTD or entities is refused ({type(exc).__name__})"
        ) from exc
    except expat.ExpatError as exc:
        raise MalformedPayload(f"malformed XML: {exc}") from exc
    except (ValueError, LookupError) as exc:  # an unknown or inconsistent declared encoding
        raise MalformedPayload(f"malformed XML: {exc}") from exc
    root = builder.item.get("xml") if isinstance(builder.item, dict) else None
    if not isinstance(root, dict):
        raise MalformedPayload("the XML root element must be <xml> with child elements")
    return root


def encrypted_values(body: bytes) -> list[str]:
    """Every ``<Encrypt>`` text in ``body``, found without parsing it as XML.

    The ``msg_signature`` of an encrypted callback signs exactly this value, so a caller can
    refuse an unsigned body before any XML parser sees it. Usually there is one; in compatible
    mode the plaintext beside it is the customer's, whose text may itself spell the element,
    so the caller keeps the value the signature signs.
    """
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"XML body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    values = []
    at = body.find(b"<Encrypt>")
    while at >= 0:
        end = body.find(b"</Encrypt>", at)
        if end < 0:
            break
        value = body[at + len(b"<Encrypt>") : end].strip()
        if value.startswith(b"<![CDATA[") and value.endswith(b"]]>"):
            value = value[len(b"<![CDATA[") : -len(b"]]>")].strip()
        if b"<" not in value and value.isascii():  # base64 is ASCII and needs no markup
            values.append(value.decode("ascii"))
        at = body.find(b"<Encrypt>", end)
    return values


def text_field(fields: dict[str, Any], name: str) -> str:
    """A child element's text, or ``""`` when absent, empty or not a plain value."""
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


class _DictBuilder:
    """expat handlers that build xmltodict's dict (its defaults) in one pass, without its
    per-element bookkeeping (paths, namespaces, post-processors) that we never use."""

    def __init__(self) -> None:
        self.item: dict[str, Any] | None = None
        self._data: list[str] = []
        self._stack: list[tuple[dict[str, Any] | None, list[str]]] = []

    def start(self, name: str, attrs: list[str]) -> None:
        self._stack.append((self.item, self._data))
        self.item = _attributes(attrs) if attrs else None
        self._data = []

    def end(self, name: str) -> None:
        text = "".join(self._data).strip() or None if self._data else None
        child = self.item
        self.item, self._data = self._stack.pop()
        value: Any
        if child is not None:
            if text:
                _push(child, "#text", text)
            value = child
        else:
            value = text
        if self.item is None:
            self.item = {}
        _push(self.item, name, value)

    def text(self, data: str) -> None:
        self._data.append(data)


def _push(item: dict[str, Any], key: str, value: Any) -> None:
    if key not in item:
        item[key] = value
        return
    existing = item[key]
    if isinstance(existing, list):
        existing.append(value)
    else:
        item[key] = [existing, value]


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, has_internal: int) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(
    name: str,
    is_parameter: int,
    value: str | None,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation: str | None,
) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed_entity(
    name: str, base: str | None, sysid: str | None, pubid: str | None, notation: str | None
) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _attributes(attrs: list[str]) -> dict[str, Any]:
    """expat's ordered attributes (name, value, name, value, ...) as xmltodict's ``@`` keys."""
    return {"@" + name: value for name, value in zip(attrs[0::2], attrs[1::2], strict=True)}
