"""Reviewing deduplication by hand: every check between two records, and the manual splits and
merges that later runs keep (``dedup_overrides``)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from unioncat.config.model import Config
from unioncat.dedup.engine import DedupStats, Deduplicator
from unioncat.dedup.match import compare
from unioncat.errors import DedupError
from unioncat.store import Store


def explain(store: Store, cfg: Config, a: str, b: str) -> dict[str, Any]:
    """Return every check of the comparator on two records, and their clusters."""
    dedup = Deduplicator(store, cfg)
    recs = []
    for rid in (a, b):
        rec = store.get(rid)
        if rec is None or rec.deleted:
            raise DedupError(f"no live record {rid!r}")
        recs.append(dedup.extract(rid, rec.source_id, rec.raw, rec.syntax, rec.charset))
    decision = compare(recs[0], recs[1], dedup.settings)
    clusters = {rid: store.master_of(rid) for rid in (a, b)}
    overrides = [f"{k} {x} {y}".strip() for k, x, y in store.overrides_touching(a, b)]
    return {"a": a, "b": b, "matched": decision.matched, "score": decision.score,
            "reasons": list(decision.reasons), "clusters": clusters, "overrides": overrides,
            "records": [asdict(r) for r in recs]}


def override(store: Store, cfg: Config, kind: str, a: str, b: str = "") -> DedupStats:
    """Record a manual split (``a`` out of its cluster), merge (``a`` with ``b``) or keeping
    apart (``a`` never with ``b``) and re-cluster what it touches; later runs keep it."""
    for rid in (a, b) if b else (a,):
        if not store.is_dedup_record(rid):
            raise DedupError(f"{rid!r} is not a deduplicated record (run `unioncat dedup` first)")
    dedup = Deduplicator(store, cfg)
    if kind != "split":
        a, b = sorted((a, b))
    with store.write():
        store.set_override(kind, a, b)
        rows, masters = dedup._assign(dedup._groups(dedup._components({a, b} - {""})))
        store.apply_clusters(rows, masters, set())
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
    store.log_decision(who, action, a, b, moved)
    return f"{action} {' '.join(ids)}: {moved}"


def _masters(store: Store, ids: list[str]) -> dict[str, str]:
    return store.masters_of(ids)


def log_entries(store: Store, limit: int = 1000) -> list[dict[str, Any]]:
    """Return the audit log of manual dedup decisions, newest first."""
    return store.decision_log(limit)


def queue(store: Store, cfg: Config, limit: int = 25) -> dict[str, list[dict[str, Any]]]:
    """Return the pairs a cataloguer should look at, not yet decided by hand: the matches and
    non-matches closest to the threshold, and the vetoed pairs whose titles are most alike;
    each with the comparator's checks (:func:`explain`) and the two records side by side."""
    decided, close, vetoed = store.review_pairs(4 * limit)
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
