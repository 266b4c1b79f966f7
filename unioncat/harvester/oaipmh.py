"""OAI-PMH harvesting (``type = "oai"``), on requests and lxml.

Sickle (named by the design) falls short where a nightly union-catalogue harvest
needs it most (../shared/reference/deps.md section 2): it crashes on an HTTP-date
Retry-After, never retries a dropped connection, silently "repairs" a page cut
short and so ends the harvest early, parses every page three times, and cannot
start from a saved resumption token.  This module replaces it:

* Identify first (granularity, earliestDatestamp, deletedRecord);
* ListRecords per set, each page parsed once, strictly; characters XML forbids are
  stripped and counted, anything else malformed is retried and then an error;
* after every page a :class:`~unioncat.models.Checkpoint` with the resumption token,
  so a killed run resumes from it; a ``badResumptionToken`` (the provider restarted)
  restarts the interrupted window from its ``from`` (records already stored come
  back unchanged, so nothing is counted twice);
* the same token returned ``token_repeats`` times in a row aborts the harvest;
* ``noRecordsMatch`` is an empty harvest;
* deleted headers become deletions, found by their OAI identifier.

Settings: ``url``, ``metadata_prefix``, ``set``, ``tries``, ``wait``, ``timeout``,
``token_repeats``, ``sweep``.
"""
from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterator

from lxml import etree

from unioncat import xmlsafe
from unioncat.config.model import SourceConfig
from unioncat.errors import (OAI_ERRORS, BadResumptionToken, HarvestError, NoRecordsMatch,
                             OAIError, RecordError)
from unioncat.harvester.base import local_id_for
from unioncat.harvester.http import HttpClient, HttpHarvester, fetch_ahead
from unioncat.marc.reader import is_marc_record, item_from_element
from unioncat.marc.records import local_name
from unioncat.models import Checkpoint, Rejected, SourceRecord, content_hash

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_O = f"{{{OAI_NS}}}"
# XML 1.0 forbids C0 controls but TAB, LF and CR, as bytes or as character references.
_BAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")


# How often one run starts a set again after badResumptionToken before it gives up.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class Identify:
    """What the repository says about itself."""

    granularity: str  # "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ"
    earliest: str
    deleted_record: str  # "no", "persistent" or "transient"
    response_date: str

    @property
    def day_granular(self) -> bool:
        """Return True when the repository only understands dates, not times."""
        return "T" not in self.granularity


@dataclass(frozen=True)
class Page:
    """One parsed ListRecords or ListIdentifiers response."""

    response_date: str
    records: list[etree._Element]
    token: str | None


class OAIHarvester(HttpHarvester):
    """Harvest one OAI-PMH member.

        h = OAIHarvester(source, checkpoint=store.checkpoint(source.id))
        for item in h.harvest():   # SourceRecord | Rejected | Checkpoint
            ...
    """

    def __init__(self, source: SourceConfig, *, checkpoint: dict[str, Any] | None = None,
                 full: bool = False, from_: str | None = None, until: str | None = None,
                 client: HttpClient | None = None) -> None:
        super().__init__(source, checkpoint, client)
        self.prefix = source.metadata_prefix
        self.sets: list[str | None] = list(source.sets) or [None]
        self.full = full
        self.from_ = from_
        self.until = until
        self.identify_info: Identify | None = None
        self._position = 0

    def progress(self) -> tuple[int, int]:
        """Return (pages fetched, 0): OAI-PMH rarely says how many pages there are."""
        return self.pages, 0

    # protocol ------------------------------------------------------------------
    def sweeps_unseen(self) -> bool:
        """Return True when this run saw the whole repository: unseen means deleted."""
        state = self._state
        return bool(state.get("full")) and not state.get("from") and not state.get("until")

    def identify(self) -> Identify:
        """Ask the repository who it is; cached for the run."""
        if self.identify_info is None:
            root = self._request({"verb": "Identify"})
            node = root.find(f"{_O}Identify")
            if node is None:
                raise HarvestError(f"{self.url}: Identify response without <Identify>")
            self.identify_info = Identify(
                granularity=node.findtext(f"{_O}granularity", "YYYY-MM-DD").strip(),
                earliest=node.findtext(f"{_O}earliestDatestamp", "").strip(),
                deleted_record=node.findtext(f"{_O}deletedRecord", "no").strip(),
                response_date=root.findtext(f"{_O}responseDate", "").strip())
        return self.identify_info

    def harvest(self, since: str | None = None) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        """Yield the records changed since the last successful run (or all with --full)."""
        info = self.identify()
        run = self.saved.get("run")
        # --full wins over an interrupted incremental run: resuming it would skip the sweep.
        if (run and run.get("verb", "ListRecords") == "ListRecords" and not (self.from_ or self.until)
                and (run.get("full") or not self.full)):
            self._state = dict(run)  # resume the interrupted run where it stopped
        else:
            self._state = {"verb": "ListRecords", "set_index": 0, "token": None,
                           "from": self._from_date(info, since), "until": self.until,
                           "started": info.response_date, "since_load": self.since_load,
                           "full": self.full}
        yield self.checkpoint()
        while self._state["set_index"] < len(self.sets):
            yield from self._harvest_set(self.sets[self._state["set_index"]])
            self._state.update(set_index=self._state["set_index"] + 1, token=None)
            yield self.checkpoint()

    def list_identifiers(self) -> Iterator[list[str]]:
        """Yield the identifiers of live records, a page at a time (deletion sweeps)."""
        for set_spec in self.sets:
            params: dict[str, str] | None = self._first_params("ListIdentifiers", set_spec, None, None)
            while params:
                try:
                    page = self._page(params)
                except NoRecordsMatch:
                    break
                yield [h.findtext(f"{_O}identifier", "").strip() for h in page.records
                       if h.get("status") != "deleted"]
                params = {"verb": "ListIdentifiers", "resumptionToken": page.token} if page.token else None

    def _from_date(self, info: Identify, since: str | None) -> str | None:
        if self.from_:
            return self.from_
        if self.full:
            return None
        last = since or (self.saved.get("last_success") or {}).get("response_date")
        if not last:
            return None
        if info.day_granular:
            # One granularity unit of overlap: a record changed later on the day the last
            # harvest ran carries that day's date.
            day = date.fromisoformat(last[:10]) - timedelta(days=1)
            return day.isoformat()
        return last

    def _first_params(self, verb: str, set_spec: str | None, from_: str | None,
                      until: str | None) -> dict[str, str]:
        params = {"verb": verb, "metadataPrefix": self.prefix}
        if set_spec:
            params["set"] = set_spec
        if from_:
            params["from"] = from_
        if until:
            params["until"] = until
        return params

    def _harvest_set(self, set_spec: str | None) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        # The next page is fetched in a second thread while this one's records are
        # stored, so a harvest runs at the speed of the slower side, not of both added.
        yield from self._pages_of_set(set_spec)

    def _pages_of_set(self, set_spec: str | None) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        repeats = restarts = 0
        ahead: tuple[str | None, Future[Page]] | None = None
        while True:
            token = self._state["token"]
            params = ({"verb": "ListRecords", "resumptionToken": token} if token else
                      self._first_params("ListRecords", set_spec, self._state["from"],
                                         self._state["until"]))
            try:
                if ahead is not None and ahead[0] == token:
                    page = ahead[1].result()
                else:
                    page = self._page(params)
                ahead = None
            except NoRecordsMatch:
                return
            except BadResumptionToken:
                if not token:
                    raise
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise HarvestError(f"{self.url}: badResumptionToken {restarts} times in one run "
                                       f"(tokens are rejected as soon as they are issued); giving up") from None
                # The provider forgot our token (restarted, expired): start this set's
                # window again; what is stored already comes back unchanged.
                self._state["token"] = None
                ahead = None
                repeats = 0
                continue
            self.pages += 1
            if page.token and page.token != token:
                ahead = (page.token, fetch_ahead(
                    self._page, {"verb": "ListRecords", "resumptionToken": page.token}))
            for record in page.records:
                yield self._record(record)
            if page.token and page.token == token:
                repeats += 1
                if repeats >= self.source.token_repeats - 1:
                    raise HarvestError(f"{self.url}: the same resumptionToken {token!r} came back "
                                       f"{repeats + 1} times in a row; aborting the harvest")
            else:
                repeats = 0
            self._state["token"] = page.token
            if not page.token:
                return
            yield self.checkpoint()

    def _record(self, node: etree._Element) -> SourceRecord | Rejected:
        self._position += 1
        header = node.find(f"{_O}header")
        ident = header.findtext(f"{_O}identifier", "").strip() if header is not None else ""
        stamp = header.findtext(f"{_O}datestamp", "").strip() if header is not None else ""
        if header is not None and header.get("status") == "deleted":
            return SourceRecord(source_id=self.source.id, local_id=ident, raw=b"", syntax="marcxml",
                                format=self.source.format, charset="utf-8", datestamp=stamp or None,
                                deleted=True, location=self.url, position=self._position,
                                protocol_id=ident)
        metadata = node.find(f"{_O}metadata")
        marc = None
        if metadata is not None:
            marc = next((el for el in metadata.iter() if local_name(el) == "record"
                         and is_marc_record(el)), None)
        if marc is None:
            return Rejected(self.source.id, self.url, f"{ident or 'record'}: no MARC record in "
                            f"<metadata> (metadataPrefix {self.prefix})", self._position,
                            raw=etree.tostring(node))
        item = item_from_element(marc, self._position)
        if isinstance(item, RecordError):
            return Rejected(self.source.id, self.url, f"{ident}: {item.reason}", self._position,
                            raw=item.raw)
        digest = content_hash(item.raw)
        return SourceRecord(
            source_id=self.source.id, local_id=local_id_for(item.control_number, ident, digest),
            raw=item.raw, syntax=item.syntax, format=self.source.format, charset=item.charset,
            leader=item.leader, datestamp=stamp or item.datestamp, deleted=item.deleted,
            location=self.url, position=self._position, notes=item.notes, hash=digest,
            protocol_id=ident)

    # transport -----------------------------------------------------------------
    def _page(self, params: dict[str, str]) -> Page:
        root = self._request(params)
        verb = params["verb"]
        body = root.find(f"{_O}{verb}")
        if body is None:
            raise HarvestError(f"{self.url}: {verb} response without <{verb}>")
        child = "header" if verb == "ListIdentifiers" else "record"
        token_el = body.find(f"{_O}resumptionToken")
        token = (token_el.text or "").strip() if token_el is not None else ""
        return Page(response_date=root.findtext(f"{_O}responseDate", "").strip(),
                    records=body.findall(f"{_O}{child}"), token=token or None)

    def _request(self, params: dict[str, str]) -> etree._Element:
        """GET and parse one response; a malformed one is fetched again, then fatal."""
        last: Exception | None = None
        for attempt in range(self.client.policy.tries):
            body = self.client.get(self.url, params)
            clean, stripped = strip_forbidden_xml(body)
            try:
                if b"<!DOCTYPE" in clean[:2048]:
                    raise HarvestError(f"{self.url}: response with a DOCTYPE refused")
                root = xmlsafe.fromstring(clean)
            except etree.XMLSyntaxError as exc:
                last = exc
                if attempt + 1 < self.client.policy.tries:
                    self.client.retries += 1
                    self.client.sleep(min(self.client.policy.wait * 2 ** attempt,
                                          self.client.policy.max_wait))
                continue
            self.stripped += stripped
            self._raise_oai_error(root)
            return root
        raise HarvestError(f"{self.url}: malformed response to {_describe(params)} "
                           f"after {self.client.policy.tries} tries: {last}")

    def _raise_oai_error(self, root: etree._Element) -> None:
        error = root.find(f"{_O}error")
        if error is None:
            return
        code = error.get("code", "")
        raise OAI_ERRORS.get(code, OAIError)(self.url, (error.text or code).strip())


def _describe(params: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def strip_forbidden_xml(body: bytes) -> tuple[bytes, int]:
    """Remove characters XML 1.0 forbids (bytes and character references); count them."""
    body, count = _BAD_BYTES.subn(b"", body)

    def drop(match: re.Match[bytes]) -> bytes:
        nonlocal count
        ref = match.group(1)
        value = int(ref[1:], 16) if ref[:1] == b"x" else int(ref)
        if value < 32 and value not in (9, 10, 13):
            count += 1
            return b""
        return match.group(0)

    if b"&#" in body:
        body = _CHAR_REF.sub(drop, body)
    return body, count
