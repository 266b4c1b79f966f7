"""Assemble "where can I borrow it": per member and branch, available and total copies.

The status of an item is the newest of what its record says and what a feed or a
live refresh said since.  Members with a copy on the shelf come first, and within a
member the items on the shelf come first, then by due date.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from unioncat.models import Item
from unioncat.store import Store

_RANK = {"available": 0, "in_transit": 1, "on_hold": 2, "on_loan": 3, "in_processing": 4,
         "not_for_loan": 5, "unknown": 6, "missing": 7, "lost": 8}


def age_seconds(stamp: str, now: datetime | None = None) -> float:
    """Return how old a store timestamp is, in seconds."""
    return ((now or datetime.now(timezone.utc)) - _moment(stamp[:19])).total_seconds()


@lru_cache(maxsize=4096)
def _moment(stamp: str) -> datetime:  # strptime costs 20 us; a night's items share few stamps
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def holdings_for(store: Store, record_ids: list[str], names: dict[str, str] | None = None,
                 refresh: dict[str, str] | None = None,
                 fresh: dict[str, tuple[list[Item], str]] | None = None) -> list[dict[str, Any]]:
    """Return one entry per holding member (and institution within a member's record);
    ``fresh``: items a member's server gave just now for some records (see ``live.ask``), shown
    instead of the stored ones."""
    stored: dict[str, list[Sequence[Any]]] = {}
    for row in store.holdings_rows(rid for rid in record_ids if rid not in (fresh or {})):
        stored.setdefault(row[1], []).append(row)
    rows: list[Sequence[Any]] = []
    for rid in record_ids:
        live = (fresh or {}).get(rid)
        rows.extend(_live_rows(*live) if live is not None else stored.get(rid, []))
    return _assemble(rows, names, refresh)


def holdings_many(store: Store, record_ids: Mapping[str, Sequence[str]],
                  names: dict[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Return :func:`holdings_for` (as stored) of many masters' records at once, by master:
    a query for every 500 records rather than one a record."""
    rows: dict[str, list[Sequence[Any]]] = {}
    for row in store.holdings_rows(rid for some in record_ids.values() for rid in some):
        rows.setdefault(row[1], []).append(row)
    return {master: _assemble([row for rid in dict.fromkeys(some) for row in rows.get(rid, ())], names, None)
            for master, some in record_ids.items()}


def _assemble(rows: Iterable[Sequence[Any]], names: dict[str, str] | None,
              refresh: dict[str, str] | None) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        item = {"item_id": row[0], "record_id": row[1], "branch": row[4] or "",
                "location": row[5] or "", "call_number": row[6] or "", "barcode": row[7] or "",
                "copy": row[8] or "", "volume": row[9] or "", "count": row[10],
                "status": row[12], "due_date": row[13], "raw_status": row[14],
                "status_from": row[15], "as_of": row[16]}
        groups.setdefault((row[2], row[3] or ""), []).append(item)
    now = datetime.now(timezone.utc)
    per_source: dict[str, int] = {}
    for source, _ in groups:
        per_source[source] = per_source.get(source, 0) + 1
    members = []
    for (source, institution), items in groups.items():
        items.sort(key=lambda i: (_RANK.get(i["status"], 9), i["due_date"] or "9999", i["item_id"]))
        available = sum(i["count"] for i in items if i["status"] == "available")
        dues = sorted(i["due_date"] for i in items if i["status"] == "on_loan" and i["due_date"])
        newest = max(i["as_of"] for i in items)
        # A union-catalogue member names its libraries (852 $a); one library is just the member.
        label = f"{source}/{institution}" if institution and per_source[source] > 1 else source
        entry = {"member": label, "source": source,
                 "institution": institution, "name": (names or {}).get(source, source),
                 "available": available, "total": sum(i["count"] for i in items),
                 "next_due": dues[0] if dues else None,
                 "call_numbers": sorted({i["call_number"] for i in items if i["call_number"]}),
                 "branches": sorted({i["branch"] for i in items if i["branch"]}),
                 "as_of": newest, "age_seconds": round(age_seconds(newest, now)), "items": items}
        outcome = (refresh or {}).get(source)
        if outcome is not None:
            entry["refresh"] = outcome
            entry["stale"] = outcome not in ("fresh", "cached")
        members.append(entry)
    members.sort(key=lambda m: (m["available"] == 0, m["member"]))
    return members


def _live_rows(items: list[Item], stamp: str) -> list[tuple[Any, ...]]:
    """Return live items as rows of the holdings query (status from the member's server)."""
    return [(i.item_id, i.record_id, i.source, i.institution, i.branch, i.location, i.call_number, i.barcode,
             i.copy, i.volume, i.count, stamp, i.status, i.due_date, i.raw_status, "live", stamp) for i in items]


def available_masters(store: Store) -> dict[str, frozenset[str]]:
    """Return the master ids with a copy on the shelf: per member code (upper case),
    and under ``""`` at any member.  Statuses are the newest of record and feed."""
    per: dict[str, set[str]] = {"": set()}
    for master, source in store.available_at():
        per.setdefault(source.upper(), set()).add(master)
        per[""].add(master)
    return {code: frozenset(ids) for code, ids in per.items()}
