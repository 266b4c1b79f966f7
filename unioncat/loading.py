"""The one path from any harvester into the store, shared by import and harvest.

Records are written in batches (one transaction each); rejects of a file replace
that file's earlier rejects; the run is logged in the ``loads`` table with its
summary, so ``unioncat status`` can say when each source last loaded and how.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

from unioncat.errors import UnioncatError
from unioncat.models import Checkpoint, LoadStats, Rejected, SourceRecord
from unioncat.store import ChangeHook, Store

ProgressFn = Callable[[LoadStats], None]


def load(store: Store, source_id: str, items: Iterable[SourceRecord | Rejected | Checkpoint], *,
         kind: str = "import", batch_size: int = 2000,
         on_batch: ProgressFn | None = None, finalize: ProgressFn | None = None,
         on_change: ChangeHook | None = None) -> LoadStats:
    """Write every item into the store; return what happened.

    Any exception from the items (a server that gave up, a file that broke, a network
    library's error, a bug) ends the load: what came before is kept, the reason is in
    ``stats.error`` and the ``loads`` table says ``failed``, and the stats are returned.
    Ctrl-C records the load as ``interrupted`` and goes on up.
    ``finalize`` runs after the last item, before the load is recorded as done,
    for work that belongs to a successful run (deletion sweeps).
    """
    stats = LoadStats(source_id)
    started = time.monotonic()
    load_id = store.start_load(source_id, kind)
    batch: list[SourceRecord] = []
    rejects: list[Rejected] = []
    cleared: set[str] = set()

    def flush() -> None:
        if batch:
            for key, value in store.upsert(batch, load_id, on_change).items():
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
            if isinstance(item, Checkpoint):
                # Records first, then the resume point: a kill between the two only
                # means the page is fetched again, and unchanged records are no-ops.
                flush()
                store.save_checkpoint(source_id, item.state)
                continue
            location = item.location
            if location and location not in cleared and kind == "import":
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
        if finalize:
            finalize(stats)
    except KeyboardInterrupt:
        _close(store, load_id, stats, flush, "interrupted", "interrupted")
        raise
    except Exception as exc:  # noqa: BLE001 - one failing source must not stop the run
        # UnioncatError says what went wrong in its words; anything else (a network
        # library's exception, a bug) is named by its type, and the source alone fails.
        reason = str(exc) if isinstance(exc, UnioncatError) else f"{type(exc).__name__}: {exc}"
        _close(store, load_id, stats, flush, reason or type(exc).__name__, "failed")
        return stats
    stats.elapsed = time.monotonic() - started
    extracted = getattr(on_change, "items", None)
    if extracted is not None:
        stats.items = extracted
        stats.warnings.extend(on_change.warnings())  # type: ignore[union-attr]
    store.finish_load(load_id, stats.as_dict())
    return stats


def _close(store: Store, load_id: int, stats: LoadStats, flush: Callable[[], None], reason: str,
           status: str) -> None:
    """Keep what was read before the failure and record how the load ended."""
    try:
        flush()
    except Exception as exc:  # noqa: BLE001 - the batch is rolled back; say so
        reason += "; the last batch was not written" + ("" if str(exc) in reason else f" ({exc})")
    stats.error = reason
    store.finish_load(load_id, stats.as_dict(), reason, status)


def failed_load(store: Store, source_id: str, kind: str, reason: str) -> LoadStats:
    """Record a load that failed before it could read anything (its harvester could not
    even be built); return its stats."""
    stats = LoadStats(source_id, error=reason)
    store.finish_load(store.start_load(source_id, kind), stats.as_dict(), reason)
    return stats
