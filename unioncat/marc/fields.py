"""Read just the fields a stage needs from a stored record, without a full decode.

Holdings extraction and deduplication run over every record, so they read only the
tags they use: from ISO 2709 through the directory, from MARCXML through lxml, from
a Z39.50 OPAC record through its BER.  ``record_fields`` gives a record's leader,
control fields and chosen data fields in one pass.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from unioncat import xmlsafe
from unioncat.marc.charset import STATELESS, decoder
from unioncat.marc.iso2709 import parse_fields
from unioncat.marc.records import SYNTAX_MARCXML, SYNTAX_OPAC, local_name

Subfields = list[tuple[str, str]]
# (tag, indicators, value): a control field's value is its text, a data field's its subfields.
MarcField = tuple[str, str, "str | Subfields"]


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


def all_fields(raw: bytes, syntax: str, charset: str,
               tags: set[str] | None = None) -> tuple[str, list[MarcField]]:
    """Return a record's leader and its fields in order, decoded (no pymarc): every
    control field, and the data fields whose tag is in ``tags`` (all when None)."""
    out: list[MarcField] = []
    if syntax == SYNTAX_MARCXML:
        leader = ""
        for child in xmlsafe.fromstring(raw):
            name, tag = local_name(child), child.get("tag") or ""
            if name == "leader":
                leader = child.text or ""
            elif name == "controlfield":
                out.append((tag, "", child.text or ""))
            elif name == "datafield" and (tags is None or tag in tags):
                ind = (child.get("ind1") or " ")[:1] + (child.get("ind2") or " ")[:1]
                out.append((tag, ind, [(sf.get("code") or "", sf.text or "") for sf in child
                                       if local_name(sf) == "subfield"]))
        return leader.ljust(24)[:24], out
    if syntax == SYNTAX_OPAC:
        raw = opac_bibliographic(raw)
    decode = decoder(charset)
    parsed = parse_fields(raw)
    if charset in STATELESS:  # a field decoded whole is its subfields decoded one by one
        for tag, data in parsed.fields:
            if tag < "010" and tag.isdigit():
                out.append((tag, "", data.decode(charset, "replace")))
            elif tags is None or tag in tags:
                ind, *subs = data.decode(charset, "replace").split("\x1f")
                out.append((tag, ind[:2].ljust(2), [(p[:1], p[1:]) for p in subs if p]))
        return parsed.leader, out
    for tag, data in parsed.fields:
        if tag < "010" and tag.isdigit():
            out.append((tag, "", decode(data)))
        elif tags is None or tag in tags:
            parts = data.split(b"\x1f")
            ind = parts[0].decode("latin-1")[:2].ljust(2)
            out.append((tag, ind, [(p[:1].decode("latin-1"), decode(p[1:])) for p in parts[1:] if p]))
    return parsed.leader, out


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


def record_fields(raw: bytes, syntax: str, charset: str, tags: set[str]) -> tuple[
        str, dict[str, str], list[tuple[str, str, Subfields]]]:
    """Return (leader, first value of each control field, [(tag, indicators, subfields)])
    for the data fields whose tag is in ``tags``."""
    leader, found = all_fields(raw, syntax, charset, tags)
    controls: dict[str, str] = {}
    fields: list[tuple[str, str, Subfields]] = []
    for tag, ind, value in found:
        if isinstance(value, str):
            controls.setdefault(tag, value)
        else:
            fields.append((tag, ind, value))
    return leader, controls, fields
