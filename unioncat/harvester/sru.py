"""SRU harvesting (``type = "sru"``): searchRetrieve paging over SRU 1.1, 1.2 and 2.0.

A full harvest asks ``query`` (default ``cql.allRecords=1``) page by page; the
next page starts at ``nextRecordPosition`` when the server gives one and after the
last record received otherwise, until ``numberOfRecords`` is reached (Zebra never
sends ``nextRecordPosition``).  Records come packed as XML or as escaped strings;
both SRU 1.x namespaces (with and without the trailing slash) and 2.0's are read.
The next start position is checkpointed after every page.  With an
``incremental_query`` (``{from}`` replaced by the date of the last successful run,
less one day of overlap) only changes are asked for; without one every run is full
and records not seen are marked deleted.  Diagnostics become
:class:`~unioncat.errors.RemoteDiagnostic` naming the diagnostic URI.
"""
from __future__ import annotations

from concurrent.futures import Future
from datetime import date, timedelta
from typing import Any, Iterator

from lxml import etree

from unioncat import xmlsafe
from unioncat.config.model import SourceConfig
from unioncat.errors import HarvestError, RecordError, RemoteDiagnostic
from unioncat.harvester.base import local_id_for
from unioncat.harvester.http import HttpClient, HttpHarvester, fetch_ahead
from unioncat.harvester.oaipmh import strip_forbidden_xml
from unioncat.marc.reader import is_marc_record, item_from_element
from unioncat.marc.records import local_name
from unioncat.models import Checkpoint, Rejected, SourceRecord, content_hash, now

DEFAULT_QUERY = "cql.allRecords=1"


def _child(elem: etree._Element, name: str) -> etree._Element | None:
    """Return the first child with this local name, whatever its SRU namespace."""
    for child in elem:
        if local_name(child) == name:
            return child
    return None


def _text(elem: etree._Element, name: str) -> str:
    child = _child(elem, name)
    return (child.text or "").strip() if child is not None else ""


class SRUHarvester(HttpHarvester):
    """Harvest one SRU member by paging through a searchRetrieve result."""

    def __init__(self, source: SourceConfig, *, checkpoint: dict[str, Any] | None = None,
                 full: bool = False, from_: str | None = None, until: str | None = None,
                 client: HttpClient | None = None) -> None:
        super().__init__(source, checkpoint, client)
        self.full = full
        self.from_ = from_
        self.unstable = ""  # set when numberOfRecords changes between pages

    def progress(self) -> tuple[int, int]:
        """Return (records asked for so far, numberOfRecords)."""
        return max(self._state.get("start", 1) - 1, 0), self._state.get("total") or 0

    def sweeps_unseen(self) -> bool:
        """Return True when the run asked for every record (not an incremental query)."""
        return bool(self._state.get("complete"))

    def harvest(self, since: str | None = None) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        """Yield every record of the query, page by page."""
        run = self.saved.get("run")
        if run and not self.from_ and (run.get("complete") or not self.full):  # --full wins
            self._state = dict(run)
        else:
            query, complete = self._query(since)
            self._state = {"query": query, "start": 1, "total": None, "complete": complete,
                           "since_load": self.since_load, "started": now()}
        yield self.checkpoint()
        # The next page is fetched in a second thread while this one is stored.
        yield from self._pages()

    def _pages(self) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        ahead: tuple[int, Future[etree._Element]] | None = None
        while True:
            start = self._state["start"]
            root = ahead[1].result() if ahead and ahead[0] == start else self._request(start)
            total_text = _text(root, "numberOfRecords")
            total = int(total_text) if total_text.isdigit() else 0
            if self._state.get("total") not in (None, total):
                self.unstable = f"numberOfRecords went from {self._state['total']} to {total}"
            records = _child(root, "records")
            items = list(records) if records is not None else []
            self.pages += 1
            nxt = _text(root, "nextRecordPosition")
            nxt_pos = int(nxt) if nxt.isdigit() else start + len(items)
            ahead = (nxt_pos, fetch_ahead(self._request, nxt_pos)) if items and start < nxt_pos <= total else None
            for pos, node in enumerate(items, start):
                yield self._record(node, pos)
            self._state.update(start=nxt_pos, total=total)
            if not items:
                if start <= total:
                    raise HarvestError(f"{self.url}: no records at position {start} of {total}")
                return
            if nxt_pos <= start:
                raise HarvestError(f"{self.url}: nextRecordPosition {nxt_pos} does not advance "
                                   f"past startRecord {start}")
            if nxt_pos > total:
                return
            yield self.checkpoint()

    def first_page(self, query: str) -> tuple[int, list[SourceRecord | Rejected]]:
        """Return a query's hit count and its first ``page_size`` records (a live search)."""
        self._state = {"query": query, "start": 1}
        root = self._request(1)
        total = _text(root, "numberOfRecords")
        records = _child(root, "records")
        found = [self._record(node, pos) for pos, node in enumerate(records if records is not None else [], 1)]
        return int(total) if total.isdigit() else len(found), found

    def fetch_one(self, query: str) -> SourceRecord | Rejected | None:
        """Return the first record a query finds (live availability), or None."""
        self._state = {"query": query, "start": 1}
        records = _child(self._request(1), "records")
        if records is None or not len(records):
            return None
        return self._record(records[0], 1)

    def _query(self, since: str | None) -> tuple[str, bool]:
        template = self.source.incremental_query
        last = since or self.from_ or (self.saved.get("last_success") or {}).get("finished")
        if template and last and not self.full:
            day = date.fromisoformat(last[:10])
            if not self.from_:
                day -= timedelta(days=1)  # a day of overlap: clocks and time zones differ
            return template.replace("{from}", day.isoformat()), False
        return self.source.query or DEFAULT_QUERY, True

    def _params(self, start: int) -> dict[str, str]:
        src = self.source
        params = {"operation": "searchRetrieve", "version": src.sru_version,
                  "query": self._state["query"], "startRecord": str(start),
                  "maximumRecords": str(src.page_size), "recordSchema": src.record_schema}
        if src.sru_version == "2.0":
            params["recordXMLEscaping"] = src.record_packing
        else:
            params["recordPacking"] = src.record_packing
        return params

    def _request(self, start: int) -> etree._Element:
        params = self._params(start)
        body = self.client.get(self.url, params)
        clean, stripped = strip_forbidden_xml(body)
        self.stripped += stripped
        if b"<!DOCTYPE" in clean[:2048]:
            raise HarvestError(f"{self.url}: response with a DOCTYPE refused")
        try:
            root = xmlsafe.fromstring(clean)
        except etree.XMLSyntaxError as exc:
            raise HarvestError(f"{self.url}: malformed searchRetrieve response at "
                               f"startRecord={start}: {exc}") from None
        if local_name(root) == "Envelope":  # SRW SOAP
            body_el = next(iter(root), None)
            root = next(iter(body_el), root) if body_el is not None else root
        if local_name(root) != "searchRetrieveResponse":
            raise HarvestError(f"{self.url}: expected a searchRetrieveResponse, got <{local_name(root)}>")
        diagnostics = _child(root, "diagnostics")
        if diagnostics is not None and len(diagnostics):
            first = diagnostics[0]
            raise RemoteDiagnostic(self.url, _text(first, "uri"), _text(first, "message"),
                                   _text(first, "details"))
        return root

    def _record(self, node: etree._Element, position: int) -> SourceRecord | Rejected:
        data = _child(node, "recordData")
        ident = _text(node, "recordIdentifier") or None
        pos_text = _text(node, "recordPosition")
        position = int(pos_text) if pos_text.isdigit() else position
        marc = None
        if data is not None:
            if len(data) == 0 and (data.text or "").strip():
                try:  # recordPacking=string: the record is escaped text
                    data = xmlsafe.fromstring(strip_forbidden_xml(data.text.strip().encode())[0])
                except etree.XMLSyntaxError as exc:
                    return Rejected(self.source.id, self.url, f"record {position}: packed record "
                                    f"is not XML: {exc}", position)
            marc = next((el for el in data.iter() if local_name(el) == "record" and is_marc_record(el)), None)
        if marc is None:
            return Rejected(self.source.id, self.url, f"record {position}: no MARC record in "
                            f"recordData (recordSchema {self.source.record_schema})", position,
                            raw=etree.tostring(node))
        item = item_from_element(marc, position)
        if isinstance(item, RecordError):
            return Rejected(self.source.id, self.url, f"record {position}: {item.reason}", position,
                            raw=item.raw)
        digest = content_hash(item.raw)
        return SourceRecord(
            source_id=self.source.id, local_id=local_id_for(item.control_number, ident, digest),
            raw=item.raw, syntax=item.syntax, format=self.source.format, charset=item.charset,
            leader=item.leader, datestamp=item.datestamp, deleted=item.deleted, location=self.url,
            position=position, notes=item.notes, hash=digest, protocol_id=ident)
