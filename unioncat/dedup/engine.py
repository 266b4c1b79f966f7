"""Deduplication runs: extract, block, compare, cluster; incremental or full.

Only records added, changed or deleted since the last run are extracted and
compared again (``--full`` treats every record so); their match edges are stored,
and every connected component of the match graph that they touch is clustered
again from its edges.  Clustering is greedy over the edges by descending score,
and two clusters merge only when the result holds at most one record per member
(unless the member allows its own duplicates) and no pair across them is vetoed:
one record matching one member of a group does not drag the group along
(single-link chaining).  Because a component's clusters depend only on its own
edges, an incremental run and a full run give the same clusters.  Master ids
survive: a new cluster takes the previous master id most of its records had.
Manual splits and merges (``dedup_overrides``) are applied on every run.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from unioncat.config.model import Config
from unioncat.dedup.fields import dedup_record
from unioncat.dedup.keys import blocking_keys
from unioncat.dedup.match import MatchSettings, compare, title_similarity
from unioncat.identifiers import isbn13
from unioncat.errors import DedupError
from unioncat.models import DedupRecord, MatchDecision, now
from unioncat.store import Store, open_store
from unioncat.store.dedup import LIVE, STAGED

STATE = "__dedup__"
_CHUNK = 1000


@dataclass
class DedupStats:
    """What a dedup run did."""

    records: int = 0
    processed: int = 0
    removed: int = 0
    comparisons: int = 0
    matches: int = 0
    clusters: int = 0
    merged_records: int = 0
    largest_cluster: int = 0
    oversized_blocks: int = 0
    oversized_examples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    full: bool = False
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def as_dict(self) -> dict[str, Any]:
        """Return the stats as JSON-ready data, with records/s."""
        data = asdict(self)
        data["records_per_second"] = round(self.processed / self.elapsed) if self.elapsed else 0
        return data


def settings_for(cfg: Config) -> MatchSettings:
    """Return the comparator settings a config asks for."""
    return MatchSettings(year_tolerance=cfg.dedup.year_tolerance,
                         pages_tolerance=cfg.dedup.pages_tolerance,
                         title_threshold=cfg.dedup.title_threshold,
                         within_source=frozenset(s.id for s in cfg.sources if s.dedup_within_source))


def blocked_ids(cfg: Config) -> frozenset[str]:
    """Return the config's block list, ISBNs as ISBN-13."""
    out = set()
    for value in cfg.dedup.block_list:
        code, _ = isbn13(value)
        out.add(code or value)
    return frozenset(out)


# Pairs compared and not matched that a cataloguer should see (the review queue): vetoed with
# titles at least this alike, or not vetoed with a score at least this close below the match.
NEAR_TITLE = 85.0
NEAR_SCORE = 75.0


class Deduplicator:
    """One run over the store.

    The write lock is only ever held for short transactions, so servers and status
    feeds never wait on a run: an incremental run writes its extracted records per
    chunk and every cluster change in one transaction at the end; a full run builds
    new tables beside the live ones and swaps them in with one rename each."""

    record_cache_size = 200_000
    decision_cache_size = 1_000_000
    read_all_clusters_from = 20_000  # records to re-cluster from which the whole table is read at once

    def __init__(self, store: Store, cfg: Config, progress: Callable[[str, int, int], None] | None = None):
        self.store = store
        self.cfg = cfg
        self.settings = settings_for(cfg)
        self.blocked = blocked_ids(cfg)
        self.formats = {s.id: s.format for s in cfg.sources}
        self.progress = progress or (lambda stage, done, total: None)
        self.cache: dict[str, DedupRecord] = {}
        self.decisions: dict[tuple[str, str], MatchDecision] = {}
        self.stats = DedupStats()
        self.t = LIVE
        self.apart: set[tuple[str, str]] = set()  # pairs a cataloguer keeps apart (dedup_overrides)

    # records ---------------------------------------------------------------------
    def record(self, rid: str) -> DedupRecord:
        """Return a record's DedupRecord (cached, up to ``record_cache_size``)."""
        found = self.cache.get(rid)
        if found is None:
            data = self.store.dedup_data(self.t, rid)
            if data is None:
                raise DedupError(f"{rid}: not a live record (run `unioncat dedup` after importing)")
            found = _from_json(data)
            if len(self.cache) >= self.record_cache_size:
                self.cache.clear()
            self.cache[rid] = found
        return found

    def decide(self, a: str, b: str) -> MatchDecision:
        """Compare two records (cached both ways, up to ``decision_cache_size`` pairs)."""
        key = (a, b) if a < b else (b, a)
        found = self.decisions.get(key)
        if found is None:
            found = compare(self.record(key[0]), self.record(key[1]), self.settings)
            if len(self.decisions) >= self.decision_cache_size:
                self.decisions.clear()
            self.decisions[key] = found
            self.stats.comparisons += 1
        return found

    def extract(self, rid: str, source: str, raw: bytes, syntax: str, charset: str) -> DedupRecord:
        """Build one record's DedupRecord."""
        return dedup_record(rid, source, self.formats.get(source, "marc21"), raw, syntax, charset,
                            self.blocked)

    # the run ---------------------------------------------------------------------
    def run(self, full: bool = False) -> DedupStats:
        """Bring clusters up to date with the store; return what was done."""
        start = time.monotonic()
        stamp = now()
        state = self.store.checkpoint(STATE) or {}
        since = None if full or not state.get("last") else state["last"]
        self.stats.full = since is None
        clock = time.monotonic()

        def lap(stage: str) -> None:
            nonlocal clock
            self.stats.stages[stage] = round(time.monotonic() - clock, 2)
            clock = time.monotonic()

        if since is None:
            self.t = STAGED
            self.store.dedup_stage()
            gone: set[str] = set()
        else:
            gone = self.store.dedup_gone(since)
            self.cache.clear()
            self.stats.removed = len(gone)
        dirty = self._extract(since)
        if since is None:
            self.store.dedup_index_staged(("keys",))
        lap("extract")
        self._match(dirty, full=since is None)
        if since is None:  # clustering reads each record's edges by either end
            self.store.dedup_index_staged(("edges", "near"))
        lap("compare")
        affected = self._all_components(dirty) if since is None else self._components(dirty | gone)
        rows, masters = self._assign(self._groups(affected))
        if since is None:
            self.store.dedup_stage_clusters(rows)
            self.store.dedup_index_staged(("clusters",))
            self.store.dedup_swap(STATE, {"last": stamp})
            self.t = LIVE
        else:
            with self.store.write():
                self.store.apply_clusters(rows, masters, gone)
                self.store.save_checkpoint(STATE, {"last": stamp})
        lap("cluster")
        self._count()
        self.stats.elapsed = time.monotonic() - start
        return self.stats

    def _extract(self, since: str | None) -> set[str]:
        total, ranges = self.store.extract_spans(since, _CHUNK)
        dirty: set[str] = set()
        # Extraction is pure computation: on a big run both cores do it, each worker
        # reading its own ranges of the store (readers are let in beside this writer).
        pool = ProcessPoolExecutor(max_workers=2) if total > 4 * _CHUNK else None
        task = partial(_extract_range, self.store.location, since, self.formats, self.blocked)
        results = pool.map(task, ranges) if pool else map(partial(_extract_with, self.store, since, self.formats,
                                                                  self.blocked), ranges)
        try:
            for chunk in results:
                if not chunk:
                    continue
                self.store.dedup_add_records(self.t, chunk, replace=bool(since))
                for rid, *_ in chunk:
                    self.cache.pop(rid, None)
                    dirty.add(rid)
                self.progress("extract", len(dirty), total)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        self.progress("extract", len(dirty), total)
        self.stats.processed = len(dirty)
        return dirty

    def _blocks(self, dirty: set[str], full: bool) -> Iterable[list[str]]:
        return self._capped(self.store.blocks(self.t, None if full else dirty))

    def _capped(self, rows: Iterable[tuple[str, list[str]]]) -> Iterable[list[str]]:
        for key, ids in rows:
            members = sorted(set(ids))
            if len(members) > self.cfg.dedup.max_block:
                self.stats.oversized_blocks += 1
                if len(self.stats.oversized_examples) < 10:
                    self.stats.oversized_examples.append(f"{key} ({len(members)} records)")
                continue
            if len(members) > 1:
                yield members

    def _match(self, dirty: set[str], full: bool) -> None:
        pairs: set[tuple[str, str]] = set()
        within = self.settings.within_source
        for members in self._blocks(dirty, full):
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if a not in dirty and b not in dirty:
                        continue
                    src_a, src_b = a.split(".", 1)[0], b.split(".", 1)[0]
                    if src_a == src_b and src_a not in within:
                        continue
                    pairs.add((a, b))
        edges, near = [], []
        for n, (a, b) in enumerate(sorted(pairs), 1):
            decision = self.decide(a, b)
            if decision.matched:
                edges.append((a, b, decision.score))
            else:
                vetoed = next((r[5:] for r in decision.reasons if r.startswith("VETO ")), "")
                if vetoed or decision.score >= NEAR_SCORE:
                    title = title_similarity(self.record(a), self.record(b))
                    if title >= NEAR_TITLE if vetoed else True:
                        why = vetoed or next((r for r in reversed(decision.reasons) if r.startswith(("--", "??"))), "")
                        near.append((a, b, decision.score, round(title, 1), why))
            if n % 5000 == 0:
                self.progress("compare", n, len(pairs))
        self.store.dedup_add_edges(self.t, edges, near)
        self.stats.matches = len(edges)

    # clustering ------------------------------------------------------------------
    def _neighbours(self, rid: str) -> list[tuple[str, float]]:
        return self.store.neighbours(self.t, rid)

    def _components(self, seeds: set[str]) -> list[list[str]]:
        """Return the connected components holding the seeds and their old cluster-mates."""
        start = set(seeds)
        for rid in seeds:
            master = self.store.master_of(rid)
            if master:
                start.update(self.store.cluster_record_ids(master))
        live = self.store.dedup_ids(self.t) if len(start) > 5000 else None
        seen: set[str] = set()
        components = []
        for seed in sorted(start):
            if seed in seen or not self._is_live(seed, live):
                continue
            component, queue = [], [seed]
            seen.add(seed)
            while queue:
                node = queue.pop()
                component.append(node)
                for other, _ in self._neighbours(node):
                    if other not in seen and self._is_live(other, live):
                        seen.add(other)
                        queue.append(other)
            components.append(sorted(component))
        return components

    def _all_components(self, nodes: set[str]) -> list[list[str]]:
        """Return every connected component of the match graph (full runs), in memory."""
        parent = {rid: rid for rid in nodes}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in self.store.all_edges(self.t):
            if a in parent and b in parent:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = {}
        for rid in nodes:
            groups.setdefault(find(rid), []).append(rid)
        return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])

    def _is_live(self, rid: str, live: set[str] | None) -> bool:
        if live is not None:
            return rid in live
        return self.store.is_dedup_record(rid, self.t)

    def _groups(self, components: list[list[str]]) -> list[list[str]]:
        splits = self._splits()
        self.apart = self.store.overrides("apart")
        groups: list[list[str]] = []
        for n, component in enumerate(components, 1):
            groups.extend(self.cluster_component(component, splits) if len(component) > 1 else [component])
            if n % 20000 == 0:
                self.progress("cluster", n, len(components))
        return groups

    def _splits(self) -> set[str]:
        return {a for a, _ in self.store.overrides("split")}

    def cluster_component(self, component: list[str], splits: set[str]) -> list[list[str]]:
        """Greedily merge a component's records along its edges, best first, under the constraints."""
        parent = {rid: rid for rid in component}
        members = {rid: [rid] for rid in component}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        edges = set()
        for rid in component:
            for other, score in self._neighbours(rid):
                if other in parent:
                    a, b = min(rid, other), max(rid, other)
                    edges.add((score, a, b))
        for score, a, b in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            forced = score >= 1000.0
            if not forced and (a in splits or b in splits or not self._may_join(members[ra], members[rb])):
                continue
            parent[rb] = ra
            members[ra].extend(members.pop(rb))
        return [sorted(group) for group in members.values()]

    def _may_join(self, left: list[str], right: list[str]) -> bool:
        within = self.settings.within_source
        sources = Counter(rid.split(".", 1)[0] for rid in left + right)
        if any(n > 1 and src not in within for src, n in sources.items()):
            return False
        if self.apart and any((min(x, y), max(x, y)) in self.apart for x in left for y in right):
            return False  # kept apart by a cataloguer
        return all(not any(r.startswith("VETO") for r in self.decide(x, y).reasons)
                   for x in left for y in right)

    def _assign(self, groups: list[list[str]]) -> tuple[list[tuple[str, str]], set[str]]:
        """Give each group a master id; return the cluster rows and every master id
        these records had or get (all of them to be indexed again).

        A group takes the previous master id most of its records had, the oldest one on
        a tie, if no group took it first; bigger groups choose first, and a group
        without a manually split-off record before one with.  So a master id survives
        a split (the records left behind keep it) and a merge afterwards (the older id
        wins).  Otherwise the id is derived from the group's first record id."""
        members = [rid for group in groups for rid in group]
        if len(members) > self.read_all_clusters_from:  # one read of the table beats many of parts
            wanted = set(members)
            previous = {r: m for r, m in self.store.masters_of(None).items() if r in wanted}
        else:
            previous = self.store.masters_of(members)
        age = self.store.master_ages(set(previous.values()))
        splits = self._splits()
        used: set[str] = set()
        rows: list[tuple[str, str]] = []
        for group in sorted(groups, key=lambda g: (-len(g), any(r in splits for r in g), g[0])):
            counts = Counter(previous[r] for r in group if r in previous)
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], age.get(kv[0], 1 << 62), kv[0]))
            choice = next((m for m, _ in ranked if m not in used), None)
            if choice is None:
                choice = master_id_for(group[0])
                while choice in used:
                    choice = master_id_for(choice)
            used.add(choice)
            rows.extend((rid, choice) for rid in group)
        return rows, used | set(previous.values())

    def _count(self) -> None:
        self.stats.records, self.stats.clusters, big = self.store.cluster_counts()
        self.stats.merged_records = sum(big)
        self.stats.largest_cluster = max(big, default=1 if self.stats.records else 0)


_STORES: dict[str, Store] = {}  # a worker process's read-only store, opened once


def _extract_range(location: str, since: str | None, formats: dict[str, str], blocked: frozenset[str],
                   span: tuple[int, int]) -> list[tuple[str, str, str, list[str]]]:
    """Extract DedupRecords and keys for the live records in a row-number range (worker processes)."""
    store = _STORES.get(location)
    if store is None:
        store = _STORES[location] = open_store(location, readonly=True)
    return _extract_with(store, since, formats, blocked, span)


def _extract_with(store: Store, since: str | None, formats: dict[str, str], blocked: frozenset[str],
                  span: tuple[int, int]) -> list[tuple[str, str, str, list[str]]]:
    out = []
    for rid, source, raw, syntax, charset in store.extract_rows(span, since):
        rec = dedup_record(rid, source, formats.get(source, "marc21"), raw, syntax, charset, blocked)
        out.append((rid, source, _to_json(rec), sorted(blocking_keys(rec))))
    return out


def master_id_for(seed: str) -> str:
    """Return a master id derived from a record id (used when no previous id survives)."""
    return "M" + hashlib.sha1(seed.encode("utf-8")).hexdigest()[:12]


def _to_json(rec: DedupRecord) -> str:
    return json.dumps(rec.__dict__, ensure_ascii=False, separators=(",", ":"))


def _from_json(text: str) -> DedupRecord:
    data = json.loads(text)
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = tuple(value)
    return DedupRecord(**data)
