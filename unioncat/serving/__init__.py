"""What every face (SRU, Z39.50, and the web and OAI-PMH faces to come) serves from: one layer.

``resources``: the shared, thread-safe access to the store (read-only), the index (reopened
when it changes), the record cache, availability sets, scan and result-set ids;
``records``: master records built for the wire (MARCXML, DC, MODS, OPAC XML, ISO 20775,
UNIMARC XML, the union's 852 holdings); ``rpn``: Z39.50 type-1 queries (and PQF over SRU)
read into the CQL tree every face searches with; ``diagnostics``: the one table of SRU
diagnostics and their BIB-1 equivalents.  Faces import this package, never each other.
"""
from __future__ import annotations

from unioncat.serving.resources import Resources

__all__ = ["Resources"]
