"""Turn stored raw records (ISO 2709 or MARCXML) into pymarc Records.

Decoding is ours, not pymarc's: pymarc picks MARC-8 for every record whose
leader/09 is blank, which garbles UNIMARC and CNMARC, and it cannot recover the
broken directories that :mod:`unioncat.marc.iso2709` can.
"""
from __future__ import annotations

from lxml import etree
from pymarc import Field, Indicators, Leader, Record, Subfield

from unioncat import xmlsafe
from unioncat.errors import RecordError
from unioncat.marc.charset import decoder
from unioncat.marc.iso2709 import ParsedFields, encode_record, parse_fields, subfields

SYNTAX_ISO2709 = "iso2709"
SYNTAX_MARCXML = "marcxml"
SYNTAX_OPAC = "opac"  # a Z39.50 OPAC record (BER): MARC bibliographic part plus holdings
DEFAULT_LEADER = "     nam  22        4500"


def is_control_tag(tag: str) -> bool:
    """Return True for 00X control fields (numeric tags below 010)."""
    return tag < "010" and tag.isdigit()


def to_pymarc(parsed: ParsedFields, charset: str) -> Record:
    """Build a pymarc Record from parsed ISO 2709 fields in a known character set."""
    decode = decoder(charset)
    record = Record()
    # Record(leader=...) rewrites positions 10-11 and 20-23 to MARC 21 values; keep ours.
    record.leader = Leader(parsed.leader)
    for tag, data in parsed.fields:
        if is_control_tag(tag):
            record.add_field(Field(tag=tag, data=decode(data)))
            continue
        parts = data.split(b"\x1f")
        ind = parts[0].decode("latin-1")
        indicators = Indicators((ind[0:1] or " "), (ind[1:2] or " "))
        subfields = [Subfield(code=part[:1].decode("latin-1"), value=decode(part[1:]))
                     for part in parts[1:] if part]
        record.add_field(Field(tag=tag, indicators=indicators, subfields=subfields))
    return record


def fields_to_pymarc(leader: str, fields: list[tuple[str, str, str | list[tuple[str, str]]]]) -> Record:
    """Build a pymarc Record from decoded fields (``marc.fields.all_fields`` output)."""
    record = Record()
    record.leader = Leader(leader)
    for tag, ind, value in fields:
        if isinstance(value, str):
            record.add_field(Field(tag=tag, data=value))
        else:
            record.add_field(Field(tag=tag, indicators=Indicators(ind[:1] or " ", ind[1:2] or " "),
                                   subfields=[Subfield(code, text) for code, text in value]))
    return record


def local_name(elem: etree._Element) -> str:
    """Return an element's name without its namespace."""
    tag = elem.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def xml_to_pymarc(elem: etree._Element) -> Record:
    """Build a pymarc Record from a MARCXML (or UNIMARC/CNMARC XML) record element.

    Raises RecordError for a field without a tag, a subfield without a code, or an
    unresolved entity reference.
    """
    if xmlsafe.has_entity(elem):
        raise RecordError("entity reference in record (entities are never expanded)")
    leader = DEFAULT_LEADER
    record = Record()
    for child in elem:
        name = local_name(child)
        if name == "leader":
            leader = (child.text or "").ljust(24)[:24]
        elif name == "controlfield":
            tag = child.get("tag")
            if not tag:
                raise RecordError(f"controlfield without a tag attribute (line {child.sourceline})")
            record.add_field(Field(tag=tag, data=child.text or ""))
        elif name == "datafield":
            record.add_field(_datafield(child))
    record.leader = Leader(leader)
    if not record.fields:
        raise RecordError(f"record without fields (line {elem.sourceline})")
    return record


def _datafield(child: etree._Element) -> Field:
    tag = child.get("tag")
    if not tag:
        raise RecordError(f"datafield without a tag attribute (line {child.sourceline})")
    subfields = []
    for sub in child:
        if local_name(sub) != "subfield":
            continue
        code = sub.get("code")
        if code is None or code == "":
            raise RecordError(f"subfield without a code in field {tag} (line {sub.sourceline})")
        subfields.append(Subfield(code=code, value=sub.text or ""))
    ind = Indicators((child.get("ind1") or " ")[:1], (child.get("ind2") or " ")[:1])
    if is_control_tag(tag):
        # A control tag written as a datafield: keep its text rather than lose it.
        return Field(tag=tag, data="".join(s.value for s in subfields))
    return Field(tag=tag, indicators=ind, subfields=subfields)


def load_record(raw: bytes, syntax: str, charset: str) -> Record:
    """Decode a stored raw record into a pymarc Record."""
    if syntax == SYNTAX_MARCXML:
        return xml_to_pymarc(xmlsafe.fromstring(raw))
    if syntax == SYNTAX_OPAC:
        from unioncat.z3950.codec import decode_type  # only OPAC records need asn1tools

        bib = decode_type("OPACRecord", raw)["bibliographicRecord"]
        raw = bytes(bib["encoding"][1])
    return to_pymarc(parse_fields(raw), charset)


def as_iso2709(record: Record) -> bytes:
    """Serialise a record as ISO 2709 in UTF-8 (leader/09 ``a``).

    Raises RecordError when the result would exceed ISO 2709's 99,999 bytes, where
    pymarc's ``as_marc`` silently writes a six-digit length no reader accepts.
    """
    fields: list[tuple[str, bytes]] = []
    for field in record.fields:
        if field.control_field:
            fields.append((field.tag, (field.data or "").encode("utf-8")))
        else:
            fields.append((field.tag, subfields("".join(field.indicators or ("", "")),
                                                [(s.code, s.value) for s in field.subfields],
                                                "utf-8")))
    leader = str(record.leader)
    try:
        return encode_record(leader[:9] + "a" + leader[10:], fields)
    except RecordError as err:
        raise RecordError(f"{err.reason}: use --format marcxml or json") from None
