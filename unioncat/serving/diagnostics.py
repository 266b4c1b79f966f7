"""The one table of diagnostics the faces answer with: SRU's (info:srw/diagnostic/1/N), and for
each the BIB-1 condition a Z39.50 client gets for the same failure (and back, for PQF over SRU).

The shared search layer raises :class:`~unioncat.errors.SRUDiagnostic`; the Z39.50 face turns it
into :class:`~unioncat.errors.Bib1Diagnostic` with :func:`bib1`, the SRU face a BIB-1 one met in
a PQF query into SRU's with :func:`sru`.
"""
from __future__ import annotations

from unioncat.errors import Bib1Diagnostic, SRUDiagnostic

# SRU diagnostic -> (what it says, BIB-1 condition)
TABLE: dict[int, tuple[str, int]] = {
    1: ("general system error", 2),
    4: ("unsupported operation", 3),
    5: ("unsupported version", 3),
    6: ("unsupported parameter value", 3),
    7: ("mandatory parameter not supplied", 3),
    8: ("unsupported parameter", 3),
    10: ("query syntax error", 108),
    13: ("invalid or unsupported use of masking characters", 120),
    14: ("unbalanced quotes", 108),
    15: ("unsupported context set", 121),
    16: ("unsupported index", 114),
    19: ("unsupported relation", 117),
    20: ("unsupported relation modifier", 117),
    27: ("empty term unsupported", 108),
    28: ("masking character not supported", 120),
    36: ("term in invalid format for index or relation", 126),
    37: ("unsupported boolean operator", 110),
    51: ("result set does not exist", 30),
    61: ("first record position out of range", 13),
    64: ("record temporarily unavailable", 14),
    66: ("unknown schema for retrieval", 25),
    67: ("record not available in this schema", 25),
    71: ("unsupported record packing", 238),
    80: ("sort not supported", 207),
}
# BIB-1 condition -> SRU diagnostic, where a query (PQF) meets BIB-1 first
BIB1_TO_SRU = {114: 16, 117: 19, 118: 10, 119: 10, 120: 10, 121: 15, 123: 10, 113: 10, 229: 10, 30: 51,
               108: 10, 110: 37, 126: 36}


def bib1(diag: SRUDiagnostic) -> Bib1Diagnostic:
    """Return the BIB-1 diagnostic for an SRU one (108, malformed query, where the table has none)."""
    return Bib1Diagnostic(TABLE.get(diag.number, ("", 108))[1], diag.details or diag.message)


def sru(diag: Bib1Diagnostic, query: str = "") -> SRUDiagnostic:
    """Return the SRU diagnostic for a BIB-1 one met in a PQF query (10, syntax, otherwise)."""
    return SRUDiagnostic(BIB1_TO_SRU.get(diag.condition, 10), diag.addinfo or query[:80],
                         f"BIB-1 {diag.condition}: {diag.addinfo}")
