"""Item statuses: the nine unioncat knows, and the map from members' codes to them.

The map is a data file (``data/status_codes.toml``); a source's ``status_map``
setting adds to it.  A code found in neither becomes ``unknown`` (the documented
default) and keeps its text as ``raw_status``, so it can be reported and mapped
later rather than silently dropped.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Mapping

from unioncat.models import STATUSES, Status

__all__ = ["DEFAULT", "STATUSES", "Status", "default_codes", "normalise"]


DEFAULT = Status.UNKNOWN


@lru_cache(maxsize=1)
def default_codes() -> dict[str, str]:
    """Return the shipped code map (lower-cased code -> status)."""
    text = resources.files("unioncat.holdings").joinpath("data/status_codes.toml").read_text("utf-8")
    codes = tomllib.loads(text)["codes"]
    bad = {k: v for k, v in codes.items() if v not in STATUSES}
    if bad:
        raise ValueError(f"status_codes.toml maps to unknown statuses: {bad}")
    return {k.strip().casefold(): v for k, v in codes.items()}


def normalise(code: str | None, extra: Mapping[str, str] | None = None) -> tuple[Status, bool]:
    """Return (status, known) for a member's status code; unknown codes give (DEFAULT, False)."""
    if code is None:
        return DEFAULT, True
    key = code.strip().casefold()
    if extra:
        for k, v in extra.items():
            if k.strip().casefold() == key:
                return Status(v), True
    found = default_codes().get(key)
    if found is None:
        return DEFAULT, False
    return Status(found), True
