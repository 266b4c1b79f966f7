"""The contract every harvester keeps, whatever the protocol.

A harvester is built from one ``SourceConfig`` and has one method,
``harvest(since)``, that yields :class:`~unioncat.models.SourceRecord` and
:class:`~unioncat.models.Rejected` lazily, hiding paging and files behind it; the
first request or read happens on the first ``next()``, not in ``__init__``.
``resume_point`` is where a killed run would go on from (a token, a cursor, a
datestamp, a file); ``progress()`` says how far it has got, for progress bars.
"""
from __future__ import annotations

from typing import Any, Iterator, Protocol

from unioncat.config.model import SourceConfig
from unioncat.models import Checkpoint, Rejected, SourceRecord


class Harvester(Protocol):
    """What the loader needs from any harvester."""

    def harvest(self, since: str | None = None) -> Iterator[SourceRecord | Rejected]:
        """Yield the source's records (and rejects) since a datestamp, or all."""
        ...

    @property
    def resume_point(self) -> dict[str, Any] | None:
        """Return where a resumed run would start, or None."""
        ...

    def progress(self) -> tuple[int, int]:
        """Return (done, total) in the harvester's own unit; total 0 if unknown."""
        ...


def local_id_for(control_number: str, protocol_id: str | None, digest: bytes) -> str:
    """Return a record's local id: 001, else the protocol's identifier, else
    ``hash-`` and the record's content hash (``digest``, see models.content_hash)."""
    if control_number:
        return control_number
    if protocol_id and protocol_id.strip():
        return protocol_id.strip()
    return "hash-" + digest.hex()


class NetworkHarvester:
    """What OAI-PMH, SRU and Z39.50 harvesters share: counters and resume state.

    ``_state`` is the running harvest (token, position, ``since_load`` ...); it is
    saved with every :class:`Checkpoint` next to the last successful run.
    ``since_load`` is the first load (store ``loads`` id) of the run, set by the
    caller: a full run marks deleted the records no load since then has seen.  Load
    ids, not clock times: a virtual machine's clock can step back between two runs."""

    def __init__(self, source: SourceConfig, checkpoint: dict[str, Any] | None) -> None:
        self.source = source
        self.saved = checkpoint or {}
        self.pages = 0
        self.stripped = 0
        self.warnings: list[str] = []
        self.since_load = 0
        self._state: dict[str, Any] = {}

    @property
    def resume_point(self) -> dict[str, Any] | None:
        """Return the running harvest's state (token, position, window, start time)."""
        return dict(self._state) if self._state else None

    def checkpoint(self) -> Checkpoint:
        """Return the resume point as a Checkpoint for the loader to save."""
        return Checkpoint({"run": dict(self._state), "last_success": self.saved.get("last_success")})
