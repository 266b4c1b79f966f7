"""Search for the command line: CQL in, master records with copies per member out.

Availability is joined from the holdings store at answer time, never from the
index, so ``--available`` (the CQL clause ``local.available=true``) reflects tonight's
feeds without a reindex.
"""
from __future__ import annotations

from typing import Any

from unioncat.config.model import Config
from unioncat.cql import BooleanNode, CQLQuery, Modifier, SearchClause, SortKey, parse
from unioncat.holdings.view import available_masters, holdings_for
from unioncat.index.engine import open_engine
from unioncat.store import Store
from unioncat.text import shown


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
        parsed = CQLQuery(BooleanNode("and", parsed.root, SearchClause("local.available", "=", "true")),
                          parsed.sort, parsed.prefixes)
    hits = engine.search(parsed, limit=limit, offset=offset, sort=keys, facets=facets, extra=extra,
                         available=lambda: available_masters(store))
    records = []
    for master, display in zip(hits.ids, hits.displays):
        copies = _copies(store, display)
        title, title_romanised = shown(display.get("title_vernacular", ""), display.get("title", ""))
        author, author_romanised = shown(display.get("author_vernacular", ""), display.get("author", ""))
        records.append({"id": master, "title": title, "title_romanised": title_romanised,
                        "author": author, "author_romanised": author_romanised,
                        "year": display.get("year"), "members": display.get("members", []),
                        "copies": copies})
    return {"total": hits.total, "offset": offset, "records": records, "facets": hits.facets}


def _copies(store: Store, display: dict[str, Any]) -> dict[str, dict[str, int]]:
    members = holdings_for(store, list(display.get("members", [])))
    return {m["member"]: {"available": m["available"], "total": m["total"]} for m in members}
