"""Search for the command line: CQL in, master records with copies per member out.

Availability is joined from the holdings store at answer time, never from the
index, so ``--available`` reflects tonight's feeds without a reindex.
"""
from __future__ import annotations

from typing import Any

from unioncat.config.model import Config
from unioncat.cql import Modifier, SortKey, parse
from unioncat.holdings.view import holdings_for
from unioncat.index.engine import open_engine
from unioncat.store import Store

AVAILABLE_SCAN = 10_000


def run_search(store: Store, cfg: Config, query: str, *, limit: int = 10, offset: int = 0,
               sort: str | None = None, facets: tuple[str, ...] = (), libraries: tuple[str, ...] = (),
               available: bool = False) -> dict[str, Any]:
    """Run a CQL query; return total, records (with copies per member) and facets."""
    parsed = parse(query)
    engine = open_engine(cfg.index.engine, cfg.index.path, create=False)
    keys: tuple[SortKey, ...] = ()
    if sort:
        name, _, direction = sort.partition(":")
        keys = (SortKey(name, (Modifier("sort.descending"),) if direction == "desc" else ()),)
    extra = None
    if libraries:
        extra = engine.builder().any_of([engine.builder().term("member", lib.upper()) for lib in libraries])
    if available:
        hits = engine.search(parsed, limit=AVAILABLE_SCAN, sort=keys, facets=facets, extra=extra)
        rows = [(i, d) for i, d in zip(hits.ids, hits.displays) if _copies(store, d)[1]]
        total = len(rows)
        rows = rows[offset:offset + limit]
    else:
        hits = engine.search(parsed, limit=limit, offset=offset, sort=keys, facets=facets, extra=extra)
        rows = list(zip(hits.ids, hits.displays))
        total = hits.total
    records = []
    for master, display in rows:
        copies, _ = _copies(store, display)
        records.append({"id": master, "title": display.get("title", ""), "author": display.get("author", ""),
                        "year": display.get("year"), "members": display.get("members", []),
                        "copies": copies})
    return {"total": total, "offset": offset, "records": records, "facets": hits.facets}


def _copies(store: Store, display: dict[str, Any]) -> tuple[dict[str, dict[str, int]], bool]:
    members = holdings_for(store, list(display.get("members", [])))
    copies = {m["member"]: {"available": m["available"], "total": m["total"]} for m in members}
    return copies, any(m["available"] for m in members)
