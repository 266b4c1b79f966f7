"""The store's tables, written once for every back end, and its versioned migrations.

Column types are placeholders each back end fills in (``{text}``, ``{blob}``, ...): SQLite's
and PostgreSQL's names differ, the tables do not.  A store records its schema version (SQLite
in ``PRAGMA user_version``, PostgreSQL in ``unioncat_schema``); opening an older one for writing
runs ``BASE`` (every table and index ``IF NOT EXISTS``, columns added since they first shipped)
and then each migration above its version, in one transaction.
"""
from __future__ import annotations

from typing import Mapping

SCHEMA_VERSION = 6

BASE = """
CREATE TABLE IF NOT EXISTS records (
    rid {serial},
    id {text} NOT NULL UNIQUE,
    source {text} NOT NULL,
    local_id {text} NOT NULL,
    syntax {text} NOT NULL,
    format {text} NOT NULL,
    charset {text} NOT NULL,
    leader {text},
    raw {blob} NOT NULL,
    hash {blob} NOT NULL,
    datestamp {text},
    deleted INTEGER NOT NULL DEFAULT 0,
    notes {text},
    location {text},
    first_seen {text} NOT NULL,
    last_seen {text} NOT NULL,
    updated {text} NOT NULL,
    last_load {bigint},
    protocol_id {text}
);
CREATE INDEX IF NOT EXISTS records_source ON records(source, deleted);
CREATE INDEX IF NOT EXISTS records_protocol ON records(source, protocol_id);
CREATE TABLE IF NOT EXISTS rejects (
    id {serial},
    source {text} NOT NULL,
    location {text} NOT NULL,
    position {bigint},
    byte_offset {bigint},
    line {bigint},
    reason {text} NOT NULL,
    raw {blob},
    load_id {bigint},
    created {text} NOT NULL
);
CREATE INDEX IF NOT EXISTS rejects_source ON rejects(source, location);
CREATE TABLE IF NOT EXISTS loads (
    id {serial},
    source {text} NOT NULL,
    kind {text} NOT NULL,
    started {text} NOT NULL,
    finished {text},
    status {text} NOT NULL,
    stats {text},
    error {text}
);
CREATE INDEX IF NOT EXISTS loads_source ON loads(source, id);
CREATE TABLE IF NOT EXISTS items (
    item_id {text} PRIMARY KEY,
    record_id {text} NOT NULL,
    origin {text} NOT NULL,
    source {text} NOT NULL,
    institution {text},
    branch {text},
    location {text},
    call_number {text},
    barcode {text},
    copy {text},
    volume {text},
    status {text} NOT NULL,
    raw_status {text},
    due_date {text},
    count INTEGER NOT NULL DEFAULT 1,
    updated {text} NOT NULL
);
CREATE INDEX IF NOT EXISTS items_record ON items(record_id);
CREATE INDEX IF NOT EXISTS items_origin ON items(origin);
CREATE INDEX IF NOT EXISTS items_source ON items(source, status);
CREATE TABLE IF NOT EXISTS availability (
    item_id {text} PRIMARY KEY,
    status {text} NOT NULL,
    raw_status {text},
    due_date {text},
    origin {text} NOT NULL,
    updated {text} NOT NULL
);
CREATE TABLE IF NOT EXISTS live_cache (
    record_id {text} PRIMARY KEY,
    fetched {text} NOT NULL,
    outcome {text} NOT NULL
);
CREATE TABLE IF NOT EXISTS dedup_records {dedup_records};
CREATE TABLE IF NOT EXISTS dedup_keys {dedup_keys};
CREATE INDEX IF NOT EXISTS dedup_keys_key ON dedup_keys(key, id, year, edition);
CREATE INDEX IF NOT EXISTS dedup_keys_id ON dedup_keys(id);
CREATE TABLE IF NOT EXISTS dedup_edges {dedup_edges};
CREATE INDEX IF NOT EXISTS dedup_edges_b ON dedup_edges(b);
CREATE TABLE IF NOT EXISTS clusters {clusters};
CREATE INDEX IF NOT EXISTS clusters_master ON clusters(master_id);
CREATE TABLE IF NOT EXISTS master_ids (
    seq {serial},
    master_id {text} NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS dedup_overrides (
    kind {text} NOT NULL,
    a {text} NOT NULL,
    b {text} NOT NULL DEFAULT '',
    created {text} NOT NULL,
    PRIMARY KEY (kind, a, b)
);
CREATE TABLE IF NOT EXISTS index_dirty (
    master_id {text} PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS master_stamps (
    master_id {text} PRIMARY KEY,
    stamp {text} NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    signature {text} NOT NULL DEFAULT '',
    sets {text} NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS master_stamps_stamp ON master_stamps(stamp, master_id);
CREATE TABLE IF NOT EXISTS master_sets (
    spec {text} NOT NULL,
    stamp {text} NOT NULL,
    master_id {text} NOT NULL,
    PRIMARY KEY (spec, stamp, master_id)
){without_rowid};
CREATE TABLE IF NOT EXISTS dedup_near {dedup_near};
CREATE INDEX IF NOT EXISTS dedup_near_b ON dedup_near(b);
CREATE TABLE IF NOT EXISTS staff_users (
    name {text} PRIMARY KEY,
    hash {text} NOT NULL,
    role {text} NOT NULL,
    created {text} NOT NULL,
    changed {text} NOT NULL,
    last_login {text}
);
CREATE TABLE IF NOT EXISTS staff_sessions (
    id {text} PRIMARY KEY,
    name {text} NOT NULL,
    csrf {text} NOT NULL,
    created {real} NOT NULL,
    seen {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS staff_failures (
    who {text} NOT NULL,
    at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_failures_who ON staff_failures(who, at);
CREATE TABLE IF NOT EXISTS dedup_log (
    id {serial},
    at {text} NOT NULL,
    who {text} NOT NULL,
    action {text} NOT NULL,
    a {text} NOT NULL,
    b {text} NOT NULL DEFAULT '',
    masters {text} NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS checkpoints (
    source {text} PRIMARY KEY,
    state {text} NOT NULL,
    updated {text} NOT NULL
)
"""

# Tables a full deduplication run builds beside the live ones and renames into place (with the
# indexes it adds once they are written): one definition for both.
DEDUP_TABLES: Mapping[str, str] = {
    "dedup_records": "(id {text} PRIMARY KEY, source {text} NOT NULL, data {text} NOT NULL)",
    # A record's year and edition number beside each of its keys: a block's pairs that these
    # veto are never made (a work in many editions costs pairs in proportion, not squared).
    "dedup_keys": "(key {text} NOT NULL, id {text} NOT NULL, year INTEGER, edition INTEGER)",
    "dedup_edges": "(a {text} NOT NULL, b {text} NOT NULL, score {real} NOT NULL, PRIMARY KEY (a, b))",
    "clusters": "(record_id {text} PRIMARY KEY, master_id {text} NOT NULL)",
    "dedup_near": "(a {text} NOT NULL, b {text} NOT NULL, score {real} NOT NULL, title {real} NOT NULL,"
                  " why {text} NOT NULL, PRIMARY KEY (a, b))",
}

# Columns added to a table after it first shipped: (table, column, type); BASE adds them.
ADDED_COLUMNS = (("records", "protocol_id", "{text}"), ("dedup_keys", "year", "INTEGER"),
                 ("dedup_keys", "edition", "INTEGER"))

# Version -> the statements that bring a store of the version before up to it.
MIGRATIONS: Mapping[int, tuple[str, ...]] = {
    # A member's newest item change, for the staff health page, without reading all its items.
    5: ("CREATE INDEX IF NOT EXISTS items_source_updated ON items(source, updated)",),
}


def statements(types: Mapping[str, str], version: int) -> list[str]:
    """Return the statements that bring a store at ``version`` (0: new) up to SCHEMA_VERSION,
    with a back end's column types."""
    tables = {name: ddl.format(**types) for name, ddl in DEDUP_TABLES.items()}
    out = [s.strip() for s in BASE.format(**types, **tables).split(";") if s.strip()]
    for v in range(max(version, 4) + 1, SCHEMA_VERSION + 1):
        out.extend(s.format(**types) for s in MIGRATIONS.get(v, ()))
    return out
