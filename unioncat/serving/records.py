"""Record schemas the SRU server serves, with holdings and availability in each.

``marcxml``  MARC 21 slim XML of the master record, holdings embedded as 852 fields
             (one per item, or one per member: ``[server] holdings``):

             ======  ==============================================================
             852 $a  member code (``CITY``; ``UNION/LIB`` inside a union member)
             852 $b  branch (per member: every branch, repeated)
             852 $c  shelving location
             852 $h  call number (per member: every call number, repeated)
             852 $p  barcode
             852 $t  copy number
             852 $3  volume / part
             852 $9  status: available, on_loan, in_transit, on_hold, in_processing,
                     not_for_loan, missing, lost, unknown (per member: available or
                     unavailable)
             852 $z  public note: the status as a reader reads it, with the due date of a
                     copy on loan ("Available", "On loan, due 2026-12-01", per member
                     "2 of 3 copies available"); MARC 21 defines no due-date subfield
             ======  ==============================================================

             The members' own 852 fields are replaced by these.
``dc``       Simple Dublin Core (``srw_dc``), from the index mapping (MARC 21 and UNIMARC).
``mods``     MODS 3 from the same mapping.
``opacxml``  YAZ's XML form of the Z39.50 OPAC record: ``bibliographicRecord`` (MARCXML)
             and ``holdings/holding`` per member location with ``circulations/circulation``
             per item (``availableNow``, ``availabilityDate``, ``itemId``, ``onHold``).
``isohold``  ISO 20775 holdings: a ``holding`` per member with ``copiesSummary`` and
             ``copyInformation`` per item (``availabilityStatus`` 1 available, 2 not
             available, 3 possibly available, 0 unknown).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from unioncat import xmlsafe
from unioncat.text import shown, strip_isbd
from unioncat.marc.xmltext import MARC_NS as MARC_NS, clean as clean, datafield, marcxml_head as marcxml_head

UNIMARC_NS = "info:srw/schema/8/unimarcxml-v0.1"  # as Alma's SRU serves UNIMARC (BNU's sample)
DC_NS = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"
MODS_NS = "http://www.loc.gov/mods/v3"
ISO_NS = "http://www.loc.gov/standards/iso20775/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Schema:
    """One record schema: short name, URI and the element it returns."""

    name: str
    uri: str
    title: str
    root: str


SCHEMAS: tuple[Schema, ...] = (
    Schema("marcxml", "info:srw/schema/1/marcxml-v1.1", "MARC 21 XML with holdings in 852",
           f"{{{MARC_NS}}}record"),
    Schema("dc", "info:srw/schema/1/dc-v1.1", "Dublin Core", f"{{{SRW_DC_NS}}}dc"),
    Schema("mods", "http://www.loc.gov/mods/v3", "MODS 3", f"{{{MODS_NS}}}mods"),
    Schema("opacxml", "info:srw/schema/1/opacxml", "Z39.50 OPAC record (YAZ opacxml)", "opacRecord"),
    Schema("isohold", "info:ofi/fmt:xml:xsd:iso20775", "ISO 20775 holdings", f"{{{ISO_NS}}}holdings"),
    Schema("unimarcxml", UNIMARC_NS, "UNIMARC/CNMARC as a member catalogued it, with holdings in 852",
           f"{{{UNIMARC_NS}}}record"),
)
ALIASES = {"marc21": "marcxml", "marcxml-v1.1": "marcxml", "info:srw/schema/1/marcxml-1.1": "marcxml",
           "http://www.loc.gov/marc21/slim": "marcxml", "dc-v1.1": "dc", "info:srw/schema/1/dc-schema": "dc",
           "http://purl.org/dc/elements/1.1/": "dc", "oai_dc": "dc", "mods3": "mods",
           "info:srw/schema/1/mods-v3.6": "mods", "info:srw/schema/1/mods-v3.5": "mods",
           "opac": "opacxml", "iso20775": "isohold", "http://www.loc.gov/standards/iso20775/": "isohold"}


def find_schema(requested: str) -> Schema | None:
    """Return the schema a recordSchema value names (short name or URI), or None."""
    key = requested.strip().lower()
    key = ALIASES.get(key, key)
    return next((s for s in SCHEMAS if key in (s.name, s.uri.lower())), None)


def sub(parent: etree._Element, name: str, text: str | None = None, /, **attrs: str) -> etree._Element:
    """Append a child element with text (cleaned) and attributes."""
    child = etree.SubElement(parent, name, {k: clean(v) for k, v in attrs.items()})
    if text:
        child.text = clean(text)
    return child


@dataclass
class Item:
    """The parts of one copy the schemas show (from ``holdings_for``)."""

    member: str
    name: str
    branch: str
    location: str
    call_number: str
    barcode: str
    copy: str
    volume: str
    status: str
    due_date: str


_NOTES = {"available": "Available", "on_loan": "On loan", "in_transit": "In transit", "on_hold": "On hold",
          "in_processing": "In processing", "not_for_loan": "For use in the library only",
          "missing": "Missing", "lost": "Lost", "unknown": "Ask at the library"}


def status_note(status: str, due: str) -> str:
    """Return the status as a reader reads it."""
    note = _NOTES.get(status, status)
    return f"{note}, due {due[:10]}" if due and status == "on_loan" else note


def holding_groups(members: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], list[Item]]:
    """Return items grouped by holding location: (member, branch, location, call number)."""
    groups: dict[tuple[str, str, str, str], list[Item]] = {}
    for it in items_of(members):
        groups.setdefault((it.member, it.branch, it.location, it.call_number), []).append(it)
    return groups


def items_of(members: list[dict[str, Any]]) -> list[Item]:
    """Flatten ``holdings_for`` output into items."""
    return [Item(m["member"], m["name"], i["branch"], i["location"], i["call_number"], i["barcode"],
                 str(i["copy"] or ""), i["volume"], i["status"], i["due_date"] or "")
            for m in members for i in m["items"]]


# marcxml -----------------------------------------------------------------------------
def holdings_852(members: list[dict[str, Any]], mode: str = "item") -> list[list[tuple[str, str]]]:
    """Return the subfields of the union's 852 fields: one per item or per member."""
    if mode == "item":
        return [[("a", it.member), ("b", it.branch), ("c", it.location), ("h", it.call_number),
                 ("p", it.barcode), ("t", it.copy), ("3", it.volume), ("9", it.status),
                 ("z", status_note(it.status, it.due_date))]
                for it in items_of(members)]
    if mode == "member":
        return [[("a", m["member"])] + [("b", b) for b in m["branches"]] + [("h", c) for c in m["call_numbers"]]
                + [("9", "available" if m["available"] else "unavailable"),
                   ("z", f"{m['available']} of {m['total']} copies available")] for m in members]
    return []


def marcxml_text(head: str, members: list[dict[str, Any]], mode: str = "item") -> str:
    """Return MARCXML as text: a record's head with the union's holdings as 852 fields."""
    out: list[str] = []
    for subs in holdings_852(members, mode):
        datafield(out, "852", "  ", subs)
    out.append("</record>")
    return head + clean("".join(out))


def marcxml(head: str, members: list[dict[str, Any]], mode: str = "item") -> etree._Element:
    """Return MARCXML: a record's head with the union's holdings as 852 fields."""
    return etree.fromstring(marcxml_text(head, members, mode).encode("utf-8"), xmlsafe.PARSER)


# dc and mods -------------------------------------------------------------------------
_TYPES = {"a": "text", "t": "text", "c": "notated music", "d": "notated music", "e": "cartographic",
          "f": "cartographic", "g": "moving image", "i": "sound recording-nonmusical",
          "j": "sound recording-musical", "k": "still image", "m": "software, multimedia",
          "o": "mixed material", "p": "mixed material", "r": "three dimensional object"}
_DC_TYPES = {"text": "Text", "notated music": "Text", "cartographic": "Image", "moving image": "MovingImage",
             "sound recording-nonmusical": "Sound", "sound recording-musical": "Sound",
             "still image": "StillImage", "software, multimedia": "Software",
             "mixed material": "Collection", "three dimensional object": "PhysicalObject"}


def chopped(parts: Any) -> dict[str, list[str]]:
    """Return the index parts' values without ISBD punctuation at the end, each once."""
    return {name: list(dict.fromkeys(v for v in (strip_isbd(value) for value in values) if v))
            for name, values in parts.text.items()}




OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"


def dc(master_id: str, parts: Any, prefix: str = "srw_dc", namespace: str = SRW_DC_NS) -> etree._Element:
    """Return Dublin Core for a master record's index parts (``index.fields.DocParts``): in
    SRU's srw_dc wrapper, or (``"oai_dc", OAI_DC_NS``) in OAI-PMH's."""
    root = etree.Element(f"{{{namespace}}}dc", nsmap={prefix: namespace, "dc": DC_NS})
    d = f"{{{DC_NS}}}"
    text = chopped(parts)
    title, romanised = shown(getattr(parts, "title_vernacular", ""), next(iter(text.get("title", [])), ""))
    for value in (title, romanised):  # the title in its own script first, then romanised
        if value:
            sub(root, d + "title", value)
    author = shown(getattr(parts, "author_vernacular", ""), "")[0]
    for value in dict.fromkeys(([author] if author else []) + text.get("author", [])):
        sub(root, d + "creator", value)
    for value in text.get("subject", []):
        sub(root, d + "subject", value)
    for value in text.get("notes", []):
        sub(root, d + "description", value)
    for value in text.get("publisher", []):
        sub(root, d + "publisher", value)
    if parts.year or text.get("date"):
        sub(root, d + "date", str(parts.year) if parts.year else text["date"][0])
    kind = _TYPES.get(parts.material[:1], "")
    if kind:
        sub(root, d + "type", _DC_TYPES[kind])
    sub(root, d + "identifier", master_id)
    for value in text.get("isbn", []):
        sub(root, d + "identifier", f"URN:ISBN:{value.split()[0]}")
    for value in text.get("issn", []):
        sub(root, d + "identifier", f"URN:ISSN:{value.split()[0]}")
    if parts.language:
        sub(root, d + "language", parts.language)
    return root


def mods(master_id: str, parts: Any) -> etree._Element:
    """Return MODS 3 for a master record's index parts."""
    m = f"{{{MODS_NS}}}"
    root = etree.Element(m + "mods", {"version": "3.7"}, nsmap={None: MODS_NS})
    text = chopped(parts)
    vernacular, romanised = shown(getattr(parts, "title_vernacular", ""), next(iter(text.get("title", [])), ""))
    if romanised:  # the title in its own script and romanised, paired as MODS pairs them
        sub(sub(root, m + "titleInfo", altRepGroup="01"), m + "title", vernacular)
        sub(sub(root, m + "titleInfo", altRepGroup="01", transliteration="ALA-LC"), m + "title", romanised)
    for i, value in enumerate(text.get("title", [])[:2] if not romanised else text.get("title", [])[1:2]):
        info = sub(root, m + "titleInfo", **({"type": "alternative"} if i or romanised else {}))
        sub(info, m + "title", value)
    author = shown(getattr(parts, "author_vernacular", ""), "")[0]
    for i, value in enumerate(dict.fromkeys(([author] if author else []) + text.get("author", []))):
        name = sub(root, m + "name", **({"usage": "primary"} if i == 0 else {}))
        sub(name, m + "namePart", value)
    kind = _TYPES.get(parts.material[:1], "")
    if kind:
        sub(root, m + "typeOfResource", kind)
    origin = sub(root, m + "originInfo")
    for value in text.get("place", []):
        place = sub(origin, m + "place")
        sub(place, m + "placeTerm", value, type="text")
    for value in text.get("publisher", []):
        sub(origin, m + "publisher", value)
    if parts.year:
        sub(origin, m + "dateIssued", str(parts.year), encoding="w3cdtf", keyDate="yes")
    for value in text.get("date", []):
        sub(origin, m + "dateIssued", value)
    if not len(origin):
        root.remove(origin)
    if parts.language:
        lang = sub(root, m + "language")
        sub(lang, m + "languageTerm", parts.language, type="code", authority="iso639-2b")
    for value in text.get("notes", []):
        sub(root, m + "note", value)
    for value in text.get("subject", []):
        subject = sub(root, m + "subject")
        sub(subject, m + "topic", value)
    for value in text.get("classification", []):
        sub(root, m + "classification", value)
    for value in text.get("series", []):
        related = sub(root, m + "relatedItem", type="series")
        sub(sub(related, m + "titleInfo"), m + "title", value)
    for kind_name in ("isbn", "issn"):
        for value in text.get(kind_name, []):
            sub(root, m + "identifier", value, type=kind_name)
    for value in text.get("ids", []):
        sub(root, m + "identifier", value, type="local")
    info = sub(root, m + "recordInfo")
    sub(info, m + "recordIdentifier", master_id)
    return root


# opacxml and isohold ----------------------------------------------------------------
def opacxml(head: str, members: list[dict[str, Any]]) -> etree._Element:
    """Return YAZ's opacxml: the bibliographic record (a ``none`` mode head) and holdings
    with circulations."""
    root = etree.Element("opacRecord")
    bib = sub(root, "bibliographicRecord")
    bib.append(marcxml(head, [], mode="none"))
    holdings = sub(root, "holdings")
    for (member, branch, location, call_number), items in holding_groups(members).items():
        holding = sub(holdings, "holding")
        sub(holding, "nucCode", member)
        sub(holding, "localLocation", branch or member)
        sub(holding, "shelvingLocation", location)
        sub(holding, "callNumber", call_number)
        volumes = sorted({i.volume for i in items if i.volume})
        if volumes:
            sub(holding, "enumAndChron", "; ".join(volumes))
        circulations = sub(holding, "circulations")
        for it in items:
            circ = sub(circulations, "circulation")
            sub(circ, "availableNow", value="1" if it.status == "available" else "0")
            if it.due_date:
                sub(circ, "availabilityDate", it.due_date[:10])
            sub(circ, "itemId", it.barcode)
            sub(circ, "onHold", value="1" if it.status == "on_hold" else "0")
            if it.volume:
                sub(circ, "enumAndChron", it.volume)
            sub(circ, "restrictions", status_note(it.status, it.due_date))
    return root


_ISO_STATUS = {"available": "1", "unknown": "0", "in_transit": "3", "in_processing": "3"}


def isohold(members: list[dict[str, Any]]) -> etree._Element:
    """Return ISO 20775 holdings: one holding per member, copy information per item."""
    i = f"{{{ISO_NS}}}"
    root = etree.Element(i + "holdings", nsmap={None: ISO_NS})
    for m in members:
        holding = sub(root, i + "holding")
        ident = sub(holding, i + "institutionIdentifier")
        sub(ident, i + "value", m["member"])
        sub(sub(ident, i + "typeOrSource"), i + "text", "unioncat member code")
        sub(holding, i + "physicalLocation", m["name"])
        simple = sub(holding, i + "holdingSimple")
        summary = sub(simple, i + "copiesSummary")
        sub(summary, i + "copiesCount", str(max(int(m["total"]), 1)))
        status = sub(summary, i + "status")
        sub(status, i + "availableCount", str(m["available"]))
        sub(status, i + "availableFor", "1")
        if not m["available"] and m["next_due"]:
            sub(status, i + "earliestDispatchDate", _datetime(m["next_due"]))
        for item in m["items"]:
            copy = sub(simple, i + "copyInformation")
            piece = sub(copy, i + "pieceIdentifier")
            sub(piece, i + "value", item["barcode"] or item["item_id"])
            sub(sub(piece, i + "typeOrSource"), i + "text", "barcode" if item["barcode"] else "item id")
            if item["branch"]:
                sub(copy, i + "sublocation", item["branch"])
            if item["call_number"]:
                sub(copy, i + "shelfLocator", item["call_number"])
            sub(copy, i + "note", status_note(item["status"], item["due_date"] or ""))
            info = sub(copy, i + "availabilityInformation")
            st = sub(info, i + "status")
            sub(st, i + "availabilityStatus", _ISO_STATUS.get(item["status"], "2"))
            sub(st, i + "availableFor", "1")
            if item["due_date"]:
                sub(st, i + "dateTimeAvailable", _datetime(item["due_date"]))
    return root


def _datetime(value: str) -> str:
    return value if "T" in value else f"{value[:10]}T00:00:00Z"
