"""Import file drops and harvest network sources into the store: resume, incremental
windows, deletion sweeps.

``harvest_source`` builds the source's harvester from the registry, resumes an
interrupted run from the checkpoint the store keeps, writes through the same path
as file import (:func:`unioncat.loading.load`), and after a successful run:

* a full run (``--full``, or an SRU/Z39.50 source with no incremental query) marks
  every record of the source that the run did not see as deleted;
* an OAI-PMH source with ``sweep = true`` whose server keeps no deletions
  (``deletedRecord=no``) lists every identifier and marks the unlisted deleted;
* the checkpoint records the run's start (server clock) for the next incremental
  run and forgets the finished run's resume point.

A failed run keeps its checkpoint, so the next run resumes where it stopped.
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import as_completed
from typing import Any, Callable, Iterator

from unioncat.config.model import Config, SourceConfig
from unioncat.errors import UnioncatError
from unioncat.harvester import HARVESTERS, FileHarvester
from unioncat.holdings.itemstore import ItemExtractor
from unioncat.loading import ProgressFn, failed_load, load
from unioncat.models import LoadStats, now
from unioncat.store import Store, open_store
from unioncat.workers import pool as worker_pool


def make_harvester(source: SourceConfig, checkpoint: dict[str, Any] | None, *, full: bool,
                   from_: str | None, until: str | None) -> Any:
    """Return the harvester for a network source."""
    cls = HARVESTERS.get(source.type)
    if cls is None or source.type == "file":
        raise ValueError(f"source {source.id} of type {source.type} is not harvested")
    return cls(source, checkpoint=checkpoint, full=full, from_=from_, until=until)


def harvest_source(store: Store, source: SourceConfig, *, full: bool = False,
                   from_: str | None = None, until: str | None = None, batch_size: int = 2000,
                   on_batch: ProgressFn | None = None,
                   factory: Callable[..., Any] = make_harvester) -> LoadStats:
    """Harvest one source; return its stats (``stats.error`` set when it failed)."""
    saved = store.checkpoint(source.id) or {}
    harvester = factory(source, saved, full=full, from_=from_, until=until)
    harvester.since_load = store.next_load_id()

    def finish(stats: LoadStats) -> None:
        state = harvester.resume_point or {}
        moved: str = getattr(harvester, "unstable", "")
        if harvester.sweeps_unseen() and (stats.repeated or moved):
            # Paging by position over a result whose order moved: a record seen twice means
            # another was skipped, and must not be taken for deleted.
            stats.warnings.append(f"the server's result changed while paging ({stats.repeated} records "
                                  f"came twice{'; ' + moved if moved else ''}): "
                                  "records not seen were not marked deleted this run")
        elif harvester.sweeps_unseen():
            # since_load is the first load of this run (or of the run it resumed).
            stats.deleted += store.mark_unseen_deleted(source.id, int(state.get("since_load") or 0))
        elif getattr(source, "sweep", False) and hasattr(harvester, "list_identifiers"):
            stats.deleted += _sweep(store, source, harvester)
        store.save_checkpoint(source.id, {"run": None, "last_success": {
            "response_date": state.get("started"), "finished": now(), "full": full}})

    def count(stats: LoadStats) -> None:
        stats.pages, stats.retries, stats.stripped = harvester.pages, harvester.retries, harvester.stripped
        if on_batch:
            on_batch(stats)

    try:
        stats = load(store, source.id, harvester.harvest(), kind="harvest",
                     on_change=ItemExtractor(source), batch_size=batch_size, on_batch=count, finalize=finish)
    finally:
        harvester.close()
    stats.pages, stats.retries, stats.stripped = harvester.pages, harvester.retries, harvester.stripped
    stats.warnings.extend(getattr(harvester, "warnings", []))
    return stats


def import_source(store: Store, source: SourceConfig, paths: list[str] | None = None, *,
                  full: bool = False, force: bool = False, batch_size: int = 2000,
                  on_batch: Callable[[FileHarvester, LoadStats], None] | None = None) -> LoadStats:
    """Import a file source's drop (or ``paths``); return its stats (``error`` when it failed).

    A member that sends complete dumps (``full_dump = true``, or ``full``) has every
    record missing from tonight's dump marked deleted, unless that would delete more
    than ``max_delete_fraction`` of its live records: then nothing is deleted and the
    load fails saying so, unless ``force``.  A drop that could not be read whole
    never deletes anything (the load has failed before the sweep)."""
    try:
        harvester = FileHarvester(source, paths, known=lambda: store.known_records(source.id))
    except UnioncatError as exc:
        return failed_load(store, source.id, "import", str(exc))
    sweep = full or source.full_dump

    def finish(stats: LoadStats) -> None:
        if not sweep:
            return
        if harvester.cut_short:
            raise UnioncatError(f"{harvester.cut_short[0]} ends inside a record (copied only in part?): "
                                "as a full dump it cannot be trusted; no records were marked deleted")
        this_load = store.last_load_id(source.id)
        unseen = store.count_unseen(source.id, this_load)
        live = store.count(source.id, deleted=False)
        if unseen and not force and unseen > source.max_delete_fraction * live:
            raise UnioncatError(
                f"{unseen:,} of {live:,} live records ({unseen / live:.0%}) are missing from this full "
                f"dump, more than max_delete_fraction = {source.max_delete_fraction:g}: none were "
                f"marked deleted; if the dump is right, run `unioncat import {source.id} --full --force`")
        stats.deleted += store.mark_unseen_deleted(source.id, this_load)

    tick = None if on_batch is None else (lambda stats: on_batch(harvester, stats))
    stats = load(store, source.id, harvester.harvest(), batch_size=batch_size, on_batch=tick,
                 on_change=ItemExtractor(source), finalize=finish)
    stats.warnings.extend(harvester.warnings)
    return stats


def _sweep(store: Store, source: SourceConfig, harvester: Any) -> int:
    info = harvester.identify()
    if info.deleted_record != "no":
        return 0
    listed: set[str] = set()
    for identifiers in harvester.list_identifiers():
        listed.update(identifiers)
    return store.mark_unlisted_deleted(source.id, listed)


def load_member(cfg: Config, source_id: str, full: bool) -> tuple[LoadStats, float]:
    """Import or harvest one member on a store connection of its own (a worker process of
    ``unioncat run --workers``); return its stats and seconds."""
    source = cfg.source(source_id)
    started = time.monotonic()
    with open_store(cfg.store) as store:
        if source.type == "file":
            stats = import_source(store, source, None, batch_size=cfg.store.batch_size)
        else:
            stats = harvest_or_fail(store, source, full=full, batch_size=cfg.store.batch_size)
    return stats, time.monotonic() - started


def harvest_or_fail(store: Store, source: SourceConfig, **options: Any) -> LoadStats:
    """``harvest_source``; a harvester that cannot even start is that member's failed load."""
    try:
        return harvest_source(store, source, **options)
    except UnioncatError as exc:  # before any record
        return failed_load(store, source.id, "harvest", str(exc))


def load_members(cfg: Config, full: bool, workers: int) -> Iterator[tuple[SourceConfig, LoadStats, float]]:
    """Load every member in ``workers`` processes at once, each on its own connection; yield each
    as it finishes.  With PostgreSQL the members write side by side; with SQLite their batches take
    turns at the write lock (reading, decoding and extracting still go side by side)."""
    # Workers start from a fresh interpreter (forkserver), not a copy of this one and its connection.
    context = multiprocessing.get_context("forkserver")
    with worker_pool(workers, mp_context=context) as pool:
        futures = {pool.submit(load_member, cfg, src.id, full): src for src in cfg.sources}
        try:
            for future in as_completed(futures):
                stats, seconds = future.result()
                yield futures[future], stats, seconds
        except BaseException:
            for future in futures:
                future.cancel()
            raise
