"""Harvesters: one per way records arrive, all keeping the contract in ``base``.

``HARVESTERS`` maps a source's ``type`` to its harvester class.  Network
protocols (OAI-PMH, SRU, Z39.50) register here as they are written.
"""
from __future__ import annotations

from unioncat.harvester.base import Harvester, local_id_for
from unioncat.harvester.files import FileHarvester, expand_paths
from unioncat.harvester.oaipmh import OAIHarvester
from unioncat.harvester.sru import SRUHarvester
from unioncat.harvester.z3950 import Z3950Harvester

HARVESTERS: dict[str, type] = {"file": FileHarvester, "oai": OAIHarvester, "sru": SRUHarvester,
                               "z3950": Z3950Harvester}

__all__ = ["FileHarvester", "HARVESTERS", "Harvester", "OAIHarvester", "SRUHarvester", "Z3950Harvester", "expand_paths", "local_id_for"]
