"""A reader's search, from the URL's parameters to the CQL tree every face searches with.

The parameters are the page's readable, shareable URL (``/search?q=...&library=CITY&page=2``);
each is checked here, and a request that breaks a rule is refused with a message (never
searched half-read).  Words a reader types are words, never CQL: the tree is built from
clauses, so no input can change the query's structure.  ``"quoted words"`` are a phrase.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import urlencode

from unioncat.cql import BooleanNode, CQLQuery, Modifier, Node, SearchClause, SortKey
from unioncat.identifiers import issn
from unioncat.web.i18n import N_

PAGE_SIZE = 20
MAX_DEPTH = 1000  # the deepest hit a results page shows (page 50 of 20)
MAX_FILTERS = 12
MAX_FIELD = 256  # characters in one search box
SORTS = ("relevance", "year", "year-asc", "title")
# Advanced search boxes: parameter -> CQL index searched with "all" (every word).
WORD_FIELDS = {"title": "dc.title", "author": "dc.creator", "subject": "dc.subject", "publisher": "dc.publisher"}
# Facets: parameter -> CQL index a chosen value filters on (exactly).
FACETS = {"library": "local.member", "year": "dc.date", "language": "dc.language", "format": "dc.type",
          "subject_facet": "local.topic"}
FACET_OF = {"library": "library", "year": "year", "language": "language", "format": "format",
            "subject_facet": "subject"}  # parameter -> the index engine's facet name
KNOWN = {"q", "isbn", "year_from", "year_to", "available", "sort", "page", "lang", "live", *WORD_FIELDS, *FACETS}


class BadSearch(ValueError):
    """A request the search page refuses: ``message`` is a msgid, ``values`` its parameters."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values


@dataclass(frozen=True)
class Search:
    """One validated search request."""

    q: str = ""
    words: dict[str, str] = field(default_factory=dict)  # advanced boxes, WORD_FIELDS keys
    isbn: str = ""
    year_from: int | None = None
    year_to: int | None = None
    available: bool = False
    filters: tuple[tuple[str, str], ...] = ()  # (FACETS key, value), in the order chosen
    sort: str = "relevance"
    page: int = 1
    live: bool = False  # also ask the member libraries' own servers now

    @property
    def empty(self) -> bool:
        return not (self.q or self.words or self.isbn or self.year_from or self.year_to or self.filters
                    or self.available)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """Return the URL parameters of this search (with ``changes`` applied), page 1 left out."""
        search = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        out: list[tuple[str, str]] = []
        if search.q:
            out.append(("q", search.q))
        out += [(k, search.words[k]) for k in WORD_FIELDS if search.words.get(k)]
        if search.isbn:
            out.append(("isbn", search.isbn))
        if search.year_from is not None:
            out.append(("year_from", str(search.year_from)))
        if search.year_to is not None:
            out.append(("year_to", str(search.year_to)))
        out += list(search.filters)
        if search.available:
            out.append(("available", "1"))
        if search.sort != "relevance":
            out.append(("sort", search.sort))
        if search.live:
            out.append(("live", "1"))
        if search.page > 1:
            out.append(("page", str(search.page)))
        return out

    def url(self, **changes: object) -> str:
        """Return the results page's URL of this search with ``changes`` (page back to 1 unless given)."""
        if not changes:
            return self.first_page
        changes.setdefault("page", 1)
        return "/search?" + urlencode(self.params(**changes))

    @cached_property
    def first_page(self) -> str:
        return "/search?" + urlencode(self.params(page=1))

    def with_filter(self, name: str, value: str) -> str:
        """Return the URL of this search narrowed by one more facet value (page 1)."""
        return self.first_page + "&" + urlencode([(name, value)])  # asked for every facet value shown

    def without_filter(self, name: str, value: str) -> str:
        return self.url(filters=tuple(f for f in self.filters if f != (name, value)))

    def query(self) -> CQLQuery:
        """Return the CQL tree of this search (everything when it has no terms, only filters)."""
        clauses = self._terms()
        for name, value in self.filters:
            clauses.append(SearchClause(FACETS[name], "=", value))
        if self.available:
            libraries = [v for k, v in self.filters if k == "library"]
            clauses.append(SearchClause("local.available", "any" if libraries else "=",
                                        " ".join(libraries) if libraries else "true"))
        return _joined(clauses, self.sort)

    def live_query(self) -> CQLQuery | None:
        """Return what another library's server can be asked: the words, identifiers and years,
        without the union catalogue's own filters; None if that leaves nothing."""
        clauses = self._terms(standard=True)
        return _joined(clauses, "relevance") if clauses else None

    def _terms(self, standard: bool = False) -> list[Node]:
        clauses: list[Node] = []
        if self.q:
            clauses += words_clauses("cql.serverChoice", self.q)
        for name, index in WORD_FIELDS.items():
            if self.words.get(name):
                clauses += words_clauses(index, self.words[name])
        if self.isbn:
            is_issn = len(re.sub(r"[\s-]", "", self.isbn)) == 8 and issn(self.isbn)
            index = "issn" if is_issn else "isbn"
            clauses.append(SearchClause(f"bath.{index}" if standard else index, "=", self.isbn))
        if self.year_from is not None:
            clauses.append(SearchClause("dc.date", ">=", str(self.year_from)))
        if self.year_to is not None:
            clauses.append(SearchClause("dc.date", "<=", str(self.year_to)))
        return clauses


def _joined(clauses: list[Node], sort: str) -> CQLQuery:
    """Return clauses and-ed together (everything when there are none)."""
    if not clauses:
        clauses = [SearchClause("cql.allRecords", "=", "1")]
    root = clauses[0]
    for clause in clauses[1:]:
        root = BooleanNode("and", root, clause)
    return CQLQuery(root, sort_keys(sort))


def sort_keys(sort: str) -> tuple[SortKey, ...]:
    if sort == "year":
        return (SortKey("dc.date", (Modifier("sort.descending"),)),)
    if sort == "year-asc":
        return (SortKey("dc.date"),)
    if sort == "title":
        return (SortKey("dc.title"),)
    return ()


_PHRASE = re.compile(r'"([^"]*)"|(\S+)')


def words_clauses(index: str, text: str) -> list[Node]:
    """Return the clauses of what a reader typed: every word, and each quoted phrase as one."""
    words: list[str] = []
    clauses: list[Node] = []
    for phrase, word in _PHRASE.findall(text):
        if phrase.strip():
            clauses.append(SearchClause(index, "adj", phrase.strip()))
        elif word.strip('"'):
            words.append(word.strip('"'))
    if words:
        clauses.insert(0, SearchClause(index, "all", " ".join(words)))
    return clauses


def parse(pairs: list[tuple[str, str]]) -> Search:
    """Read and check the parameters of a search request (raise BadSearch)."""
    single: dict[str, str] = {}
    filters: list[tuple[str, str]] = []
    for key, value in pairs:
        if key not in KNOWN:
            continue  # a tracking parameter or an old bookmark's: ignored, not refused
        if len(value) > MAX_FIELD:
            raise BadSearch(N_("The search is too long (at most %(n)s characters in a box)."), n=MAX_FIELD)
        if "\x00" in value:
            raise BadSearch(N_("The search contains characters that cannot be searched."))
        value = " ".join(value.split())
        if key in FACETS:
            if value and (key, value) not in filters:
                filters.append((key, value))
        elif key in single and single[key] != value:
            raise BadSearch(N_("The parameter %(name)s is given twice."), name=key)
        else:
            single[key] = value
    if len(filters) > MAX_FILTERS:
        raise BadSearch(N_("Too many filters (at most %(n)s)."), n=MAX_FILTERS)
    sort = single.get("sort") or "relevance"
    if sort not in SORTS:
        raise BadSearch(N_("Unknown sort order %(sort)s."), sort=sort)
    page = _number(single.get("page", ""), "page", 1, MAX_DEPTH // PAGE_SIZE) or 1
    lo = _number(single.get("year_from", ""), "year_from", 0, 9999)
    hi = _number(single.get("year_to", ""), "year_to", 0, 9999)
    if lo is not None and hi is not None and lo > hi:
        raise BadSearch(N_("The year range runs backwards (%(lo)s to %(hi)s)."), lo=lo, hi=hi)
    for name, value in filters:
        if name == "year" and not re.fullmatch(r"\d{1,4}", value):
            raise BadSearch(N_("%(value)s is not a year."), value=value)
    return Search(q=single.get("q", ""), words={k: single[k] for k in WORD_FIELDS if single.get(k)},
                  isbn=single.get("isbn", ""), year_from=lo, year_to=hi,
                  available=single.get("available", "") in ("1", "on", "true", "yes"),
                  filters=tuple(filters), sort=sort, page=page,
                  live=single.get("live", "") in ("1", "on", "true", "yes"))


def _number(text: str, name: str, lo: int, hi: int) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{1,6}", text) or not lo <= int(text) <= hi:
        if name == "page":
            raise BadSearch(N_("Results are shown up to page %(n)s; narrow the search to see more."), n=hi)
        raise BadSearch(N_("%(value)s is not a year."), value=text)
    return int(text)
