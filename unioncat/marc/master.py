"""A master record built from its members' records: the most complete member (of one MARC
family, if asked), enriched with the other members' identifiers, subjects and classification,
001 set to the master id; as MARC 21 through the UNIMARC crosswalk when it has no MARC 21
member.  Pure: the callers read the members and their records (``dedup.clusters`` from the
store at request time, the index from the rows it builds documents from)."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from unioncat.errors import DedupError
from unioncat.marc.crosswalk import unimarc_to_marc21
from unioncat.marc.fields import MarcField, all_fields
from unioncat.models import StoredRecord

ENRICH = {"marc21": ("020", "022", "024", "035", "050", "082", "084", "600", "610", "650", "651"),
          "unimarc": ("010", "011", "035", "600", "601", "606", "607", "675", "676", "686", "690")}


def ranked(rows: Iterable[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Return members from (record id, dedup data or None) rows, most complete first."""
    out = []
    for rid, data in rows:
        rec = json.loads(data) if data else {"source": rid.split(".", 1)[0], "title_full": "",
                                             "authors": [], "year": None, "isbns": [],
                                             "completeness": 0}
        out.append({"id": rid, "source": rec["source"], "title": rec["title_full"],
                    "authors": rec["authors"][:3], "year": rec["year"], "isbns": rec["isbns"],
                    "completeness": rec["completeness"]})
    out.sort(key=lambda m: (-m["completeness"], m["id"]))
    return out


def family(fmt: str) -> str:
    """Return the MARC family of a record format: marc21, or unimarc (UNIMARC and CNMARC)."""
    return "marc21" if fmt == "marc21" else "unimarc"


def best_of(master_id: str, found: list[dict[str, Any]], stored: Mapping[str, StoredRecord],
            of_family: str | None = None) -> StoredRecord:
    """Return the record a master is built from: its most complete member with a stored record
    (of one MARC family, if asked)."""
    for member in found:
        record = stored.get(member["id"])
        if record is not None and (of_family is None or family(record.format) == of_family):
            return record
    raise DedupError(f"cluster {master_id!r} has no {of_family or 'stored'} record")


def merged(master_id: str, found: list[dict[str, Any]], stored: Mapping[str, StoredRecord],
           best: StoredRecord) -> tuple[str, list[MarcField]]:
    """Return the leader and fields of ``best`` enriched with the other members' of its family."""
    leader, fields = all_fields(best.raw, best.syntax, best.charset)
    tags = ENRICH[family(best.format)]
    have = {(f[0], _key(f[2])) for f in fields if f[0] in tags}
    for member in found:
        if member["id"] == best.id:
            continue
        other = stored.get(member["id"])
        if other is None or family(other.format) != family(best.format):
            continue
        for fld in all_fields(other.raw, other.syntax, other.charset)[1]:
            if fld[0] in tags and (fld[0], _key(fld[2])) not in have:
                have.add((fld[0], _key(fld[2])))
                # in tag order, before the first field with a later tag (as pymarc does)
                at = next((i for i, f in enumerate(fields) if f[0] > fld[0]), len(fields))
                fields.insert(at, fld)
    fields = [f for f in fields if f[0] != "001"]
    at = next((i for i, f in enumerate(fields) if f[0] > "001"), len(fields))
    fields.insert(at, ("001", "", master_id))
    return leader, fields


def marc21(master_id: str, found: list[dict[str, Any]],
           stored: Mapping[str, StoredRecord]) -> tuple[str, list[MarcField]]:
    """Return the master record as MARC 21: built from its MARC 21 members, or, when it has
    only UNIMARC/CNMARC ones, their record through the UNIMARC to MARC 21 crosswalk."""
    try:
        best = best_of(master_id, found, stored, "marc21")
    except DedupError:
        return unimarc_to_marc21(*merged(master_id, found, stored, best_of(master_id, found, stored, "unimarc")))
    return merged(master_id, found, stored, best)


def _key(value: str | list[tuple[str, str]]) -> str:
    return value if isinstance(value, str) else " ".join(v for _, v in value)
