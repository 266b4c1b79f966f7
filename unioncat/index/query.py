"""CQL AST to engine query objects (never to a string that is parsed again).

``Translator`` holds the logic once; ``TantivyBuilder`` and ``WhooshBuilder`` make
the query objects of each engine (``tantivy.Query``, ``whoosh.query``).

Index names (context sets cql, dc, bath, rec and ``local`` for holdings and extras)
map to index fields; relations ``= adj ==`` are phrases, ``all`` and ``any`` AND and
OR the words, ``< <= > >= <>`` compare years, ``*`` and ``?`` truncate a word.
Unknown context sets and indexes give SRU diagnostics 15 and 16; relations an index
cannot take, 19.

``local.available`` is answered from the holdings store at query time, not from the
index: ``local.available=true`` (a copy on the shelf at any member), ``=false``, or
``=CITY`` / ``any "CITY DIST"`` (on the shelf at those members).  The builder is given
a function returning the master ids per member (cached by the caller).
"""
from __future__ import annotations

import re
from typing import Any, Callable

import tantivy
from whoosh import query as wq

from unioncat.cql import BooleanNode, CQLQuery, Node, SearchClause
from unioncat.identifiers import isbn13
from unioncat.errors import SRUDiagnostic
from unioncat.index.analyzers import fold_cjk, pinyin_syllable_count, query_pinyin, tokens
from unioncat.index.fields import HEADING_SEP, HEADINGS
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
    "local.available": "available", "available": "available",
    "local.topic": "topic", "topic": "topic",
}
CONTEXT_SETS = {"cql", "dc", "bath", "rec", "local"}
RAW_FIELDS = {"member", "format", "id", "topic"}
NUMERIC = {"year"}
UNMASKED = {"member", "format", "id", "topic", "isbn", "issn", "year", "available", "language"}
# Relation modifiers that change nothing here (matching is always case- and accent-blind).
MODIFIERS = {"relevant", "ignorecase", "ignoreaccents", "word", "string", "unmasked", "masked"}
YES = {"true", "yes", "1", "available", "y"}
NO = {"false", "no", "0", "n"}
AvailableSets = Callable[[], dict[str, frozenset[str]]]


def field_for(index: str) -> str:
    """Return the index field a CQL index name searches, or raise diagnostic 15/16."""
    key = index.lower()
    if key in INDEXES:
        return INDEXES[key]
    if "." in key and key.split(".", 1)[0] not in CONTEXT_SETS:
        raise SRUDiagnostic(15, index.split(".", 1)[0], f"unsupported context set in {index!r}")
    raise SRUDiagnostic(16, index, f"unsupported index {index!r}")


class Translator:
    """Translates a CQL tree with one engine's query constructors (the subclasses)."""

    available: AvailableSets | None = None

    # constructors each engine provides --------------------------------------------
    def term(self, field: str, value: str) -> Any:
        raise NotImplementedError

    def phrase(self, field: str, toks: list[str]) -> Any:
        raise NotImplementedError

    def all_of(self, queries: list[Any]) -> Any:
        raise NotImplementedError

    def any_of(self, queries: list[Any]) -> Any:
        raise NotImplementedError

    def but_not(self, query: Any, excluded: Any) -> Any:
        raise NotImplementedError

    def everything(self) -> Any:
        raise NotImplementedError

    def years(self, lo: int, hi: int, inc_lo: bool, inc_hi: bool) -> Any:
        raise NotImplementedError

    def regex(self, field: str, pattern: str) -> Any:
        raise NotImplementedError

    def ids(self, values: frozenset[str]) -> Any:
        raise NotImplementedError

    # the translation ----------------------------------------------------------------
    def query(self, parsed: CQLQuery) -> Any:
        """Translate a whole query tree."""
        return self.node(parsed.root)

    def node(self, node: Node) -> Any:
        if isinstance(node, BooleanNode):
            left, right = self.node(node.left), self.node(node.right)
            if node.op == "and":
                return self.all_of([left, right])
            if node.op == "or":
                return self.any_of([left, right])
            if node.op == "not":
                return self.but_not(left, right)
            raise SRUDiagnostic(37, node.op, f"unsupported boolean {node.op!r}")
        return self.clause(node)

    def clause(self, clause: SearchClause) -> Any:
        field = field_for(clause.index)
        rel, term = clause.relation, clause.term
        for mod in clause.modifiers:
            if mod.name.lower().rsplit(".", 1)[-1] not in MODIFIERS:
                raise SRUDiagnostic(20, mod.name, f"unsupported relation modifier /{mod.name}")
        if field in UNMASKED and re.search(r"(?<!\\)[*?]", term):
            raise SRUDiagnostic(28, term, f"masking characters are not supported in {clause.index}")
        if field == "*":
            return self.everything()
        if field == "available":
            return self.availability(clause)
        if field in NUMERIC:
            return self.year(rel, term)
        if rel in ("<", "<=", ">", ">=", "within", "encloses"):
            raise SRUDiagnostic(19, rel, f"relation {rel!r} is not supported for {clause.index}")
        if rel == "<>":
            return self.but_not(self.everything(), self.words(field, "=", term))
        query = self.words(field, rel, term)
        if field == "any" and term.replace(" ", "").isascii() and term.strip().replace(" ", "").isalpha():
            # A reader typing pinyin ("hongloumeng") means the Chinese title.
            return self.any_of([query, self.pinyin(term)])
        return query

    def availability(self, clause: SearchClause) -> Any:
        if self.available is None:
            raise SRUDiagnostic(16, clause.index, "availability is not searchable here")
        if clause.relation not in ("=", "==", "any", "adj", "exact"):
            raise SRUDiagnostic(19, clause.relation, f"relation {clause.relation!r} is not supported "
                                f"for {clause.index}")
        sets = self.available()
        words = [w.lower() for w in clause.term.split()] or [""]
        if len(words) == 1 and words[0] in NO:
            return self.but_not(self.everything(), self.ids(sets.get("", frozenset())))
        found: set[str] = set()
        for word in words:
            found |= sets.get("" if word in YES else word.upper(), frozenset())
        return self.ids(frozenset(found))

    def words(self, field: str, rel: str, term: str) -> Any:
        if field in RAW_FIELDS:
            values = term.split() if rel in ("any", "all") else [term.strip()]
            queries = [self.term(field, v.upper() if field == "member" else v) for v in values]
            if len(queries) == 1:
                return queries[0]
            return self.any_of(queries) if rel == "any" else self.all_of(queries)
        if field == "isbn":
            code, _ = isbn13(term)
            return self.term("isbn", code or fold(term).replace(" ", ""))
        if field == "pinyin":
            return self.pinyin(term)
        if rel == "==" and field in HEADINGS:  # exactly this heading: what scan lists
            return self.regex(HEADINGS[field], re.escape(fold_cjk(term) + HEADING_SEP) + ".*")
        if rel in ("all", "any"):
            parts = [self.text(field, word) for word in term.split()]
            if not parts:
                raise SRUDiagnostic(27, field, "empty term")
            if len(parts) == 1:
                return parts[0]
            return self.all_of(parts) if rel == "all" else self.any_of(parts)
        return self.text(field, term)

    def pinyin(self, term: str) -> Any:
        """Typed pinyin, spaced or not: the syllables written together; two or more
        syllables (the last perhaps typed in part) also find the titles they begin."""
        joined = query_pinyin(term)
        syllables, partial = pinyin_syllable_count(joined)
        exact = self.term("pinyin", joined)
        if syllables < 2:
            return exact
        begins = self.regex("pinyin", re.escape(joined) + ".+")
        return begins if partial else self.any_of([exact, begins])

    def text(self, field: str, term: str) -> Any:
        masked = re.search(r"(?<!\\)[*?]", term)
        if masked and not has_cjk(term):
            return self.masked(field, term)
        toks = tokens(term.replace("*", " ").replace("?", " ") if masked else term)
        if not toks:
            raise SRUDiagnostic(27, term, "the term has nothing to search for")
        return self.term(field, toks[0]) if len(toks) == 1 else self.phrase(field, toks)

    def masked(self, field: str, term: str) -> Any:
        parts = []
        for word in term.split():
            if re.search(r"[*?]", word):
                stem = fold(word.replace("*", "").replace("?", ""))
                if word.strip("*?") == "" or len(stem) < 2:
                    raise SRUDiagnostic(13, term, "truncated words need at least two letters")
                pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(fold(c) or c)
                                  for c in word)
                parts.append(self.regex(field, pattern))
            else:
                parts.extend(self.term(field, t) for t in tokens(word))
        return parts[0] if len(parts) == 1 else self.all_of(parts)

    def year(self, rel: str, term: str) -> Any:
        if rel == "within":
            bounds = re.findall(r"\d{4}", term)
            if len(bounds) != 2:
                raise SRUDiagnostic(36, term, "within needs two years")
            return self.years(int(bounds[0]), int(bounds[1]), True, True)
        found = re.match(r"^\s*(\d{1,4})\s*$", term)
        if not found:
            raise SRUDiagnostic(36, term, f"{term!r} is not a year")
        year = int(found.group(1))
        ranges = {"<": (0, year, True, False), "<=": (0, year, True, True),
                  ">": (year, 9999, False, True), ">=": (year, 9999, True, True)}
        if rel in ranges:
            return self.years(*ranges[rel])
        if rel == "<>":
            return self.but_not(self.everything(), self.years(year, year, True, True))
        return self.years(year, year, True, True)


class TantivyBuilder(Translator):
    """Makes tantivy.Query objects."""

    def __init__(self, schema: tantivy.Schema, available: AvailableSets | None = None) -> None:
        self.schema = schema
        self.available = available

    def term(self, field: str, value: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def phrase(self, field: str, toks: list[str]) -> tantivy.Query:
        return tantivy.Query.phrase_query(self.schema, field, list[Any](toks))

    def all_of(self, queries: list[Any]) -> tantivy.Query:
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])

    def any_of(self, queries: list[Any]) -> tantivy.Query:
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    def but_not(self, query: Any, excluded: Any) -> tantivy.Query:
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.MustNot, excluded)])

    def everything(self) -> tantivy.Query:
        return tantivy.Query.all_query()

    def years(self, lo: int, hi: int, inc_lo: bool, inc_hi: bool) -> tantivy.Query:
        return tantivy.Query.range_query(self.schema, "year", tantivy.FieldType.Integer, lo, hi,
                                         include_lower=inc_lo, include_upper=inc_hi)

    def regex(self, field: str, pattern: str) -> tantivy.Query:
        return tantivy.Query.regex_query(self.schema, field, pattern)

    def ids(self, values: frozenset[str]) -> tantivy.Query:
        if not values:
            return tantivy.Query.empty_query()
        return tantivy.Query.term_set_query(self.schema, "id", sorted(values))


class WhooshBuilder(Translator):
    """Makes whoosh.query objects."""

    def __init__(self, available: AvailableSets | None = None) -> None:
        self.available = available

    def term(self, field: str, value: str) -> wq.Query:
        return wq.Term(field, value)

    def phrase(self, field: str, toks: list[str]) -> wq.Query:
        return wq.Phrase(field, toks)

    def all_of(self, queries: list[Any]) -> wq.Query:
        return wq.And(queries)

    def any_of(self, queries: list[Any]) -> wq.Query:
        return wq.Or(queries)

    def but_not(self, query: Any, excluded: Any) -> wq.Query:
        # Not wq.AndNot: in whoosh-reloaded 2.7.5 AndNot(Term, NumericRange) lets through a
        # document the range matches (seen on the demo data); And + Not is right.
        return wq.And([query, wq.Not(excluded)])

    def everything(self) -> wq.Query:
        return wq.Every()

    def years(self, lo: int, hi: int, inc_lo: bool, inc_hi: bool) -> wq.Query:
        return wq.NumericRange("year", lo, hi, startexcl=not inc_lo, endexcl=not inc_hi)

    def regex(self, field: str, pattern: str) -> wq.Query:
        return wq.Regex(field, pattern)

    def ids(self, values: frozenset[str]) -> wq.Query:
        return wq.Or([wq.Term("id", v) for v in sorted(values)]) if values else wq.NullQuery
