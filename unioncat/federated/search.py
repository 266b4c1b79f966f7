"""Federated live search: the union catalogue's own hits and, merged with them, what the live
targets (``[[target]]`` tables, and members with ``live = true``) answer within a budget.

Every target is asked at once, each in a daemon thread of its own (a target that never answers
holds nothing up, not even the process's exit); when ``live.budget`` seconds have passed, what
has arrived is merged and the rest is reported as ``timeout``.  A target's records are read by
the harvesters' own code (charset detection, MARCXML or ISO 2709, rejects), so a live record is
what a harvest would have stored.  Then the dedup comparator decides: a live record that
matches a master of the local hits is that master, with the target added to its ``sources``;
live records of several targets that match each other are one record.

    result = federated_search(cfg, store, 'dc.title="lian cheng jue"')
    result["records"][0]["sources"]     # ["local", "ZEBRA-SRU", "ZEBRA-Z"]
    result["targets"]                   # [{"id", "name", "status", "hits", "ms", "error"}, ...]
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from unioncat.config.model import Config, SourceConfig, TargetConfig
from unioncat.cql import CQLQuery, parse, to_text
from unioncat.dedup.engine import Deduplicator
from unioncat.dedup.fields import dedup_record
from unioncat.dedup.match import compare
from unioncat.errors import DedupError, UnioncatError
from unioncat.federated.translate import to_pqf
from unioncat.harvester.sru import SRUHarvester
from unioncat.harvester.z3950 import Z3950Harvester
from unioncat.index.search import run_search
from unioncat.marc.fields import all_fields
from unioncat.models import DedupRecord, Rejected, SourceRecord
from unioncat.store import Store
from unioncat.text import strip_isbd

LOCAL_CANDIDATES = 50  # local hits a live record is compared with


@dataclass
class Answer:
    """What one target said: its status (ok, timeout, error), hit count, time and records."""

    target: TargetConfig
    status: str = "timeout"
    hits: int = 0
    ms: int = 0
    error: str = ""
    records: list[SourceRecord] = field(default_factory=list)
    rejected: int = 0


def fetch_record(target: TargetConfig, record_id: str) -> SourceRecord:
    """Return one record of a target by its id (SRU ``rec.id``, Z39.50 local number), as sent."""
    source = _source(target, 1)
    term = record_id.replace("\\", "\\\\").replace('"', '\\"')
    if target.type == "sru":
        _, found = SRUHarvester(source).first_page(f'rec.id="{term}"')
    else:
        _, found = Z3950Harvester(source).first_page(f'@attr 1=12 @attr 4=3 "{term}"')
    for rec in found:
        if isinstance(rec, SourceRecord):
            return rec
        raise UnioncatError(f"{target.id}: record {record_id!r} cannot be read: {rec.reason}")
    raise UnioncatError(f"{target.id}: no record {record_id!r}")


def _source(target: TargetConfig, page_size: int) -> SourceConfig:
    """The target as a source the harvesters read (one try: a live search does not wait)."""
    return SourceConfig(id=target.id, name=target.name, type=target.type, url=target.url,
                        database=target.database, format=target.format, encoding=target.encoding,
                        syntax=target.syntax, record_schema=target.record_schema, sru_version=target.sru_version,
                        page_size=page_size, timeout=target.timeout, tries=1)


def live_targets(cfg: Config, names: list[str] | None = None) -> list[TargetConfig]:
    """Return the targets to ask: every [[target]] and every member with ``live = true``, or
    those ``names`` names (a name that is neither is a UnioncatError)."""
    every = list(cfg.targets) + [
        TargetConfig(id=s.id, name=s.name, type=s.type, url=s.url or "", database=s.database,
                     syntax=s.syntax if s.syntax in ("usmarc", "marc21", "unimarc", "xml") else "usmarc",
                     record_schema=s.record_schema, sru_version=s.sru_version, format=s.format, encoding=s.encoding,
                     timeout=min(s.timeout, 30.0), member=s.id)
        for s in cfg.sources if s.live]
    if not names:
        return every
    known = {t.id: t for t in every}
    missing = [n for n in names if n not in known]
    if missing:
        raise UnioncatError(f"no live target {', '.join(missing)} (targets: {', '.join(known) or 'none'})")
    return [known[n] for n in names]


def ask(target: TargetConfig, query: CQLQuery, max_records: int) -> Answer:
    """Ask one target now; never raises (the answer says what went wrong)."""
    answer = Answer(target)
    started = time.monotonic()
    source = _source(target, max_records)
    try:
        if target.type == "sru":
            hits, found = SRUHarvester(source).first_page(to_text(query.root))
        else:
            hits, found = Z3950Harvester(source).first_page(to_pqf(query))
        answer.hits, answer.status = hits, "ok"
        answer.records = [r for r in found if isinstance(r, SourceRecord) and not r.deleted]
        answer.rejected = sum(1 for r in found if isinstance(r, Rejected))
    except Exception as exc:  # noqa: BLE001 -- whatever a target does, it is this target's answer
        answer.status, answer.error = "error", (str(exc) or type(exc).__name__)[:500]
    answer.ms = round((time.monotonic() - started) * 1000)
    return answer


def ask_all(targets: list[TargetConfig], query: CQLQuery, max_records: int, budget: float) -> list[Answer]:
    """Ask every target at once; return their answers when all are in or the budget is spent."""
    answers: dict[str, Answer] = {}
    done = threading.Condition()

    def one(target: TargetConfig) -> None:
        got = ask(target, query, max_records)
        with done:
            answers[target.id] = got
            done.notify_all()

    started = time.monotonic()
    for target in targets:
        threading.Thread(target=one, args=(target,), name=f"unioncat-live-{target.id}", daemon=True).start()
    with done:
        done.wait_for(lambda: len(answers) == len(targets), timeout=budget)
        return [answers.get(t.id) or Answer(t, ms=round((time.monotonic() - started) * 1000)) for t in targets]


def federated_search(cfg: Config, store: Store, query: str, *, targets: list[str] | None = None,
                     budget: float | None = None, limit: int = 10) -> dict[str, Any]:
    """Search the union catalogue and the live targets; return the merged result (JSON-ready)."""
    parsed = parse(query)
    chosen = live_targets(cfg, targets)
    started = time.monotonic()
    answers = ask_all(chosen, parsed, cfg.live.max_records, cfg.live.budget if budget is None else budget)
    local = run_search(store, cfg, query, limit=max(limit, LOCAL_CANDIDATES))
    records = merge(cfg, store, local["records"][:LOCAL_CANDIDATES], answers)
    return {"query": query, "total": local["total"], "records": records[:limit] if limit else records,
            "merged": len(records),
            "targets": [{"id": a.target.id, "name": a.target.name, "status": a.status, "hits": a.hits,
                         "records": len(a.records), "ms": a.ms, **({"error": a.error} if a.error else {}),
                         **({"member": a.target.member} if a.target.member else {})} for a in answers],
            "elapsed_ms": round((time.monotonic() - started) * 1000)}


def merge(cfg: Config, store: Store, local: list[dict[str, Any]], answers: list[Answer]) -> list[dict[str, Any]]:
    """Return the local hits with the live records that match them added to their sources,
    then the live records no local hit matched, those of several targets that match one another once."""
    dedup = Deduplicator(store, cfg)
    out = [{"master": r["id"], "title": r["title"], "author": r["author"], "year": r["year"],
            "sources": ["local"], "records": {"local": r["id"]}} for r in local]
    members: list[list[DedupRecord]] = []
    for r in local:
        found = []
        for rid in r["members"]:
            try:
                found.append(dedup.record(rid))
            except DedupError:  # a member record deduplication has not seen yet
                continue
        members.append(found)
    live: list[tuple[dict[str, Any], DedupRecord]] = []
    for answer in answers:
        for rec in answer.records:
            rid = f"{answer.target.id}.{rec.local_id}"
            try:
                extracted = dedup_record(rid, answer.target.id, rec.format, rec.raw, rec.syntax, rec.charset)
            except Exception:  # noqa: BLE001 -- a record we cannot read stays unmerged, shown as sent
                extracted = None
            entry = {"master": None, **_shown(rec), "sources": [answer.target.id],
                     "records": {answer.target.id: rec.local_id}}
            if extracted is None:
                out.append(entry)
                continue
            at = next((i for i, found in enumerate(members)
                       if any(_same(extracted, m, dedup) for m in found)), None)
            if at is not None:
                if answer.target.id not in out[at]["sources"]:
                    out[at]["sources"].append(answer.target.id)
                    out[at]["records"][answer.target.id] = rec.local_id
                continue
            twin = next((e for e, d in live if answer.target.id not in e["sources"] and _same(extracted, d, dedup)), None)
            if twin is not None:
                twin["sources"].append(answer.target.id)
                twin["records"][answer.target.id] = rec.local_id
                continue
            live.append((entry, extracted))
            out.append(entry)
    return out


def _same(a: DedupRecord, b: DedupRecord, dedup: Deduplicator) -> bool:
    # the live record stands for its target, not for a member: no "same member" veto
    return compare(replace(a, source=f"live:{a.source}"), b, dedup.settings).matched


def _shown(rec: SourceRecord) -> dict[str, Any]:
    """Return title, author and year of a live record as it was catalogued."""
    leader, fields = all_fields(rec.raw, rec.syntax, rec.charset, {"245", "100", "110", "260", "264", "200", "700", "210"})
    subs = {tag: value for tag, _, value in reversed(fields) if not isinstance(value, str)}

    def text(tag: str, codes: str) -> str:
        return strip_isbd(" ".join(v for c, v in subs.get(tag, []) if c in codes))

    unimarc = "245" not in subs and "200" in subs
    title = text("200", "ae") if unimarc else text("245", "abnp")
    author = text("700", "ab") if unimarc else (text("100", "a") or text("110", "a"))
    year = text("210", "d") if unimarc else (text("260", "c") or text("264", "c"))
    digits = "".join(c for c in year if c.isdigit())[:4]
    return {"title": title, "author": author, "year": int(digits) if len(digits) == 4 else None}
