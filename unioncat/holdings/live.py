"""Live availability: ask members' own servers about the records being shown.

``refresh`` asks, in parallel, each member whose source is ``z3950`` (an OPAC
record, found by local number, BIB-1 use attribute 12) or ``sru`` (``rec.id``)
for a fresh copy of the record, re-extracts its items, and stores them as the
newest word on those items.  A record refreshed within ``availability.ttl`` is
not asked for again.  Whatever has not answered within ``availability.budget``
seconds is left behind: the answer goes out on time with the stored data, marked
stale with its age.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable

from unioncat.config.model import Config, SourceConfig
from unioncat.errors import UnioncatError
from unioncat.holdings.extract import PRESETS, Extraction, extract, layout_for
from unioncat.models import Item, SourceRecord, now
from unioncat.store import Store

REFRESHABLE = ("z3950", "sru")


def _fetch_z3950(src: SourceConfig, record_id: str, local_id: str, timeout: float) -> Extraction:
    from unioncat.harvester.z3950 import parse_address
    from unioncat.marc.records import SYNTAX_OPAC
    from unioncat.z3950 import Z3950Client, parse_pqf
    from unioncat.z3950.codec import encode_type

    host, port, database = parse_address(src.url or "", src.database)
    syntax = "opac" if src.holdings in (None, "opac") else src.syntax
    with Z3950Client(host, port, timeout) as client:
        hits = client.search(database, parse_pqf(f'@attr 1=12 "{local_id}"'))
        if hits < 1:
            raise UnioncatError(f"record {local_id} not found at the member")
        [rec] = client.present(1, 1, syntax)
    if rec.diagnostic:
        raise UnioncatError(rec.diagnostic)
    if rec.opac is not None:
        return extract(record_id, src.id, encode_type("OPACRecord", rec.opac), SYNTAX_OPAC, "",
                       "", PRESETS["opac"], src.status_map)
    layout = layout_for(src.holdings)
    if layout is None:
        raise UnioncatError("no holdings layout configured")
    return extract(record_id, src.id, rec.octets, "iso2709", "utf-8", "", layout, src.status_map)


def _fetch_sru(src: SourceConfig, record_id: str, local_id: str, timeout: float) -> Extraction:
    from unioncat.harvester.http import HttpClient, RetryPolicy
    from unioncat.harvester.sru import SRUHarvester

    layout = layout_for(src.holdings)
    if layout is None:
        raise UnioncatError("no holdings layout configured")
    harvester = SRUHarvester(src, client=HttpClient(RetryPolicy(tries=1, timeout=timeout)))
    try:
        item = harvester.fetch_one(f'rec.id="{local_id}"')
    finally:
        harvester.close()
    if not isinstance(item, SourceRecord):
        raise UnioncatError(f"record {local_id} not found at the member")
    return extract(record_id, src.id, item.raw, item.syntax, item.charset, item.leader, layout,
                   src.status_map)


Fresh = dict[str, tuple[list[Item], str]]  # record id -> (its items as the member says now, when)


def ask(store: Store, cfg: Config, record_ids: list[str],
        recent: Callable[[str], bool] = lambda rid: False) -> tuple[dict[str, str], Fresh, list[str]]:
    """Ask the members for the records not ``recent``, in parallel, within the budget.

    Return the outcome per source ("fresh", "cached", "not refreshable", "no answer within N s",
    "failed: ..."), the items of each record that was answered (nothing is written), and the
    records whose member failed."""
    outcomes: dict[str, str] = {}
    budget = cfg.availability.budget
    jobs = []
    for rid in record_ids:
        stored = store.get(rid)
        if stored is None:
            continue
        src = cfg.source(stored.source_id)
        if not src.live_refresh or src.type not in REFRESHABLE:
            outcomes.setdefault(src.id, "not refreshable")
            continue
        if recent(rid):
            outcomes[src.id] = "cached"
            continue
        fetch = _fetch_z3950 if src.type == "z3950" else _fetch_sru
        jobs.append((fetch, src, rid, stored.local_id.split("#", 1)[0]))
    fresh: Fresh = {}
    failed: list[str] = []
    if not jobs:  # nothing to ask (a record page of file-drop members): no threads
        return outcomes, fresh, failed
    pool = ThreadPoolExecutor(max_workers=min(8, len(jobs)))
    tasks: dict[Future[Extraction], tuple[str, str]] = {
        pool.submit(fetch, src, rid, local, budget + 1.0): (src.id, rid) for fetch, src, rid, local in jobs}
    done, _ = wait(tasks, timeout=budget)
    pool.shutdown(wait=False, cancel_futures=True)
    stamp = now()
    for future, (source, rid) in tasks.items():
        if future not in done:
            outcomes[source] = f"no answer within {budget:g} s"
            continue
        error = future.exception()
        if error is not None:
            outcomes[source] = f"failed: {error}"
            failed.append(rid)
            continue
        fresh[rid] = (list(future.result().items), stamp)
        outcomes[source] = "fresh"
    return outcomes, fresh, failed


def refresh(store: Store, cfg: Config, record_ids: list[str]) -> dict[str, str]:
    """Refresh what can be refreshed within the budget and store it (records refreshed within
    ``availability.ttl`` are not asked again); return an outcome per source."""
    ttl = cfg.availability.ttl

    def recent(rid: str) -> bool:
        fetched = store.live_fetched(rid)
        return bool(fetched and _younger_than(fetched, ttl))

    outcomes, fresh, failed = ask(store, cfg, record_ids, recent)
    stamp = now()
    for rid in failed:
        store.remember_live(rid, stamp, "failed")
    for rid, (items, when) in fresh.items():
        store.remember_live(rid, when, "fresh", items)
    return outcomes


def _younger_than(stamp: str, seconds: float) -> bool:
    from unioncat.holdings.view import age_seconds

    return age_seconds(stamp) < seconds
