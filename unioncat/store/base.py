"""The record store's one interface, and the SQL both back ends share.

Tables (``unioncat.store.schema``): ``records`` (one row per member record, keyed by the
global id ``{source_id}.{local_id}``), ``rejects`` (what could not be read, with file,
position, byte offset, reason and raw bytes), ``loads`` (one row per import or harvest run),
``checkpoints`` (harvest resume points), and what deduplication, holdings, the index's
datestamps and the staff pages keep (the other modules of this package).

Writes go in batches, one transaction each (``store.batch_size``): a kill -9 loses at most the
open batch, and because records are upserted by id and compared by content hash, running the
same import again finishes the job with no duplicates.

The statements are standard SQL both SQLite (3.35 or later) and PostgreSQL run as written, with
``?`` for parameters; what differs (connecting, column types, the write lock, locking a run,
a few functions) is each back end's module: ``sqlite.py`` and ``postgres.py``.

    with open_store("unioncat.db") as store:
        counts = store.upsert(records, load_id)
"""
from __future__ import annotations

import json
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from unioncat.errors import StoreError
from unioncat.models import Rejected, SourceRecord, StoredRecord, content_hash, now
from unioncat.store.schema import SCHEMA_VERSION

_IN_CHUNK = 500
_RECORD_COLUMNS = ("id, source, local_id, raw, syntax, format, charset, datestamp, deleted, notes,"
                   " first_seen, last_seen, updated, location")
_UNSEEN = "(last_load IS NULL OR last_load < ?)"  # no load since the given one saw the record


class Connection(Protocol):
    """A back end's connection as this package uses it (``?`` parameters, autocommit unless
    a transaction was begun)."""

    def execute(self, sql: str, args: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, rows: Any, /) -> Any: ...
    def close(self) -> None: ...


def in_chunks(values: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """Yield distinct values in parts small enough for one ``IN (...)``, each with its marks."""
    unique = list(dict.fromkeys(values))
    for at in range(0, len(unique), _IN_CHUNK):
        part = unique[at:at + _IN_CHUNK]
        yield part, ",".join("?" * len(part))


def _stored(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(id=row[0], source_id=row[1], local_id=row[2], raw=row[3], syntax=row[4], format=row[5],
                        charset=row[6], datestamp=row[7], deleted=bool(row[8]),
                        notes=tuple((row[9] or "").splitlines()), first_seen=row[10], last_seen=row[11],
                        updated=row[12], location=row[13] or "")


class StoreCore:
    """The record store's core: transactions, records, loads, rejects, checkpoints (the
    other modules of this package add their tables' methods; ``Store`` is all of them)."""

    Error: tuple[type[BaseException], ...] = ()  # the back end's database errors
    location: str  # where the store is, for messages (a URL without its password)
    readonly: bool
    db: Connection  # the back end's connection: for the modules of this package only
    backend: str = ""  # "sqlite" or "postgresql"

    # what each back end provides -------------------------------------------------------
    def begin(self) -> None:
        """Begin a write transaction, taking the store's write lock where it has one."""
        raise NotImplementedError

    def run_lock(self) -> AbstractContextManager[None]:
        """Hold the lock of a whole run (one nightly run at a time); fail at once if another
        process holds it."""
        raise NotImplementedError

    def concat(self, column: str, separator: str) -> str:
        """Return the SQL aggregate joining a column's values with a one-character separator."""
        raise NotImplementedError

    def temp_table(self, name: str, columns: str) -> str:
        """Create (if need be) and empty a temporary table of this connection; return its name."""
        raise NotImplementedError

    def busy(self, exc: BaseException) -> bool:
        """Return True if a database error means another writer holds a lock (try again later)."""
        raise NotImplementedError

    def checked_version(self, version: int) -> int:
        """Return a store's schema version, refusing one from a newer unioncat."""
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.location}: store schema {version} is newer than this unioncat "
                             f"({SCHEMA_VERSION}); upgrade unioncat")
        return version

    def renamed(self, old: str, new: str) -> None:
        """Called after table ``old`` was renamed ``new`` (in the same transaction)."""

    def append_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert rows that cannot conflict with any in the table, inside the caller's
        transaction (PostgreSQL copies them in: many times cheaper than an INSERT a row)."""
        self.db.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                            rows)

    @property
    def path(self) -> str:
        """Where the store is (kept for messages and callers that print it)."""
        return self.location

    # transactions ------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction: committed at the end, rolled back on any exception."""
        self.begin()
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # loads ---------------------------------------------------------------------
    def start_load(self, source: str, kind: str) -> int:
        """Record the start of an import or harvest; return its id."""
        row = self.db.execute("INSERT INTO loads(source, kind, started, status) VALUES (?,?,?,?) RETURNING id",
                              (source, kind, now(), "running")).fetchone()
        return int(row[0])

    def finish_load(self, load_id: int, stats: dict[str, Any], error: str = "",
                    status: str = "") -> None:
        """Record how a load ended: ``ok``, ``failed`` (with the reason) or ``interrupted``."""
        self.db.execute("UPDATE loads SET finished=?, status=?, stats=?, error=? WHERE id=?",
                        (now(), status or ("failed" if error else "ok"), json.dumps(stats),
                         error or None, load_id))

    # records -------------------------------------------------------------------
    def upsert(self, records: Sequence[SourceRecord], load_id: int,
               on_change: Callable[[Any, list[SourceRecord], list[str]], None] | None = None) -> dict[str, int]:
        """Write a batch in one transaction; return counts of new, updated, unchanged,
        deleted (newly marked), repeated (an identical record seen earlier in the same
        load) and renamed (a different record whose id was already used in this load,
        kept as ``ID#2``, ``ID#3`` ...).

        ``on_change(store, changed, gone)`` runs inside the same transaction with the
        records whose content changed and the ids newly marked deleted, so data
        derived from records (holdings) never disagrees with them after a crash."""
        counts = {"new": 0, "updated": 0, "unchanged": 0, "deleted": 0, "repeated": 0,
                  "renamed": 0}
        stamp = now()
        try:
            self.begin()
            existing = self._existing([r.global_id for r in records])
            inserts, updates, touches = [], [], []
            changed: list[SourceRecord] = []
            gone: list[str] = []
            for rec in records:
                if rec.deleted and not rec.raw:
                    outcome, gid = self._tombstone(rec, stamp, load_id)
                    counts[outcome] += 1
                    if outcome == "deleted":
                        gone.append(gid)
                    continue
                digest = rec.hash or content_hash(rec.raw)
                rec, old, outcome = self._claim_id(rec, digest, existing, load_id)
                if outcome:
                    counts[outcome] += 1
                    if outcome == "repeated":
                        continue
                gid = rec.global_id
                row = (rec.source_id, rec.local_id, rec.syntax, rec.format, rec.charset,
                       rec.leader, rec.raw, digest, rec.datestamp, int(rec.deleted),
                       "\n".join(rec.notes) or None, rec.location, rec.protocol_id)
                if old is None:
                    inserts.append((gid, *row, stamp, stamp, stamp, load_id))
                    outcome = "deleted" if rec.deleted else "new"
                elif old[0] != digest or bool(old[1]) != rec.deleted:
                    updates.append((*row, stamp, stamp, load_id, gid))
                    outcome = "deleted" if rec.deleted and not old[1] else "updated"
                else:
                    touches.append((stamp, load_id, gid))
                    outcome = "unchanged"
                counts[outcome] += 1
                if outcome != "unchanged" and rec.deleted:
                    gone.append(gid)
                elif outcome != "unchanged":
                    changed.append(rec)
                existing[gid] = (digest, int(rec.deleted), load_id)
            self.append_rows("records", ("id", "source", "local_id", "syntax", "format", "charset", "leader", "raw",
                                         "hash", "datestamp", "deleted", "notes", "location", "protocol_id",
                                         "first_seen", "last_seen", "updated", "last_load"), inserts)
            self.db.executemany(
                "UPDATE records SET source=?, local_id=?, syntax=?, format=?, charset=?, leader=?,"
                " raw=?, hash=?, datestamp=?, deleted=?, notes=?, location=?, protocol_id=?,"
                " last_seen=?,"
                " updated=?, last_load=? WHERE id=?", updates)
            self.db.executemany("UPDATE records SET last_seen=?, last_load=? WHERE id=?", touches)
            if on_change is not None and (changed or gone):
                on_change(self, changed, gone)
            self.db.execute("COMMIT")
        except self.Error as exc:
            self._rollback()
            raise StoreError(f"{self.path}: writing records failed: {exc}") from exc
        except BaseException:
            # Anything else (a holdings hook's bug, Ctrl-C): nothing of the batch stays.
            self._rollback()
            raise
        return counts

    def _tombstone(self, rec: SourceRecord, stamp: str, load_id: int) -> tuple[str, str]:
        """Mark deleted a record known only by its protocol id (an OAI deleted header)."""
        row = self.db.execute(
            "SELECT id, deleted FROM records WHERE source=? AND (protocol_id=? OR id=?)",
            (rec.source_id, rec.protocol_id, rec.global_id)).fetchone()
        if row is None:
            return "unchanged", ""  # a deletion of a record we never had
        if row[1]:
            self.db.execute("UPDATE records SET last_seen=?, last_load=? WHERE id=?",
                            (stamp, load_id, row[0]))
            return "unchanged", row[0]
        self.db.execute("UPDATE records SET deleted=1, datestamp=coalesce(?, datestamp),"
                        " last_seen=?, updated=?, last_load=? WHERE id=?",
                        (rec.datestamp, stamp, stamp, load_id, row[0]))
        return "deleted", row[0]

    def last_load_id(self, source: str) -> int:
        """Return the id of a source's newest load (the running one, inside a load)."""
        row = self.db.execute("SELECT max(id) FROM loads WHERE source=?", (source,)).fetchone()
        return int(row[0] or 0)

    def count_unseen(self, source: str, since_load: int) -> int:
        """Count a source's live records that no load since ``since_load`` has seen."""
        return int(self.db.execute(f"SELECT count(*) FROM records WHERE source=? AND deleted=0 AND {_UNSEEN}",
                                   (source, since_load)).fetchone()[0])

    def known_records(self, source: str) -> dict[bytes, str]:
        """Return content hash -> local id for a source's live records that an unchanged copy
        would leave as they are (an import recognises these by their bytes, unparsed).  Not
        those with notes (parsing says them again) or renamed ones (``ID#2``: which id a
        copy gets depends on what came before it in the load)."""
        return {bytes(digest): local_id for digest, local_id in self.db.execute(
            "SELECT hash, local_id FROM records WHERE source=? AND deleted=0 AND notes IS NULL"
            " AND local_id NOT LIKE ?", (source, "%#%"))}

    def next_load_id(self) -> int:
        """Return the id the next load will get (runs are serialised by the run lock)."""
        return int(self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM loads").fetchone()[0])

    def mark_unseen_deleted(self, source: str, since_load: int) -> int:
        """Mark deleted every live record of a source no load since ``since_load`` has seen."""
        return self._mark_deleted(source, _UNSEEN, (since_load,))

    def mark_unlisted_deleted(self, source: str, listed: set[str]) -> int:
        """Mark deleted every live record of a source whose protocol id is not listed."""
        table = self.temp_table("listed", "pid TEXT PRIMARY KEY")
        self.db.executemany(f"INSERT INTO {table} VALUES (?) ON CONFLICT DO NOTHING", ((p,) for p in listed))
        return self._mark_deleted(source, "protocol_id IS NOT NULL AND protocol_id NOT IN"
                                  f" (SELECT pid FROM {table})", ())

    def _mark_deleted(self, source: str, condition: str, args: tuple[object, ...]) -> int:
        stamp = now()
        with self.write():
            cur = self.db.execute(f"UPDATE records SET deleted=1, updated=? WHERE source=? AND"
                                  f" deleted=0 AND {condition}", (stamp, source, *args))
            self.db.execute("DELETE FROM items WHERE origin IN (SELECT id FROM records WHERE"
                            " source=? AND deleted=1 AND updated=?)", (source, stamp))
        return int(cur.rowcount)

    def _claim_id(self, rec: SourceRecord, digest: bytes,
                  existing: dict[str, tuple[bytes, int, int | None]],
                  load_id: int) -> tuple[SourceRecord, tuple[bytes, int, int | None] | None, str]:
        """Give a record an id no other record of this load holds.

        Aggregated exports carry one 001 on records from different systems
        (marc4j's pride-and-prejudice file: 20 of 383), so a later, different record
        with a used id is kept as ``ID#2``, ``ID#3`` ... in file order, rather than
        overwriting the first; an identical one is the same record seen twice."""
        gid = rec.global_id
        old = existing.get(gid)
        n = 1
        while old is not None and old[2] == load_id:
            if old[0] == digest:
                return rec, old, "repeated"
            n += 1
            gid = f"{rec.global_id}#{n}"
            if gid not in existing:
                existing.update(self._existing([gid]))
            old = existing.get(gid)
        if n == 1:
            return rec, old, ""
        return replace(rec, local_id=f"{rec.local_id}#{n}"), old, "renamed"

    def _existing(self, ids: list[str]) -> dict[str, tuple[bytes, int, int | None]]:
        found: dict[str, tuple[bytes, int, int | None]] = {}
        for part, marks in in_chunks(ids):
            for gid, digest, deleted, last in self.db.execute(
                    f"SELECT id, hash, deleted, last_load FROM records WHERE id IN ({marks})", part):
                found[gid] = (digest, deleted, last)
        return found

    def _rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        except self.Error:
            pass

    def get(self, gid: str) -> StoredRecord | None:
        """Return one stored record by global id."""
        row = self.db.execute(f"SELECT {_RECORD_COLUMNS} FROM records WHERE id=?", (gid,)).fetchone()
        return None if row is None else _stored(row)

    def get_many(self, gids: Iterable[str]) -> dict[str, StoredRecord]:
        """Return the stored records of many global ids (those there are), by id: a query for
        every 500 ids rather than one each."""
        out: dict[str, StoredRecord] = {}
        for part, marks in in_chunks(gids):
            out.update((row[0], _stored(row))
                       for row in self.db.execute(f"SELECT {_RECORD_COLUMNS} FROM records WHERE id IN ({marks})", part))
        return out

    def count(self, source: str | None = None, *, deleted: bool | None = None) -> int:
        """Count records, optionally of one source and by deleted flag."""
        sql = "SELECT count(*) FROM records WHERE 1=1"
        args: list[object] = []
        if source is not None:
            sql += " AND source=?"
            args.append(source)
        if deleted is not None:
            sql += " AND deleted=?"
            args.append(int(deleted))
        return int(self.db.execute(sql, args).fetchone()[0])

    def ids(self, source: str) -> Iterator[str]:
        """Yield the global ids of one source's records in id order."""
        for (gid,) in self.db.execute("SELECT id FROM records WHERE source=? ORDER BY id", (source,)):
            yield gid

    # rejects -------------------------------------------------------------------
    def clear_rejects(self, source: str, location: str) -> None:
        """Forget the rejects of one file before it is read again."""
        self.db.execute("DELETE FROM rejects WHERE source=? AND location=?", (source, location))

    def add_rejects(self, rejects: Iterable[Rejected], load_id: int) -> None:
        """Store rejects with their location, position, offset, reason and raw bytes."""
        stamp = now()
        try:
            self.db.executemany(
                "INSERT INTO rejects(source, location, position, byte_offset, line, reason, raw,"
                " load_id, created) VALUES (?,?,?,?,?,?,?,?,?)",
                [(r.source_id, r.location, r.position, r.offset, r.line, r.reason, r.raw, load_id,
                  stamp) for r in rejects])
        except self.Error as exc:
            raise StoreError(f"{self.path}: writing rejects failed: {exc}") from exc

    def rejects(self, source: str) -> list[dict[str, Any]]:
        """Return one source's rejects, oldest file first, in record order."""
        rows = self.db.execute(
            "SELECT location, position, byte_offset, line, reason, length(raw), created, id FROM rejects"
            " WHERE source=? ORDER BY location, position", (source,)).fetchall()
        return [{"source": source, "location": r[0], "position": r[1], "byte_offset": r[2],
                 "line": r[3], "reason": r[4], "bytes": r[5], "created": r[6], "id": r[7]} for r in rows]

    def reject_raw(self, reject_id: int) -> bytes | None:
        """Return the bytes kept of one rejected record, or None."""
        row = self.db.execute("SELECT raw FROM rejects WHERE id=?", (reject_id,)).fetchone()
        return bytes(row[0]) if row and row[0] else None

    def freshness(self, source: str) -> dict[str, str | None]:
        """Return when a source's items last changed through its records, and through a status
        feed or a live refresh."""
        items = self.db.execute("SELECT max(updated) FROM items WHERE source=?", (source,)).fetchone()[0]
        fed = self.db.execute("SELECT max(a.updated) FROM availability a JOIN items i ON i.item_id = a.item_id"
                              " WHERE i.source=?", (source,)).fetchone()[0]
        return {"items_updated": items, "availability_updated": fed}

    def last_run(self) -> dict[str, Any] | None:
        """Return the last ``unioncat run``: started, finished, status, error and its stages."""
        row = self.db.execute("SELECT started, finished, status, stats, error FROM loads WHERE kind='run'"
                              " ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        stats = json.loads(row[3]) if row[3] else {}
        return {"started": row[0], "finished": row[1], "status": row[2], "error": row[4],
                "stages": stats.get("stages", []), "full": stats.get("full", False)}

    # status --------------------------------------------------------------------
    def source_summary(self, source: str) -> dict[str, Any]:
        """Return records, deleted, rejects and the last load of one source."""
        records, deleted = self.db.execute(
            "SELECT count(*), coalesce(sum(deleted), 0) FROM records WHERE source=?",
            (source,)).fetchone()
        rejects = self.db.execute("SELECT count(*) FROM rejects WHERE source=?", (source,)).fetchone()[0]
        last = self.db.execute(
            "SELECT kind, started, finished, status, stats, error FROM loads WHERE source=?"
            " ORDER BY id DESC LIMIT 1", (source,)).fetchone()
        last_load = last_success = last_failure = None
        ok = self.db.execute("SELECT kind, finished FROM loads WHERE source=? AND status='ok'"
                             " ORDER BY id DESC LIMIT 1", (source,)).fetchone()
        if ok:
            last_success = {"kind": ok[0], "finished": ok[1]}
        bad = self.db.execute("SELECT kind, finished, error FROM loads WHERE source=? AND"
                              " status IN ('failed', 'interrupted') ORDER BY id DESC LIMIT 1",
                              (source,)).fetchone()
        if bad:
            last_failure = {"kind": bad[0], "finished": bad[1], "error": bad[2]}
        if last:
            last_load = {"kind": last[0], "started": last[1], "finished": last[2],
                         "status": last[3], "stats": json.loads(last[4]) if last[4] else None,
                         "error": last[5]}
        return {"records": int(records), "deleted": int(deleted), "active": int(records - deleted),
                "rejects": int(rejects), "last_load": last_load, "last_success": last_success,
                "last_failure": last_failure}

    # checkpoints ---------------------------------------------------------------
    def checkpoint(self, source: str) -> dict[str, Any] | None:
        """Return a source's saved harvest resume point, if any."""
        row = self.db.execute("SELECT state FROM checkpoints WHERE source=?", (source,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_checkpoint(self, source: str, state: dict[str, Any] | None) -> None:
        """Save (or, with None, clear) a source's harvest resume point."""
        if state is None:
            self.db.execute("DELETE FROM checkpoints WHERE source=?", (source,))
        else:
            self.db.execute("INSERT INTO checkpoints(source, state, updated) VALUES (?,?,?) ON CONFLICT (source)"
                            " DO UPDATE SET state=excluded.state, updated=excluded.updated",
                            (source, json.dumps(state), now()))
