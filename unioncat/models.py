"""Frozen dataclasses passed between unioncat's stages."""
from __future__ import annotations

from enum import Enum

import hashlib
from datetime import datetime, timezone
from dataclasses import dataclass, field


def now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds (the store's clock).

    Milliseconds, because a full harvest marks deleted what it has not seen since it
    started, and two runs can fall within one second."""
    stamp = datetime.now(timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def content_hash(raw: bytes) -> bytes:
    """Return the 16-byte digest that tells a changed record from an unchanged one."""
    return hashlib.blake2b(raw, digest_size=16).digest()


@dataclass(frozen=True)
class SourceRecord:
    """One member record as harvested or read from a file drop.

    ``local_id`` follows the README's rule: 001 without leading and trailing
    blanks, else the protocol's identifier, else ``hash-`` plus a content hash.
    """

    source_id: str
    local_id: str
    raw: bytes
    syntax: str  # "iso2709" or "marcxml"
    format: str  # "marc21", "unimarc" or "cnmarc"
    charset: str
    leader: str = ""
    datestamp: str | None = None
    deleted: bool = False
    location: str = ""
    position: int | None = None
    offset: int | None = None
    notes: tuple[str, ...] = ()
    hash: bytes = field(default=b"", compare=False)
    protocol_id: str | None = None  # OAI identifier, SRU record identifier, ...

    @property
    def global_id(self) -> str:
        """Return ``{source_id}.{local_id}``."""
        return f"{self.source_id}.{self.local_id}"


@dataclass(frozen=True)
class Rejected:
    """A record that could not be read, kept with where it was and why."""

    source_id: str
    location: str
    reason: str
    position: int | None = None
    offset: int | None = None
    line: int | None = None
    raw: bytes = b""


@dataclass(frozen=True)
class Item:
    """One copy (or, for summary holdings, ``count`` copies) held by a member.

    ``item_id`` is namespaced by the member: ``{source}.{barcode}``, or
    ``{record_id}@{n}`` for an item with no barcode, so equal barcodes at two
    members stay two items."""

    item_id: str
    record_id: str
    source: str
    institution: str = ""  # a sub-member named inside the record (union-catalogue 852 $a)
    branch: str = ""
    location: str = ""
    call_number: str = ""
    barcode: str = ""
    copy: str = ""
    volume: str = ""
    status: str = "unknown"
    raw_status: str = ""
    due_date: str | None = None
    count: int = 1


@dataclass(frozen=True)
class DedupRecord:
    """What deduplication compares of one record, already normalised."""

    id: str
    source: str
    material: str  # leader/06-07
    title: str  # folded main title without a leading article
    title_full: str  # with subtitle
    authors: tuple[str, ...]  # folded names, main entry first
    isbns: tuple[str, ...]  # valid ISBN-13s
    bad_isbns: tuple[str, ...]  # invalid, cancelled or blocked: never evidence
    issns: tuple[str, ...]
    lccn: str
    system_numbers: tuple[str, ...]  # 035 with prefix
    year: int | None
    edition: int | None
    volume: str  # volume or part designation (245 $n $p, 200 $h $i)
    series_number: str  # 490 $v, 225 $v
    pages: int | None
    publisher: str
    completeness: float
    alt_titles: tuple[str, ...] = ()  # 880 vernacular or pinyin forms of the title
    alt_authors: tuple[str, ...] = ()
    author_keys: tuple[str, ...] = ()  # surnames (first character for CJK) of the first authors
    host_part: str = ""  # an article's place in its host: volume, issue and first page (773 $g)


@dataclass(frozen=True)
class MatchDecision:
    """Whether two records describe one edition, with every check's outcome."""

    matched: bool
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Checkpoint:
    """A harvester's resume point, yielded between pages; the loader commits every
    record before it and then saves it."""

    state: dict[str, object]


@dataclass(frozen=True)
class StoredRecord:
    """A record as kept in the store."""

    id: str
    source_id: str
    local_id: str
    raw: bytes
    syntax: str
    format: str
    charset: str
    datestamp: str | None
    deleted: bool
    notes: tuple[str, ...]
    first_seen: str
    last_seen: str
    updated: str
    location: str


@dataclass
class LoadStats:
    """What one import or harvest of one source did."""

    source_id: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    repeated: int = 0  # an identical record seen again within this load
    renamed: int = 0  # a different record with an id already used in this load: kept as ID#n
    noted: int = 0  # records kept with a repair or charset note
    pages: int = 0  # protocol requests that returned records (harvests)
    retries: int = 0  # requests repeated after a server or network failure
    stripped: int = 0  # characters not allowed in XML removed from responses
    items: int = 0  # holdings items extracted from new and changed records
    elapsed: float = 0.0
    error: str = ""
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Return the stats as a JSON-ready dict."""
        return {k: getattr(self, k) for k in (
            "source_id", "read", "new", "updated", "unchanged", "deleted", "rejected",
            "repeated", "renamed", "noted", "pages", "retries", "stripped", "items", "elapsed", "error", "files", "warnings")}


class Status(str, Enum):
    """Where an item is, as far as borrowing goes."""

    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    IN_TRANSIT = "in_transit"
    ON_HOLD = "on_hold"
    LOST = "lost"
    MISSING = "missing"
    NOT_FOR_LOAN = "not_for_loan"
    IN_PROCESSING = "in_processing"
    UNKNOWN = "unknown"


STATUSES = tuple(s.value for s in Status)
