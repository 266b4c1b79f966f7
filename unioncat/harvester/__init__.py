"""Harvesters: one per way records arrive, all keeping the contract in ``base``.

``HARVESTERS`` maps a source's ``type`` to its harvester class.  Network
protocols (OAI-PMH, SRU, Z39.50) register here as they are written.
"""
from __future__ import annotations

from unioncat.harvester.base import Harvester, local_id_for
from unioncat.harvester.files import FileHarvester, expand_paths

HARVESTERS: dict[str, type] = {"file": FileHarvester}

__all__ = ["FileHarvester", "HARVESTERS", "Harvester", "expand_paths", "local_id_for"]
