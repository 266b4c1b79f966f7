"""CQL AST to tantivy query objects (never to a string that is parsed again).

Index names (context sets cql, dc, bath, rec and ``local`` for holdings and extras)
map to index fields; relations ``= adj ==`` are phrases, ``all`` and ``any`` AND and
OR the words, ``< <= > >= <>`` compare years, ``*`` and ``?`` truncate a word.
Unknown context sets and indexes give SRU diagnostics 15 and 16; relations an index
cannot take, 19.
"""
from __future__ import annotations

import re
from typing import Any

import tantivy

from unioncat.cql import BooleanNode, CQLQuery, Node, SearchClause
from unioncat.dedup.normalize import isbn13
from unioncat.errors import SRUDiagnostic
from unioncat.index.analyzers import query_pinyin, tokens
from unioncat.text import fold, has_cjk

INDEXES: dict[str, str] = {
    "cql.serverchoice": "any", "cql.anywhere": "any", "cql.keywords": "any", "cql.allindexes": "any",
    "dc.anywhere": "any", "cql.allrecords": "*",
    "dc.title": "title", "bath.title": "title", "title": "title", "bath.keytitle": "title",
    "bath.uniformtitle": "title", "bath.seriestitle": "series",
    "dc.creator": "author", "dc.author": "author", "dc.contributor": "author", "dc.name": "author",
    "bath.name": "author", "bath.personalname": "author", "bath.corporatename": "author",
    "bath.conferencename": "author", "author": "author", "creator": "author",
    "dc.subject": "subject", "bath.subject": "subject", "bath.topicalsubject": "subject",
    "bath.geographicname": "subject", "subject": "subject",
    "dc.publisher": "publisher", "bath.publisher": "publisher", "publisher": "publisher",
    "local.place": "place", "place": "place",
    "bath.isbn": "isbn", "isbn": "isbn", "bath.issn": "issn", "issn": "issn",
    "dc.identifier": "ids", "bath.standardidentifier": "ids", "bath.lccn": "ids", "bath.localnumber": "ids",
    "rec.id": "id", "local.id": "id",
    "dc.date": "year", "bath.date": "year", "year": "year", "date": "year",
    "dc.language": "language", "language": "language", "dc.type": "format", "format": "format",
    "bath.possessinginstitution": "member", "local.member": "member", "member": "member",
    "local.library": "member", "library": "member",
    "local.classification": "classification", "classification": "classification",
    "local.series": "series", "series": "series", "local.notes": "notes", "notes": "notes",
    "local.pinyin": "pinyin", "pinyin": "pinyin",
}
CONTEXT_SETS = {"cql", "dc", "bath", "rec", "local"}
RAW_FIELDS = {"member", "format", "id"}
NUMERIC = {"year"}


def field_for(index: str) -> str:
    """Return the index field a CQL index name searches, or raise diagnostic 15/16."""
    key = index.lower()
    if key in INDEXES:
        return INDEXES[key]
    if "." in key and key.split(".", 1)[0] not in CONTEXT_SETS:
        raise SRUDiagnostic(15, index.split(".", 1)[0], f"unsupported context set in {index!r}")
    raise SRUDiagnostic(16, index, f"unsupported index {index!r}")


class Translator:
    """Builds tantivy queries against one schema."""

    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema

    def query(self, parsed: CQLQuery) -> tantivy.Query:
        """Translate a whole query tree."""
        return self.node(parsed.root)

    def node(self, node: Node) -> tantivy.Query:
        if isinstance(node, BooleanNode):
            left, right = self.node(node.left), self.node(node.right)
            if node.op == "and":
                return tantivy.Query.boolean_query([(tantivy.Occur.Must, left), (tantivy.Occur.Must, right)])
            if node.op == "or":
                return tantivy.Query.boolean_query([(tantivy.Occur.Should, left), (tantivy.Occur.Should, right)])
            if node.op == "not":
                return tantivy.Query.boolean_query([(tantivy.Occur.Must, left), (tantivy.Occur.MustNot, right)])
            raise SRUDiagnostic(37, node.op, f"unsupported boolean {node.op!r}")
        return self.clause(node)

    def clause(self, clause: SearchClause) -> tantivy.Query:
        field = field_for(clause.index)
        rel, term = clause.relation, clause.term
        if field == "*":
            return tantivy.Query.all_query()
        if field in NUMERIC:
            return self.year(rel, term)
        if rel in ("<", "<=", ">", ">=", "within", "encloses"):
            raise SRUDiagnostic(19, rel, f"relation {rel!r} is not supported for {clause.index}")
        if rel == "<>":
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.all_query()),
                                                (tantivy.Occur.MustNot, self.words(field, "=", term))])
        query = self.words(field, rel, term)
        if field == "any" and term.replace(" ", "").isascii() and term.strip().replace(" ", "").isalpha():
            # A reader typing pinyin ("hongloumeng") means the Chinese title.
            pinyin = tantivy.Query.term_query(self.schema, "pinyin", query_pinyin(term))
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, query), (tantivy.Occur.Should, pinyin)])
        return query

    def words(self, field: str, rel: str, term: str) -> tantivy.Query:
        if field in RAW_FIELDS:
            values = term.split() if rel in ("any", "all") else [term.strip()]
            queries = [tantivy.Query.term_query(self.schema, field, v.upper() if field == "member" else v)
                       for v in values]
            occur = tantivy.Occur.Should if rel == "any" else tantivy.Occur.Must
            return queries[0] if len(queries) == 1 else tantivy.Query.boolean_query([(occur, q) for q in queries])
        if field == "isbn":
            code, _ = isbn13(term)
            return tantivy.Query.term_query(self.schema, "isbn", code or fold(term).replace(" ", ""))
        if field == "pinyin":
            return tantivy.Query.term_query(self.schema, "pinyin", query_pinyin(term))
        if rel in ("all", "any"):
            parts = [self.phrase(field, word) for word in term.split()]
            if not parts:
                raise SRUDiagnostic(27, field, "empty term")
            occur = tantivy.Occur.Must if rel == "all" else tantivy.Occur.Should
            return parts[0] if len(parts) == 1 else tantivy.Query.boolean_query([(occur, p) for p in parts])
        return self.phrase(field, term)

    def phrase(self, field: str, term: str) -> tantivy.Query:
        masked = re.search(r"(?<!\\)[*?]", term)
        if masked and not has_cjk(term):
            return self.masked(field, term)
        toks = tokens(term.replace("*", " ").replace("?", " ") if masked else term)
        if not toks:
            raise SRUDiagnostic(27, term, "the term has nothing to search for")
        if len(toks) == 1:
            return tantivy.Query.term_query(self.schema, field, toks[0])
        return tantivy.Query.phrase_query(self.schema, field, list[Any](toks))

    def masked(self, field: str, term: str) -> tantivy.Query:
        words = term.split()
        parts = []
        for word in words:
            if re.search(r"[*?]", word):
                stem = fold(word.replace("*", "").replace("?", ""))
                if word.strip("*?") == "" or len(stem) < 2:
                    raise SRUDiagnostic(13, term, "truncated words need at least two letters")
                pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(fold(c) or c)
                                  for c in word)
                parts.append(tantivy.Query.regex_query(self.schema, field, pattern))
            else:
                parts.extend(tantivy.Query.term_query(self.schema, field, t) for t in tokens(word))
        if len(parts) == 1:
            return parts[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])

    def year(self, rel: str, term: str) -> tantivy.Query:
        found = re.match(r"^\s*(\d{1,4})\s*$", term)
        if rel in ("within",):
            bounds = re.findall(r"\d{4}", term)
            if len(bounds) != 2:
                raise SRUDiagnostic(36, term, "within needs two years")
            return self._range(int(bounds[0]), int(bounds[1]), True, True)
        if not found:
            raise SRUDiagnostic(36, term, f"{term!r} is not a year")
        year = int(found.group(1))
        ranges: dict[str, tuple[Any, Any, bool, bool]] = {
            "<": (None, year, True, False), "<=": (None, year, True, True),
            ">": (year, None, False, True), ">=": (year, None, True, True)}
        if rel in ranges:
            lo, hi, inc_lo, inc_hi = ranges[rel]
            return self._range(lo if lo is not None else 0, hi if hi is not None else 9999, inc_lo, inc_hi)
        if rel == "<>":
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.all_query()),
                                                (tantivy.Occur.MustNot, self._range(year, year, True, True))])
        return self._range(year, year, True, True)

    def _range(self, lo: int, hi: int, inc_lo: bool, inc_hi: bool) -> tantivy.Query:
        return tantivy.Query.range_query(self.schema, "year", tantivy.FieldType.Integer, lo, hi,
                                         include_lower=inc_lo, include_upper=inc_hi)
