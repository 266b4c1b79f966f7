"""Clusters out of the store: export, show, and the master record.

The master record is the cluster's most complete member (the completeness score
counts fields and subfields and halves records with fewer than five data fields or
all-capitals titles), enriched with the other members' identifiers, subjects and
classification numbers that it lacks.  Members stay retrievable by their own ids.
"""
from __future__ import annotations

import csv
import json
from typing import Any

from pymarc import Field, Record

from unioncat.errors import DedupError
from unioncat.marc.records import load_record
from unioncat.store import Store

ENRICH = {"marc21": ("020", "022", "024", "035", "050", "082", "084", "600", "610", "650", "651"),
          "unimarc": ("010", "011", "035", "600", "601", "606", "607", "675", "676", "686", "690")}


def export(store: Store, path: str, fmt: str = "csv") -> int:
    """Write one row per non-deleted record: record_id, cluster_id; return the row count."""
    rows = store.db.execute(
        "SELECT c.record_id, c.master_id FROM clusters c JOIN records r ON r.id = c.record_id"
        " WHERE r.deleted = 0 ORDER BY c.master_id, c.record_id")
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


def members(store: Store, master_id: str) -> list[dict[str, Any]]:
    """Return a cluster's members, most complete first."""
    rows = store.db.execute(
        "SELECT c.record_id, d.data FROM clusters c JOIN dedup_records d ON d.id = c.record_id"
        " WHERE c.master_id=?", (master_id,)).fetchall()
    if not rows:
        raise DedupError(f"no cluster {master_id!r}")
    out = []
    for rid, data in rows:
        rec = json.loads(data)
        out.append({"id": rid, "source": rec["source"], "title": rec["title_full"],
                    "authors": rec["authors"][:3], "year": rec["year"], "isbns": rec["isbns"],
                    "completeness": rec["completeness"]})
    out.sort(key=lambda m: (-m["completeness"], m["id"]))
    return out


def master_record(store: Store, master_id: str) -> Record:
    """Build the master record: the best member, enriched with the others' identifiers,
    subjects and classification."""
    found = members(store, master_id)
    best = store.get(found[0]["id"])
    assert best is not None
    master = load_record(best.raw, best.syntax, best.charset)
    tags = ENRICH["marc21" if best.format == "marc21" else "unimarc"]
    have = {(f.tag, f.value()) for f in master.get_fields(*tags)}
    for member in found[1:]:
        other = store.get(member["id"])
        if other is None or (other.format == "marc21") != (best.format == "marc21"):
            continue
        for fld in load_record(other.raw, other.syntax, other.charset).get_fields(*tags):
            if (fld.tag, fld.value()) not in have:
                have.add((fld.tag, fld.value()))
                master.add_ordered_field(fld)
    master.remove_fields("001")
    master.add_ordered_field(Field(tag="001", data=master_id))
    return master
