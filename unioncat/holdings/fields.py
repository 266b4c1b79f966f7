"""Read just the fields holdings need from a stored record, without a full decode.

Holdings extraction runs on every imported or harvested record of a member whose
``holdings`` is set, so it reads only the item tags: from ISO 2709 through the
directory, from MARCXML through lxml, from a Z39.50 OPAC record through its BER.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from unioncat import xmlsafe
from unioncat.marc.charset import decoder
from unioncat.marc.iso2709 import parse_fields
from unioncat.marc.records import SYNTAX_MARCXML, SYNTAX_OPAC, local_name

Subfields = list[tuple[str, str]]


def fields_with_tags(raw: bytes, syntax: str, charset: str, tags: set[str]) -> list[tuple[str, Subfields]]:
    """Return (tag, subfields) for every data field whose tag is in ``tags``, in order."""
    if syntax == SYNTAX_MARCXML:
        return _xml_fields(xmlsafe.fromstring(raw), tags)
    if syntax == SYNTAX_OPAC:
        raw = opac_bibliographic(raw)
    decode = decoder(charset)
    out = []
    for tag, data in parse_fields(raw).fields:
        if tag in tags:
            parts = data.split(b"\x1f")[1:]
            out.append((tag, [(p[:1].decode("latin-1"), decode(p[1:])) for p in parts if p]))
    return out


def control_fields(raw: bytes, syntax: str, charset: str, tag: str) -> list[str]:
    """Return the values of every control field with this tag (004 of a holdings record, say)."""
    if syntax == SYNTAX_MARCXML:
        return [(child.text or "").strip() for child in xmlsafe.fromstring(raw)
                if local_name(child) == "controlfield" and child.get("tag") == tag]
    if syntax == SYNTAX_OPAC:
        raw = opac_bibliographic(raw)
    decode = decoder(charset)
    return [decode(data).strip() for t, data in parse_fields(raw).fields if t == tag]


def _xml_fields(root: etree._Element, tags: set[str]) -> list[tuple[str, Subfields]]:
    out = []
    for child in root:
        if local_name(child) == "datafield" and child.get("tag") in tags:
            out.append((child.get("tag") or "",
                        [(s.get("code") or "", s.text or "") for s in child
                         if local_name(s) == "subfield"]))
    return out


def opac_record(raw: bytes) -> dict[str, Any]:
    """Decode a stored Z39.50 OPAC record."""
    from unioncat.z3950.codec import decode_type

    value: dict[str, Any] = decode_type("OPACRecord", raw)
    return value


def opac_bibliographic(raw: bytes) -> bytes:
    """Return the ISO 2709 bibliographic part of a stored OPAC record."""
    bib = opac_record(raw).get("bibliographicRecord") or {}
    encoding = bib.get("encoding") or ("", b"")
    return bytes(encoding[1]) if encoding[0] == "octet-aligned" else b""
