"""Read unioncat.toml into typed dataclasses, checking every key against SETTINGS.

Which file: ``--config``, else the ``UNIONCAT_CONFIG`` environment variable, else
``./unioncat.toml``.  Relative paths inside it are taken relative to the file.
"""
from __future__ import annotations

import os
import re
import tomllib
from typing import Any

from unioncat.config.model import (AvailabilityConfig, Config, DedupConfig, IndexConfig, OAIConfig,
                                   LiveConfig, ServerConfig, SourceConfig, StaffConfig, StoreConfig,
                                   TargetConfig)
from unioncat.config.settings import (HOLDINGS_PRESETS, HOLDINGS_TABLE_KEYS, REQUIRED,
                                      SOURCE_ID_PATTERN, Setting, settings_in)
from unioncat.errors import ConfigError
from unioncat.models import STATUSES
from unioncat.text import canonical_encoding

ENV_VAR = "UNIONCAT_CONFIG"
DEFAULT_FILE = "unioncat.toml"
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "a table", list: "a list"}
_ID_RE = re.compile(rf"^{SOURCE_ID_PATTERN}$")
_Z3950_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d+(/\S+)?$")


def config_path(explicit: str | None) -> str:
    """Return which config file to read."""
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_FILE


def load_config(path: str | None = None) -> Config:
    """Read and validate a config file; raise ConfigError on any problem."""
    file = config_path(path)
    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(file, "", "no such config file (pass --config, set "
                          f"{ENV_VAR}, or see examples/unioncat.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror}") from None
    return _build(file, data)


def _build(file: str, data: dict[str, Any]) -> Config:
    base = os.path.dirname(os.path.abspath(file))
    known = {"store", "index", "server", "availability", "dedup", "oai", "staff", "live", "source", "target"}
    for key in data:
        if key not in known:
            raise ConfigError(file, key, f"unknown key (expected one of {', '.join(sorted(known))})")
    tables = {}
    for section in ("store", "index", "server", "availability", "dedup", "oai", "staff", "live"):
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(file, section, "expected a table, e.g. [" + section + "]")
        tables[section] = _table(file, section, raw, settings_in(section))
    store = StoreConfig(path=_resolve(base, tables["store"]["path"]),
                        batch_size=tables["store"]["batch_size"], url=tables["store"]["url"])
    if store.url and not store.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(file, "store.url", "expected a postgresql:// URL (or none, for the SQLite file)")
    if store.batch_size < 1:
        raise ConfigError(file, "store.batch_size", "expected a positive integer")
    index = IndexConfig(path=_resolve(base, tables["index"]["path"]), engine=tables["index"]["engine"],
                        workers=tables["index"]["workers"])
    if index.workers < 0:
        raise ConfigError(file, "index.workers", "expected 0 or a positive number of processes")
    server = ServerConfig(**{**tables["server"], "z3950_idle_timeout": float(tables["server"]["z3950_idle_timeout"])})
    if not 0 < server.port < 65536:
        raise ConfigError(file, "server.port", f"expected a TCP port 1-65535, got {server.port}")
    if not 0 <= server.z3950_port < 65536:
        raise ConfigError(file, "server.z3950_port", f"expected a TCP port 1-65535 (0: none), got {server.z3950_port}")
    if server.public_url is not None and not re.match(r"^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$", server.public_url):
        raise ConfigError(file, "server.public_url", f"expected an http(s) URL, got {server.public_url!r}")
    if not server.base_path.startswith("/"):
        raise ConfigError(file, "server.base_path", f"expected a path starting with /, got {server.base_path!r}")
    for key in ("default_records", "max_records", "max_terms", "max_query_length", "max_clauses", "threads",
                "record_cache", "z3950_port", "z3950_idle_timeout", "z3950_message_size", "z3950_workers",
                "z3950_max_connections"):
        if getattr(server, key) < (0 if key in ("default_records", "record_cache", "z3950_port") else 1):
            raise ConfigError(file, f"server.{key}", f"expected a positive number, got {getattr(server, key)}")
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(file, "source", "expected [[source]] tables (an array of tables)")
    sources = tuple(_source(file, base, i, raw) for i, raw in enumerate(raw_sources, 1))
    seen: dict[str, int] = {}
    for i, src in enumerate(sources, 1):
        if src.id in seen:
            raise ConfigError(file, f"source[{i}].id",
                              f"duplicate id {src.id!r} (also source[{seen[src.id]}])")
        seen[src.id] = i
    availability = AvailabilityConfig(ttl=float(tables["availability"]["ttl"]),
                                      budget=float(tables["availability"]["budget"]))
    if availability.budget <= 0 or availability.ttl < 0:
        raise ConfigError(file, "availability", "expected ttl >= 0 and budget > 0 seconds")
    d = tables["dedup"]
    blocked = d["block_list"] or []
    if not all(isinstance(v, str) for v in blocked):
        raise ConfigError(file, "dedup.block_list", "expected a list of identifier strings")
    dedup = DedupConfig(max_block=d["max_block"], year_tolerance=d["year_tolerance"],
                        pages_tolerance=float(d["pages_tolerance"]),
                        title_threshold=float(d["title_threshold"]), block_list=tuple(blocked))
    if dedup.max_block < 2 or not 0 < dedup.title_threshold <= 100:
        raise ConfigError(file, "dedup", "expected max_block >= 2 and 0 < title_threshold <= 100")
    oai = OAIConfig(**tables["oai"])
    if not oai.base_path.startswith("/") or oai.base_path.rstrip("/") == server.base_path.rstrip("/"):
        raise ConfigError(file, "oai.base_path", f"expected a path starting with / other than server.base_path, "
                          f"got {oai.base_path!r}")
    if oai.page_size < 1 or oai.token_ttl < 60:
        raise ConfigError(file, "oai", "expected page_size >= 1 and token_ttl >= 60 seconds")
    if not re.fullmatch(r"\S+@(\S+\.)+\S+", oai.admin_email):
        raise ConfigError(file, "oai.admin_email", f"expected an e-mail address whose domain has a dot (as "
                          f"OAI-PMH requires), got {oai.admin_email!r}")
    if oai.repository_identifier and not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+",
                                                      oai.repository_identifier):
        raise ConfigError(file, "oai.repository_identifier",
                          f"expected a domain name such as union.example.org, got {oai.repository_identifier!r}")
    staff = StaffConfig(**tables["staff"])
    paths = {server.base_path.rstrip("/"), oai.base_path.rstrip("/")}
    if not staff.base_path.startswith("/") or staff.base_path.rstrip("/") in paths | {""}:
        raise ConfigError(file, "staff.base_path", f"expected a path starting with / other than the SRU and "
                          f"OAI-PMH ones, got {staff.base_path!r}")
    if min(staff.session_minutes, staff.session_hours, staff.stale_days, staff.max_failures) < 1:
        raise ConfigError(file, "staff", "expected session_minutes, session_hours, stale_days and max_failures >= 1")
    live = LiveConfig(budget=float(tables["live"]["budget"]), max_records=tables["live"]["max_records"])
    if live.budget <= 0 or not 1 <= live.max_records <= 1000:
        raise ConfigError(file, "live", "expected budget > 0 seconds and max_records from 1 to 1000")
    raw_targets = data.get("target", [])
    if not isinstance(raw_targets, list):
        raise ConfigError(file, "target", "expected [[target]] tables (an array of tables)")
    targets = tuple(_target(file, i, raw, seen) for i, raw in enumerate(raw_targets, 1))
    for i, target in enumerate(targets, 1):
        first = next(n for n, t in enumerate(targets, 1) if t.id == target.id)
        if first != i:
            raise ConfigError(file, f"target[{i}].id", f"duplicate id {target.id!r} (also target[{first}])")
    for src in sources:
        if src.live and src.type not in ("sru", "z3950"):
            raise ConfigError(file, f"source[{seen[src.id]}].live",
                              f"only sru and z3950 members can be searched live, {src.id} is {src.type}")
    return Config(file=file, store=store, index=index, server=server, sources=sources,
                  availability=availability, dedup=dedup, oai=oai, staff=staff, targets=targets, live=live)


def _target(file: str, i: int, raw: Any, sources: dict[str, int]) -> TargetConfig:
    """Return one [[target]]; ``sources``: the members' ids (a target's id may not be one)."""
    where = f"target[{i}]"
    values = _server_table(file, where, raw, "target")
    if values["id"] in sources:
        raise ConfigError(file, f"{where}.id", f"{values['id']!r} is a member's id; a live member is "
                          "`live = true` in its [[source]]")
    if values["member"] is not None and values["member"] not in sources:
        raise ConfigError(file, f"{where}.member", f"expected a member's id ({', '.join(sources) or 'none'}), "
                          f"got {values['member']!r}")
    if values["timeout"] <= 0:
        raise ConfigError(file, f"{where}.timeout", f"expected a positive number, got {values['timeout']}")
    values["timeout"] = float(values["timeout"])
    return TargetConfig(**values)


def _table(file: str, where: str, raw: dict[str, Any], settings: tuple[Setting, ...]) -> dict[str, Any]:
    by_name = {s.name: s for s in settings}
    for key in raw:
        if key not in by_name:
            raise ConfigError(file, f"{where}.{key}",
                              f"unknown key (expected one of {', '.join(by_name)})")
    out = {}
    for name, setting in by_name.items():
        if name not in raw:
            if setting.default is REQUIRED:
                raise ConfigError(file, f"{where}.{name}",
                                  f"missing (required: {setting.help.rstrip('.')})")
            out[name] = setting.default
            continue
        value = raw[name]
        if not _is_type(value, setting.type):
            types = setting.type if isinstance(setting.type, tuple) else (setting.type,)
            want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise ConfigError(file, f"{where}.{name}", f"expected {want}, got {value!r}")
        if setting.choices and value not in setting.choices:
            raise ConfigError(file, f"{where}.{name}",
                              f"expected one of {', '.join(setting.choices)}, got {value!r}")
        out[name] = value
    return out


def _is_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return False  # TOML true is not an integer port
    return isinstance(value, types)


def _source(file: str, base: str, i: int, raw: Any) -> SourceConfig:
    where = f"source[{i}]"
    values = _server_table(file, where, raw, "source")
    if values["path"]:
        values["path"] = _resolve(base, values["path"])
    _check_holdings(file, f"{where}.holdings", values["holdings"])
    for member, far in (values["distances"] or {}).items():
        if isinstance(far, bool) or not isinstance(far, (int, float)) or far < 0:
            raise ConfigError(file, f"{where}.distances.{member}", f"expected a distance of 0 or more, got {far!r}")
    for code, status in (values["status_map"] or {}).items():
        if status not in STATUSES:
            raise ConfigError(file, f"{where}.status_map.{code}",
                              f"expected one of {', '.join(STATUSES)}, got {status!r}")
    sets = values.pop("set")
    if isinstance(sets, list) and not all(isinstance(s, str) and s for s in sets):
        raise ConfigError(file, f"{where}.set", "expected a setSpec or a list of setSpecs")
    values["sets"] = tuple([sets] if isinstance(sets, str) else sets or ())
    for key in ("tries", "token_repeats", "page_size"):
        if values[key] < 1:
            raise ConfigError(file, f"{where}.{key}", f"expected a positive integer, got {values[key]}")
    if not 0 <= values["max_delete_fraction"] <= 1:
        raise ConfigError(file, f"{where}.max_delete_fraction",
                          f"expected a fraction from 0 to 1, got {values['max_delete_fraction']}")
    values["max_delete_fraction"] = float(values["max_delete_fraction"])
    for key in ("wait", "timeout"):
        if values[key] <= 0:
            raise ConfigError(file, f"{where}.{key}", f"expected a positive number, got {values[key]}")
        values[key] = float(values[key])
    return SourceConfig(**values)


def _server_table(file: str, where: str, raw: Any, section: str) -> dict[str, Any]:
    """Read a [[source]] or [[target]] table: its id, its settings, its character set and where
    it is (its type's url or path)."""
    if not isinstance(raw, dict):
        raise ConfigError(file, where, "expected a table")
    if isinstance(raw.get("id"), str) and not _ID_RE.match(raw["id"]):
        # Checked first: every record id, barcode and holding code hangs off it.
        raise ConfigError(file, f"{where}.id",
                          f"expected a short code matching {SOURCE_ID_PATTERN}, got {raw['id']!r}")
    values = _table(file, where, raw, settings_in(section))
    try:
        values["encoding"] = canonical_encoding(values["encoding"])
    except LookupError:
        raise ConfigError(file, f"{where}.encoding",
                          f"expected auto, marc-8 or a known character set, got {values['encoding']!r}") from None
    _check_location(file, where, values)
    return values


def _check_location(file: str, where: str, values: dict[str, Any]) -> None:
    kind, url = values["type"], values["url"]
    if kind in ("oai", "sru"):
        if not url:
            raise ConfigError(file, f"{where}.url", f"missing; type {kind} needs an http(s) base URL")
        if not re.match(r"^https?://\S+$", url):
            raise ConfigError(file, f"{where}.url", f"expected an http(s) URL, got {url!r}")
    elif kind == "file":
        if not values["path"]:
            raise ConfigError(file, f"{where}.path",
                              "missing; type file needs its drop: a file, a directory or a glob pattern")
    elif kind == "z3950":
        if not url:
            raise ConfigError(file, f"{where}.url", "missing; type z3950 needs host:port/database")
        if not _Z3950_RE.match(url):
            raise ConfigError(file, f"{where}.url", f"expected host:port/database, got {url!r}")


def _check_holdings(file: str, where: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        if value not in HOLDINGS_PRESETS:
            raise ConfigError(file, where, f"expected a preset ({', '.join(HOLDINGS_PRESETS)}) "
                              f"or a table, got {value!r}")
        return
    for key, sub in value.items():
        if key not in HOLDINGS_TABLE_KEYS:
            raise ConfigError(file, f"{where}.{key}",
                              f"unknown key (expected one of {', '.join(HOLDINGS_TABLE_KEYS)})")
        if key == "tag":
            if not (isinstance(sub, str) and re.match(r"^[0-9A-Za-z]{3}$", sub)):
                raise ConfigError(file, f"{where}.tag", f"expected a 3-character MARC tag, got {sub!r}")
        elif not (isinstance(sub, str) and len(sub) == 1):
            raise ConfigError(file, f"{where}.{key}", f"expected one subfield code, got {sub!r}")
    if "tag" not in value:
        raise ConfigError(file, f"{where}.tag", "missing; a holdings table needs the item field's tag")


def _resolve(base: str, path: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))
