"""CQL 1.2 parser: query text to an AST, with SRU diagnostic numbers on errors.

Shared by the search index (``index/query.py`` translates the AST into engine
queries) and the SRU and Z39.50 servers; it never imports either.

    parse("dc.title = \\"red mansions\\" and year >= 1990 sortBy dc.date/sort.descending")

Grammar (CQL 1.2)::

    query      ::= prefixes? scopedClause sortBy?
    scoped     ::= clause (boolean modifiers? clause)*          -- left to right
    clause     ::= "(" scoped ")" | prefixes? (index relation modifiers?)? term
    relation   ::= = == <> < <= > >= adj all any within encloses  (and prefixed names)
    boolean    ::= and | or | not | prox
    sortBy     ::= "sortBy" (index modifiers?)+

Input with no index is ``cql.serverChoice`` with relation ``=``, and a query of bare
words means all of them.  Errors raise :class:`~unioncat.errors.SRUDiagnostic`:
10 query syntax error (also: query too long or too complex), 13 invalid masking,
14 unbalanced quotes, 19 unsupported relation,
20 unsupported relation modifier, 27 empty term, 37 unsupported boolean operator,
80 sort not supported in this form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from unioncat.errors import SRUDiagnostic

RELATIONS = ("==", "<>", "<=", ">=", "=", "<", ">")
WORD_RELATIONS = ("adj", "all", "any", "within", "encloses", "exact")
BOOLEANS = ("and", "or", "not", "prox")
MAX_DEPTH = 32
_TOKEN = re.compile(r'\s*(?:(")((?:[^"\\]|\\.)*)"|(==|<>|<=|>=|=|<|>|\(|\)|/)|([^\s()=<>/"]+))')


@dataclass(frozen=True)
class Modifier:
    """A /name or /name relation value modifier."""

    name: str
    relation: str = ""
    value: str = ""


@dataclass(frozen=True)
class SearchClause:
    """index relation term."""

    index: str
    relation: str
    term: str
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class BooleanNode:
    """left op right."""

    op: str
    left: Node
    right: Node
    modifiers: tuple[Modifier, ...] = ()


Node = SearchClause | BooleanNode


@dataclass(frozen=True)
class SortKey:
    """One sortBy key."""

    index: str
    modifiers: tuple[Modifier, ...] = ()

    @property
    def descending(self) -> bool:
        """Return True for sort.descending."""
        return any(m.name.lower() in ("sort.descending", "descending") for m in self.modifiers)


@dataclass(frozen=True)
class CQLQuery:
    """A parsed query: the search tree and the sort keys."""

    root: Node
    sort: tuple[SortKey, ...] = ()
    prefixes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Tok:
    text: str
    quoted: bool
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if (not match or match.end() == pos) and text[pos:].lstrip().startswith('"'):
            raise SRUDiagnostic(14, text[pos:pos + 20], f"unbalanced quotes at character {pos + 1}")
        if not match or match.end() == pos:
            raise SRUDiagnostic(10, text[pos:pos + 20], f"query syntax error at character {pos + 1}")
        if match.group(1):
            out.append(_Tok(re.sub(r'\\(["\\])', r"\1", match.group(2)), True, match.start()))
        else:
            out.append(_Tok(match.group(3) or match.group(4), False, match.start()))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, max_clauses: int) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.clauses = 0
        self.max_clauses = max_clauses

    def peek(self, k: int = 0) -> _Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SRUDiagnostic(10, self.text, "query ends too early")
        self.i += 1
        return tok

    def is_word(self, tok: _Tok | None, *words: str) -> bool:
        return tok is not None and not tok.quoted and tok.text.lower() in words

    def query(self) -> CQLQuery:
        if not self.toks:
            raise SRUDiagnostic(27, "", "empty query")
        prefixes: dict[str, str] = {}
        root = self.scoped(prefixes)
        sort: tuple[SortKey, ...] = ()
        if self.is_word(self.peek(), "sortby"):
            self.take()
            sort = self.sort_keys()
        if self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            raise SRUDiagnostic(10, tok.text, f"unexpected {tok.text!r} at character {tok.pos + 1}")
        return CQLQuery(root, sort, prefixes)

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys = []
        while self.peek() is not None:
            tok = self.take()
            if tok.quoted or tok.text in ("(", ")", "/") or tok.text in RELATIONS:
                raise SRUDiagnostic(80, tok.text, "sortBy needs index names")
            keys.append(SortKey(tok.text, self.modifiers()))
        if not keys:
            raise SRUDiagnostic(80, "", "sortBy without a key")
        return tuple(keys)

    def scoped(self, prefixes: dict[str, str]) -> Node:
        node = self.clause(prefixes)
        while True:
            tok = self.peek()
            if tok is None or tok.text == ")" or self.is_word(tok, "sortby"):
                return node
            if self.is_word(tok, *BOOLEANS):
                op = self.take().text.lower()
                mods = self.modifiers()
                if op == "prox":
                    raise SRUDiagnostic(37, "prox", "proximity is not supported")
                node = BooleanNode(op, node, self.clause(prefixes), mods)
            else:
                # Bare words one after another: all of them (a reader's habit, not CQL).
                node = BooleanNode("and", node, self.clause(prefixes))

    def clause(self, prefixes: dict[str, str]) -> Node:
        tok = self.peek()
        if tok is None:
            raise SRUDiagnostic(10, self.text, "query ends where a search term was expected")
        if not tok.quoted and tok.text == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SRUDiagnostic(10, "(", f"parentheses nested deeper than {MAX_DEPTH}")
            node = self.scoped(prefixes)
            self.depth -= 1
            close = self.peek()
            if close is None or close.quoted or close.text != ")":
                raise SRUDiagnostic(10, self.text, "missing closing parenthesis")
            self.take()
            return node
        if not tok.quoted and tok.text == ">":  # prefix assignment: > dc = "uri" or > "uri"
            self.take()
            first = self.take()
            nxt = self.peek()
            if nxt is not None and not nxt.quoted and nxt.text == "=":
                self.take()
                prefixes[first.text] = self.take().text
            else:
                prefixes[""] = first.text
            return self.clause(prefixes)
        if not tok.quoted and tok.text in (")", "/") or (not tok.quoted and tok.text in RELATIONS):
            raise SRUDiagnostic(10, tok.text, f"unexpected {tok.text!r} at character {tok.pos + 1}")
        nxt = self.peek(1)
        is_relation = nxt is not None and not nxt.quoted and (
            nxt.text in RELATIONS or nxt.text.lower() in WORD_RELATIONS or
            (re.match(r"^\w+\.\w+$", nxt.text) is not None and self.peek(2) is not None
             and not self.is_word(nxt, *BOOLEANS)))
        if not tok.quoted and is_relation:
            index = self.take().text
            relation = self.take().text.lower()
            if relation not in RELATIONS + WORD_RELATIONS:
                raise SRUDiagnostic(19, relation, f"unsupported relation {relation!r}")
            mods = self.modifiers()
            term_tok = self.peek()
            if term_tok is None:
                raise SRUDiagnostic(27, index, f"no search term after {index} {relation}")
            if not term_tok.quoted and term_tok.text in ("(", ")", "/") + RELATIONS:
                raise SRUDiagnostic(10, term_tok.text, f"expected a search term after {index} {relation}")
            self.take()
            return self.search(index, relation, term_tok.text, mods, prefixes)
        self.take()
        return self.search("cql.serverChoice", "=", tok.text, (), prefixes)

    def search(self, index: str, relation: str, term: str, mods: tuple[Modifier, ...],
               prefixes: dict[str, str]) -> SearchClause:
        self.clauses += 1
        if self.clauses > self.max_clauses:
            raise SRUDiagnostic(10, index, f"query too complex: more than {self.max_clauses} search clauses")
        if term.strip() == "" and relation not in ("==", "exact"):
            raise SRUDiagnostic(27, index, f"empty search term for {index}")
        if re.search(r"(?<!\\)\^(?!$)", term.lstrip("^")):
            raise SRUDiagnostic(13, term, "anchoring character ^ inside a term")
        return SearchClause(index, relation, term, mods)

    def modifiers(self) -> tuple[Modifier, ...]:
        mods = []
        while (tok := self.peek()) is not None and not tok.quoted and tok.text == "/":
            self.take()
            name = self.take()
            if name.quoted or name.text in RELATIONS + ("(", ")", "/"):
                raise SRUDiagnostic(20 if name.text else 10, name.text, "bad modifier")
            rel, value = "", ""
            after = self.peek()
            if after is not None and not after.quoted and after.text in RELATIONS:
                rel = self.take().text
                value = self.take().text
            mods.append(Modifier(name.text, rel, value))
        return tuple(mods)


def parse(text: str, *, max_length: int = 4096, max_clauses: int = 256) -> CQLQuery:
    """Parse CQL; raise SRUDiagnostic with the diagnostic number on error.

    Queries longer than ``max_length`` characters, with more than ``max_clauses``
    search clauses or parentheses nested deeper than 32 are refused (diagnostic 10):
    the caps keep a hostile query from costing more than an ordinary one.
    """
    if len(text) > max_length:
        raise SRUDiagnostic(10, "", f"query longer than {max_length:,} characters")
    return _Parser(text, max_clauses).query()


def walk(node: Node) -> list[SearchClause]:
    """Return every search clause of a tree, left to right."""
    if isinstance(node, SearchClause):
        return [node]
    return walk(node.left) + walk(node.right)


def to_text(node: Node) -> str:
    """Return CQL text that parses back to this tree (terms quoted, operands bracketed)."""
    if isinstance(node, SearchClause):
        mods = "".join(f"/{m.name}{m.relation}{m.value}" for m in node.modifiers)
        term = '"' + node.term.replace('"', '\\"') + '"'
        return f"{node.index} {node.relation}{mods} {term}"
    mods = "".join(f"/{m.name}{m.relation}{m.value}" for m in node.modifiers)
    return f"({to_text(node.left)}) {node.op}{mods} ({to_text(node.right)})"
