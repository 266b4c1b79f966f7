"""Keep the search index in step with the master records.

Deduplication lists every master whose members changed in ``index_dirty``;
``update`` re-reads those clusters, replaces their documents (or deletes them when
the cluster is gone) and only then forgets the list, so a run killed midway leaves
the previous index searchable and the next run does the rest.  ``rebuild`` builds
a complete index in a new directory beside the old one and swaps it in.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import shutil
import signal
import tempfile
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from unioncat.config.model import Config
from unioncat.errors import SearchIndexError, UnioncatError
from unioncat.index.engine import IndexDocument, TantivyEngine, engine_class, open_engine
from unioncat.index import stamps
from unioncat.index.fields import DocParts, document_fields, format_label, record_parts
from unioncat.index.stamps import Published, signature
from unioncat.marc import master as master_record
from unioncat.marc.xmltext import marcxml_head
from unioncat.models import StoredRecord
from unioncat.store import Store, open_store
from unioncat.store.dedup import MemberRow
from unioncat.workers import pool as worker_pool
from unioncat.text import fold

BATCH = 2000
COMMIT_EVERY = 50_000
CHUNK = 500  # masters a worker process builds at a time
PARALLEL_FROM = 4 * CHUNK  # fewer masters are built in this process: starting workers costs more


@dataclass
class IndexStats:
    """What an index run did."""

    documents: int = 0
    deleted: int = 0
    elapsed: float = 0.0
    rebuilt: bool = False
    total: int = 0
    stamped: int = 0  # masters whose datestamp changed (OAI-PMH)

    def as_dict(self) -> dict[str, object]:
        """Return the stats as JSON-ready data."""
        rate = round(self.documents / self.elapsed) if self.elapsed else 0
        return {**self.__dict__, "documents_per_second": rate}


def documents(store: Store, cfg: Config, masters: list[str]) -> Iterator[IndexDocument | str]:
    """Yield a document per master that still has members, or its id if it has none."""
    formats = {s.id: s.format for s in cfg.sources}
    found: dict[str, list[MemberRow]] = {}
    for n, master in enumerate(masters):
        if n % CHUNK == 0:  # the records of the next masters, read together
            found = store.master_members(masters[n:n + CHUNK])
        rows = found.get(master)
        if not rows:
            yield master
            continue
        ranked = master_record.ranked((row[0], row[5]) for row in rows)  # each member's dedup data, read once
        completeness = {member["id"]: float(member["completeness"]) for member in ranked}
        parts: list[tuple[float, str, str, DocParts]] = []
        for rid, source, raw, syntax, charset, *_ in rows:
            parts.append((-completeness[rid], rid, source, record_parts(raw, syntax, charset,
                                                                        formats.get(source, "marc21"))))
        parts.sort(key=lambda p: (p[0], p[1]))
        best = parts[0][3]
        members = [p[3] for p in parts]
        kind = format_label(best.material, formats.get(parts[0][2], "marc21"))
        yield IndexDocument(
            id=master, fields=document_fields(members),
            year=best.year or next((p.year for p in members if p.year), None),
            members=sorted({p[2] for p in parts}), language=best.language, format=kind,
            sort_title=fold(best.title),
            signature=signature((r[0], r[6]) for r in rows),
            display={"title": best.title, "author": best.author, "year": best.year,
                     "format": kind, "language": best.language,
                     "title_vernacular": best.title_vernacular, "author_vernacular": best.author_vernacular,
                     "members": [p[1] for p in sorted(parts, key=lambda p: p[1])],
                     "sources": sorted({p[2] for p in parts}), "marcxml": master_head(master, rows, ranked)})


def master_head(master: str, rows: list[MemberRow], found: list[dict[str, Any]]) -> str | None:
    """Return the master record's MARCXML up to the union's holdings, as the servers give it
    (``[server] holdings`` item or member): built here once, kept in the index and written
    into each answer as it is, instead of reading and merging the members' records at every
    request (see ``serving.resources``).  None where it cannot be built as MARC 21: a server
    then builds it as it did, and says why (``found``: the members ranked, ``marc.master.ranked``)."""
    stored = {row[0]: StoredRecord(id=row[0], source_id=row[1], local_id="", raw=row[2], syntax=row[3],
                                   format=row[7], charset=row[4], datestamp=None, deleted=False, notes=(),
                                   first_seen="", last_seen="", updated="", location="") for row in rows}
    try:
        return marcxml_head(*master_record.marc21(master, found, stored), "item")
    except (UnioncatError, ValueError, KeyError):
        return None


Built = tuple[Published, Any]  # a document in its engine's own form, with what OAI-PMH publishes of it


def prepared(store: Store, cfg: Config, masters: list[str]) -> Iterator[Built | str]:
    """``documents`` made ready for the engine (a master's id where it has no members left)."""
    prepare = engine_class(cfg.index.engine).prepare
    for doc in documents(store, cfg, masters):
        if isinstance(doc, str):
            yield doc
        else:
            yield Published(doc.id, doc.signature, stamps.sets_of(doc.members, doc.format)), prepare(doc)


def build_documents(store: Store, cfg: Config, masters: list[str],
                    parallel_from: int = PARALLEL_FROM) -> Iterator[Built | str]:
    """``prepared``, in ``index.workers`` processes when there are many: building a document
    (reading, decoding and analysing its records in Python) costs far more than tantivy's
    indexing it, so this process only writes while the workers build, in order."""
    workers = cfg.index.workers
    if workers < 1 or len(masters) < parallel_from:
        yield from prepared(store, cfg, masters)
        return
    # Workers are forked before this process opens an index writer (no writer threads to copy);
    # each opens its own read-only connection and sees what the run has committed.
    pool = worker_pool(workers, initializer=_worker_start, initargs=(cfg,))
    pending: deque[Future[list[Built | str]]] = deque()
    try:
        for at in range(0, len(masters), CHUNK):
            pending.append(pool.submit(_worker_documents, masters[at:at + CHUNK]))
            if len(pending) > 2 * workers:  # a few chunks ahead, not the whole index in memory
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_WORKER: list[tuple[Store, Config]] = []  # a worker process's own store connection and config


def _worker_start(cfg: Config) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the indexing process's to handle
    _WORKER.append((open_store(cfg.store, readonly=True), cfg))


def _worker_documents(masters: list[str]) -> list[Built | str]:
    store, cfg = _WORKER[0]
    return list(prepared(store, cfg, masters))


class PublishedLog:
    """What an index run wrote, for the datestamps given once the index is committed: kept in a
    temporary file, not in memory (a 5,000,000-record rebuild writes 2,500,000 masters, about
    480 bytes each as Python objects)."""

    PAGE = 10_000

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="unioncat-published-")
        self._page: list[Published] = []

    def append(self, published: Published) -> None:
        self._page.append(published)
        if len(self._page) >= self.PAGE:
            self._spill()

    def _spill(self) -> None:
        if self._page:
            pickle.dump(self._page, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._page = []

    def __iter__(self) -> Iterator[Published]:
        """Everything appended, in order (read back from this run's own temporary file)."""
        self._spill()
        self._file.seek(0)
        while True:
            try:
                page: list[Published] = pickle.load(self._file)  # noqa: S301 - our own file
            except EOFError:
                return
            yield from page

    def close(self) -> None:
        self._file.close()


def update(store: Store, cfg: Config, progress: Callable[[int, int], None] | None = None) -> IndexStats:
    """Index the masters deduplication marked dirty (everything if there is no index yet)."""
    if not os.path.isdir(cfg.index.path) or not os.listdir(cfg.index.path):
        return rebuild(store, cfg, progress)
    start = time.monotonic()
    stats = IndexStats()
    if store.stamps_empty() and store.has_clusters():
        return rebuild(store, cfg, progress)  # a store from before datestamps: stamp every master once
    dirty = store.index_dirty()
    engine = open_engine(cfg.index.engine, cfg.index.path)
    published = PublishedLog()
    try:
        gone = _write(engine, build_documents(store, cfg, dirty), stats, progress, len(dirty), replace=True,
                      published=published)
        engine.commit()
        stats.stamped = stamps.record(store, published, gone)
    finally:
        published.close()
    store.forget_index_dirty(dirty)
    stats.total = engine.count()
    stats.elapsed = time.monotonic() - start
    return stats


def rebuild(store: Store, cfg: Config, progress: Callable[[int, int], None] | None = None) -> IndexStats:
    """Build the whole index in a new directory, then swap it in."""
    start = time.monotonic()
    stats = IndexStats(rebuilt=True)
    target = cfg.index.path.rstrip("/")
    fresh = f"{target}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    masters = store.all_masters()
    engine = open_engine(cfg.index.engine, fresh)
    published = PublishedLog()
    try:
        gone = _write(engine, build_documents(store, cfg, masters), stats, progress, len(masters), replace=False,
                      published=published)
        del masters
        engine.commit()
        stats.total = engine.count()
        del engine
        swap_in(fresh, target)
        shutil.rmtree(fresh, ignore_errors=True)  # the old index, after the exchange
        stats.stamped = stamps.record(store, published, gone, everything=True)
    finally:
        published.close()
    store.forget_index_dirty()
    stats.elapsed = time.monotonic() - start
    return stats


def swap_in(fresh: str, target: str) -> None:
    """Put directory ``fresh`` at ``target`` so that a server never finds ``target``
    missing: one atomic exchange of the two (Linux renameat2 RENAME_EXCHANGE), the old
    index left at ``fresh``; two renames where the kernel cannot exchange."""
    if os.path.isdir(target) and _exchange(fresh, target):
        return
    old = f"{target}.old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(target):
        os.rename(target, old)
    os.rename(fresh, target)
    if os.path.isdir(old):
        os.rename(old, fresh)


def _exchange(a: str, b: str) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return int(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)) == 0


def _write(engine: TantivyEngine, docs: Iterator[Built | str], stats: IndexStats,
           progress: Callable[[int, int], None] | None, total: int, replace: bool,
           published: PublishedLog) -> list[str]:
    """Write the documents; collect what was published; return the masters removed.

    An update (``replace``) writes the live index and commits once, at the end, so that a
    server sees the index before the update or after it; tantivy keeps the writer's memory
    within its heap by writing segments without a commit.  A rebuild writes a private copy
    and commits every COMMIT_EVERY documents."""
    batch: list[tuple[str, Any]] = []
    gone: list[str] = []
    for n, doc in enumerate(docs, 1):
        if isinstance(doc, str):
            gone.append(doc)
        else:
            published.append(doc[0])
            batch.append((doc[0].master_id, doc[1]))
        if len(batch) >= BATCH:
            engine.add_prepared(batch, replace)
            stats.documents += len(batch)
            batch.clear()
            if not replace and stats.documents % COMMIT_EVERY == 0:
                engine.flush()  # a rebuild's private copy: its segments go to disk as it goes
            if progress:
                progress(n, total)
    engine.add_prepared(batch, replace)
    stats.documents += len(batch)
    engine.delete(gone)
    stats.deleted += len(gone)
    return gone


_LOCKS = (".tantivy-writer.lock", ".tantivy-meta.lock", "MAIN_WRITELOCK")  # a writer's, not the index's


def copy_index(source: str, target: str, engine: str) -> dict[str, object]:
    """Copy a finished index generation from ``source`` to ``target`` and switch it in at once
    (the directory exchanged in one rename, as a rebuild does: a server on ``target`` goes on
    answering from the old copy until it sees the new one); return files, bytes and documents.
    The copy is checked to open, as ``engine``, before it is switched in."""
    start = time.monotonic()
    if not os.path.isdir(source) or not os.listdir(source):
        raise SearchIndexError(f"no search index at {source}: run `unioncat index` first")
    target = target.rstrip("/")
    if os.path.realpath(target) == os.path.realpath(source):
        raise SearchIndexError(f"{target} is the index itself")
    fresh = f"{target}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(fresh)), exist_ok=True)
    shutil.copytree(source, fresh, ignore=shutil.ignore_patterns(*_LOCKS))
    files = [os.path.join(d, f) for d, _, names in os.walk(fresh) for f in names]
    size = sum(os.path.getsize(f) for f in files)
    try:
        documents = open_engine(engine, fresh, create=False).count()
    except Exception as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise SearchIndexError(f"the copy of {source} does not open as a {engine} index: {exc}") from exc
    swap_in(fresh, target)
    shutil.rmtree(fresh, ignore_errors=True)  # the previous copy, after the exchange
    return {"source": source, "target": target, "files": len(files),
            "bytes": size, "documents": documents,
            "seconds": round(time.monotonic() - start, 2)}


def export(store: Store, cfg: Config, target: str) -> dict[str, object]:
    """Copy the index to ``target`` (a serving machine's index directory, or a folder to rsync
    from) under the run lock, so no run or review decision changes it while it is copied."""
    with store.run_lock():
        return copy_index(cfg.index.path, target, cfg.index.engine)


def install(cfg: Config, source: str) -> dict[str, object]:
    """Switch in a copy received from the nightly machine (rsync'd to ``source``) as this
    machine's index: copied beside it, checked, exchanged in one rename."""
    return copy_index(source, cfg.index.path, cfg.index.engine)
