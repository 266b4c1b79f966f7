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
    Setting("index.path", str, "index", "Directory of the search index."),
    Setting("server.host", str, "127.0.0.1",
            "Address the SRU server binds to; loopback unless you mean to expose it."),
    Setting("server.port", int, 8765, "TCP port of the SRU server."),
    Setting("source.id", str, REQUIRED,
            "Short member code matching [A-Za-z0-9_-]+, unique; prefixes every record id, "
            "barcode and holding code of that member."),
    Setting("source.name", str, REQUIRED, "The member library's name, for people."),
    Setting("source.type", str, REQUIRED, "How records arrive.", SOURCE_TYPES),
    Setting("source.url", str, None,
            "Server address: http(s) base URL for oai and sru, host:port/database for z3950."),
    Setting("source.path", str, None,
            "File drop for type file: a file, a directory or a glob pattern."),
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
)


def settings_in(section: str) -> tuple[Setting, ...]:
    """Return the settings of one table ('store', 'index', 'server' or 'source')."""
    return tuple(s for s in SETTINGS if s.key.split(".", 1)[0] == section)
