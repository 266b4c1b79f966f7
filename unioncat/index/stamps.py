"""When each master record last changed, as downstream harvesters see it (OAI-PMH).

A master's datestamp is the last time its record or its membership changed: its members'
ids and content hashes (holdings in the records included, availability not) make its
signature, and the index run that writes a master with a new signature stamps it now.  A
master that lost its last member, or was merged into another, stays as a deleted record
(persistent) with the time it went.  Sets: ``member:CODE`` for every member holding a copy,
``type:WORD`` for the kind of record (book, serial, map ...).  ``master_sets`` keeps one row
per set and master at its datestamp, so a selective harvest reads one index range.
"""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timezone
from typing import Iterable, NamedTuple

from unioncat.store import Store

CHUNK = 1000  # masters per write transaction: a server never waits long behind the run
TYPE_SETS = {"journal": "serial"}  # format words whose set has the name librarians use


class Published(NamedTuple):
    """One master record as an index run wrote it."""

    master_id: str
    signature: str
    sets: tuple[str, ...]


class Stamp(NamedTuple):
    master_id: str
    stamp: str
    deleted: bool
    sets: tuple[str, ...]


def stamp_now() -> str:
    """Return now at the granularity of OAI-PMH datestamps (seconds, UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(members: Iterable[tuple[str, bytes]]) -> str:
    """Return the signature of a master from its members' (record id, content hash)."""
    digest = hashlib.blake2b(digest_size=12)
    for rid, content in sorted(members):
        digest.update(rid.encode("utf-8") + b"\x1f" + bytes(content) + b"\x1e")
    return digest.hexdigest()


def sets_of(sources: Iterable[str], kind: str) -> tuple[str, ...]:
    """Return the set specs of a master: its holding members and its kind of record."""
    word = TYPE_SETS.get(kind, kind).replace(" ", "-")
    return tuple(sorted(f"member:{s}" for s in set(sources))) + ((f"type:{word}",) if word else ())


def record(store: Store, published: list[Published], gone: list[str], everything: bool = False) -> int:
    """Stamp the masters an index run wrote whose signature or sets changed, and the ones it
    removed (and, after a rebuild, ``everything``: every published master not written);
    return how many datestamps changed."""
    stamp = stamp_now()
    changed = 0
    db = store.db
    for i in range(0, max(len(published), 1), CHUNK):
        with db:
            db.execute("BEGIN IMMEDIATE")
            for master, sig, sets in published[i:i + CHUNK]:
                row = db.execute("SELECT stamp, deleted, signature, sets FROM master_stamps WHERE master_id=?",
                                 (master,)).fetchone()
                joined = " ".join(sets)
                if row and not row[1] and row[2] == sig and row[3] == joined:
                    continue
                _move(db, master, row, stamp, sets)
                db.execute("INSERT OR REPLACE INTO master_stamps(master_id, stamp, deleted, signature, sets)"
                           " VALUES (?,?,0,?,?)", (master, stamp, sig, joined))
                changed += 1
    removed = list(gone)
    if everything:
        written = {p.master_id for p in published}
        removed += [m for (m,) in db.execute("SELECT master_id FROM master_stamps WHERE deleted=0")
                    if m not in written]
    for i in range(0, len(removed), CHUNK):
        with db:
            db.execute("BEGIN IMMEDIATE")
            for master in removed[i:i + CHUNK]:
                row = db.execute("SELECT stamp, deleted, signature, sets FROM master_stamps WHERE master_id=?",
                                 (master,)).fetchone()
                if row is None or row[1]:
                    continue  # never published, or deleted already
                old_sets = tuple(row[3].split())
                _move(db, master, row, stamp, old_sets)  # a deleted record stays in its last sets
                db.execute("UPDATE master_stamps SET stamp=?, deleted=1, signature='' WHERE master_id=?",
                           (stamp, master))
                changed += 1
    return changed


def _move(db: sqlite3.Connection, master: str, row: tuple[str, int, str, str] | None, stamp: str,
          sets: tuple[str, ...]) -> None:
    """Put a master's set rows at its new datestamp (each row found by its primary key)."""
    if row is not None:
        db.executemany("DELETE FROM master_sets WHERE spec=? AND stamp=? AND master_id=?",
                       [(spec, row[0], master) for spec in row[3].split()])
    db.executemany("INSERT OR IGNORE INTO master_sets(spec, stamp, master_id) VALUES (?,?,?)",
                   [(spec, stamp, master) for spec in sets])


def is_empty(store: Store) -> bool:
    return store.db.execute("SELECT 1 FROM master_stamps LIMIT 1").fetchone() is None


# reading ---------------------------------------------------------------------------------------
def earliest(store: Store) -> str | None:
    row = store.db.execute("SELECT min(stamp) FROM master_stamps").fetchone()
    return str(row[0]) if row and row[0] else None


def get(store: Store, master: str) -> Stamp | None:
    row = store.db.execute("SELECT master_id, stamp, deleted, sets FROM master_stamps WHERE master_id=?",
                           (master,)).fetchone()
    return Stamp(row[0], row[1], bool(row[2]), tuple(row[3].split())) if row else None


def _where(since: str, until: str, spec: str | None, after: tuple[str, str] | None) -> tuple[str, list[str]]:
    """Return the FROM and WHERE of a selective listing (rows ``s``: a set's rows, or every
    master's) and its arguments; ``master_sets`` rows carry their master's datestamp."""
    source = "master_sets s" if spec else "master_stamps s"
    clauses, args = (["s.spec = ?"], [spec]) if spec else ([], [])
    # After a page, the row value alone is the lower bound: with ``s.stamp >= ?`` beside it
    # SQLite seeks on the datestamp only and steps over every master of that datestamp that
    # went before (a night stamps most of them alike), so each page of a harvest cost more.
    # A page's last datestamp is within the window, so that bound holds without saying.
    if after is not None:
        clauses.append("(s.stamp, s.master_id) > (?, ?)")
        args += list(after)
    else:
        clauses.append("s.stamp >= ?")
        args.append(since)
    clauses.append("s.stamp <= ?")
    args.append(until)
    return f"FROM {source} WHERE {' AND '.join(clauses)}", args


def page(store: Store, since: str, until: str, spec: str | None, after: tuple[str, str] | None,
         limit: int) -> list[Stamp]:
    """Return up to ``limit`` masters stamped within [since, until] (in ``spec``, if given),
    in datestamp order, after the (datestamp, master id) a previous page ended with."""
    rows = store.db.execute(*page_query(since, until, spec, after, limit))
    return [Stamp(r[0], r[1], bool(r[2]), tuple(r[3].split())) for r in rows]


def page_query(since: str, until: str, spec: str | None, after: tuple[str, str] | None,
               limit: int) -> tuple[str, list[str | int]]:
    """Return the SQL of :func:`page` and its arguments."""
    where, args = _where(since, until, spec, after)
    if spec:  # a set's rows name the master; its deletion and sets are in its own row
        where = where.replace("master_sets s", "master_sets s JOIN master_stamps m ON m.master_id = s.master_id", 1)
    columns = "m.master_id, m.stamp, m.deleted, m.sets" if spec else "s.master_id, s.stamp, s.deleted, s.sets"
    return f"SELECT {columns} {where} ORDER BY s.stamp, s.master_id LIMIT ?", [*args, limit]


def count(store: Store, since: str, until: str, spec: str | None) -> int:
    where, args = _where(since, until, spec, None)
    return int(store.db.execute(f"SELECT count(*) {where}", args).fetchone()[0])


def set_specs(store: Store) -> list[str]:
    """Return every set that has a master (one index seek per set, not a scan of the table)."""
    out: list[str] = []
    row = store.db.execute("SELECT min(spec) FROM master_sets").fetchone()
    while row and row[0]:
        out.append(row[0])
        row = store.db.execute("SELECT min(spec) FROM master_sets WHERE spec > ?", (row[0],)).fetchone()
    return out
