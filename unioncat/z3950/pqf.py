"""Prefix Query Format (YAZ's PQF) to a Z39.50 type-1 RPN query.

    parse_pqf('@and @attr 1=4 computer @attr 1=1003 knuth')
    parse_pqf('@attr 1=_ALLRECORDS @attr 2=103 ""')

Supported: ``@attr [set] type=value`` (numeric or string values), ``@and``,
``@or``, ``@not`` (and-not), ``@set name``, ``@attrset set``, quoted terms with
backslash escapes.  Attribute set names: bib-1 (default), or a dotted OID.
"""
from __future__ import annotations

import re
from typing import Any

from unioncat.errors import UnioncatError
from unioncat.z3950.codec import BIB1

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))')
_SETS = {"bib-1": BIB1, "bib1": BIB1}


class PQFError(UnioncatError):
    """A PQF query that cannot be parsed."""


def _tokens(text: str) -> list[tuple[str, bool]]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise PQFError(f"cannot read PQF at {text[pos:]!r}")
        pos = match.end()
        if match.group(1) is not None:
            out.append((re.sub(r"\\(.)", r"\1", match.group(1)), True))
        elif match.group(2):
            out.append((match.group(2), False))
    return out


def parse_pqf(text: str) -> dict[str, Any]:
    """Return the RPNQuery value asn1tools encodes."""
    tokens = _tokens(text)
    attr_set = BIB1
    if tokens and tokens[0] == ("@attrset", False):
        if len(tokens) < 2:
            raise PQFError("@attrset needs a set name")
        attr_set = _SETS.get(tokens[1][0].lower(), tokens[1][0])
        tokens = tokens[2:]
    rpn, rest = _structure(tokens)
    if rest:
        raise PQFError(f"unexpected {rest[0][0]!r} after the query")
    return {"attributeSet": attr_set, "rpn": rpn}


def _structure(tokens: list[tuple[str, bool]]) -> tuple[Any, list[tuple[str, bool]]]:
    if not tokens:
        raise PQFError("query ends too early")
    (word, quoted), rest = tokens[0], tokens[1:]
    ops = {"@and": "and", "@or": "or", "@not": "and-not"}
    if not quoted and word in ops:
        left, rest = _structure(rest)
        right, rest = _structure(rest)
        return ("rpnRpnOp", {"rpn1": left, "rpn2": right, "op": (ops[word], None)}), rest
    if not quoted and word == "@set":
        if not rest:
            raise PQFError("@set needs a result set name")
        return ("op", ("resultSet", rest[0][0])), rest[1:]
    attributes = []
    while tokens and tokens[0] == ("@attr", False):
        if len(tokens) < 2:
            raise PQFError("@attr needs type=value")
        spec_tok = tokens[1][0]
        attr_set = None
        if "=" not in spec_tok and len(tokens) > 2:
            attr_set = _SETS.get(spec_tok.lower(), spec_tok)
            tokens = tokens[1:]
            spec_tok = tokens[1][0]
        attributes.append(_attribute(spec_tok, attr_set))
        tokens = tokens[2:]
    if not tokens:
        raise PQFError("attributes without a term")
    (term, _), rest = tokens[0], tokens[1:]
    return ("op", ("attrTerm", {"attributes": attributes,
                                "term": ("general", term.encode("utf-8"))})), rest


def _attribute(text: str, attr_set: str | None) -> dict[str, Any]:
    kind, sep, value = text.partition("=")
    if not sep or not kind.isdigit() or not value:
        raise PQFError(f"attribute {text!r} is not type=value")
    element: dict[str, Any] = {"attributeType": int(kind)}
    if attr_set:
        element["attributeSet"] = attr_set
    if value.lstrip("-").isdigit():
        element["attributeValue"] = ("numeric", int(value))
    else:
        element["attributeValue"] = ("complex", {"list": [("string", value)]})
    return element
