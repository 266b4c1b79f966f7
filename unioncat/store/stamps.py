"""Masters' OAI-PMH datestamps and sets (``master_stamps``, ``master_sets``): the SQL of
``unioncat.index.stamps``, for both back ends."""
from __future__ import annotations

from itertools import islice
from typing import Iterable, NamedTuple

from unioncat.store.base import StoreCore, in_chunks

CHUNK = 1000  # masters per write transaction: a server never waits long behind the run


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


class StampStore(StoreCore):
    """Datestamps and sets."""

    def stamp_published(self, published: Iterable[Published], gone: list[str], everything: bool, stamp: str) -> int:
        """Give ``stamp`` to the masters written whose signature or sets changed, and to the ones
        removed (with ``everything``, after a rebuild: every published master that is no longer
        a master); return how many.  ``published`` is read once, a chunk at a time."""
        changed = 0
        rows = iter(published)
        while chunk := list(islice(rows, CHUNK)):
            # a master written twice (never, today) ends as its last writing left it
            chunk = list({item[0]: item for item in chunk}.values())
            with self.write():
                # A chunk's rows read in one query each 500, not one a master (a round trip each
                # to a database server: a seventh of a PostgreSQL rebuild).
                known = self._stamp_rows([master for master, _, _ in chunk])
                moves: list[tuple[str, tuple[str, int, str, str] | None, tuple[str, ...]]] = []
                stamped: list[tuple[str, str, str, str]] = []
                for master, sig, sets in chunk:
                    row = known.get(master)
                    joined = " ".join(sets)
                    if row and not row[1] and row[2] == sig and row[3] == joined:
                        continue
                    moves.append((master, row, tuple(sets)))
                    stamped.append((master, stamp, sig, joined))
                self._move(moves, stamp)
                self.db.executemany("INSERT INTO master_stamps(master_id, stamp, deleted, signature, sets)"
                                    " VALUES (?,?,0,?,?) ON CONFLICT (master_id) DO UPDATE SET stamp=excluded.stamp,"
                                    " deleted=0, signature=excluded.signature, sets=excluded.sets", stamped)
                changed += len(stamped)
        removed = list(gone)
        if everything:  # a rebuild wrote every master with members; the others are in ``gone``
            removed += [m for (m,) in self.db.execute(
                "SELECT master_id FROM master_stamps s WHERE deleted=0 AND NOT EXISTS"
                " (SELECT 1 FROM clusters c WHERE c.master_id = s.master_id)")]
        removed = list(dict.fromkeys(removed))  # each once: the second would find it deleted already
        for i in range(0, len(removed), CHUNK):
            with self.write():
                known = self._stamp_rows(removed[i:i + CHUNK])
                # never published, or deleted already: nothing to do; a deleted record stays in its last sets
                moves = [(master, row, tuple(row[3].split())) for master in removed[i:i + CHUNK]
                         if (row := known.get(master)) is not None and not row[1]]
                self._move(moves, stamp)
                self.db.executemany("UPDATE master_stamps SET stamp=?, deleted=1, signature='' WHERE master_id=?",
                                    [(stamp, master) for master, _, _ in moves])
                changed += len(moves)
        return changed

    def _stamp_rows(self, masters: list[str]) -> dict[str, tuple[str, int, str, str]]:
        found: dict[str, tuple[str, int, str, str]] = {}
        for part, marks in in_chunks(masters):
            for master, stamp, deleted, sig, sets in self.db.execute(
                    "SELECT master_id, stamp, deleted, signature, sets FROM master_stamps"
                    f" WHERE master_id IN ({marks})", part):
                found[master] = (stamp, deleted, sig, sets)
        return found

    def _move(self, moves: list[tuple[str, tuple[str, int, str, str] | None, tuple[str, ...]]], stamp: str) -> None:
        """Put masters' set rows (master, its stamp row or None, its sets) at the new datestamp
        (each row found by its primary key)."""
        self.db.executemany("DELETE FROM master_sets WHERE spec=? AND stamp=? AND master_id=?",
                            [(spec, row[0], master) for master, row, _ in moves if row is not None
                             for spec in row[3].split()])
        self.db.executemany("INSERT INTO master_sets(spec, stamp, master_id) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                            [(spec, stamp, master) for master, _, sets in moves for spec in sets])

    def stamps_empty(self) -> bool:
        """Return True if no master was ever stamped (a store from before datestamps)."""
        return self.db.execute("SELECT 1 FROM master_stamps LIMIT 1").fetchone() is None

    def earliest_stamp(self) -> str | None:
        row = self.db.execute("SELECT min(stamp) FROM master_stamps").fetchone()
        return str(row[0]) if row and row[0] else None

    def master_stamp(self, master: str) -> Stamp | None:
        row = self.db.execute("SELECT master_id, stamp, deleted, sets FROM master_stamps WHERE master_id=?",
                              (master,)).fetchone()
        return Stamp(row[0], row[1], bool(row[2]), tuple(row[3].split())) if row else None

    def stamp_page(self, since: str, until: str, spec: str | None, after: tuple[str, str] | None,
                   limit: int) -> list[Stamp]:
        """Return up to ``limit`` masters stamped within [since, until] (in ``spec``, if given),
        in datestamp order, after the (datestamp, master id) a previous page ended with."""
        rows = self.db.execute(*stamp_page_query(since, until, spec, after, limit))
        return [Stamp(r[0], r[1], bool(r[2]), tuple(r[3].split())) for r in rows]

    def stamp_count(self, since: str, until: str, spec: str | None) -> int:
        where, args = _where(since, until, spec, None)
        return int(self.db.execute(f"SELECT count(*) {where}", args).fetchone()[0])

    def set_specs(self) -> list[str]:
        """Return every set that has a master (one index seek per set, not a scan of the table)."""
        out: list[str] = []
        row = self.db.execute("SELECT min(spec) FROM master_sets").fetchone()
        while row and row[0]:
            out.append(row[0])
            row = self.db.execute("SELECT min(spec) FROM master_sets WHERE spec > ?", (row[0],)).fetchone()
        return out


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


def stamp_page_query(since: str, until: str, spec: str | None, after: tuple[str, str] | None,
                     limit: int) -> tuple[str, list[str | int]]:
    """Return the SQL of ``StampStore.stamp_page`` and its arguments."""
    where, args = _where(since, until, spec, after)
    if spec:  # a set's rows name the master; its deletion and sets are in its own row
        where = where.replace("master_sets s", "master_sets s JOIN master_stamps m ON m.master_id = s.master_id", 1)
    columns = "m.master_id, m.stamp, m.deleted, m.sets" if spec else "s.master_id, s.stamp, s.deleted, s.sets"
    return f"SELECT {columns} {where} ORDER BY s.stamp, s.master_id LIMIT ?", [*args, limit]
