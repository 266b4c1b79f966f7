"""File drops: ISO 2709 or MARCXML files, plain or gzip, one or many per import."""
from __future__ import annotations

import glob
import os
from typing import Any, Callable, Iterator

from unioncat.config.model import SourceConfig
from unioncat.errors import ConfigError, FatalReadError, RecordError
from unioncat.harvester.base import local_id_for
from unioncat.marc.reader import KnownItem, MarcFile
from unioncat.marc.records import SYNTAX_ISO2709
from unioncat.models import Rejected, SourceRecord, content_hash


def expand_paths(paths: list[str]) -> list[str]:
    """Expand directories (every file inside, sorted) and glob patterns into files."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(sorted(os.path.join(root, name)
                                for root, _, names in os.walk(path) for name in names
                                if not name.startswith(".")))
        elif os.path.exists(path):
            files.append(path)
        else:
            matches = sorted(glob.glob(path))
            if not matches:
                raise FatalReadError(path, "no such file or directory (the drop is missing)")
            files.extend(matches)
    if not files:
        raise FatalReadError(", ".join(paths), "no files in the drop")
    return files


class FileHarvester:
    """Read a member's file drop (``type = "file"``).

        for item in FileHarvester(source, ["drop/2026-11-23.mrc.gz"]).harvest():
            ...
    """

    def __init__(self, source: SourceConfig, paths: list[str] | None = None,
                 known: Callable[[], dict[bytes, str]] | None = None) -> None:
        """``known`` gives the records stored now as content hash -> local id (see
        ``Store.known_records``): an ISO 2709 record found there is passed on unparsed."""
        self.source = source
        self._load_known = known
        self._known: dict[bytes, str] | None = None
        self._parsed_ids: set[str] = set()  # local ids parsed so far while recognising
        self.paths = list(paths or ([source.path] if source.path else []))
        if not self.paths:
            raise ConfigError("", f"source {source.id}",
                              "no path configured and none given on the command line")
        self._files: list[str] = []
        self._done_bytes = 0
        self._total_bytes = 0
        self._current: MarcFile | None = None
        self.failures: list[FatalReadError] = []
        self.cut_short: list[str] = []  # files ending inside a record (a half-copied drop?)
        self.warnings: list[str] = []

    @property
    def resume_point(self) -> dict[str, Any] | None:
        """Return the file being read (imports are cheap to redo: unchanged is a no-op)."""
        return {"file": self._current.path} if self._current else None

    def progress(self) -> tuple[int, int]:
        """Return (bytes read, total bytes) over all files of this import."""
        total = self._total_bytes
        now = self._done_bytes + (self._current.bytes_read() if self._current else 0)
        return min(now, total), total

    def harvest(self, since: str | None = None) -> Iterator[SourceRecord | Rejected]:
        """Yield every record of every file; a file that breaks is reported, what it held
        before the break is kept, the other files are read, and then the import fails
        (:class:`~unioncat.errors.FatalReadError` naming every broken file): a cut
        ``.gz``, XML broken halfway, a DOCTYPE, an empty file are never a quiet "ok"."""
        self._files = expand_paths(self.paths)
        self._total_bytes = sum(os.path.getsize(f) for f in self._files)  # once, not per batch
        for path in self._files:
            self._current = MarcFile(path, self.source.format, self.source.encoding,
                                     self._recognise if self._load_known else None)
            read = 0
            try:
                for item in self._read(self._current):
                    read += 1
                    yield item
                if not read:
                    raise FatalReadError(path, "empty file: no records in it")
            except FatalReadError as exc:
                self.failures.append(exc)
                yield Rejected(self.source.id, path, f"file abandoned: {exc.reason}",
                               offset=exc.offset)
            self.warnings.extend(self._current.warnings)
            self._done_bytes += self._current.size
            self._current = None
        if self.failures:
            first = self.failures[0]
            more = f" (and {len(self.failures) - 1} more file(s): see `unioncat rejects`)" \
                if len(self.failures) > 1 else ""
            raise FatalReadError(first.location, first.reason + more, first.offset)

    def _recognise(self, raw: bytes) -> tuple[str, bytes] | None:
        """Return the local id and hash of a record stored with these very bytes, unless a
        record of this load already took or changed that id (then it is parsed as before:
        it may be renamed).  Each is recognised once: a second copy is parsed and counted
        as repeated."""
        if self._known is None:
            self._known = self._load_known() if self._load_known else {}
        if not self._known:  # a first import, or every stored record seen: no hash to spend
            return None
        digest = content_hash(raw)
        local_id = self._known.pop(digest, None)
        if local_id is None or local_id in self._parsed_ids:
            return None
        return local_id, digest

    def _read(self, marc_file: MarcFile) -> Iterator[SourceRecord | Rejected]:
        src = self.source
        recognising = marc_file.recognise is not None
        for item in marc_file.items():
            if isinstance(item, KnownItem):
                # Only ever found unchanged by the store: nothing of it is written but when
                # it was seen, so what parsing would say (charset, 005) is not needed.
                yield SourceRecord(
                    source_id=src.id, local_id=item.local_id, raw=item.raw, syntax=SYNTAX_ISO2709,
                    format=src.format, charset="", leader=item.raw[:24].decode("latin-1"),
                    location=marc_file.path, position=item.position, offset=item.offset,
                    hash=item.digest)
                continue
            if isinstance(item, RecordError):
                if item.reason.startswith("truncated record"):
                    self.cut_short.append(marc_file.path)
                yield Rejected(src.id, marc_file.path, item.reason, item.position, item.offset,
                               None, item.raw)
                continue
            digest = content_hash(item.raw)
            local_id = local_id_for(item.control_number, None, digest)
            if recognising:
                self._parsed_ids.add(local_id)
            yield SourceRecord(
                source_id=src.id, local_id=local_id,
                raw=item.raw,
                syntax=item.syntax, format=src.format, charset=item.charset, leader=item.leader,
                datestamp=item.datestamp, deleted=item.deleted, location=marc_file.path,
                position=item.position, offset=item.offset, notes=item.notes, hash=digest)
