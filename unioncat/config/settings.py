"""Every configuration setting, declared once as data.

The same list drives validation (:mod:`unioncat.config.loader`), the commented sample
file ``examples/unioncat.toml`` and the README's settings table, and a test checks
that each setting is documented in both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED: Any = object()

SOURCE_TYPES = ("file", "oai", "sru", "z3950")
FORMATS = ("marc21", "unimarc", "cnmarc")
HOLDINGS_PRESETS = ("852", "852-evergreen", "952-koha", "995-koha", "949", "999",
                    "905-cnmarc", "ava-alma", "mfhd", "opac")
HOLDINGS_TABLE_KEYS = ("tag", "member", "location", "call_number", "barcode", "status",
                       "due_date", "copy", "volume")
SOURCE_ID_PATTERN = r"[A-Za-z0-9_-]+"


@dataclass(frozen=True)
class Setting:
    """One setting: dotted key, expected type, default (or REQUIRED) and help text."""

    key: str
    type: type | tuple[type, ...]
    default: Any
    help: str
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return the key's last part (the name inside its table)."""
        return self.key.rsplit(".", 1)[-1]


SETTINGS: tuple[Setting, ...] = (
    Setting("store.path", str, "unioncat.db",
            "SQLite record store file (relative paths are relative to the config file)."),
    Setting("store.batch_size", int, 2000,
            "Records written per transaction; a kill -9 loses at most one open batch."),
    Setting("store.url", str, "",
            "A PostgreSQL store shared by several machines (postgresql://user@host/db) in place of the "
            "SQLite file; empty: the file at store.path. The password is best left to ~/.pgpass."),
    Setting("index.path", str, "index", "Directory of the search index."),
    Setting("index.engine", str, "tantivy", "Search engine: tantivy (default) or whoosh (pure Python, "
            "for small installations).", ("tantivy", "whoosh")),
    Setting("index.workers", int, 2, "Processes that build the documents of a large index run (their "
            "records read and analysed in Python) while this one writes them; 0 builds them here."),
    Setting("server.host", str, "127.0.0.1",
            "Address the SRU server binds to; loopback unless you mean to expose it."),
    Setting("server.port", int, 8765, "TCP port of the SRU server."),
    Setting("server.base_path", str, "/sru", "URL path of the SRU endpoint (explain on a bare GET)."),
    Setting("server.public_url", str, None,
            "The SRU endpoint's address as clients reach it (behind a proxy), for explain; else the "
            "address the request came to."),
    Setting("server.title", str, "Union catalogue", "Database title in the SRU explain record."),
    Setting("server.description", str, "Union catalogue of the consortium's member libraries, "
            "with holdings and availability.", "Database description in the SRU explain record."),
    Setting("server.default_version", str, "2.0",
            "SRU version assumed when a request names none (as YAZ and Zebra do).", ("1.1", "1.2", "2.0")),
    Setting("server.default_schema", str, "marcxml", "recordSchema when a request names none.",
            ("marcxml", "dc", "mods", "opacxml", "isohold", "unimarcxml")),
    Setting("server.default_records", int, 10, "maximumRecords when a request names none."),
    Setting("server.max_records", int, 100,
            "Most records one searchRetrieve returns; larger maximumRecords values are cut to it."),
    Setting("server.max_terms", int, 100, "Most terms one scan returns (more is diagnostic 121)."),
    Setting("server.max_query_length", int, 2048, "Longest CQL query or scan clause, in characters."),
    Setting("server.max_clauses", int, 32, "Most search clauses in one query (query complexity cap)."),
    Setting("server.holdings", str, "item",
            "Holdings embedded in marcxml records: one 852 per item, per member, or none.",
            ("item", "member", "none")),
    Setting("server.result_set_ttl", int, 600,
            "Seconds a resultSetId stays usable in cql.resultSetId queries."),
    Setting("server.availability_cache", (int, float), 30,
            "Seconds the set of records available per member is reused by local.available searches."),
    Setting("server.record_cache", int, 20000,
            "Master records kept built in memory per server process (holdings are never cached)."),
    Setting("server.z3950_port", int, 0,
            "TCP port of the Z39.50 target `unioncat serve` also runs (0: none unless --z3950-port)."),
    Setting("server.z3950_workers", int, 1,
            "Processes serving Z39.50 on one listening socket: one per core for throughput."),
    Setting("server.z3950_max_connections", int, 200,
            "Z39.50 associations open at once per process; more are refused (Close, resource shortage)."),
    Setting("server.z3950_database", str, "Default", "Database name of the Z39.50 target (others: BIB-1 109)."),
    Setting("server.z3950_idle_timeout", (int, float), 300,
            "Seconds a Z39.50 connection may stay silent before the target closes it."),
    Setting("server.z3950_message_size", int, 8 << 20,
            "Largest Z39.50 message in bytes: requests beyond it close the connection, Present stops at it."),
    Setting("server.threads", int, 4, "Worker threads of the built-in (waitress) HTTP server."),
    Setting("oai.base_path", str, "/oai", "URL path of the OAI-PMH provider of the master records."),
    Setting("oai.page_size", int, 100, "Records (or headers, or sets) in one OAI-PMH list response."),
    Setting("oai.admin_email", str, "catalogue@unioncat.local", "The adminEmail that OAI-PMH Identify gives harvesters."),
    Setting("oai.repository_identifier", str, "",
            "The repository part of OAI identifiers (oai:REPOSITORY:MASTER_ID), a domain name; "
            "empty: the host of server.public_url, else unioncat.local."),
    Setting("oai.token_ttl", int, 604800, "Seconds an OAI-PMH resumptionToken stays valid."),
    Setting("staff.base_path", str, "/staff", "URL path of the staff console (behind a login)."),
    Setting("staff.session_minutes", int, 30, "Minutes a staff session lasts without a request."),
    Setting("staff.session_hours", int, 12, "Hours a staff session lasts at most, in use or not."),
    Setting("staff.stale_days", int, 3, "Days without a successful load after which a member is flagged."),
    Setting("staff.max_failures", int, 5,
            "Failed logins of one account or address in 15 minutes before it must wait (doubling, to 15 minutes)."),
    Setting("availability.ttl", (int, float), 300,
            "Seconds a live availability refresh of a record is reused before asking the member again."),
    Setting("availability.budget", (int, float), 2.0,
            "Seconds a live refresh may add to a holdings answer; members slower than that are "
            "shown with their stored data, marked stale with its age."),
    Setting("dedup.max_block", int, 300,
            "Records sharing one blocking key beyond which the key is not used (reported)."),
    Setting("dedup.year_tolerance", int, 1, "Years two records of one edition may differ by."),
    Setting("dedup.pages_tolerance", (int, float), 0.1,
            "Fraction of the larger page count two records of one edition may differ by "
            "(at least 10 pages)."),
    Setting("dedup.title_threshold", (int, float), 90,
            "Title similarity (0-100) needed for a match without a shared identifier."),
    Setting("dedup.block_list", list, None,
            "Identifiers (ISBNs, 035 numbers) never to trust: reused or bogus ones."),
    Setting("source.id", str, REQUIRED,
            "Short member code matching [A-Za-z0-9_-]+, unique; prefixes every record id, "
            "barcode and holding code of that member."),
    Setting("source.name", str, REQUIRED, "The member library's name, for people."),
    Setting("source.type", str, REQUIRED, "How records arrive.", SOURCE_TYPES),
    Setting("source.url", str, None,
            "Server address: http(s) base URL for oai and sru, host:port/database for z3950."),
    Setting("source.path", str, None,
            "File drop for type file (required): a file, a directory or a glob pattern."),
    Setting("source.full_dump", bool, False,
            "File drops: each drop is the member's complete catalogue; records missing from it "
            "are marked deleted."),
    Setting("source.max_delete_fraction", (int, float), 0.1,
            "File drops with full_dump: past this fraction of the member's live records missing "
            "from a dump, nothing is deleted and the import fails (override: import --full --force)."),
    Setting("source.format", str, "marc21", "Record format the member sends.", FORMATS),
    Setting("source.encoding", str, "auto",
            "Character set: auto (leader/09 or 100$a, checked against the bytes), or an "
            "override such as utf-8, marc-8, gb18030, gbk, cp1251."),
    Setting("source.holdings", (str, dict), None,
            "Where items sit in this member's records: a preset name or a table with tag "
            "and subfield codes (member, location, call_number, barcode, status, due_date, "
            "copy, volume)."),
    Setting("source.dedup_within_source", bool, False,
            "Allow deduplication to merge this member's own duplicate records."),
    Setting("source.status_map", dict, None,
            "Holdings: this member's own item status codes, as a table code = status "
            "(available, on_loan, in_transit, on_hold, lost, missing, not_for_loan, "
            "in_processing, unknown)."),
    Setting("source.live_refresh", bool, True,
            "Holdings: refresh availability from this member (z3950 OPAC or sru) when "
            "`unioncat holdings --refresh` shows its records."),
    Setting("source.lends", bool, True,
            "Lending rota: this member lends to readers of other members (false: it is never proposed)."),
    Setting("source.distances", dict, None,
            "Lending rota: how far this member is from the others, { DIST = 3, VILL = 12 } (any unit); "
            "nearer lenders come first among equals."),
    Setting("source.tries", int, 5,
            "Harvests: attempts per request before giving up (503/429/5xx, dropped connections)."),
    Setting("source.wait", (int, float), 2.0,
            "Harvests: first wait in seconds between attempts, doubling each time (capped at "
            "120 s); a Retry-After header overrides it."),
    Setting("source.timeout", (int, float), 60.0,
            "Harvests: seconds to wait for a connection or an answer."),
    Setting("source.metadata_prefix", str, "marc21",
            "OAI-PMH: metadataPrefix of a format carrying MARCXML (marc21, marcxml, ...)."),
    Setting("source.set", (str, list), None,
            "OAI-PMH: one setSpec or a list of them; all sets when absent."),
    Setting("source.token_repeats", int, 3,
            "OAI-PMH: abort when the same resumptionToken comes back this many times in a row."),
    Setting("source.sweep", bool, False,
            "OAI-PMH: after an incremental harvest from a server with deletedRecord=no, list "
            "every identifier (ListIdentifiers) and mark records no longer listed deleted."),
    Setting("source.query", str, None,
            "SRU: CQL query for a full harvest (default cql.allRecords=1); Z39.50: PQF query "
            "(default @attr 1=_ALLRECORDS @attr 2=103 \"\")."),
    Setting("source.incremental_query", str, None,
            "SRU: CQL for changes since the last run, {from} replaced by its date, e.g. "
            "'rec.lastModificationDate > \"{from}\"'; without it every run is full."),
    Setting("source.sru_version", str, "1.2", "SRU: protocol version.", ("1.1", "1.2", "2.0")),
    Setting("source.record_schema", str, "marcxml", "SRU: recordSchema carrying MARCXML."),
    Setting("source.record_packing", str, "xml", "SRU: record packing.", ("xml", "string")),
    Setting("source.page_size", int, 100,
            "SRU and Z39.50: records asked for per request (maximumRecords, present size)."),
    Setting("source.syntax", str, "usmarc",
            "Z39.50: record syntax to ask for.", ("usmarc", "marc21", "unimarc", "opac", "xml")),
    Setting("source.database", str, None,
            "Z39.50: database name, when not given in url (host:port/database)."),
    Setting("source.live", bool, False,
            "Federated search: also search this member (type sru or z3950) live with `search --live`."),
    Setting("live.budget", (int, float), 5.0,
            "Federated search: seconds to wait for the targets; whatever has arrived by then is merged."),
    Setting("live.max_records", int, 20, "Federated search: records asked of each target."),
    Setting("target.id", str, REQUIRED,
            "Short code of a live search target matching [A-Za-z0-9_-]+, unique among targets and sources."),
    Setting("target.name", str, REQUIRED, "The target's name, for people."),
    Setting("target.type", str, REQUIRED, "Protocol.", ("sru", "z3950")),
    Setting("target.url", str, REQUIRED, "http(s) base URL (sru) or host:port[/database] (z3950)."),
    Setting("target.database", str, None, "Z39.50: database name, when not given in url."),
    Setting("target.syntax", str, "usmarc", "Z39.50: record syntax to ask for.", ("usmarc", "marc21", "unimarc", "xml")),
    Setting("target.record_schema", str, "marcxml", "SRU: recordSchema carrying MARCXML."),
    Setting("target.sru_version", str, "1.2", "SRU: protocol version.", ("1.1", "1.2", "2.0")),
    Setting("target.format", str, "marc21", "Record format the target sends.", FORMATS),
    Setting("target.encoding", str, "auto",
            "Character set: auto (leader/09 or 100$a, checked against the bytes), or an override."),
    Setting("target.timeout", (int, float), 10.0, "Seconds to wait for a connection or an answer."),
    Setting("target.member", str, None, "The member library this target stands for, if any (a source id)."),
)


def settings_in(section: str) -> tuple[Setting, ...]:
    """Return the settings of one table ('store', 'index', 'server' or 'source')."""
    return tuple(s for s in SETTINGS if s.key.split(".", 1)[0] == section)
