"""Reviewing deduplication by hand: every check between two records, and the manual splits and
merges that later runs keep (``dedup_overrides``)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from unioncat.config.model import Config
from unioncat.dedup.engine import DedupStats, Deduplicator
from unioncat.dedup.match import compare
from unioncat.errors import DedupError
from unioncat.models import now
from unioncat.store import Store


def explain(store: Store, cfg: Config, a: str, b: str) -> dict[str, Any]:
    """Return every check of the comparator on two records, and their clusters."""
    dedup = Deduplicator(store, cfg)
    recs = []
    for rid in (a, b):
        row = store.db.execute("SELECT source, raw, syntax, charset FROM records WHERE id=? AND deleted=0",
                               (rid,)).fetchone()
        if row is None:
            raise DedupError(f"no live record {rid!r}")
        recs.append(dedup.extract(rid, row[0], row[1], row[2], row[3]))
    decision = compare(recs[0], recs[1], dedup.settings)
    clusters = {rid: (store.db.execute("SELECT master_id FROM clusters WHERE record_id=?", (rid,))
                      .fetchone() or [None])[0] for rid in (a, b)}
    overrides = [f"{k} {x} {y}".strip() for k, x, y in store.db.execute(
        "SELECT kind, a, b FROM dedup_overrides WHERE a IN (?, ?) OR b IN (?, ?)", (a, b, a, b))]
    return {"a": a, "b": b, "matched": decision.matched, "score": decision.score,
            "reasons": list(decision.reasons), "clusters": clusters, "overrides": overrides,
            "records": [asdict(r) for r in recs]}


def override(store: Store, cfg: Config, kind: str, a: str, b: str = "") -> DedupStats:
    """Record a manual split (``a`` out of its cluster), merge (``a`` with ``b``) or keeping
    apart (``a`` never with ``b``) and re-cluster what it touches; later runs keep it."""
    for rid in (a, b) if b else (a,):
        if store.db.execute("SELECT 1 FROM dedup_records WHERE id=?", (rid,)).fetchone() is None:
            raise DedupError(f"{rid!r} is not a deduplicated record (run `unioncat dedup` first)")
    dedup = Deduplicator(store, cfg)
    with dedup._tx():
        if kind == "split":
            store.db.execute("DELETE FROM dedup_overrides WHERE kind='merge' AND (a=? OR b=?)", (a, a))
        else:
            x, y = sorted((a, b))
            if kind == "merge":
                store.db.execute("DELETE FROM dedup_overrides WHERE kind='split' AND a IN (?, ?)", (x, y))
            # a merge and a keeping apart of one pair undo each other
            store.db.execute("DELETE FROM dedup_overrides WHERE kind=? AND a=? AND b=?",
                             ("apart" if kind == "merge" else "merge", x, y))
            a, b = x, y
        store.db.execute("INSERT OR REPLACE INTO dedup_overrides(kind, a, b, created) VALUES (?,?,?,?)",
                         (kind, a, b, now()))
        rows, masters = dedup._assign(dedup._groups(dedup._components({a, b} - {""})))
        dedup._apply(rows, masters, set())
    dedup._count()
    return dedup.stats


def decide(store: Store, cfg: Config, who: str, action: str, a: str, b: str = "") -> str:
    """Apply a cataloguer's merge, keeping apart or split (:func:`override`) and log who did it
    and what it did to the master records; return that in words."""
    ids = [r for r in (a, b) if r]
    before = _masters(store, ids)
    override(store, cfg, action, a, b)
    after = _masters(store, ids)
    moved = ", ".join(f"{r} {before.get(r, '-')}→{after.get(r, '-')}" for r in ids)
    with store.db:
        store.db.execute("INSERT INTO dedup_log(at, who, action, a, b, masters) VALUES (?,?,?,?,?,?)",
                         (now(), who, action, a, b, moved))
    return f"{action} {' '.join(ids)}: {moved}"


def _masters(store: Store, ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(ids))
    return dict(store.db.execute(f"SELECT record_id, master_id FROM clusters WHERE record_id IN ({marks})", ids))


def log_entries(store: Store, limit: int = 1000) -> list[dict[str, Any]]:
    """Return the audit log of manual dedup decisions, newest first."""
    return [{"at": r[0], "who": r[1], "action": r[2], "a": r[3], "b": r[4], "masters": r[5]}
            for r in store.db.execute("SELECT at, who, action, a, b, masters FROM dedup_log ORDER BY id DESC LIMIT ?",
                                      (limit,))]


def queue(store: Store, cfg: Config, limit: int = 25) -> dict[str, list[dict[str, Any]]]:
    """Return the pairs a cataloguer should look at, not yet decided by hand: the matches and
    non-matches closest to the threshold, and the vetoed pairs whose titles are most alike;
    each with the comparator's checks (:func:`explain`) and the two records side by side."""
    decided = {(x, y) for x, y in store.db.execute("SELECT a, b FROM dedup_overrides WHERE b != ''")}
    # matches (score 90 and up) and non-matches that were not vetoed (score > 0), by distance from 90
    close = store.db.execute(
        "SELECT a, b FROM (SELECT a, b, score FROM dedup_edges WHERE score < 100 UNION ALL"
        " SELECT a, b, score FROM dedup_near WHERE score > 0) ORDER BY abs(score - 90), a, b LIMIT ?",
        (4 * limit,)).fetchall()
    vetoed = store.db.execute(  # a veto scores 0
        "SELECT n.a, n.b FROM dedup_near n JOIN clusters x ON x.record_id = n.a JOIN clusters y ON y.record_id = n.b"
        " WHERE n.score = 0 AND x.master_id != y.master_id ORDER BY n.title DESC, n.a, n.b LIMIT ?",
        (4 * limit,)).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in (("close", close), ("vetoed", vetoed)):
        shown = []
        for a, b in rows:
            if (min(a, b), max(a, b)) in decided:
                continue
            try:
                shown.append(explain(store, cfg, a, b))
            except DedupError:  # a record deleted since the run that compared them
                continue
            if len(shown) == limit:
                break
        out[name] = shown
    return out
