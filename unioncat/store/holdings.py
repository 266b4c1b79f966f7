"""Items, availability and the live-refresh cache: the SQL of ``unioncat.holdings``, for both
back ends.

An item's status is the newest of what its record says (``items``) and what a status feed or
a live refresh said since (``availability``): ``EFFECTIVE`` picks it in SQL.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from unioncat.models import Item
from unioncat.store.base import StoreCore, in_chunks

_COLUMNS = ("item_id", "record_id", "origin", "source", "institution", "branch", "location",
            "call_number", "barcode", "copy", "volume", "status", "raw_status", "due_date",
            "count", "updated")
EFFECTIVE = "(CASE WHEN a.updated > i.updated THEN a.status ELSE i.status END)"
_HOLDINGS = (  # then "= ?" or "IN (...)"
    "SELECT i.item_id, i.record_id, i.source, i.institution, i.branch, i.location,"
    " i.call_number, i.barcode, i.copy, i.volume, i.count, i.updated,"
    f" {EFFECTIVE},"
    " CASE WHEN a.updated > i.updated THEN a.due_date ELSE i.due_date END,"
    " CASE WHEN a.updated > i.updated THEN coalesce(a.raw_status, '') ELSE coalesce(i.raw_status, '') END,"
    " CASE WHEN a.updated > i.updated THEN a.origin ELSE 'record' END,"
    " CASE WHEN a.updated > i.updated THEN a.updated ELSE i.updated END"
    " FROM items i LEFT JOIN availability a ON a.item_id = i.item_id WHERE i.record_id ")
# (item id, status, status as the member wrote it, due date, line of the feed)
FeedRow = tuple[str, str, str, "str | None", int]


class HoldingsStore(StoreCore):
    """Items and their availability."""

    # items, as the records say ---------------------------------------------------------------
    def write_items(self, origin: str, items: Iterable[Item], stamp: str) -> int:
        """Replace the items extracted from one record (``origin``), inside the caller's
        transaction (a record and its items change together)."""
        self.db.execute("DELETE FROM items WHERE origin=?", (origin,))
        rows = [(i.item_id, i.record_id, origin, i.source, i.institution, i.branch, i.location,
                 i.call_number, i.barcode, i.copy, i.volume, i.status, i.raw_status, i.due_date,
                 i.count, stamp) for i in items]
        updates = ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS[1:])
        self.db.executemany(f"INSERT INTO items({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
                            f" ON CONFLICT (item_id) DO UPDATE SET {updates}", rows)
        return len(rows)

    def delete_items(self, origins: Iterable[str]) -> None:
        """Forget the items of records gone (inside the caller's transaction)."""
        self.db.executemany("DELETE FROM items WHERE origin=?", ((o,) for o in origins))

    def clear_items(self, source: str) -> None:
        """Forget every item of a source (inside the caller's transaction)."""
        self.db.execute("DELETE FROM items WHERE source=?", (source,))

    def item_sources(self, source: str) -> list[tuple[str, bytes, str, str, str]]:
        """Return (id, raw, syntax, charset, leader) of a source's live records, to extract again."""
        return [(r[0], bytes(r[1]), r[2], r[3], r[4]) for r in self.db.execute(
            "SELECT id, raw, syntax, charset, coalesce(leader, '') FROM records WHERE source=? AND deleted=0",
            (source,)).fetchall()]

    def item_counts(self, source: str) -> Mapping[str, int]:
        """Return total, available (effective status) and unknown-status item counts, and how
        many have a status from a feed."""
        row = self.db.execute(
            "SELECT coalesce(sum(i.count), 0),"
            " coalesce(sum(CASE WHEN coalesce(CASE WHEN a.updated > i.updated THEN a.status END,"
            " i.status) = 'available' THEN i.count ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN i.status = 'unknown' AND i.raw_status != '' THEN 1 ELSE 0 END), 0),"
            " count(a.item_id)"
            " FROM items i LEFT JOIN availability a ON a.item_id = i.item_id WHERE i.source=?",
            (source,)).fetchone()
        return {"items": int(row[0]), "available": int(row[1]), "unknown_status_codes": int(row[2]),
                "fed": int(row[3])}

    # holdings, as readers see them ---------------------------------------------------------------
    def holdings_rows(self, rids: Iterable[str]) -> Iterator[Sequence[Any]]:
        """Yield the items of records with their effective status: (item id, record id, source,
        institution, branch, location, call number, barcode, copy, volume, count, updated,
        status, due date, raw status, where the status came from, as of)."""
        for part, marks in in_chunks(rids):
            yield from self.db.execute(f"{_HOLDINGS} IN ({marks})", part)

    def available_at(self) -> Iterator[tuple[str, str]]:
        """Yield (master id, source) of every master with a copy on the shelf at that source."""
        yield from self.db.execute(
            "SELECT DISTINCT c.master_id, i.source FROM items i"
            " JOIN clusters c ON c.record_id = i.record_id"
            " JOIN records r ON r.id = i.record_id AND r.deleted = 0"
            f" LEFT JOIN availability a ON a.item_id = i.item_id WHERE {EFFECTIVE} = 'available'")

    def on_loan_by_source(self) -> dict[str, int]:
        """Return each source's items on loan now (the newest of record and feed status)."""
        return {source: int(n) for source, n in self.db.execute(
            f"SELECT i.source, count(*) FROM items i LEFT JOIN availability a ON a.item_id = i.item_id"
            f" WHERE {EFFECTIVE} = 'on_loan' GROUP BY i.source")}

    # status feeds and live refreshes -------------------------------------------------------------
    def apply_feed(self, rows: Iterable[FeedRow], stamp: str, sample: int,
                   failed: Callable[[], bool]) -> dict[str, Any] | None:
        """Apply a status feed in one transaction: the rows (read as they come) are staged, and
        unless ``failed()`` says so once they are read (then nothing changes and None comes back)
        their statuses replace the known items'. Return the distinct items listed, how many are
        unknown here with a sample of them, and how many statuses were applied."""
        try:
            return self._apply_feed(rows, stamp, sample, failed)
        except _Undo:
            return None

    def _apply_feed(self, rows: Iterable[FeedRow], stamp: str, sample: int,
                    failed: Callable[[], bool]) -> dict[str, Any]:
        with self.write():
            feed = self.temp_table("feed", "item_id TEXT PRIMARY KEY, status TEXT, raw_status TEXT,"
                                   " due_date TEXT, line INTEGER")
            insert = (f"INSERT INTO {feed} VALUES (?,?,?,?,?) ON CONFLICT (item_id) DO UPDATE SET"
                      " status=excluded.status, raw_status=excluded.raw_status, due_date=excluded.due_date,"
                      " line=excluded.line")  # a barcode listed twice: the later row wins
            batch: list[FeedRow] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 2000:
                    self.db.executemany(insert, batch)
                    batch.clear()
            if failed():
                raise _Undo
            self.db.executemany(insert, batch)
            unknown = "NOT EXISTS (SELECT 1 FROM items i WHERE i.item_id = f.item_id)"
            out: dict[str, Any] = {
                "listed": int(self.db.execute(f"SELECT count(*) FROM {feed}").fetchone()[0]),
                "unknown": int(self.db.execute(f"SELECT count(*) FROM {feed} f WHERE {unknown}").fetchone()[0]),
                "sample": [r[0] for r in self.db.execute(
                    f"SELECT item_id FROM {feed} f WHERE {unknown} ORDER BY line LIMIT ?", (sample,))]}
            out["applied"] = self.db.execute(
                "INSERT INTO availability(item_id, status, raw_status, due_date, origin, updated)"
                f" SELECT f.item_id, f.status, f.raw_status, f.due_date, 'feed', ? FROM {feed} f"
                " JOIN items i ON i.item_id = f.item_id WHERE true ON CONFLICT (item_id) DO UPDATE SET"
                " status=excluded.status, raw_status=excluded.raw_status, due_date=excluded.due_date,"
                " origin=excluded.origin, updated=excluded.updated", (stamp,)).rowcount
            self.db.execute(f"DELETE FROM {feed}")
            return out

    def live_fetched(self, rid: str) -> str | None:
        """Return when a record's items were last fetched live successfully, if ever."""
        row = self.db.execute("SELECT fetched FROM live_cache WHERE record_id=? AND outcome='fresh'",
                              (rid,)).fetchone()
        return None if row is None else str(row[0])

    def remember_live(self, rid: str, stamp: str, outcome: str, items: list[Item] | None = None) -> None:
        """Record a live refresh's outcome for a record, with the items it gave (in one transaction)."""
        with self.write():
            if items is not None:
                self.write_items(rid, items, stamp)
            self.db.execute("INSERT INTO live_cache(record_id, fetched, outcome) VALUES (?,?,?) ON CONFLICT"
                            " (record_id) DO UPDATE SET fetched=excluded.fetched, outcome=excluded.outcome",
                            (rid, stamp, outcome))

    # consortium reports --------------------------------------------------------------------------
    _HELD = ("SELECT DISTINCT c.master_id AS master, r.source AS member FROM clusters c"
             " JOIN records r ON r.id = c.record_id WHERE r.deleted = 0")

    def shared_titles(self) -> dict[tuple[str, str], int]:
        """Return (member a, member b) -> titles both hold, for every pair that shares one (a < b)."""
        return {(a, b): int(n) for a, b, n in self.db.execute(
            f"WITH held AS ({self._HELD}) SELECT x.member, y.member, count(*) FROM held x"
            " JOIN held y ON y.master = x.master AND y.member > x.member GROUP BY x.member, y.member")}

    def unique_titles(self) -> dict[str, tuple[int, int]]:
        """Return member -> (titles it holds, titles no other member holds)."""
        return {m: (int(t), int(u)) for m, t, u in self.db.execute(
            f"WITH held AS ({self._HELD}), holders AS (SELECT master, count(*) AS n FROM held GROUP BY master)"
            " SELECT h.member, count(*), sum(CASE WHEN n.n = 1 THEN 1 ELSE 0 END)"
            " FROM held h JOIN holders n ON n.master = h.master GROUP BY h.member")}

    def copies_by_master(self) -> Iterator[tuple[str, str, int]]:
        """Yield (master id, member, copies) of every live record's items."""
        for master, member, n in self.db.execute(
                "SELECT c.master_id, i.source, sum(i.count) FROM items i JOIN clusters c ON c.record_id = i.record_id"
                " JOIN records r ON r.id = i.record_id WHERE r.deleted = 0 GROUP BY c.master_id, i.source"):
            yield master, member, int(n)

    def shared_codes(self, column: str) -> Iterator[tuple[str, list[str]]]:
        """Yield the values of an item column (barcode, branch) more than one source uses, with them."""
        assert column in ("barcode", "branch")
        for code, members in self.db.execute(
                f"SELECT {column}, {self.concat('DISTINCT source', ',')} FROM items WHERE coalesce({column}, '') != ''"
                f" GROUP BY {column} HAVING count(DISTINCT source) > 1 ORDER BY {column}"):
            yield code, sorted(members.split(","))

    def member_completeness(self, masters: Sequence[str]) -> Iterator[tuple[str, str, float]]:
        """Yield (master id, record id, completeness) of the masters' records."""
        for part, marks in in_chunks(masters):
            for master, rid, data in self.db.execute(
                    "SELECT c.master_id, c.record_id, d.data FROM clusters c"
                    f" JOIN dedup_records d ON d.id = c.record_id WHERE c.master_id IN ({marks})", part):
                yield master, rid, _completeness(data)


def _completeness(data: str) -> float:
    return float(json.loads(data).get("completeness") or 0)


class _Undo(Exception):
    """Raised inside a transaction to roll it back (a feed with errors changes nothing)."""
