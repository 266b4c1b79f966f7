"""What the SRU server's worker threads share: the open index, per-thread stores,
the availability sets and scan term lists, and result-set ids.

The index is reopened when its directory changes (a commit or a rebuild's swap),
checked at most once a second, so a running server sees tonight's index without a
restart.  Result-set ids carry their query (compressed) and creation time, so they
need no server memory and work across worker processes and restarts.
"""
from __future__ import annotations

import base64
import logging
import json
import os
import threading
import time
import zlib
from collections import OrderedDict
from typing import Any, Callable, Mapping

from lxml import etree

from unioncat.config.model import Config, TargetConfig
from unioncat.cql import CQLQuery, SearchClause, parse, walk
from unioncat.dedup.clusters import best_member, marc21_fields, master_fields, members, members_many
from unioncat.errors import DedupError, SRUDiagnostic, SearchIndexError, UnioncatError
from unioncat.holdings import live
from unioncat.holdings.rota import rota
from unioncat.holdings.view import available_masters, holdings_for, holdings_many
from unioncat.index.engine import SearchHits, TantivyEngine, open_engine, terms_window
from unioncat.index.analyzers import fold_cjk, tokens
from unioncat.index.fields import HEADING_SEP, HEADINGS, DocParts, frozen, record_parts
from unioncat.index.query import RAW_FIELDS, field_for
from unioncat.serving import records
from unioncat.text import fold, shown
from unioncat.models import Item
from unioncat.store import Store, open_store
from unioncat.federated.search import ask_all, live_targets, merge

log = logging.getLogger("unioncat.serving")


LIVE_CACHE = 10000  # records whose live answer is kept (for availability.ttl seconds)
NOT_SCANNABLE = {"notes", "*", "available", "year", "id"}  # fields with no terms worth listing


class LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        """Return the cached value of key, building (outside the lock) and keeping it if absent."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def peek(self, key: Any) -> Any:
        """Return the cached value of key, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Resources:
    """Shared, thread-safe access to the store, the index and cached derived data."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._local = threading.local()
        self._lock = threading.Lock()
        self._engine: TantivyEngine | None = None
        self._signature: tuple[int, int] | None = None
        self._checked = 0.0
        self._available: tuple[float, dict[str, frozenset[str]]] | None = None
        self._refreshing = False
        self._whole = LRU(4)  # whole term lists of fields, for scans that run off a prefix block
        # Master records as built for the response (never their holdings, joined per request),
        # kept until the index changes: the index is what says which records a master has.
        self.records = LRU(cfg.server.record_cache)
        self._live: OrderedDict[str, tuple[float, list[Item], str]] = OrderedDict()  # live.ask answers
        self.formats = {s.id: s.format for s in cfg.sources}
        self.names = {s.id: s.name for s in cfg.sources}

    def store(self) -> Store:
        """Return this thread's read-only store connection (SQLite connections are per
        thread; a server never writes, so it never waits on the nightly run)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self.cfg.store, readonly=True)
            self._local.store = store
        return store

    def engine(self) -> TantivyEngine:
        """Return the open index, reopened if it changed on disk since the last look.

        If the index cannot be opened again (a rebuild swapping directories, a writer
        mid-commit), the one already open goes on answering and the next look retries."""
        now = time.monotonic()
        with self._lock:
            if self._engine is None or now - self._checked > 1.0:
                self._checked = now
                try:
                    signature = self._stat()
                    if self._engine is None or signature != self._signature:
                        self._engine = open_engine(self.cfg.index.engine, self.cfg.index.path, create=False)
                        self._signature = signature
                        self.records.clear()
                        self._whole.clear()
                except SearchIndexError:
                    if self._engine is None:
                        raise
                    log.warning("index at %s cannot be reopened now; still serving the one open",
                                self.cfg.index.path)
            return self._engine

    def _stat(self) -> tuple[int, int]:
        try:
            info = os.stat(self.cfg.index.path)
        except OSError:
            raise SearchIndexError(f"no search index at {self.cfg.index.path}: run `unioncat index`") from None
        return info.st_ino, info.st_mtime_ns

    def available(self) -> dict[str, frozenset[str]]:
        """Return master ids with a copy on the shelf, per member; recomputed every
        ``[server] availability_cache`` seconds, in the background: the request that finds
        the sets expired is answered from them while a thread reads the new ones (on 200,000
        records that read takes a tenth of a second or more).  With 0, every call reads them."""
        now = time.monotonic()
        cached = self._available
        ttl = self.cfg.server.availability_cache
        if cached is None or ttl <= 0:
            cached = (now, available_masters(self.store()))
            self._available = cached
        elif now - cached[0] > ttl:
            with self._lock:
                start = not self._refreshing
                self._refreshing = True
            if start:
                threading.Thread(target=self._refresh_available, name="unioncat-availability", daemon=True).start()
        return cached[1]

    def _refresh_available(self) -> None:
        try:
            store = open_store(self.cfg.store, readonly=True)
            try:
                self._available = (time.monotonic(), available_masters(store))
            finally:
                store.close()
        except Exception:  # noqa: BLE001 -- the sets in hand go on serving; the next expiry tries again
            log.exception("availability sets could not be read; serving the previous ones")
        finally:
            self._refreshing = False

    def parse(self, text: str, max_clauses: int | None = None) -> CQLQuery:
        """Parse CQL within the server's length and complexity caps."""
        return parse(text, max_length=self.cfg.server.max_query_length,
                     max_clauses=max_clauses or self.cfg.server.max_clauses)

    def search(self, query: CQLQuery, facets: tuple[str, ...] = (), **kwargs: Any) -> SearchHits:
        """Run a parsed query on the open index, ``local.available`` answered from the store.

        Facet counts are kept per query until the index changes (or, for a query that asks for
        availability, until the availability sets are recomputed): the next page of a search,
        or the same search by another reader, costs only the page of hits."""
        engine = self.engine()
        if not facets:
            return engine.search(query, available=self.available, **kwargs)
        version = 0.0
        if any(field_for(c.index) == "available" for c in walk(query.root)):
            self.available()  # the sets this query is answered with, and their time: part of the key
            version = self._available[0] if self._available else 0.0
        key = ("facets", repr(query.root), facets, version)
        known = self.records.peek(key)
        if known is not None:
            hits = engine.search(query, available=self.available, **kwargs)
            hits.facets = known
            return hits
        hits = engine.search(query, available=self.available, facets=facets, **kwargs)
        self.records.put(key, hits.facets)
        return hits

    def holdings(self, display: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the holdings, with availability as of now, of a hit's member records."""
        return holdings_for(self.store(), list(display.get("members", [])), names=self.names)

    def live_holdings(self, display: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the holdings of a hit with what the members' own servers say now (members
        with ``live_refresh``, within ``availability.budget`` seconds, answers kept in memory
        for ``availability.ttl``; the store is never written).  A member that did not answer
        in time is shown as stored, its entry ``stale`` with the outcome under ``refresh``."""
        ids = list(display.get("members", []))
        ttl = self.cfg.availability.ttl
        started = time.monotonic()

        def recent(rid: str) -> bool:
            entry = self._live.get(rid)
            return entry is not None and started - entry[0] < ttl

        outcomes, fresh, _ = live.ask(self.store(), self.cfg, ids, recent)
        with self._lock:
            for rid, answer in fresh.items():
                self._live[rid] = (started, *answer)
                self._live.move_to_end(rid)
            while len(self._live) > LIVE_CACHE:
                self._live.popitem(last=False)
            shown = {rid: (e[1], e[2]) for rid in ids if (e := self._live.get(rid)) and started - e[0] < ttl}
        asked = {source: outcome for source, outcome in outcomes.items() if outcome != "not refreshable"}
        return holdings_for(self.store(), ids, names=self.names, refresh=asked, fresh=shown)

    def displays(self, masters: list[str]) -> dict[str, dict[str, Any]]:
        """Return the index's display data of many master records at once (those it has)."""
        if not masters:
            return {}
        hits = self.search(CQLQuery(SearchClause("rec.id", "any", " ".join(masters))), limit=len(masters))
        return dict(zip(hits.ids, hits.displays))

    def marcxml_texts(self, displays: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Return many master records (an OAI-PMH page) as MARCXML text with every member's
        holdings: what ``render("marcxml", ...)`` gives, not parsed into elements, read as
        :meth:`render_many` reads them; records built here are not kept (a harvest reads each
        once: they would push out what searches use).  A master that cannot be shown is left
        out, and logged."""
        mode = self.cfg.server.holdings
        ids = {master: list(display.get("members", [])) for master, display in displays.items()}
        heads = self._heads(ids, mode, keep=False, displays=displays)
        holdings = holdings_many(self.store(), ids, names=self.names)
        out = {}
        for master, head in heads.items():
            if isinstance(head, Exception):
                log.warning("record %s cannot be shown as MARCXML: %s", master, head)
                continue
            out[master] = records.marcxml_text(head, holdings[master], mode)
        return out

    def render_many(self, schema: str,
                    hits: list[tuple[str, dict[str, Any]]]) -> dict[str, etree._Element | str | Exception]:
        """Return :meth:`render` of a page of hits, or the error a hit's record raised: for
        MARCXML, opacxml and ISO holdings, the members, records and holdings of the page are
        read in one query each (for every 500 records), not three or more a hit; MARCXML as
        text (``marcxml_text``: a face writes it out as it is, without parsing it)."""
        out: dict[str, etree._Element | str | Exception] = {}
        if schema not in ("marcxml", "opacxml", "isohold"):
            for master, display in hits:
                try:
                    out[master] = self.render(schema, master, display)
                except (UnioncatError, ValueError, KeyError) as exc:
                    out[master] = exc
            return out
        ids = {master: list(display.get("members", [])) for master, display in hits}
        holdings = holdings_many(self.store(), ids, names=self.names)
        if schema == "isohold":
            return {master: records.isohold(holdings[master]) for master in ids}
        mode = "none" if schema == "opacxml" else self.cfg.server.holdings
        for master, head in self._heads(ids, mode, keep=True, displays=dict(hits)).items():
            if isinstance(head, Exception):
                out[master] = head
            elif schema == "opacxml":
                out[master] = records.opacxml(head, holdings[master])
            else:
                out[master] = records.marcxml_text(head, holdings[master], mode)
        return out

    def _heads(self, ids: dict[str, list[str]], mode: str, keep: bool,
               displays: Mapping[str, dict[str, Any]]) -> dict[str, str | Exception]:
        """Return the MARCXML heads (see :meth:`_head`) of many masters: those the index keeps
        as it keeps them, the others from the cache or built from their members and records
        read in one query each; with ``keep``, cached."""
        store = self.store()
        heads: dict[str, str | Exception] = {
            master: head for master in ids
            if (head := self._kept(displays.get(master, {}), mode) or self.records.peek((master, mode))) is not None}
        wanted = {master: some for master, some in ids.items() if master not in heads}
        if not wanted:
            return {master: heads[master] for master in ids}
        found = members_many(store, wanted)
        stored = store.get_many(m["id"] for some in found.values() for m in some)
        for master in wanted:
            try:
                head = records.marcxml_head(*marc21_fields(store, master, ids[master], found.get(master), stored), mode)
            except (UnioncatError, ValueError, KeyError) as exc:
                heads[master] = exc
                continue
            heads[master] = head
            if keep:
                self.records.put((master, mode), head)
        return {master: heads[master] for master in ids}

    def live_targets(self) -> list[TargetConfig]:
        """Return the targets a federated search asks (``[[target]]``, members with ``live``)."""
        return live_targets(self.cfg)

    def live(self, query: CQLQuery, hits: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """Ask every live target now, within ``live.budget``, and merge what they answer with
        ``hits`` (the union catalogue's own): :func:`unioncat.federated.search.merge`; the
        store is only read.  Returns ``targets`` (each one's status) and ``records``."""
        answers = ask_all(self.live_targets(), query, self.cfg.live.max_records, self.cfg.live.budget)
        local = [{"id": master, "title": display.get("title", ""), "author": display.get("author", ""),
                  "year": display.get("year"), "members": display.get("members", [])} for master, display in hits]
        return {"targets": answers, "records": merge(self.cfg, self.store(), local, answers)}

    def oai_dc(self, master: str, display: dict[str, Any]) -> etree._Element:
        """Return a master record as OAI-PMH's oai_dc."""
        ids = list(display.get("members", []))
        parts = self.records.get((master, "parts"), lambda: self._parts(master, ids))
        return records.dc(master, parts, "oai_dc", records.OAI_DC_NS)

    def lookup(self, master: str) -> dict[str, Any] | None:
        """Return the index's display data of one master record, or None if it has none."""
        try:
            hits = self.search(CQLQuery(SearchClause("rec.id", "=", master)), limit=1)
        except SRUDiagnostic:  # an id no record can have ("*", empty)
            return None
        return hits.displays[0] if hits.ids else None

    def on_shelf(self, master: str, display: dict[str, Any]) -> tuple[int, int]:
        """Return (members with a copy on the shelf now, members holding it) for a hit."""
        sources = [s.upper() for s in display.get("sources", [])]
        sets = self.available()
        return sum(1 for s in sources if master in sets.get(s, ())), len(sources)

    def rota(self, requester: str, holdings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the members a reader of ``requester`` can borrow this record from, ranked
        (:mod:`unioncat.holdings.rota`)."""
        return rota(self.store(), self.cfg, requester, holdings)

    def description(self, master: str, display: dict[str, Any]) -> tuple[DocParts, dict[str, list[str]]]:
        """Return the index parts of a master's best member and their values without ISBD marks."""
        ids = list(display.get("members", []))
        parts = self.records.get((master, "parts"), lambda: self._parts(master, ids))
        return parts, records.chopped(parts)

    def marc(self, master: str, display: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """Return the master record as MARC 21 (leader, fields), holdings not joined; fields
        as tuples of strings (see :func:`unioncat.index.fields.frozen`)."""
        ids = list(display.get("members", []))

        def build() -> tuple[str, tuple[Any, ...]]:
            leader, fields = marc21_fields(self.store(), master, ids)
            return leader, tuple((tag, ind, value if isinstance(value, str) else tuple(tuple(s) for s in value))
                                 for tag, ind, value in fields)

        return self.records.get((master, "marc21"), build)  # type: ignore[no-any-return]

    def everything(self, facets: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Return facet counts over the whole catalogue (for search forms), kept until the
        index changes."""
        return self.records.get(("everything", facets), lambda: self.search(  # type: ignore[no-any-return]
            CQLQuery(SearchClause("cql.allRecords", "=", "1")), limit=0, facets=facets).facets)

    def render(self, schema: str, master: str, display: dict[str, Any]) -> etree._Element:
        """Return one master record in an XML schema (marcxml, dc, mods, opacxml, isohold),
        with holdings and availability joined now; the record itself comes from the cache."""
        ids = list(display.get("members", []))
        if schema in ("dc", "mods"):
            parts = self.records.get((master, "parts"), lambda: self._parts(master, ids))
            return records.dc(master, parts) if schema == "dc" else records.mods(master, parts)
        holdings = self.holdings(display)
        if schema == "isohold":
            return records.isohold(holdings)
        mode = "none" if schema == "opacxml" else self.cfg.server.holdings
        if schema == "unimarcxml":  # the record as catalogued in UNIMARC/CNMARC, if a member has one
            head = self.records.get((master, mode, "unimarc"), lambda: records.marcxml_head(
                *self._unimarc(master, ids), mode, records.UNIMARC_NS))
            return records.marcxml(head, holdings, mode)
        head = self._kept(display, mode) or self._head(master, ids, mode)
        return records.opacxml(head, holdings) if schema == "opacxml" else records.marcxml(head, holdings, mode)

    @staticmethod
    def _kept(display: dict[str, Any], mode: str) -> str | None:
        """Return the MARCXML head the index keeps for a master (built as holdings ``item`` and
        ``member`` want it: without the members' own 852 fields), or None."""
        head = display.get("marcxml")
        return head if isinstance(head, str) and mode in ("item", "member") else None

    def _head(self, master: str, ids: list[str], mode: str) -> str:
        """Return the cached MARCXML of a master record up to its holdings."""
        return self.records.get((master, mode),  # type: ignore[no-any-return]
                                lambda: records.marcxml_head(*marc21_fields(self.store(), master, ids), mode))

    def _unimarc(self, master: str, ids: list[str]) -> tuple[str, list[Any]]:
        try:
            return master_fields(self.store(), master, "unimarc", ids)
        except DedupError:
            raise SRUDiagnostic(67, "unimarcxml", f"{master} has no UNIMARC or CNMARC record: "
                                "ask for marcxml") from None

    def brief(self, master: str, display: dict[str, Any]) -> dict[str, str]:
        """Return a brief description of a master record (SUTRS): title, author,
        publication, ISBN, id; from the cached index parts of its best member."""
        ids = list(display.get("members", []))
        parts = self.records.get((master, "parts"), lambda: self._parts(master, ids))
        text = records.chopped(parts)
        published = ", ".join(v for v in (" : ".join(text.get("place", [])[:1] + text.get("publisher", [])[:1]),
                                          str(parts.year or "")) if v)
        title, romanised = shown(parts.title_vernacular, next(iter(text.get("title", [])), ""))
        author, author_romanised = shown(parts.author_vernacular, next(iter(text.get("author", [])), ""))
        return {"title": title + (f" / {romanised}" if romanised else ""),
                "author": author + (f" / {author_romanised}" if author_romanised else ""),
                "publication": published, "isbn": next(iter(text.get("isbn", [])), "").split(" ")[0],
                "id": master}

    def _parts(self, master: str, ids: list[str]) -> DocParts:
        store = self.store()
        best = best_member(store, master, members(store, master, ids))
        return frozen(record_parts(best.raw, best.syntax, best.charset, self.formats.get(best.source_id, "marc21")))

    def scan_start(self, index: str, term: str) -> str:
        """Return a scan's start term as the index holds terms (folded; the first token, or
        for titles, names and subjects the whole heading)."""
        field = field_for(index)
        if field in HEADINGS:
            return fold_cjk(term)
        if field in RAW_FIELDS:
            return term.strip().upper() if field == "member" else term.strip()
        words = tokens(term)
        return words[0] if words else fold(term)

    def scan(self, index: str, term: str, position: int, count: int) -> list[tuple[str, int]]:
        """Return ``count`` terms of a CQL index around ``term``, with record counts: the
        start term at ``position`` (1 = first; 0 = only the terms after it).  Titles, names
        and subjects list whole headings as catalogued."""
        return [(shown, n) for _, shown, n in self.scan_entries(index, term, position, count)]

    def scan_entries(self, index: str, term: str, position: int, count: int) -> list[tuple[str, str, int]]:
        """Return scan entries as (sort key, term as shown, record count)."""
        field = field_for(index)
        if field in NOT_SCANNABLE:
            raise SRUDiagnostic(16, index, f"{index} cannot be scanned")
        start = self.scan_start(index, term)
        target = HEADINGS.get(field, field)
        before, wanted = (0, count + 1) if position == 0 else (position - 1, count)
        fetch_before, fetch = before, wanted
        if target != field:  # several heading terms may fold to one entry: fetch a margin
            fetch_before = 2 * before + 2
            fetch = fetch_before + 2 * wanted + 2
        engine = self.engine()
        found = engine.terms(target, start, fetch, fetch_before, whole=False)
        if found is None:  # the window runs past the dictionary's first or last prefix block
            whole = self._whole.get(target, lambda: engine.all_terms(target))
            found = terms_window(whole, start, fetch_before, fetch)
        entries = [(t, t, n) for t, n in found] if target == field else _headings(found)
        at = next((i for i, e in enumerate(entries) if e[0] >= start), len(entries))
        entries = entries[max(at - before, 0):]
        if position == 0:
            return [e for e in entries if e[0] != start][:count]
        return entries[:count]

def _headings(found: list[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """Merge heading terms (``folded<US>as catalogued``) that fold alike: the first form, the
    counts added (each record holds one form of a folded heading)."""
    out: list[tuple[str, str, int]] = []
    for term, n in found:
        key, _, shown = term.partition(HEADING_SEP)
        if out and out[-1][0] == key:
            out[-1] = (key, out[-1][1], out[-1][2] + n)
        else:
            out.append((key, shown or key, n))
    return out


def make_result_set_id(query: str, sort_keys: str) -> str:
    """Return a result-set id that carries its query and its creation time."""
    payload = json.dumps([int(time.time()), query, sort_keys], ensure_ascii=False).encode("utf-8")
    # A zlib stream with a 512-byte window and the least memory: as short an id for a query of
    # some dozens of characters, read by the same decompressobj, without zlib.compress's 256 KiB
    # of fresh buffers a call (3.7 against 55 us, measured in a loop).
    deflate = zlib.compressobj(9, zlib.DEFLATED, 9, 1)
    packed = deflate.compress(payload) + deflate.flush()
    return "r" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def read_result_set_id(rsid: str, ttl: int) -> tuple[str, str]:
    """Return (query, sort keys) of a result-set id; diagnostic 51 if unknown or expired."""
    try:
        data = rsid[1:] + "=" * (-len(rsid[1:]) % 4)
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.urlsafe_b64decode(data.encode("ascii")), 65536)
        if inflate.unconsumed_tail:
            raise ValueError("too long")
        created, query, sort_keys = json.loads(raw)
        if not (rsid.startswith("r") and isinstance(query, str) and isinstance(sort_keys, str)):
            raise ValueError(rsid)
    except (ValueError, TypeError, zlib.error, UnicodeError):
        raise SRUDiagnostic(51, rsid[:80], "result set does not exist") from None
    if time.time() - float(created) > ttl:
        raise SRUDiagnostic(51, rsid[:80], f"result set expired (kept {ttl} s)")
    return query, sort_keys
