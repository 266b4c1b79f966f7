"""A CQL query as each kind of target takes it: CQL as it is for SRU, type-1 RPN with BIB-1
attributes (as PQF) for Z39.50 — the Z39.50 server's use-attribute map read in reverse, so a
query means to a target what it means to us.

    to_pqf(parse('dc.title all "lian cheng jue" and dc.date>=1990'))
    '@and @and @and @attr 1=4 @attr 4=2 lian @attr 1=4 @attr 4=2 cheng ... @attr 1=30 @attr 2=4 1990'
"""
from __future__ import annotations

from unioncat.cql import BooleanNode, CQLQuery, Node, SearchClause
from unioncat.errors import SRUDiagnostic
from unioncat.z3950.bib1 import USE

# The first BIB-1 use attribute of each CQL index (several attributes read as one index).
_USE: dict[str, int] = {}
for _number, _index in USE.items():
    _USE.setdefault(_index, _number)
_USE.update({"cql.serverChoice": 1016, "cql.anywhere": 1016, "cql.keywords": 1016,
             "bath.personalName": 1004, "rec.id": 12, "local.member": 1044})
_RELATIONS = {"<": 1, "<=": 2, ">=": 4, ">": 5, "<>": 6}
_BOOLEANS = {"and": "@and", "or": "@or", "not": "@not", "prox": "@and"}


def to_pqf(query: CQLQuery | Node) -> str:
    """Return a CQL query as PQF (type-1 RPN, BIB-1); raise SRUDiagnostic for what has none."""
    return _node(query.root if isinstance(query, CQLQuery) else query)


def _node(node: Node) -> str:
    if isinstance(node, BooleanNode):
        return f"{_BOOLEANS[node.op]} {_node(node.left)} {_node(node.right)}"
    return _clause(node)


def _clause(clause: SearchClause) -> str:
    if clause.index == "cql.allRecords":
        return '@attr 1=_ALLRECORDS @attr 2=103 ""'
    use = _USE.get(clause.index)
    if use is None:
        raise SRUDiagnostic(16, clause.index, f"{clause.index} has no BIB-1 use attribute")
    words = clause.term.split()
    if not words:
        raise SRUDiagnostic(27, clause.term, "empty term")
    if clause.relation in _RELATIONS:
        return f"@attr 1={use} @attr 2={_RELATIONS[clause.relation]} {_term(clause.term)}"
    if clause.relation in ("==", "exact") or (clause.relation in ("=", "adj") and len(words) > 1):
        return f"@attr 1={use} @attr 4=1 @attr 6=3 {_term(clause.term)}" if clause.relation in ("==", "exact") \
            else f"@attr 1={use} @attr 4=1 {_term(clause.term)}"
    joiner = "@or" if clause.relation == "any" else "@and"
    terms = [f"@attr 1={use} @attr 4=2 {_truncated(word)}" for word in words]
    out = terms[-1]
    for term in reversed(terms[:-1]):
        out = f"{joiner} {term} {out}"
    return out


def _truncated(word: str) -> str:
    """A word with CQL's right truncation as BIB-1 truncation (5=1)."""
    if word.endswith("*") and len(word) > 1 and "*" not in word[:-1]:
        return f"@attr 5=1 {_term(word[:-1])}"
    return _term(word)


def _term(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
