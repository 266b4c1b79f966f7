"""Whoosh (whoosh-reloaded 2.7.5): the pure-Python engine for small installations.

Same documents, same tokens (ours, through a space-separated tokenizer), same CQL
translation (``WhooshBuilder``).  Measured too slow past about 50,000 records for
prefix and boolean queries (../shared/reference/search-engines.md); one searcher is
opened per call, never shared between threads.
"""
from __future__ import annotations

import json
import os
from typing import Any

from whoosh import fields as wf
from whoosh import index as windex
from whoosh import sorting
from whoosh.analysis import RegexTokenizer, SpaceSeparatedTokenizer

from unioncat.cql import CQLQuery, SortKey
from unioncat.errors import SearchIndexError, SRUDiagnostic
from unioncat.index.engine import FACETS, HEADING_FIELDS, TOKEN_FIELDS, IndexDocument, SearchHits, terms_window
from unioncat.index.query import AvailableSets, WhooshBuilder, field_for


def whoosh_schema() -> wf.Schema:
    """Return the Whoosh schema matching the tantivy one."""
    text = {name: wf.TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=True) for name in TOKEN_FIELDS}
    headings = {name: wf.TEXT(analyzer=RegexTokenizer(r"[^\x1e]+"), phrase=False) for name in HEADING_FIELDS}
    return wf.Schema(id=wf.ID(stored=True, unique=True), **headings,
                     member=wf.KEYWORD(lowercase=False), language=wf.ID(), format=wf.ID(),
                     topic=wf.TEXT(analyzer=RegexTokenizer(r"[^\x1e]+"), phrase=False),
                     sort_title=wf.ID(sortable=True), year=wf.NUMERIC(int, bits=32, sortable=True),
                     display=wf.STORED(), **text)


class WhooshEngine:
    """The Whoosh implementation of the engine interface."""

    def __init__(self, path: str, create: bool = True) -> None:
        self.path = path
        if windex.exists_in(path):
            self.index = windex.open_dir(path)
        elif create:
            os.makedirs(path, exist_ok=True)
            self.index = windex.create_in(path, whoosh_schema())
        else:
            raise SearchIndexError(f"no search index at {path}: run `unioncat index`")
        self._writer: Any = None

    def writer(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(limitmb=256)
        return self._writer

    def add(self, docs: list[IndexDocument], replace: bool = True) -> None:
        """Add documents, replacing any with the same id (update_document checks cheaply)."""
        self.add_prepared([(doc.id, self.prepare(doc)) for doc in docs], replace)

    def add_prepared(self, docs: list[tuple[str, Any]], replace: bool = True) -> None:
        """Add documents made by ``prepare``, by id."""
        writer = self.writer()
        for _, values in docs:
            writer.update_document(**values)

    @staticmethod
    def prepare(doc: IndexDocument) -> dict[str, Any]:
        """Return a document as Whoosh's field values."""
        values: dict[str, Any] = {name: " ".join(doc.fields.get(name) or []) for name in TOKEN_FIELDS}
        values.update({name: "\x1e".join(doc.fields.get(name) or []) for name in HEADING_FIELDS})
        values = {k: v for k, v in values.items() if v}
        if doc.year is not None:
            values["year"] = doc.year
        return dict(values, id=doc.id, member=" ".join(m.upper() for m in doc.members),
                    language=doc.language or None, format=doc.format or None,
                    topic="\x1e".join(doc.fields.get("topic") or []) or None,
                    sort_title=doc.sort_title[:64] or "~", display=json.dumps(doc.display, ensure_ascii=False))

    def delete(self, ids: list[str]) -> None:
        """Delete documents by id."""
        writer = self.writer()
        for doc_id in ids:
            writer.delete_by_term("id", doc_id)

    def flush(self) -> None:
        """Write what the writer holds to disk."""
        self.commit()

    def commit(self) -> None:
        """Make every change searchable."""
        if self._writer is not None:
            self._writer.commit()
            self._writer = None

    def builder(self) -> WhooshBuilder:
        """Return the query builder of this engine (for filters added to a CQL query)."""
        return WhooshBuilder()

    def count(self) -> int:
        """Return how many documents are searchable."""
        with self.index.searcher() as searcher:
            return int(searcher.doc_count())

    def search(self, parsed: CQLQuery, limit: int = 10, offset: int = 0,
               sort: tuple[SortKey, ...] = (), facets: tuple[str, ...] = (),
               extra: Any = None, available: AvailableSets | None = None) -> SearchHits:
        """Run a parsed CQL query (``available`` answers ``local.available`` clauses)."""
        from whoosh import query as wq

        query = WhooshBuilder(available).query(parsed)
        if extra is not None:
            query = wq.And([query, extra])
        sortedby, reverse = None, False
        for key in sort or parsed.sort:
            name = {"year": "year", "title": "sort_title"}.get(field_for(key.index))
            if name is None:
                raise SRUDiagnostic(80, key.index, f"cannot sort by {key.index}")
            sortedby, reverse = name, key.descending
            break
        groups = {}
        for name in facets:
            target = FACETS.get(name)
            if target is None:
                raise SRUDiagnostic(6, name, f"unknown facet {name!r} (library, year, language, format, subject)")
            groups[name] = sorting.FieldFacet(target, allow_overlap=target in ("member", "topic"))
        with self.index.searcher() as searcher:
            results = searcher.search(query, limit=max(offset + limit, 1), sortedby=sortedby,
                                      reverse=reverse, groupedby=groups or None)
            page = list(results)[offset:offset + limit]
            ids = [hit["id"] for hit in page]
            displays = [json.loads(hit["display"]) for hit in page]
            counts = {name: dict(sorted(((str(k), len(v)) for k, v in results.groups(name).items()),
                                        key=lambda kv: -kv[1])[:20]) for name in groups}
            # len(results) is an estimate for some queries (AndNot); count the matches exactly.
            total = sum(1 for _ in searcher.docs_for_query(query))
            return SearchHits(total, ids, displays, counts)

    def terms(self, field: str, start: str, count: int, before: int = 0,
              whole: bool = True) -> list[tuple[str, int]] | None:
        """Return ``count`` terms of a field, ``before`` of them before ``start``, with document
        counts (for scan); terms before the start mean reading the field's terms from the top."""
        if before:
            return terms_window(self.all_terms(field), start, before, count)
        return self._read_terms(field, start, count)

    def all_terms(self, field: str) -> list[tuple[str, int]]:
        """Return every term of a field in order, with document counts."""
        return self._read_terms(field, "", None)

    def _read_terms(self, field: str, start: str, count: int | None) -> list[tuple[str, int]]:
        with self.index.searcher() as searcher:
            found = []
            for text, info in searcher.reader().iter_field(field, start):
                found.append((text.decode("utf-8") if isinstance(text, bytes) else str(text),
                              int(info.doc_frequency())))
                if count is not None and len(found) >= count:
                    break
            return found
