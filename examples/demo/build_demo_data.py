#!/usr/bin/env python3
"""Rebuild the demo consortium's file drops from ../shared/data (needs that folder).

The files it writes are committed, so `make demo` runs on a clean clone without
../shared.  Run from the repository root:  python examples/demo/build_demo_data.py

Members (see examples/demo/SOURCE.md):
  CITY  City Central Library      MARC 21, ISO 2709, UTF-8, gzip: 1,200 LoC records
  DIST  Riverside District Lib.   MARCXML, gzip: 400 of CITY's records under its own
                                  numbers, 100 of VILL's (Evergreen's UTF-8 copies), 150 own
  VILL  Hillside Village Library  MARC 21, ISO 2709, MARC-8: Evergreen's lul_fre_100
  UNIV  Eastern Normal University CNMARC, ISO 2709, GB18030: 300 of CITY's Chinese
                                  records converted to CNMARC, plus 10 real BNU records
"""
from __future__ import annotations

import gzip
import io
import os
import sys
from datetime import date

import pymarc
from pymarc import Field, Indicators, Subfield

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from unioncat.marc.iso2709 import encode_record, subfields  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data"))
LOC = os.path.join(SHARED, "loc-booksall-2016", "BooksAll.2016.part01.recs190001-200000.mrc.gz")
OUT = os.path.join(HERE, "data")


def loc_records(general: int, chinese: int) -> tuple[list[pymarc.Record], list[pymarc.Record]]:
    """Return the first records of a CJK-rich LoC chunk, and its first Chinese ones."""
    plain: list[pymarc.Record] = []
    chi: list[pymarc.Record] = []
    with gzip.open(LOC, "rb") as fh:
        for rec in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if is_chinese(rec):
                if len(chi) < chinese:
                    chi.append(rec)
            elif len(plain) < general:
                plain.append(rec)
            if len(plain) == general and len(chi) == chinese:
                break
    return plain, chi


def add_852(rec: pymarc.Record, member: str, branch: str, barcode: str) -> None:
    """Give a record one MARC 21 852 item: member, branch, call number, barcode, copy."""
    call = rec["050"] if "050" in rec else None
    subs = [Subfield("a", member), Subfield("b", branch)]
    if call is not None:
        subs += [Subfield("h", call.get("a", "")), Subfield("i", call.get("b", ""))]
    subs += [Subfield("p", barcode), Subfield("t", "1")]
    rec.add_ordered_field(Field("852", Indicators(" ", " "), subs))


def renumber(rec: pymarc.Record, new_id: str, org: str) -> pymarc.Record:
    """Return a copy of rec as another member would hold it: own 001 and 003."""
    copy = pymarc.Record(leader=str(rec.leader))
    for field in rec.fields:
        if field.tag in ("001", "003", "852"):
            continue
        copy.add_field(field)
    copy.add_ordered_field(Field("001", data=new_id))
    copy.add_ordered_field(Field("003", data=org))
    return copy


def linked_880(rec: pymarc.Record, tag: str) -> pymarc.Field | None:
    """Return the 880 that carries the original script of the first `tag` field."""
    for f in rec.get_fields("880"):
        if (f.get("6") or "").startswith(tag):
            return f
    return None


def is_chinese(rec: pymarc.Record) -> bool:
    """Return True for a Chinese-language LoC record with a vernacular 245."""
    f008 = rec["008"].data if "008" in rec else ""
    return f008[35:38] == "chi" and linked_880(rec, "245") is not None


def to_cnmarc(rec: pymarc.Record, local_id: str, barcode: str, encoding: str = "gb18030") -> bytes:
    """Convert a Chinese LoC record to CNMARC the way a Chinese library would hold it.

    200 carries the vernacular title with its pinyin in $A (CALIS style), 700 the
    author, 210 the imprint, 010 the ISBN, 100$a declares GB (0120), 905 one item.
    """
    def sub(field: pymarc.Field | None, code: str) -> str:
        return (field.get(code) or "").strip(" /:;,.") if field is not None else ""

    f008 = rec["008"].data
    year = f008[7:11].strip() or "uuuu"
    t880, t245 = linked_880(rec, "245"), rec["245"]
    imprint = linked_880(rec, "260") or linked_880(rec, "264") or rec.get("260") or rec.get("264")
    author = linked_880(rec, "100") or rec.get("100")
    fields: list[tuple[str, bytes]] = [("001", local_id.encode("ascii"))]
    if "005" in rec:
        fields.append(("005", rec["005"].data.encode("ascii")))
    for isbn in rec.get_fields("020"):
        if isbn.get("a"):
            fields.append(("010", subfields("  ", [("a", isbn["a"].split(" ")[0])], encoding)))
    entered = "20" + f008[:6]
    f100 = f"{entered}d{year:<4}    km y0chiy0120    ea"
    fields.append(("100", subfields("  ", [("a", f100)], encoding)))
    fields.append(("101", subfields("0 ", [("a", "chi")], encoding)))
    title = [("a", sub(t880, "a")), ("A", sub(t245, "a"))]
    if sub(t880, "b"):
        title.append(("e", sub(t880, "b")))
    if sub(t880, "c"):
        title.append(("f", sub(t880, "c")))
    fields.append(("200", subfields("1 ", title, encoding)))
    if imprint is not None:
        fields.append(("210", subfields("  ", [("a", sub(imprint, "a")), ("c", sub(imprint, "b")),
                                               ("d", year)], encoding)))
    if "300" in rec:
        fields.append(("215", subfields("  ", [("a", sub(rec["300"], "a"))], encoding)))
    if author is not None and sub(author, "a"):
        fields.append(("700", subfields(" 0", [("a", sub(author, "a"))], encoding)))
    fields.append(("801", subfields(" 0", [("a", "CN"), ("b", "ENU"), ("c", entered)], encoding)))
    call = rec.get("050")
    fields.append(("905", subfields("  ", [("a", "ENU"), ("b", barcode), ("d", sub(call, "a")),
                                           ("e", sub(call, "b")), ("f", "1")], encoding)))
    return encode_record("00000nam0 2200000   450 ", fields)


def write_iso(path: str, records: list[bytes]) -> None:
    """Write ISO 2709 records, gzip when the name ends in .gz."""
    payload = b"".join(records)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(payload, mtime=0) if path.endswith(".gz") else payload)


def write_marcxml_gz(path: str, records: list[pymarc.Record]) -> None:
    """Write a MARCXML collection, gzip-compressed."""
    buf = io.BytesIO()
    writer = pymarc.XMLWriter(buf)
    for rec in records:
        writer.write(rec)
    writer.close(close_fh=False)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(buf.getvalue())


def main() -> None:
    """Build every member's file drop."""
    if not os.path.isdir(SHARED):
        sys.exit(f"{SHARED} not found: the demo data can only be rebuilt beside ../shared")
    os.makedirs(OUT, exist_ok=True)
    plain, chinese = loc_records(1050, 300)
    # CITY holds 900 general and 300 Chinese titles, interleaved as a real export would be.
    city = [r for pair in zip(plain[:300], chinese) for r in pair] + plain[300:900]
    for n, rec in enumerate(city, 1):
        add_852(rec, "CITY", "Central" if n % 3 else "Harbour branch", f"CITY{31000000 + n}")
    write_iso(os.path.join(OUT, "city-2026-11-23.mrc.gz"), [r.as_marc() for r in city])

    dist = []
    for n, rec in enumerate(city[:400], 1):
        copy = renumber(rec, f"rd{n:07d}", "RDL")
        add_852(copy, "DIST", "Riverside", f"D{50000 + n}")
        dist.append(copy)
    vill_utf8 = pymarc.parse_xml_to_array(os.path.join(
        SHARED, "evergreen-test-datasets", "marcxml-from-sql", "bibs_fre.xml"))
    for n, rec in enumerate(vill_utf8, 401):
        copy = renumber(rec, f"rd{n:07d}", "RDL")
        add_852(copy, "DIST", "Riverside", f"D{50000 + n}")
        dist.append(copy)
    for n, rec in enumerate(plain[900:1050], 501):
        copy = renumber(rec, f"rd{n:07d}", "RDL")
        add_852(copy, "DIST", "Old Town", f"D{50000 + n}")
        dist.append(copy)
    write_marcxml_gz(os.path.join(OUT, "riverside-export.xml.gz"), dist)

    with open(os.path.join(SHARED, "evergreen-test-datasets", "marc", "lul_fre_100.mrc"), "rb") as fh:
        write_iso(os.path.join(OUT, "hillside.mrc"), [fh.read()])

    univ = [to_cnmarc(r, f"ENU{n:08d}", f"ENU-{20000 + n}") for n, r in enumerate(chinese, 1)]
    with open(os.path.join(SHARED, "cnmarc-dp2-bnu-alma-sru", "derived_cnmarc_utf8.mrc"), "rb") as fh:
        bnu = fh.read()
    write_iso(os.path.join(OUT, "enu-cnmarc-gb18030.iso"), univ)
    write_iso(os.path.join(OUT, "enu-cnmarc-bnu-utf8.iso"), [bnu])
    print(f"CITY {len(city)}, DIST {len(dist)}, VILL 100, UNIV {len(univ)} + 10; "
          f"written {date.today()}")


if __name__ == "__main__":
    main()
