"""Deduplication's tables: extracted records, blocking keys, match edges, near misses,
clusters, master ids, manual decisions and their log, and the masters the index must write
again; the SQL of ``unioncat.dedup`` and ``unioncat.index.build``, for both back ends.

A full run builds the tables in ``STAGED`` beside the ``LIVE`` ones and swaps them in with one
rename each; methods that a run uses on either take the ``Tables`` it works in.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from unioncat.models import now
from unioncat.store.base import StoreCore, in_chunks
from unioncat.store.schema import DEDUP_TABLES

# An extracted record as stored: id, source, dedup data (JSON), blocking keys, year, edition.
Extracted = tuple[str, str, str, list[str], int | None, int | None]
MemberRow = tuple[str, str, bytes, str, str, str | None, bytes, str]  # see DedupStore.master_members
CHUNK = 1000  # records per short write transaction


@dataclass(frozen=True)
class Tables:
    """The tables a run works in: the live ones, or a full run's staging copies."""

    records: str = "dedup_records"
    keys: str = "dedup_keys"
    edges: str = "dedup_edges"
    clusters: str = "clusters"
    near: str = "dedup_near"


LIVE = Tables()
STAGED = Tables("dedup_records_new", "dedup_keys_new", "dedup_edges_new", "clusters_new", "dedup_near_new")
_ROLES = {"records": "dedup_records", "keys": "dedup_keys", "edges": "dedup_edges", "clusters": "clusters",
          "near": "dedup_near"}
# The indexes a full run adds to its staging tables once written: name -> columns.  A block is read
# from the keys' index alone (key, id, year, edition).
_INDEXES = {"keys": {"block": "key, id, year, edition", "id": "id"}, "edges": {"b": "b"},
            "clusters": {"master_id": "master_id"}, "near": {"b": "b"}}


class DedupStore(StoreCore):
    """Deduplication's tables."""

    types: Mapping[str, str] = {}  # the back end's column types (schema placeholders)
    _pairs = ""  # the candidate pairs' temporary table (candidates_begin)

    # a full run's staging tables -----------------------------------------------------------
    def dedup_stage(self) -> None:
        """Create empty staging tables (a previous interrupted run's are dropped)."""
        with self.write():
            for role, live in _ROLES.items():
                table = getattr(STAGED, role)
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
                self.db.execute(f"CREATE TABLE {table} {DEDUP_TABLES[live].format(**self.types)}")

    def dedup_index_staged(self, roles: tuple[str, ...]) -> None:
        """Index staging tables once they are written (cheaper than indexing as we go).
        Index names carry a generation: they keep their names when the table is renamed."""
        generation = time.time_ns()
        for role in roles:
            table = getattr(STAGED, role)
            with self.write():
                for name, columns in _INDEXES[role].items():
                    self.db.execute(f"CREATE INDEX {role}_{name}_{generation} ON {table}({columns})")

    def dedup_swap(self, state: str, checkpoint: dict[str, Any]) -> None:
        """Put the staging tables in place of the live ones in one short transaction (with the
        run's checkpoint), every master before or after marked for the index."""
        with self.write():
            self.db.execute("INSERT INTO index_dirty(master_id) SELECT master_id FROM clusters UNION"
                            f" SELECT master_id FROM {STAGED.clusters} WHERE true ON CONFLICT DO NOTHING")
            self.db.execute(f"INSERT INTO master_ids(master_id) SELECT DISTINCT master_id FROM {STAGED.clusters}"
                            " WHERE true ORDER BY master_id ON CONFLICT DO NOTHING")
            for role in _ROLES:
                live, staged = getattr(LIVE, role), getattr(STAGED, role)
                self.db.execute(f"DROP TABLE IF EXISTS {live}_old")
                self.db.execute(f"ALTER TABLE {live} RENAME TO {live}_old")
                self.db.execute(f"ALTER TABLE {staged} RENAME TO {live}")
                self.renamed(staged, live)
            self.save_checkpoint(state, checkpoint)
        for role in _ROLES:  # freeing the old pages is a transaction of its own
            with self.write():
                self.db.execute(f"DROP TABLE IF EXISTS {getattr(LIVE, role)}_old")

    def _insert(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write rows a batch per short transaction."""
        for i in range(0, len(rows), 20 * CHUNK):
            with self.write():
                self.db.executemany(sql, rows[i:i + 20 * CHUNK])

    def dedup_add_edges(self, t: Tables, edges: Sequence[tuple[str, str, float]],
                        near: Sequence[tuple[str, str, float, float, str]]) -> None:
        """Store match edges (a, b, score) and near misses (a, b, score, title, why)."""
        self._insert(f"INSERT INTO {t.edges}(a, b, score) VALUES (?,?,?) ON CONFLICT (a, b)"
                     " DO UPDATE SET score=excluded.score", edges)
        self._insert(f"INSERT INTO {t.near}(a, b, score, title, why) VALUES (?,?,?,?,?) ON CONFLICT (a, b)"
                     " DO UPDATE SET score=excluded.score, title=excluded.title, why=excluded.why", near)

    def dedup_stage_clusters(self, rows: Sequence[tuple[str, str]]) -> None:
        """Write a full run's clusters (record id, master id) into the staging table."""
        self._insert(f"INSERT INTO {STAGED.clusters}(record_id, master_id) VALUES (?,?)", rows)

    # extraction ----------------------------------------------------------------------------
    def dedup_data(self, t: Tables, rid: str) -> str | None:
        """Return a record's extracted dedup data (JSON), or None if it is not a live record."""
        row = self.db.execute(f"SELECT data FROM {t.records} WHERE id=?", (rid,)).fetchone()
        return None if row is None else str(row[0])

    def extract_spans(self, since: str | None, size: int) -> tuple[int, list[tuple[int, int]]]:
        """Return how many live records changed ``since`` (all without it) and the row-number
        ranges of ``size`` to read them in."""
        sql = "SELECT count(*) FROM records WHERE deleted=0"
        args: tuple[str, ...] = ()
        if since:
            sql, args = sql + " AND updated > ?", (since,)
        total = int(self.db.execute(sql, args).fetchone()[0])
        low, high = self.db.execute("SELECT min(rid), max(rid) FROM records").fetchone()
        return total, [(lo, lo + size - 1) for lo in range(low or 0, (high or -1) + 1, size)]

    def extract_rows(self, span: tuple[int, int], since: str | None) -> Iterator[tuple[str, str, bytes, str, str]]:
        """Yield (id, source, raw, syntax, charset) of the live records in a row-number range."""
        sql = ("SELECT id, source, raw, syntax, charset FROM records WHERE rid BETWEEN ? AND ?"
               " AND deleted=0" + (" AND updated > ?" if since else "") + " ORDER BY id")
        for rid, source, raw, syntax, charset in self.db.execute(sql, (*span, since) if since else span):
            yield rid, source, bytes(raw), syntax, charset

    def dedup_add_records(self, t: Tables, chunk: Sequence[Extracted], replace: bool) -> None:
        """Store extracted records (id, source, data, blocking keys, year, edition) in one
        transaction; with ``replace``, what was kept of them before (their keys, edges, near
        misses) goes first."""
        with self.write():
            if replace:
                self._forget(t, [r[0] for r in chunk])
            self.db.executemany(f"INSERT INTO {t.records}(id, source, data) VALUES (?,?,?) ON CONFLICT (id)"
                                " DO UPDATE SET source=excluded.source, data=excluded.data",
                                [(r[0], r[1], r[2]) for r in chunk])
            self.append_rows(t.keys, ("key", "id", "year", "edition"),
                             [(key, r[0], r[4], r[5]) for r in chunk for key in r[3]])

    def _forget(self, t: Tables, rids: Iterable[str]) -> None:
        # A statement a table for each few hundred records, not four a record (each a round trip
        # to a database server).
        for part, marks in in_chunks(rids):
            self.db.execute(f"DELETE FROM {t.records} WHERE id IN ({marks})", part)
            self.db.execute(f"DELETE FROM {t.keys} WHERE id IN ({marks})", part)
            self.db.execute(f"DELETE FROM {t.edges} WHERE a IN ({marks}) OR b IN ({marks})", part + part)
            self.db.execute(f"DELETE FROM {t.near} WHERE a IN ({marks}) OR b IN ({marks})", part + part)

    def dedup_gone(self, since: str) -> set[str]:
        """Return the clustered records deleted (or gone) since a run, and forget their dedup
        data now (idempotent; their clusters go in the run's final transaction)."""
        gone = {r[0] for r in self.db.execute(
            "SELECT c.record_id FROM clusters c LEFT JOIN records r ON r.id = c.record_id"
            " WHERE r.id IS NULL OR (r.deleted = 1 AND r.updated > ?)", (since,))}
        ordered = sorted(gone)
        for i in range(0, len(ordered), CHUNK):
            with self.write():
                self._forget(LIVE, ordered[i:i + CHUNK])
        return gone

    # blocks and candidate pairs ----------------------------------------------------------------
    def block_rows(self, t: Tables, dirty: Iterable[str] | None,
                   page: int = 50_000) -> Iterator[tuple[str, list[tuple[str, int | None, int | None]]]]:
        """Yield every blocking key two or more records share, in key order, with its records
        as (id, year, edition); with ``dirty``, only the keys of those records.  Read ``page``
        rows at a time (memory stays flat however big the store); a key with more records than
        a page is yielded with the first ``page`` of them (so a page must hold more records
        than any block the caller would use)."""
        source = t.keys
        if dirty is not None:
            keys = self.temp_table("dirty_keys", "key TEXT PRIMARY KEY")
            for part, _ in in_chunks(dirty):
                with self.write():  # a temporary table: takes no lock others wait on
                    self.db.executemany(f"INSERT INTO {keys} SELECT key FROM {t.keys} WHERE id=?"
                                        " ON CONFLICT DO NOTHING", ((rid,) for rid in part))
            source = f"{t.keys} k JOIN {keys} d ON d.key = k.key"
        prefix = "k." if dirty is not None else ""
        sql = (f"SELECT {prefix}key, {prefix}id, {prefix}year, {prefix}edition FROM {source}"
               f" WHERE {prefix}key {{op}} ? ORDER BY {prefix}key, {prefix}id LIMIT {page}")
        after, op = "", ">"
        while True:
            rows = self.db.execute(sql.format(op=op), (after,)).fetchall()
            groups: list[tuple[str, list[tuple[str, int | None, int | None]]]] = []
            for key, rid, year, edition in rows:
                if not groups or groups[-1][0] != key:
                    groups.append((key, []))
                groups[-1][1].append((rid, year, edition))
            if len(rows) == page and len(groups) > 1:
                after, op = groups.pop()[0], ">="  # the last key may go on: read it again whole
            elif rows:
                after, op = groups[-1][0], ">"
            yield from ((key, ids) for key, ids in groups if len(ids) > 1)
            if len(rows) < page:
                return

    def candidates_begin(self) -> None:
        """Start an empty set of candidate pairs (a temporary table: the store sorts and
        de-duplicates them, on disk when they are many)."""
        self._pairs = self.temp_table("dedup_pairs", "a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b)")

    def candidates_add(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Add candidate pairs (a < b); a pair added twice is kept once."""
        with self.write():
            self.db.executemany(f"INSERT INTO {self._pairs} (a, b) VALUES (?,?) ON CONFLICT DO NOTHING", pairs)

    def candidates_count(self) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {self._pairs}").fetchone()[0])

    def candidates(self, page: int = 20_000) -> Iterator[list[tuple[str, str]]]:
        """Yield the candidate pairs in (a, b) order, a page at a time."""
        yield from self._keyset(f"SELECT a, b FROM {self._pairs} WHERE (a, b) > (?, ?) ORDER BY a, b", ("", ""), page)

    def _keyset(self, sql: str, start: tuple[str, ...], page: int) -> Iterator[list[Any]]:
        """Yield the rows of ``sql`` a page at a time: its WHERE compares its first columns, as
        many as ``start`` has, with parameters (``start`` first, then the last row read), and it
        is ordered by them."""
        after = start
        while True:
            rows = self.db.execute(f"{sql} LIMIT {page}", after).fetchall()
            if rows:
                yield rows
                after = tuple(rows[-1][:len(start)])
            if len(rows) < page:
                return

    def dedup_data_many(self, t: Tables, rids: Iterable[str]) -> dict[str, str]:
        """Return record id -> extracted dedup data (JSON) of the live records among rids."""
        out: dict[str, str] = {}
        for part, marks in in_chunks(rids):
            out.update(self.db.execute(f"SELECT id, data FROM {t.records} WHERE id IN ({marks})", part))
        return out

    # clustering ----------------------------------------------------------------------------
    def neighbours(self, t: Tables, rid: str) -> list[tuple[str, float]]:
        """Return a record's match edges (other record, score), a manual merge scoring 1000."""
        rows = self.db.execute(f"SELECT b, score FROM {t.edges} WHERE a=? UNION ALL"
                               f" SELECT a, score FROM {t.edges} WHERE b=?", (rid, rid)).fetchall()
        forced = self.db.execute("SELECT b FROM dedup_overrides WHERE kind='merge' AND a=? UNION"
                                 " SELECT a FROM dedup_overrides WHERE kind='merge' AND b=?", (rid, rid))
        return [(r[0], r[1]) for r in rows] + [(r[0], 1000.0) for r in forced]

    def neighbours_many(self, t: Tables, rids: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """Return :meth:`neighbours` of many records, a query for every 500 of them each way."""
        out: dict[str, list[tuple[str, float]]] = {rid: [] for rid in rids}
        for part, marks in in_chunks(rids):
            for x, y, score in self.db.execute(
                    f"SELECT a, b, score FROM {t.edges} WHERE a IN ({marks}) UNION ALL"
                    f" SELECT b, a, score FROM {t.edges} WHERE b IN ({marks}) UNION ALL"
                    f" SELECT a, b, 1000.0 FROM dedup_overrides WHERE kind='merge' AND a IN ({marks}) UNION ALL"
                    f" SELECT b, a, 1000.0 FROM dedup_overrides WHERE kind='merge' AND b IN ({marks})",
                    part * 4):
                out[x].append((y, score))
        return out

    def all_edges(self, t: Tables, page: int = 50_000) -> Iterator[tuple[str, str]]:
        """Yield every match edge (a, b), read a page at a time."""
        for rows in self._keyset(f"SELECT a, b FROM {t.edges} WHERE (a, b) > (?, ?) ORDER BY a, b", ("", ""), page):
            yield from rows

    def records_and_masters(self, t: Tables, page: int = 50_000) -> Iterator[tuple[str, str | None]]:
        """Yield (id, master id before this run or None) of every extracted record, in id order,
        read a page at a time."""
        for rows in self._keyset(f"SELECT r.id, c.master_id FROM {t.records} r LEFT JOIN clusters c"
                                 " ON c.record_id = r.id WHERE r.id > ? ORDER BY r.id", ("",), page):
            yield from rows

    def dedup_live_among(self, t: Tables, rids: Iterable[str]) -> set[str]:
        """Return the ids among rids of extracted (live) records."""
        out: set[str] = set()
        for part, marks in in_chunks(rids):
            out.update(r[0] for r in self.db.execute(f"SELECT id FROM {t.records} WHERE id IN ({marks})", part))
        return out

    def is_dedup_record(self, rid: str, t: Tables = LIVE) -> bool:
        return self.db.execute(f"SELECT 1 FROM {t.records} WHERE id=?", (rid,)).fetchone() is not None

    def overrides(self, kind: str) -> set[tuple[str, str]]:
        """Return the manual decisions of a kind (split, merge, apart) as (a, b) pairs."""
        return {(a, b) for a, b in self.db.execute("SELECT a, b FROM dedup_overrides WHERE kind=?", (kind,))}

    def master_of(self, rid: str) -> str | None:
        row = self.db.execute("SELECT master_id FROM clusters WHERE record_id=?", (rid,)).fetchone()
        return None if row is None else str(row[0])

    def masters_of(self, rids: Iterable[str] | None = None) -> dict[str, str]:
        """Return record id -> master id, of the given records (of every record without)."""
        if rids is None:
            return dict(self.db.execute("SELECT record_id, master_id FROM clusters").fetchall())
        out: dict[str, str] = {}
        for part, marks in in_chunks(rids):
            out.update(self.db.execute(f"SELECT record_id, master_id FROM clusters WHERE record_id IN ({marks})",
                                       part).fetchall())
        return out

    def records_of_masters(self, masters: Iterable[str]) -> list[str]:
        """Return the ids of the records of the given masters."""
        out: list[str] = []
        for part, marks in in_chunks(masters):
            out += [r[0] for r in self.db.execute(f"SELECT record_id FROM clusters WHERE master_id IN ({marks})", part)]
        return out

    def cluster_record_ids(self, master: str) -> list[str]:
        """Return the ids of a master's records."""
        return [r[0] for r in self.db.execute("SELECT record_id FROM clusters WHERE master_id=? ORDER BY record_id",
                                              (master,))]

    def master_ages(self, masters: Iterable[str]) -> dict[str, int]:
        """Return the sequence number (lower = older) of known master ids."""
        out: dict[str, int] = {}
        for part, marks in in_chunks(sorted(masters)):
            out.update(self.db.execute(f"SELECT master_id, seq FROM master_ids WHERE master_id IN ({marks})",
                                       part).fetchall())
        return out

    def apply_clusters(self, rows: Sequence[tuple[str, str]], masters: set[str], gone: set[str]) -> None:
        """Write an incremental run's cluster changes (inside the caller's transaction): the
        records gone leave their clusters, the rows are (record id, master id), and every
        master touched is marked for the index."""
        self.db.executemany("INSERT INTO index_dirty(master_id) SELECT master_id FROM clusters WHERE record_id=?"
                            " ON CONFLICT DO NOTHING", ((rid,) for rid in gone))
        self.db.executemany("DELETE FROM clusters WHERE record_id=?", ((rid,) for rid in gone))
        self.db.executemany("INSERT INTO clusters(record_id, master_id) VALUES (?,?) ON CONFLICT (record_id)"
                            " DO UPDATE SET master_id=excluded.master_id", rows)
        self.db.executemany("INSERT INTO index_dirty(master_id) VALUES (?) ON CONFLICT DO NOTHING",
                            ((m,) for m in sorted(masters)))
        self.db.executemany("INSERT INTO master_ids(master_id) VALUES (?) ON CONFLICT DO NOTHING",
                            ((m,) for m in sorted({m for _, m in rows})))

    def cluster_counts(self) -> tuple[int, int, list[int]]:
        """Return (clustered records, masters, the size of every master of two or more)."""
        records, masters = self.db.execute("SELECT count(*), count(DISTINCT master_id) FROM clusters").fetchone()
        big = [int(n) for (n,) in self.db.execute("SELECT count(*) FROM clusters GROUP BY master_id"
                                                  " HAVING count(*) > 1")]
        return int(records), int(masters), big

    def has_clusters(self) -> bool:
        return self.db.execute("SELECT 1 FROM clusters LIMIT 1").fetchone() is not None

    # manual decisions ----------------------------------------------------------------------
    def set_override(self, kind: str, a: str, b: str) -> None:
        """Record a manual split (``a``), merge or keeping apart (``a`` < ``b``), undoing what it
        contradicts (inside the caller's transaction)."""
        if kind == "split":
            self.db.execute("DELETE FROM dedup_overrides WHERE kind='merge' AND (a=? OR b=?)", (a, a))
        else:
            if kind == "merge":
                self.db.execute("DELETE FROM dedup_overrides WHERE kind='split' AND a IN (?, ?)", (a, b))
            # a merge and a keeping apart of one pair undo each other
            self.db.execute("DELETE FROM dedup_overrides WHERE kind=? AND a=? AND b=?",
                            ("apart" if kind == "merge" else "merge", a, b))
        self.db.execute("INSERT INTO dedup_overrides(kind, a, b, created) VALUES (?,?,?,?) ON CONFLICT (kind, a, b)"
                        " DO UPDATE SET created=excluded.created", (kind, a, b, now()))

    def overrides_touching(self, a: str, b: str) -> list[tuple[str, str, str]]:
        """Return the manual decisions naming either record: (kind, a, b)."""
        return [(k, x, y) for k, x, y in self.db.execute(
            "SELECT kind, a, b FROM dedup_overrides WHERE a IN (?, ?) OR b IN (?, ?)", (a, b, a, b))]

    def log_decision(self, who: str, action: str, a: str, b: str, masters: str) -> None:
        with self.write():
            self.db.execute("INSERT INTO dedup_log(at, who, action, a, b, masters) VALUES (?,?,?,?,?,?)",
                            (now(), who, action, a, b, masters))

    def decision_log(self, limit: int) -> list[dict[str, Any]]:
        """Return the audit log of manual dedup decisions, newest first."""
        return [{"at": r[0], "who": r[1], "action": r[2], "a": r[3], "b": r[4], "masters": r[5]}
                for r in self.db.execute("SELECT at, who, action, a, b, masters FROM dedup_log ORDER BY id DESC"
                                         " LIMIT ?", (limit,))]

    def review_pairs(self, limit: int) -> tuple[set[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
        """Return the pairs decided by hand, the matches and unvetoed non-matches closest to the
        threshold (score 90), and the vetoed pairs in two masters with the most alike titles."""
        decided = {(x, y) for x, y in self.db.execute("SELECT a, b FROM dedup_overrides WHERE b != ''")}
        close = [(a, b) for a, b in self.db.execute(
            "SELECT a, b FROM (SELECT a, b, score FROM dedup_edges WHERE score < 100 UNION ALL"
            " SELECT a, b, score FROM dedup_near WHERE score > 0) AS pairs ORDER BY abs(score - 90), a, b LIMIT ?",
            (limit,))]
        vetoed = [(a, b) for a, b in self.db.execute(  # a veto scores 0
            "SELECT n.a, n.b FROM dedup_near n JOIN clusters x ON x.record_id = n.a JOIN clusters y"
            " ON y.record_id = n.b WHERE n.score = 0 AND x.master_id != y.master_id"
            " ORDER BY n.title DESC, n.a, n.b LIMIT ?", (limit,))]
        return decided, close, vetoed

    # clusters out of the store -------------------------------------------------------------
    def cluster_rows(self) -> Iterator[tuple[str, str]]:
        """Yield (record id, master id) of every live clustered record, by master."""
        for rid, master in self.db.execute(
                "SELECT c.record_id, c.master_id FROM clusters c JOIN records r ON r.id = c.record_id"
                " WHERE r.deleted = 0 ORDER BY c.master_id, c.record_id"):
            yield rid, master

    def cluster_data(self, master: str) -> list[tuple[str, str | None]]:
        """Return (record id, dedup data) of a master's records."""
        return [(r, d) for r, d in self.db.execute(
            "SELECT c.record_id, d.data FROM clusters c JOIN dedup_records d ON d.id = c.record_id"
            " WHERE c.master_id=?", (master,))]

    def records_data(self, rids: Iterable[str]) -> dict[str, str | None]:
        """Return record id -> dedup data (None if not extracted) of the stored records among rids."""
        out: dict[str, str | None] = {}
        for part, marks in in_chunks(rids):
            out.update(self.db.execute(f"SELECT r.id, d.data FROM records r LEFT JOIN dedup_records d ON d.id = r.id"
                                       f" WHERE r.id IN ({marks})", part))
        return out

    # what the index must write ---------------------------------------------------------------
    def index_dirty(self) -> list[str]:
        """Return the masters deduplication changed since the index last wrote them."""
        return [r[0] for r in self.db.execute("SELECT master_id FROM index_dirty ORDER BY master_id")]

    def forget_index_dirty(self, masters: Sequence[str] | None = None) -> None:
        """Forget the masters the index has written (all of them without a list)."""
        with self.write():
            if masters is None:
                self.db.execute("DELETE FROM index_dirty")
            else:
                self.db.executemany("DELETE FROM index_dirty WHERE master_id=?", ((m,) for m in masters))

    def all_masters(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT master_id FROM clusters ORDER BY master_id")]

    def master_members(self, masters: Sequence[str]) -> dict[str, list[MemberRow]]:
        """Return, for each master with live records, its records as (id, source, raw, syntax,
        charset, dedup data or None, content hash, format) in id order: a query for every 500
        masters."""
        out: dict[str, list[MemberRow]] = {}
        for part, marks in in_chunks(masters):
            for master, *row in self.db.execute(
                    "SELECT c.master_id, r.id, r.source, r.raw, r.syntax, r.charset, d.data, r.hash, r.format"
                    " FROM clusters c JOIN records r ON r.id = c.record_id LEFT JOIN dedup_records d ON d.id = r.id"
                    f" WHERE c.master_id IN ({marks}) AND r.deleted=0 ORDER BY c.master_id, r.id", part):
                out.setdefault(master, []).append((row[0], row[1], bytes(row[2]), row[3], row[4], row[5],
                                                   bytes(row[6]), row[7]))
        return out
