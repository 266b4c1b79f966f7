"""Clusters out of the store: export, show, and the master record.

The master record is the cluster's most complete member (the completeness score
counts fields and subfields and halves records with fewer than five data fields or
all-capitals titles), enriched with the other members' identifiers, subjects and
classification numbers that it lacks.  Members stay retrievable by their own ids.
"""
from __future__ import annotations

import csv
import json
from typing import Any, Iterable, Mapping, Sequence

from pymarc import Record

from unioncat.errors import DedupError
from unioncat.marc.crosswalk import unimarc_to_marc21
from unioncat.marc.fields import MarcField, all_fields
from unioncat.marc.records import fields_to_pymarc
from unioncat.models import StoredRecord
from unioncat.store import Store

ENRICH = {"marc21": ("020", "022", "024", "035", "050", "082", "084", "600", "610", "650", "651"),
          "unimarc": ("010", "011", "035", "600", "601", "606", "607", "675", "676", "686", "690")}


def export(store: Store, path: str, fmt: str = "csv") -> int:
    """Write one row per non-deleted record: record_id, cluster_id; return the row count."""
    rows = store.cluster_rows()
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            writer = csv.writer(fh)
            writer.writerow(["record_id", "cluster_id"])
            for row in rows:
                writer.writerow(row)
                count += 1
        else:
            for rid, master in rows:
                fh.write(json.dumps({"record_id": rid, "cluster_id": master}) + "\n")
                count += 1
    return count


def members(store: Store, master_id: str, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return a cluster's members, most complete first.

    With ``ids`` (the member ids the search index holds for the master), those records
    are the members: a server builds what its index found, even while a nightly run
    has already regrouped the clusters and not yet re-indexed them."""
    if ids:
        found = members_many(store, {master_id: ids}).get(master_id)
    else:
        found = _ranked(store.cluster_data(master_id))
    if not found:
        raise DedupError(f"no cluster {master_id!r}")
    return found


def members_many(store: Store, ids: Mapping[str, Sequence[str]]) -> dict[str, list[dict[str, Any]]]:
    """Return the members of many masters, each by the member ids its index entry holds (see
    :func:`members`), in a query for every 500 members rather than one a master; a master
    none of whose records is stored is left out."""
    rows = store.records_data(rid for some in ids.values() for rid in some)
    out = {}
    for master, some in ids.items():
        found = _ranked((rid, rows[rid]) for rid in dict.fromkeys(some) if rid in rows)
        if found:
            out[master] = found
    return out


def _ranked(rows: Iterable[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Return members from (record id, dedup data) rows, most complete first."""
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


def best_member(store: Store, master_id: str, found: list[dict[str, Any]] | None = None,
                of_family: str | None = None, stored: Mapping[str, StoredRecord] | None = None) -> StoredRecord:
    """Return the stored record a master record is built from: its most complete member
    (of one MARC family, if asked: a CNMARC member's record for a UNIMARC client);
    ``stored``: the members' records when the caller has read them already."""
    for member in found or members(store, master_id):
        record = stored.get(member["id"]) if stored is not None else store.get(member["id"])
        if record is not None and (of_family is None or family(record.format) == of_family):
            return record
    raise DedupError(f"cluster {master_id!r} has no {of_family or 'stored'} record")


def master_fields(store: Store, master_id: str, of_family: str | None = None,
                  ids: Sequence[str] | None = None, found: list[dict[str, Any]] | None = None,
                  best: StoredRecord | None = None,
                  stored: Mapping[str, StoredRecord] | None = None) -> tuple[str, list[MarcField]]:
    """Return the master record's leader and fields: the best member (of one MARC family,
    if asked), enriched with the other members' identifiers, subjects and classification
    of that family, 001 set to the master id (``ids``: see :func:`members`; ``found``: the
    members when the caller has read them already; ``best``: the best member, likewise;
    ``stored``: the members' records, likewise)."""
    found = found or members(store, master_id, ids)
    best = best or best_member(store, master_id, found, of_family, stored)
    leader, fields = all_fields(best.raw, best.syntax, best.charset)
    tags = ENRICH[family(best.format)]
    have = {(f[0], _key(f[2])) for f in fields if f[0] in tags}
    for member in found:
        if member["id"] == best.id:
            continue
        other = stored.get(member["id"]) if stored is not None else store.get(member["id"])
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


def marc21_fields(store: Store, master_id: str, ids: Sequence[str] | None = None,
                  found: list[dict[str, Any]] | None = None,
                  stored: Mapping[str, StoredRecord] | None = None) -> tuple[str, list[MarcField]]:
    """Return the master record as MARC 21: built from its MARC 21 members, or, when it has
    only UNIMARC/CNMARC ones, their record through the UNIMARC to MARC 21 crosswalk
    (``found`` and ``stored``: see :func:`master_fields`)."""
    found = found or members(store, master_id, ids)
    try:
        best = best_member(store, master_id, found, "marc21", stored)
    except DedupError:
        return unimarc_to_marc21(*master_fields(store, master_id, "unimarc", ids, found, stored=stored))
    return master_fields(store, master_id, "marc21", ids, found, best, stored)


def _key(value: str | list[tuple[str, str]]) -> str:
    return value if isinstance(value, str) else " ".join(v for _, v in value)


def master_record(store: Store, master_id: str) -> Record:
    """Build the master record as a MARC 21 pymarc Record (see :func:`marc21_fields`)."""
    return fields_to_pymarc(*marc21_fields(store, master_id))
