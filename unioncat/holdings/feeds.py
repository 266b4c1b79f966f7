"""Status feeds: ``unioncat availability load SOURCE FILE`` (CSV or JSON).

A feed is rows of barcode, status, due_date (CSV with that header, a JSON list of
objects, an object with an ``items`` list, or JSON lines).  Barcodes are the
member's own; they are namespaced by SOURCE here.  The whole file is one
transaction: any malformed row (empty barcode, a status no map knows, a bad date)
is reported with its row number and nothing changes; barcodes that match no item
are reported and the rest is applied.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterator, Mapping

from unioncat.errors import UnioncatError
from unioncat.holdings.status import normalise
from unioncat.models import now
from unioncat.store import Store
from unioncat.store.holdings import FeedRow

_SAMPLE = 20


class FeedError(UnioncatError):
    """A status feed that cannot be read at all."""


@dataclass
class FeedReport:
    """What loading a feed did."""

    source: str
    file: str
    rows: int = 0
    applied: int = 0
    unknown_barcodes: int = 0
    unknown_sample: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        """Return True when the feed was applied."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {"source": self.source, "file": self.file, "rows": self.rows,
                "applied": self.applied if self.ok else 0, "unknown_barcodes": self.unknown_barcodes,
                "unknown_sample": self.unknown_sample, "errors": self.errors,
                "duplicates": self.duplicates, "changed": self.ok}


def _rows(path: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        head = fh.read(1)
        while head.isspace():
            head = fh.read(1)
        fh.seek(0)
        if head in "[{":
            yield from _json_rows(fh.read(), path)
            return
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "barcode" not in reader.fieldnames or "status" not in reader.fieldnames:
            raise FeedError(f"{path}: a CSV feed needs a header with barcode,status[,due_date]; "
                            f"got {reader.fieldnames}")
        for row in reader:
            yield reader.line_num, row


def _json_rows(text: str, path: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            data = data["items"] if "items" in data else [data]  # {"items": [...]} or one row
        rows = data
        if not isinstance(rows, list):
            raise FeedError(f"{path}: expected a JSON list of rows or {{\"items\": [...]}}")
        for n, row in enumerate(rows, 1):
            yield n, row if isinstance(row, dict) else {"__bad__": row}
    except json.JSONDecodeError:
        for n, line in enumerate(text.splitlines(), 1):  # JSON lines
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__bad__": f"not JSON: {exc.msg}"}
                continue
            yield n, row if isinstance(row, dict) else {"__bad__": row}


def _check_date(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"due_date {value!r} is not an ISO date (YYYY-MM-DD)") from None
    return value


def _validate(row: Mapping[str, Any], status_map: Mapping[str, str] | None) -> tuple[str, str, str, str | None]:
    if "__bad__" in row:
        raise ValueError(f"not a row object: {row['__bad__']!r}")
    barcode = str(row.get("barcode") or "").strip()
    if not barcode:
        raise ValueError("empty barcode")
    code = str(row.get("status") or "").strip()
    if not code:
        raise ValueError("empty status")
    status, known = normalise(code, status_map)
    if not known:
        raise ValueError(f"unknown status {code!r}")
    return barcode, status.value, code, _check_date(str(row.get("due_date") or ""))


def load_feed(store: Store, source: str, path: str,
              status_map: Mapping[str, str] | None = None) -> FeedReport:
    """Apply a status feed atomically; return the report (errors mean nothing changed)."""
    report = FeedReport(source, path)

    def rows() -> Iterator[FeedRow]:
        for line, row in _rows(path):
            report.rows += 1
            try:
                barcode, status, code, due = _validate(row, status_map)
            except ValueError as exc:
                if len(report.errors) < 1000:
                    report.errors.append(f"{path}: row {line}: {exc}")
                continue
            yield f"{source}.{barcode}", status, code, due, line

    done = store.apply_feed(rows(), now(), _SAMPLE, lambda: bool(report.errors))
    if done is not None:
        report.duplicates = report.rows - done["listed"]
        report.unknown_barcodes = done["unknown"]
        report.unknown_sample = [item.split(".", 1)[1] for item in done["sample"]]
        report.applied = done["applied"]
    return report
