"""Z39.50: the BER codec (official ASN.1 via asn1tools), PQF queries, RPN to CQL (``rpn``)
and a client.  Shared by the Z39.50 harvester, the Z39.50 target and the SRU face (PQF
over SRU, ``x-pquery``)."""
from __future__ import annotations

from unioncat.z3950.client import Retrieved, Z3950Client
from unioncat.z3950.pqf import parse_pqf

__all__ = ["Retrieved", "Z3950Client", "parse_pqf"]
