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
import itertools
import json
import time
from collections import Counter
from functools import partial
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping

from unioncat.config.model import Config
from unioncat.dedup.fields import dedup_record
from unioncat.dedup.keys import blocking_keys
from unioncat.dedup.match import MatchSettings, compare, title_similarity
from unioncat.identifiers import isbn13
from unioncat.errors import DedupError
from unioncat.models import DedupRecord, MatchDecision, now
from unioncat.store import Store, open_store
from unioncat.store.dedup import LIVE, STAGED, Extracted
from unioncat.workers import pool as worker_pool

STATE = "__dedup__"
_CHUNK = 1000
_PAIRS = 20_000  # candidate pairs, edges and near misses written to the store at a time


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

    record_cache_size = 100_000
    decision_cache_size = 100_000
    page = 20_000  # candidate pairs compared at a time, their records read together

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

    def _load(self, rids: set[str]) -> None:
        """Read the records among rids that are not in the cache, a query for every 500; the
        cache keeps at most ``record_cache_size`` records beside these."""
        missing = [rid for rid in rids if rid not in self.cache]
        if len(self.cache) + len(missing) > self.record_cache_size:
            self.cache = {rid: self.cache[rid] for rid in rids if rid in self.cache}
        for rid, data in self.store.dedup_data_many(self.t, sorted(missing)).items():
            self.cache[rid] = _from_json(data)

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
        self._match(None if since is None else dirty)
        if since is None:  # clustering reads each record's edges by either end
            self.store.dedup_index_staged(("edges", "near"))
        lap("compare")
        if since is None:
            self._cluster_all()
            self.store.dedup_index_staged(("clusters",))
            self.store.dedup_swap(STATE, {"last": stamp})
            self.t = LIVE
        else:
            rows, masters = self._assign(self._groups(self._components(dirty | gone)))
            with self.store.write():
                self.store.apply_clusters(rows, masters, gone)
                self.store.save_checkpoint(STATE, {"last": stamp})
        lap("cluster")
        self._count()
        self.stats.elapsed = time.monotonic() - start
        return self.stats

    def _extract(self, since: str | None) -> set[str]:
        """Extract the records changed since the last run (all of them without); return their
        ids (none on a full run, where every record is new: nothing keeps them all)."""
        total, ranges = self.store.extract_spans(since, _CHUNK)
        dirty: set[str] = set()
        done = 0
        # Extraction is pure computation: on a big run both cores do it, each worker
        # reading its own ranges of the store (readers are let in beside this writer).
        pool = worker_pool(2) if total > 4 * _CHUNK else None
        task = partial(_extract_range, self.store.location, since, self.formats, self.blocked)
        results = pool.map(task, ranges) if pool else map(partial(_extract_with, self.store, since, self.formats,
                                                                  self.blocked), ranges)
        try:
            for chunk in results:
                if not chunk:
                    continue
                self.store.dedup_add_records(self.t, chunk, replace=bool(since))
                done += len(chunk)
                if since:
                    for rid, *_ in chunk:
                        self.cache.pop(rid, None)
                        dirty.add(rid)
                self.progress("extract", done, total)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        self.progress("extract", done, total)
        self.stats.processed = done
        return dirty

    def _blocks(self, dirty: set[str] | None) -> Iterable[list[tuple[str, int | None, int | None]]]:
        """Yield the records (id, year, edition) of every usable block: those of the dirty
        records' keys (of every key without), blocks over ``max_block`` left out and reported."""
        page = max(50_000, self.cfg.dedup.max_block + 1)  # an oversized block still shows it is
        for key, found in self.store.block_rows(self.t, dirty, page):
            members = sorted(set(found))
            if len(members) > self.cfg.dedup.max_block:
                self.stats.oversized_blocks += 1
                if len(self.stats.oversized_examples) < 10:
                    self.stats.oversized_examples.append(f"{key} ({len(members)} records)")
                continue
            yield members

    def _pairs(self, members: list[tuple[str, int | None, int | None]],
               dirty: set[str] | None) -> Iterable[tuple[str, str]]:
        """Yield a block's pairs worth comparing (a < b): not both of one member (unless it may
        hold duplicates), at least one dirty (on an incremental run), and not two editions the
        comparator would veto at once for their edition numbers or their years, found without
        making those pairs: the dated records are walked in year order within the tolerance,
        the undated ones meet all."""
        tolerance = self.settings.year_tolerance
        within = self.settings.within_source
        dated = sorted((m for m in members if m[1]), key=lambda m: (m[1], m[0]))
        undated = [m for m in members if not m[1]]

        def near_in_time() -> Iterable[tuple[tuple[str, int | None, int | None], tuple[str, int | None, int | None]]]:
            for i, x in enumerate(dated):
                for y in dated[i + 1:]:
                    if y[1] - x[1] > tolerance:  # type: ignore[operator]
                        break
                    yield x, y
            for i, x in enumerate(undated):
                for y in undated[i + 1:] + dated:
                    yield x, y

        for x, y in near_in_time():
            if x[2] and y[2] and x[2] != y[2]:
                continue  # two numbered editions
            a, b = (x[0], y[0]) if x[0] < y[0] else (y[0], x[0])
            if dirty is not None and a not in dirty and b not in dirty:
                continue
            src_a, src_b = a.split(".", 1)[0], b.split(".", 1)[0]
            if src_a == src_b and src_a not in within:
                continue
            yield a, b

    def _match(self, dirty: set[str] | None) -> None:
        """Compare every pair worth it of every block (of the dirty records' blocks, on an
        incremental run) once: the pairs are gathered in the store, which sorts them and keeps
        each once however many keys it shares, then compared in order, their records read a
        page at a time; edges and near misses are written as they come.  Memory stays flat."""
        self.store.candidates_begin()
        batch: list[tuple[str, str]] = []
        for members in self._blocks(dirty):
            batch.extend(self._pairs(members, dirty))
            if len(batch) >= _PAIRS:
                self.store.candidates_add(batch)
                batch = []
        self.store.candidates_add(batch)
        total = self.store.candidates_count()
        edges: list[tuple[str, str, float]] = []
        near: list[tuple[str, str, float, float, str]] = []
        done = 0
        for page in self.store.candidates(self.page):
            self._load({rid for pair in page for rid in pair})
            for a, b in page:
                decision = compare(self.record(a), self.record(b), self.settings)
                self.stats.comparisons += 1
                if decision.matched:
                    edges.append((a, b, decision.score))
                    self.stats.matches += 1
                elif missed := self._near_miss(a, b, decision):
                    near.append(missed)
            if len(edges) + len(near) >= _PAIRS:
                self.store.dedup_add_edges(self.t, edges, near)
                edges, near = [], []
            done += len(page)
            self.progress("compare", done, total)
        self.store.dedup_add_edges(self.t, edges, near)

    def _near_miss(self, a: str, b: str, decision: MatchDecision) -> tuple[str, str, float, float, str] | None:
        """Return a pair compared and not matched as a near miss for the review queue, or None."""
        vetoed = next((r[5:] for r in decision.reasons if r.startswith("VETO ")), "")
        if not vetoed and decision.score < NEAR_SCORE:
            return None
        title = title_similarity(self.record(a), self.record(b))
        if vetoed and title < NEAR_TITLE:
            return None
        why = vetoed or next((r for r in reversed(decision.reasons) if r.startswith(("--", "??"))), "")
        return a, b, decision.score, round(title, 1), why

    # clustering ------------------------------------------------------------------
    def _neighbours(self, rid: str) -> list[tuple[str, float]]:
        return self.store.neighbours(self.t, rid)

    def _components(self, seeds: set[str]) -> list[list[str]]:
        """Return the connected components holding the seeds and their old cluster-mates.
        (Match edges join live records only; a manual merge may name a record gone since.)
        The graph is walked a step at a time for all of them at once, each step's edges read
        in a query for every 500 records (a query a record was a round trip each to a
        database server: most of an incremental run's deduplication on PostgreSQL)."""
        start = set(seeds) | set(self.store.records_of_masters(set(self.store.masters_of(seeds).values())))
        live = self.store.dedup_live_among(self.t, sorted(start))
        adjacency: dict[str, list[str]] = {}
        frontier = sorted(live)
        while frontier:
            found = self.store.neighbours_many(self.t, frontier)
            for node in frontier:
                adjacency[node] = [other for other, score in found[node]
                                   if score < 1000.0 or self.store.is_dedup_record(other, self.t)]
            frontier = sorted({other for node in frontier for other in adjacency[node]} - adjacency.keys())
        seen: set[str] = set()
        components = []
        for seed in sorted(live):
            if seed in seen:
                continue
            component, queue = [], [seed]
            seen.add(seed)
            while queue:
                node = queue.pop()
                component.append(node)
                for other in adjacency[node]:
                    if other not in seen:
                        seen.add(other)
                        queue.append(other)
            components.append(sorted(component))
        return components

    def _all_components(self) -> list[list[str]]:
        """Return every connected component of two or more records of the match graph (full
        runs), from a union-find of the records that have an edge, the edges read a page at a
        time; a record without one is a cluster of its own (see :meth:`_cluster_all`)."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            root = parent.setdefault(x, x)
            while parent[root] != root:
                parent[root] = parent[parent[root]]
                root = parent[root]
            return root

        merges = [(a, b) for a, b in sorted(self.store.overrides("merge"))
                  if self.store.is_dedup_record(a, self.t) and self.store.is_dedup_record(b, self.t)]
        for a, b in itertools.chain(self.store.all_edges(self.t), merges):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = {}
        for rid in parent:
            groups.setdefault(find(rid), []).append(rid)
        return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])

    def _groups(self, components: list[list[str]]) -> list[list[str]]:
        """Cluster each component; the edges of a batch of components are read together."""
        splits = self._splits()
        self.apart = self.store.overrides("apart")
        groups: list[list[str]] = []
        batch: list[list[str]] = []
        size = 0
        for n, component in enumerate(components, 1):
            batch.append(component)
            size += len(component)
            if size < 5000 and n < len(components):
                continue
            edges = self.store.neighbours_many(self.t, [rid for c in batch if len(c) > 1 for rid in c])
            for some in batch:
                groups.extend(self.cluster_component(some, splits, edges) if len(some) > 1 else [some])
            self.progress("cluster", n, len(components))
            batch, size = [], 0
        return groups

    def _splits(self) -> set[str]:
        return {a for a, _ in self.store.overrides("split")}

    def cluster_component(self, component: list[str], splits: set[str],
                          edges_of: Mapping[str, list[tuple[str, float]]] | None = None) -> list[list[str]]:
        """Greedily merge a component's records along its edges (read here unless given),
        best first, under the constraints."""
        parent = {rid: rid for rid in component}
        members = {rid: [rid] for rid in component}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        edges = set()
        for rid in component:
            for other, score in (edges_of[rid] if edges_of is not None else self._neighbours(rid)):
                if other in parent:
                    a, b = min(rid, other), max(rid, other)
                    edges.add((score, a, b))
        matched = {(a, b) for score, a, b in edges if score < 1000.0}  # compared, and no veto
        for score, a, b in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            forced = score >= 1000.0
            if not forced and (a in splits or b in splits or not self._may_join(members[ra], members[rb], matched)):
                continue
            parent[rb] = ra
            members[ra].extend(members.pop(rb))
        return [sorted(group) for group in members.values()]

    def _may_join(self, left: list[str], right: list[str], matched: set[tuple[str, str]]) -> bool:
        within = self.settings.within_source
        sources = Counter(rid.split(".", 1)[0] for rid in left + right)
        if any(n > 1 and src not in within for src, n in sources.items()):
            return False
        pairs = [(min(x, y), max(x, y)) for x in left for y in right]
        if self.apart and any(pair in self.apart for pair in pairs):
            return False  # kept apart by a cataloguer
        return all(pair in matched or not any(r.startswith("VETO") for r in self.decide(*pair).reasons)
                   for pair in pairs)

    def _assign(self, groups: list[list[str]]) -> tuple[list[tuple[str, str]], set[str]]:
        """Give each group a master id; return the cluster rows and every master id
        these records had or get (all of them to be indexed again).

        A group takes the previous master id most of its records had, the oldest one on
        a tie, if no group took it first; bigger groups choose first, and a group
        without a manually split-off record before one with.  So a master id survives
        a split (the records left behind keep it) and a merge afterwards (the older id
        wins).  Otherwise the id is derived from the group's first record id."""
        previous = self.store.masters_of(rid for group in groups for rid in group)
        age = self.store.master_ages(set(previous.values()))
        splits = self._splits()
        used: set[str] = set()
        rows: list[tuple[str, str]] = []
        for group in sorted(groups, key=_choosing_order(splits)):
            choice = self._choose(group, previous, age, used)
            rows.extend((rid, choice) for rid in group)
        return rows, used | set(previous.values())

    def _choose(self, group: list[str], previous: Mapping[str, str | None], age: Mapping[str, int],
                used: set[str]) -> str:
        """Return the master id of a group (see :meth:`_assign`) and count it as used."""
        counts = Counter(m for m in (previous.get(r) for r in group) if m)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], age.get(kv[0], 1 << 62), kv[0]))
        choice = next((m for m, _ in ranked if m not in used), None)
        if choice is None:
            choice = master_id_for(group[0])
            while choice in used:
                choice = master_id_for(choice)
        used.add(choice)
        return choice

    def _cluster_all(self) -> None:
        """A full run's clusters, as :meth:`_assign` gives them, written to the staging table
        as they are made: the groups of two or more records first (from the components in
        memory), then every other record as a cluster of its own, read from the store in id
        order with its previous master (those split off by hand last)."""
        groups = self._groups(self._all_components())
        multi = [g for g in groups if len(g) > 1]
        grouped = {rid for g in multi for rid in g}
        del groups
        previous = self.store.masters_of(sorted(grouped))
        age = self.store.master_ages(set(previous.values()))
        splits = self._splits()
        used: set[str] = set()
        rows: list[tuple[str, str]] = []

        def write(rid: str, master: str) -> None:
            nonlocal rows
            rows.append((rid, master))
            if len(rows) >= _PAIRS:
                self.store.dedup_stage_clusters(rows)
                rows = []

        for group in sorted(multi, key=_choosing_order(splits)):
            master = self._choose(group, previous, age, used)
            for rid in group:
                write(rid, master)
        del multi, previous
        split_off: list[tuple[str, str | None]] = []
        for rid, old in self.store.records_and_masters(self.t):
            if rid in grouped:
                continue
            if rid in splits:
                split_off.append((rid, old))
                continue
            write(rid, self._choose([rid], {rid: old}, {}, used))
        for rid, old in split_off:
            write(rid, self._choose([rid], {rid: old}, {}, used))
        self.store.dedup_stage_clusters(rows)

    def _count(self) -> None:
        self.stats.records, self.stats.clusters, big = self.store.cluster_counts()
        self.stats.merged_records = sum(big)
        self.stats.largest_cluster = max(big, default=1 if self.stats.records else 0)


_STORES: dict[str, Store] = {}  # a worker process's read-only store, opened once


def _extract_range(location: str, since: str | None, formats: dict[str, str], blocked: frozenset[str],
                   span: tuple[int, int]) -> list[Extracted]:
    """Extract DedupRecords and keys for the live records in a row-number range (worker processes)."""
    store = _STORES.get(location)
    if store is None:
        store = _STORES[location] = open_store(location, readonly=True)
    return _extract_with(store, since, formats, blocked, span)


def _extract_with(store: Store, since: str | None, formats: dict[str, str], blocked: frozenset[str],
                  span: tuple[int, int]) -> list[Extracted]:
    out = []
    for rid, source, raw, syntax, charset in store.extract_rows(span, since):
        rec = dedup_record(rid, source, formats.get(source, "marc21"), raw, syntax, charset, blocked)
        out.append((rid, source, _to_json(rec), sorted(blocking_keys(rec)), rec.year, rec.edition))
    return out


def _choosing_order(splits: set[str]) -> Callable[[list[str]], tuple[int, bool, str]]:
    """The order groups choose their master ids in: bigger first, then those without a record
    split off by hand, then by first record id."""
    return lambda group: (-len(group), any(r in splits for r in group), group[0])


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
