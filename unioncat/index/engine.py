"""The search engine behind the union index: tantivy (the default).

One document per master record: token fields from our own analyzers (indexed
through tantivy's whitespace tokenizer, so tantivy stores exactly our tokens),
``year`` as a number, raw ``member``, ``language`` and ``format`` fields for
filters and facets, and a stored JSON ``display`` blob.  Updates are by the unique
``id`` (delete, then add).  A searcher is opened per query call and is cheap.
"""
from __future__ import annotations

import base64
import bisect
import json
import os
from dataclasses import dataclass, field
from typing import Any

import tantivy

from unioncat.cql import CQLQuery, SortKey
from unioncat.errors import SRUDiagnostic, SearchIndexError
from unioncat.index.query import AvailableSets, TantivyBuilder, field_for

TOKEN_FIELDS = ("title", "author", "subject", "publisher", "place", "series", "notes",
                "classification", "isbn", "issn", "ids", "any", "pinyin")
RAW_FIELDS = ("id", "member", "language", "format", "topic")
HEADING_FIELDS = ("title_heading", "author_heading", "subject_heading")  # whole headings, for browse
FACETS = {"library": "member", "member": "member", "language": "language", "format": "format",
          "year": "year", "subject": "topic"}
# The writer's memory: tantivy writes a segment each time it fills (25,000 documents of the
# 5,000,000-record consortium at 96 MiB) and merges 8 segments of a size into one of the next:
# the larger the first segments, the fewer rounds of merging and the later the largest merge,
# whose input segments are mapped into the process while it runs (the rebuild of 2,500,000
# masters with 96 MiB merged 8 x 200,000 documents at 1,600,000 and peaked at 2,567 MiB).
WRITER_HEAP = 192 << 20


@dataclass(frozen=True)
class IndexDocument:
    """One master record as the engine stores it."""

    id: str
    fields: dict[str, list[str]]
    year: int | None
    members: list[str]  # holding member codes
    language: str
    format: str
    sort_title: str
    display: dict[str, Any] = field(default_factory=dict)
    signature: str = ""  # of its members' ids and contents: a new one is a new datestamp


@dataclass
class SearchHits:
    """A page of results with the total and facet counts."""

    total: int
    ids: list[str]
    displays: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]


def schema() -> tantivy.Schema:
    """Return the index schema."""
    builder = tantivy.SchemaBuilder()
    for name in TOKEN_FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="whitespace", index_option="position")
    for name in RAW_FIELDS:
        builder.add_text_field(name, stored=name == "id", tokenizer_name="raw", fast=True,
                               index_option="basic")
    builder.add_text_field("sort_title", stored=False, tokenizer_name="raw", fast=True, index_option="basic")
    for name in HEADING_FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", stored=False, indexed=True, fast=True)
    builder.add_bytes_field("display", stored=True)
    return builder.build()


class TantivyEngine:
    """The default engine.

        engine = TantivyEngine("var/index"); engine.add(docs); engine.commit()
        hits = engine.search(parse("dc.title=history"), limit=10)
    """

    def __init__(self, path: str, create: bool = True) -> None:
        self.path = path
        if not os.path.isdir(path):
            if not create:
                raise SearchIndexError(f"no search index at {path}: run `unioncat index`")
            os.makedirs(path)
        try:
            self.index = tantivy.Index(schema(), path=path, reuse=True)
        except ValueError as exc:
            raise SearchIndexError(f"{path}: cannot open the search index ({exc}); an index built by an "
                                   "earlier unioncat needs `unioncat index --rebuild`") from exc
        self.schema = self.index.schema
        self._writer: tantivy.IndexWriter | None = None

    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
        return self._writer

    def add(self, docs: list[IndexDocument], replace: bool = True) -> None:
        """Add documents, replacing any with the same id (a fresh rebuild has none)."""
        self.add_prepared([(doc.id, self.prepare(doc)) for doc in docs], replace)

    def add_prepared(self, docs: list[tuple[str, str]], replace: bool = True) -> None:
        """Add documents made by ``prepare`` (in a worker process, say), by id."""
        writer = self.writer()
        for doc_id, prepared in docs:
            if replace:
                writer.delete_documents_by_term("id", doc_id)
            writer.add_json(prepared)

    def delete(self, ids: list[str]) -> None:
        """Delete documents by id."""
        writer = self.writer()
        for doc_id in ids:
            writer.delete_documents_by_term("id", doc_id)

    def flush(self) -> None:
        """Write what the writer holds to disk (a commit, on a rebuild's private copy)."""
        if self._writer is not None:
            self._writer.commit()

    def commit(self) -> None:
        """Make every change searchable, atomically."""
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.index.reload()

    @staticmethod
    def prepare(doc: IndexDocument) -> str:
        """Return the engine's own form of a document: its JSON, as tantivy reads it (the
        stored ``display`` in base64).  Workers build documents and send them over: a
        ``tantivy.Document`` took 170 us to pickle and as long to unpickle, against 75 us for
        the whole of this and 25 us for tantivy to read it."""
        out: dict[str, Any] = {"id": doc.id}
        for name in TOKEN_FIELDS:
            toks = doc.fields.get(name)
            if toks:
                out[name] = " ".join(toks)
        for name in HEADING_FIELDS:
            if doc.fields.get(name):
                out[name] = list(doc.fields[name])
        if doc.members:
            out["member"] = [member.upper() for member in doc.members]
        if doc.language:
            out["language"] = doc.language
        if doc.format:
            out["format"] = doc.format
        if doc.fields.get("topic"):
            out["topic"] = list(doc.fields["topic"])
        out["sort_title"] = doc.sort_title[:64] or "~"
        if doc.year is not None:
            out["year"] = doc.year
        out["display"] = base64.b64encode(pack_display(doc.display)).decode("ascii")
        return json.dumps(out, ensure_ascii=False)

    def builder(self) -> TantivyBuilder:
        """Return the query builder of this engine (for filters added to a CQL query)."""
        return TantivyBuilder(self.schema)

    def count(self) -> int:
        """Return how many documents are searchable."""
        return int(self.index.searcher().num_docs)

    def search(self, parsed: CQLQuery, limit: int = 10, offset: int = 0,
               sort: tuple[SortKey, ...] = (), facets: tuple[str, ...] = (),
               extra: tantivy.Query | None = None, available: AvailableSets | None = None) -> SearchHits:
        """Run a parsed CQL query (``available`` answers ``local.available`` clauses)."""
        query = TantivyBuilder(self.schema, available).query(parsed)
        if extra is not None:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, extra)])
        searcher = self.index.searcher()
        order_field, order = None, tantivy.Order.Desc
        for key in sort or parsed.sort:
            name = field_for(key.index)
            order_field = {"year": "year", "title": "sort_title"}.get(name)
            if order_field is None:
                raise SRUDiagnostic(80, key.index, f"cannot sort by {key.index}")
            order = tantivy.Order.Desc if key.descending else tantivy.Order.Asc
            break
        try:
            # tantivy panics on limit 0; a count-only request fetches one hit and drops it.
            result = searcher.search(query, limit=max(limit, 1), count=True, offset=offset,
                                     order_by_field=order_field, order=order) if order_field else \
                searcher.search(query, limit=max(limit, 1), count=True, offset=offset)
        except ValueError as exc:
            raise SearchIndexError(f"search failed: {exc}") from exc
        ids: list[str] = []
        displays: list[dict[str, Any]] = []
        for _, address in result.hits[:limit]:
            stored = searcher.doc(address)
            ids.append(str(stored.get_first("id")))
            displays.append(unpack_display(bytes(stored.get_first("display") or b"{}")))
        total = int(getattr(result, "count", 0) or 0)
        return SearchHits(total, ids, displays, self._facets(searcher, query, facets))

    def terms(self, field: str, start: str, count: int, before: int = 0,
              whole: bool = True) -> list[tuple[str, int]] | None:
        """Return ``count`` terms of a field, ``before`` of them before ``start``, with document
        counts (for scan).  Terms sharing a prefix with ``start`` are one contiguous block of
        the sorted term list, so the smallest such block that holds the window is read, not
        the whole list (200,000 LoC records: 1.8 s for the whole ``any`` list).  A window
        that runs past the first or last block needs the whole list: None unless ``whole``."""
        searcher = self.index.searcher()
        for length in range(len(start), 0, -1):
            block = sorted((str(t), int(n)) for t, n in searcher.terms_with_prefix(field, start[:length]))
            at = bisect.bisect_left(block, (start, -1))
            if at >= before and len(block) - at >= count - before:
                return terms_window(block, start, before, count)
        return terms_window(self.all_terms(field), start, before, count) if whole else None

    def all_terms(self, field: str) -> list[tuple[str, int]]:
        """Return every term of a field in order, with document counts."""
        return sorted((str(t), int(n)) for t, n in self.index.searcher().terms_with_prefix(field, ""))

    def _facets(self, searcher: tantivy.Searcher, query: tantivy.Query,
                names: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Return the top 20 values of each facet, all facets in one pass over the hits."""
        if not names:
            return {}
        request = {}
        for name in names:
            target = FACETS.get(name)
            if target is None:
                raise SRUDiagnostic(6, name, f"unknown facet {name!r} (library, year, language, format, subject)")
            request[name] = {"terms": {"field": target, "size": 20}}
        found = searcher.aggregate(query, request)
        return {name: {str(b["key"]): int(b["doc_count"]) for b in found.get(name, {}).get("buckets", [])}
                for name in names}


def pack_display(display: dict[str, Any]) -> bytes:
    """Return a hit's display as the index stores it: its JSON without the kept MARCXML, then a
    NUL and the MARCXML as it is.  JSON never holds a raw NUL, so the first one divides them;
    the MARCXML, 2.7 of the 3.0 KB of a LoC record's display, is not read through JSON's escapes
    (a hit's display read in 4.4 instead of 10.4 us, best of five passes over 2,000 hits of
    200,000 LoC records; the JSON left, 270 bytes, is 2.7 us of it)."""
    marcxml = display.get("marcxml")
    if not isinstance(marcxml, str):
        return json.dumps(display, ensure_ascii=False).encode("utf-8")
    rest = {key: value for key, value in display.items() if key != "marcxml"}
    return json.dumps(rest, ensure_ascii=False).encode("utf-8") + b"\0" + marcxml.encode("utf-8")


def unpack_display(raw: bytes) -> dict[str, Any]:
    """Return the display :func:`pack_display` stored (or one stored as JSON alone, as an
    index built before it keeps them)."""
    head, divided, marcxml = raw.partition(b"\0")
    display: dict[str, Any] = json.loads(head.decode("utf-8"))
    if divided:
        display["marcxml"] = marcxml.decode("utf-8")
    return display


def terms_window(terms: list[tuple[str, int]], start: str, before: int,
                 count: int) -> list[tuple[str, int]]:
    """Return ``count`` terms of a sorted list: ``before`` of them before ``start``."""
    at = bisect.bisect_left(terms, (start, -1))
    first = max(at - before, 0)
    return terms[first:first + count]


MARKER = "unioncat-engine"


def engine_class(engine: str) -> type[TantivyEngine]:
    """Return the class of the configured engine (``[index] engine``): tantivy or whoosh."""
    if engine == "whoosh":
        from unioncat.index.whoosh_engine import WhooshEngine

        return WhooshEngine  # type: ignore[return-value]
    return TantivyEngine


def open_engine(engine: str, path: str, create: bool = True) -> TantivyEngine:
    """Open the configured engine (``[index] engine``): tantivy or whoosh.

    The index directory remembers which engine built it, so switching engines in the
    config asks for a rebuild instead of writing one engine's files over the other's.
    """
    marker = os.path.join(path, MARKER)
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as fh:
            built = fh.read().strip()
        if built != engine:
            raise SearchIndexError(f"{path} was built by {built}, the config asks for {engine}: "
                                   "run `unioncat index --rebuild`")
    elif os.path.isdir(path) and os.listdir(path):
        raise SearchIndexError(f"{path} is not a unioncat index: run `unioncat index --rebuild`")
    elif create:
        os.makedirs(path, exist_ok=True)
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(engine + "\n")
    return engine_class(engine)(path, create)
