"""Type-1 RPN queries with BIB-1 attributes to the CQL tree the index answers.

The Z39.50 face therefore searches exactly as the SRU face does: one translation,
one engine.  Use attributes (type 1) name the index; relation (2), position (3),
structure (4), truncation (5) and completeness (6) attributes shape the clause:

=========  ============================================================================
use        4 title, 1003 author, 1004/1 personal name, 2 corporate name, 1002 name,
           7 ISBN, 8 ISSN, 21/29 subject, 1016/1035 any, 12 local number, 30/31 date,
           1018 publisher, 54 language, 1044 possessing institution, 5 series,
           13/16 classification, 1007 identifier, 59 place, 1031 type, 63 notes,
           9999 available now (unioncat's local use); no use attribute means any
relation   1 < 2 <= 3 = 4 >= 5 > 6 <> (dates), 102 relevance and 3 alike
position   1, 2, 3 accepted (words are found anywhere in the field)
structure  1 phrase, 2 word, 3 key, 4 year, 5/100 date, 6 word list (all words),
           101 name, 105/106 free text, 108 string, 109 numeric
truncation 1 right, 2 left, 3 both, 100 none, 101 ``#`` anywhere, 104 ``#`` and ``?``
complete.  1, 2 incomplete/complete subfield, 3 complete field (an exact phrase)
=========  ============================================================================

Anything else is the BIB-1 diagnostic the standard names: 114 use, 117 relation,
118 structure, 119 position, 120 truncation, 122 completeness, 121 attribute set,
110 operator, 108 malformed query, 30 unknown result set.
"""
from __future__ import annotations

from typing import Any, Callable

from unioncat.cql import BooleanNode, Node, SearchClause, to_text
from unioncat.errors import Bib1Diagnostic, SRUDiagnostic
from unioncat.serving.diagnostics import bib1, sru
from unioncat.z3950.bib1 import USE
from unioncat.z3950.codec import BIB1
from unioncat.z3950.pqf import PQFError, parse_pqf

__all__ = ["USE", "attributes", "bib1", "clause", "pqf_to_cql", "term_text", "to_cql"]

RELATIONS: dict[int | str, str] = {1: "<", 2: "<=", 3: "=", 4: ">=", 5: ">", 6: "<>", 102: "=", 103: "="}
STRUCTURES: dict[int | str, str] = {1: "phrase", 2: "word", 3: "key", 4: "year", 5: "year", 100: "year", 6: "all", 101: "phrase",
              105: "all", 106: "all", 108: "key", 109: "year", 104: "phrase"}


def attributes(elements: list[dict[str, Any]]) -> dict[int, int | str]:
    """Return {type: value} of a BIB-1 attribute list: numbers, or one string (Zebra's
    ``@attr 1=_ALLRECORDS``, or a CQL index name as a use attribute)."""
    out: dict[int, int | str] = {}
    for element in elements:
        attr_set = element.get("attributeSet")
        if attr_set and attr_set != BIB1:
            raise Bib1Diagnostic(121, attr_set)
        kind, value = element["attributeValue"]
        if kind == "numeric":
            out[int(element["attributeType"])] = int(value)
        elif len(value.get("list", [])) == 1 and value["list"][0][0] == "string":
            out[int(element["attributeType"])] = str(value["list"][0][1])
        else:
            raise Bib1Diagnostic(123, f"complex value for attribute type {element['attributeType']}")
    return out


def term_text(term: tuple[str, Any]) -> str:
    """Return a Term as text.  General terms are octets: UTF-8, or GB18030 from the
    Chinese copy-cataloguing clients that send their local character set."""
    kind, value = term
    if kind == "general":
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("gb18030", "replace")
    if kind in ("characterString", "numeric"):
        return str(value)
    raise Bib1Diagnostic(229, f"term type {kind} is not supported")


def clause(elements: list[dict[str, Any]], term: tuple[str, Any]) -> SearchClause:
    """Return the CQL clause of one AttributesPlusTerm."""
    attrs = attributes(elements)
    use = attrs.get(1, 1016)
    relation = attrs.get(2, 3)
    if use == "_ALLRECORDS" or relation == 103:  # AlwaysMatches
        return SearchClause("cql.allRecords", "=", "1")
    if isinstance(use, str):
        index = use  # a CQL index name; an unknown one fails as 114 below
    elif use in USE:
        index = USE[use]
    else:
        raise Bib1Diagnostic(114, str(use))
    if relation not in RELATIONS:
        raise Bib1Diagnostic(117, str(relation))
    if attrs.get(3, 3) not in (1, 2, 3):
        raise Bib1Diagnostic(119, str(attrs[3]))
    structure = attrs.get(4)
    if structure is not None and structure not in STRUCTURES:
        raise Bib1Diagnostic(118, str(structure))
    completeness = attrs.get(6, 1)
    if completeness not in (1, 2, 3):
        raise Bib1Diagnostic(122, str(completeness))
    text = term_text(term).strip()
    truncation = attrs.get(5, 100)
    if truncation == 1:
        text += "*"
    elif truncation == 2:
        text = "*" + text
    elif truncation == 3:
        text = f"*{text}*"
    elif truncation in (101, 104):
        text = text.replace("#", "*")
    elif truncation != 100:
        raise Bib1Diagnostic(120, str(truncation))
    cql_relation = RELATIONS[relation]
    if cql_relation == "=":
        kind = STRUCTURES.get(structure or 2)
        if kind == "all":
            cql_relation = "all"
        elif kind == "key" or completeness == 3:
            cql_relation = "=="
    return SearchClause(index, cql_relation, text)


def to_cql(rpn: tuple[str, Any], result_set: Callable[[str], Node], depth: int = 0) -> Node:
    """Return the CQL tree of an RPNStructure; ``result_set`` resolves @set operands."""
    if depth > 64:
        raise Bib1Diagnostic(113, "query nested too deeply")
    kind, value = rpn
    if kind == "op":
        op_kind, operand = value
        if op_kind == "attrTerm":
            return clause(operand["attributes"], operand["term"])
        if op_kind == "resultSet":
            return result_set(str(operand))
        raise Bib1Diagnostic(107, "result set with attributes")
    operator = value["op"][0]
    if operator == "prox":
        raise Bib1Diagnostic(110, "prox")
    op = {"and": "and", "or": "or", "and-not": "not"}[operator]
    return BooleanNode(op, to_cql(value["rpn1"], result_set, depth + 1), to_cql(value["rpn2"], result_set, depth + 1))


def pqf_to_cql(pqf: str) -> str:
    """Return the CQL text of a PQF query, as the Z39.50 target reads it (``x-pquery`` and
    ``x-pScanClause`` over SRU, as Zebra takes them); raise SRUDiagnostic."""
    try:
        rpn = parse_pqf(pqf)
        if rpn.get("attributeSet") not in (None, BIB1):
            raise Bib1Diagnostic(121, str(rpn.get("attributeSet")))

        def no_sets(name: str) -> Node:
            raise Bib1Diagnostic(30, name)

        return to_text(to_cql(rpn["rpn"], no_sets))
    except PQFError as exc:
        raise SRUDiagnostic(10, pqf[:80], f"PQF syntax error: {exc}") from None
    except Bib1Diagnostic as exc:
        raise sru(exc, pqf) from None
