"""The one path from any harvester into the store, shared by import and harvest.

Records are written in batches (one transaction each); rejects of a file replace
that file's earlier rejects; the run is logged in the ``loads`` table with its
summary, so ``unioncat status`` can say when each source last loaded and how.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

from unioncat.errors import UnioncatError
from unioncat.models import LoadStats, Rejected, SourceRecord
from unioncat.store import Store

ProgressFn = Callable[[LoadStats], None]


def load(store: Store, source_id: str, items: Iterable[SourceRecord | Rejected], *,
         kind: str = "import", batch_size: int = 2000,
         on_batch: ProgressFn | None = None) -> LoadStats:
    """Write every item into the store; return what happened."""
    stats = LoadStats(source_id)
    started = time.monotonic()
    load_id = store.start_load(source_id, kind)
    batch: list[SourceRecord] = []
    rejects: list[Rejected] = []
    cleared: set[str] = set()

    def flush() -> None:
        if batch:
            for key, value in store.upsert(batch, load_id).items():
                setattr(stats, key, getattr(stats, key) + value)
            batch.clear()
        if rejects:
            store.add_rejects(rejects, load_id)
            rejects.clear()
        stats.elapsed = time.monotonic() - started
        if on_batch:
            on_batch(stats)

    try:
        for item in items:
            location = item.location
            if location and location not in cleared:
                flush()
                store.clear_rejects(source_id, location)
                cleared.add(location)
                stats.files.append(location)
            stats.read += 1
            if isinstance(item, Rejected):
                stats.rejected += 1
                rejects.append(item)
            else:
                stats.noted += bool(item.notes)
                batch.append(item)
            if len(batch) >= batch_size or len(rejects) >= batch_size:
                flush()
        flush()
    except (UnioncatError, KeyboardInterrupt) as exc:
        flush()
        stats.error = str(exc) or type(exc).__name__
        store.finish_load(load_id, stats.as_dict(), stats.error)
        raise
    stats.elapsed = time.monotonic() - started
    store.finish_load(load_id, stats.as_dict())
    return stats
