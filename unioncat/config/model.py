"""Typed configuration objects handed to the rest of unioncat."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoreConfig:
    """Where and how the record store is kept."""

    path: str
    batch_size: int = 2000
    url: str = ""  # a PostgreSQL store (postgresql://...) in place of the SQLite file at path

    @property
    def location(self) -> str:
        """Where the store is: the PostgreSQL URL if there is one, else the SQLite file."""
        return self.url or self.path


@dataclass(frozen=True)
class IndexConfig:
    """Where the search index lives."""

    path: str
    engine: str = "tantivy"
    workers: int = 2


@dataclass(frozen=True)
class ServerConfig:
    """Where the SRU server listens."""

    host: str = "127.0.0.1"
    port: int = 8765
    base_path: str = "/sru"
    public_url: str | None = None
    title: str = "Union catalogue"
    description: str = ""
    default_version: str = "2.0"
    default_schema: str = "marcxml"
    default_records: int = 10
    max_records: int = 100
    max_terms: int = 100
    max_query_length: int = 2048
    max_clauses: int = 32
    holdings: str = "item"
    result_set_ttl: int = 600
    availability_cache: float = 30.0
    record_cache: int = 20000
    z3950_port: int = 0
    z3950_workers: int = 1
    z3950_max_connections: int = 200
    z3950_database: str = "Default"
    z3950_idle_timeout: float = 300.0
    z3950_message_size: int = 8 << 20
    threads: int = 4


@dataclass(frozen=True)
class OAIConfig:
    """The OAI-PMH provider of the master records."""

    base_path: str = "/oai"
    page_size: int = 100
    admin_email: str = "catalogue@unioncat.local"
    repository_identifier: str = ""  # "" = the public host name, else "unioncat.local"
    token_ttl: int = 7 * 24 * 3600


@dataclass(frozen=True)
class StaffConfig:
    """The staff console: where, and how long a session lasts."""

    base_path: str = "/staff"
    session_minutes: int = 30
    session_hours: int = 12
    stale_days: int = 3
    max_failures: int = 5


@dataclass(frozen=True)
class AvailabilityConfig:
    """Live availability refresh: cache lifetime and time budget, in seconds."""

    ttl: float = 300.0
    budget: float = 2.0


@dataclass(frozen=True)
class DedupConfig:
    """Deduplication tolerances and the identifier block list."""

    max_block: int = 300
    year_tolerance: int = 1
    pages_tolerance: float = 0.1
    title_threshold: float = 90.0
    block_list: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceConfig:
    """One member library."""

    id: str
    name: str
    type: str
    url: str | None = None
    path: str | None = None
    format: str = "marc21"
    encoding: str = "auto"
    holdings: str | dict[str, Any] | None = None
    dedup_within_source: bool = False
    status_map: dict[str, str] | None = None
    live_refresh: bool = True
    lends: bool = True
    distances: dict[str, float] | None = None
    tries: int = 5
    wait: float = 2.0
    timeout: float = 60.0
    metadata_prefix: str = "marc21"
    sets: tuple[str, ...] = ()
    token_repeats: int = 3
    sweep: bool = False
    full_dump: bool = False
    max_delete_fraction: float = 0.1
    query: str | None = None
    incremental_query: str | None = None
    sru_version: str = "1.2"
    record_schema: str = "marcxml"
    record_packing: str = "xml"
    page_size: int = 100
    syntax: str = "usmarc"
    database: str | None = None
    live: bool = False


@dataclass(frozen=True)
class TargetConfig:
    """A server searched live (federated search), harvested or not."""

    id: str
    name: str
    type: str  # sru or z3950
    url: str
    database: str | None = None
    syntax: str = "usmarc"
    record_schema: str = "marcxml"
    sru_version: str = "1.2"
    format: str = "marc21"
    encoding: str = "auto"
    timeout: float = 10.0
    member: str | None = None


@dataclass(frozen=True)
class LiveConfig:
    """Federated search: how long to wait, how many records to ask of each target."""

    budget: float = 5.0
    max_records: int = 20


@dataclass(frozen=True)
class Config:
    """The whole configuration, read from one TOML file."""

    file: str
    store: StoreConfig
    index: IndexConfig
    server: ServerConfig
    sources: tuple[SourceConfig, ...] = field(default_factory=tuple)
    availability: AvailabilityConfig = field(default_factory=AvailabilityConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    oai: OAIConfig = field(default_factory=OAIConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    targets: tuple[TargetConfig, ...] = field(default_factory=tuple)
    live: LiveConfig = field(default_factory=LiveConfig)

    def source(self, source_id: str) -> SourceConfig:
        """Return a source by id, or raise ConfigError naming the known ones."""
        from unioncat.errors import ConfigError

        for src in self.sources:
            if src.id == source_id:
                return src
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(self.file, "source", f"no source with id {source_id!r} (configured: {known})")
