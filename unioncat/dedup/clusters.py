"""Clusters out of the store: export, show, and the master record.

The master record is the cluster's most complete member (the completeness score
counts fields and subfields and halves records with fewer than five data fields or
all-capitals titles), enriched with the other members' identifiers, subjects and
classification numbers that it lacks.  Members stay retrievable by their own ids.
"""
from __future__ import annotations

import csv
import json
from typing import Any, Mapping, Sequence

from pymarc import Record

from unioncat.errors import DedupError
from unioncat.marc import master as built
from unioncat.marc.fields import MarcField
from unioncat.marc.master import ENRICH as ENRICH, family as family, ranked
from unioncat.marc.records import fields_to_pymarc
from unioncat.models import StoredRecord
from unioncat.store import Store

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
        found = ranked(store.cluster_data(master_id))
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
        found = ranked((rid, rows[rid]) for rid in dict.fromkeys(some) if rid in rows)
        if found:
            out[master] = found
    return out


def best_member(store: Store, master_id: str, found: list[dict[str, Any]] | None = None,
                of_family: str | None = None, stored: Mapping[str, StoredRecord] | None = None) -> StoredRecord:
    """Return the stored record a master record is built from: its most complete member
    (of one MARC family, if asked: a CNMARC member's record for a UNIMARC client);
    ``stored``: the members' records when the caller has read them already."""
    found = found or members(store, master_id)
    return built.best_of(master_id, found, _records(store, found, stored), of_family)


def master_fields(store: Store, master_id: str, of_family: str | None = None,
                  ids: Sequence[str] | None = None, found: list[dict[str, Any]] | None = None,
                  best: StoredRecord | None = None,
                  stored: Mapping[str, StoredRecord] | None = None) -> tuple[str, list[MarcField]]:
    """Return the master record's leader and fields (see ``marc.master``): the best member (of
    one MARC family, if asked), enriched (``ids``: see :func:`members`; ``found``: the members
    when the caller has read them already; ``best``: the best member, likewise; ``stored``:
    the members' records, likewise)."""
    found = found or members(store, master_id, ids)
    stored = _records(store, found, stored)
    return built.merged(master_id, found, stored, best or built.best_of(master_id, found, stored, of_family))


def marc21_fields(store: Store, master_id: str, ids: Sequence[str] | None = None,
                  found: list[dict[str, Any]] | None = None,
                  stored: Mapping[str, StoredRecord] | None = None) -> tuple[str, list[MarcField]]:
    """Return the master record as MARC 21 (see ``marc.master.marc21``; ``found`` and
    ``stored``: see :func:`master_fields`)."""
    found = found or members(store, master_id, ids)
    return built.marc21(master_id, found, _records(store, found, stored))


def _records(store: Store, found: list[dict[str, Any]],
             stored: Mapping[str, StoredRecord] | None) -> Mapping[str, StoredRecord]:
    """Return ``stored``, or the members' records read now in one query."""
    return stored if stored is not None else store.get_many(m["id"] for m in found)


def master_record(store: Store, master_id: str) -> Record:
    """Build the master record as a MARC 21 pymarc Record (see :func:`marc21_fields`)."""
    return fields_to_pymarc(*marc21_fields(store, master_id))
