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
    """Record a manual split or merge and re-cluster what it touches; later runs keep it."""
    for rid in (a, b) if b else (a,):
        if store.db.execute("SELECT 1 FROM dedup_records WHERE id=?", (rid,)).fetchone() is None:
            raise DedupError(f"{rid!r} is not a deduplicated record (run `unioncat dedup` first)")
    dedup = Deduplicator(store, cfg)
    with dedup._tx():
        if kind == "split":
            store.db.execute("DELETE FROM dedup_overrides WHERE kind='merge' AND (a=? OR b=?)", (a, a))
        else:
            x, y = sorted((a, b))
            store.db.execute("DELETE FROM dedup_overrides WHERE kind='split' AND a IN (?, ?)", (x, y))
            a, b = x, y
        store.db.execute("INSERT OR REPLACE INTO dedup_overrides(kind, a, b, created) VALUES (?,?,?,?)",
                         (kind, a, b, now()))
        rows, masters = dedup._assign(dedup._groups(dedup._components({a, b} - {""})))
        dedup._apply(rows, masters, set())
    dedup._count()
    return dedup.stats
