"""Z39.50 harvesting (``type = "z3950"``, ``url = "host:port/database"``).

Init, one Search (``query`` in PQF, by default every record:
``@attr 1=_ALLRECORDS @attr 2=103 ""``), then Present in chunks of ``page_size``
in the record syntax asked for (USMARC/MARC 21, UNIMARC, OPAC or XML), then Close.
With OPAC the holdings and circulation data come along: the whole OPAC record is
stored (BER) and its bibliographic part read as MARC.  The next position is
checkpointed after every chunk; a lost connection is reopened (Init and Search
again) and presenting goes on from there, up to ``tries`` times.  Every run is a
full run, so records the target no longer returns are marked deleted.
"""
from __future__ import annotations

from typing import Any, Iterator

from unioncat.config.model import SourceConfig
from unioncat.errors import RecordError, RemoteDiagnostic, Z3950Error
from unioncat.harvester.base import NetworkHarvester, local_id_for
from unioncat.marc.reader import item_from_element, item_from_iso2709
from unioncat.marc.records import SYNTAX_OPAC
from unioncat.models import Checkpoint, Rejected, SourceRecord, content_hash, now
from unioncat.xmlsafe import fromstring
from unioncat.z3950.client import Retrieved, Z3950Client
from unioncat.z3950.codec import encode_type
from unioncat.z3950.pqf import parse_pqf

DEFAULT_QUERY = '@attr 1=_ALLRECORDS @attr 2=103 ""'


def parse_address(url: str, database: str | None) -> tuple[str, int, str]:
    """Split ``host:port/database`` (a ``z3950://`` or ``tcp:`` prefix is allowed)."""
    rest = url.split("://", 1)[-1].removeprefix("tcp:")
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port), db or database or "Default"


class Z3950Harvester(NetworkHarvester):
    """Harvest one Z39.50 target."""

    def __init__(self, source: SourceConfig, *, checkpoint: dict[str, Any] | None = None,
                 full: bool = False, from_: str | None = None, until: str | None = None) -> None:
        super().__init__(source, checkpoint)
        self.host, self.port, self.database = parse_address(source.url or "", source.database)
        self.where = f"z3950://{self.host}:{self.port}/{self.database}"
        self.retries = 0
        self._client: Z3950Client | None = None
        self.syntax = source.syntax

    def progress(self) -> tuple[int, int]:
        """Return (records presented, hit count)."""
        return self._state.get("position", 1) - 1, self._state.get("total") or 0

    def sweeps_unseen(self) -> bool:
        """Every Z39.50 run asks for everything: unseen means deleted."""
        return True

    def close(self) -> None:
        """Close the association."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _connect(self) -> int:
        self.close()
        client = Z3950Client(self.host, self.port, self.source.timeout)
        client.connect()
        self._client = client
        return client.search(self.database, parse_pqf(self.source.query or DEFAULT_QUERY))

    def first_page(self, pqf: str) -> tuple[int, list[SourceRecord | Rejected]]:
        """Return a PQF query's hit count and its first ``page_size`` records (a live search)."""
        client = Z3950Client(self.host, self.port, self.source.timeout)
        self._client = client
        try:
            client.connect()
            total = client.search(self.database, parse_pqf(pqf))
            count = min(self.source.page_size, total)
            records = client.present(1, count, self.syntax, "marcxml" if self.syntax == "xml" else "F") \
                if count else []
            return total, [self._record(rec) for rec in records]
        finally:
            self.close()

    def harvest(self, since: str | None = None) -> Iterator[SourceRecord | Rejected | Checkpoint]:
        """Search once, then present every record in chunks."""
        run = self.saved.get("run")
        self._state = dict(run) if run else {"position": 1, "total": None,
                                             "since_load": self.since_load, "started": now()}
        self._state["total"] = self._connect()
        yield self.checkpoint()
        failures = 0
        while self._state["position"] <= self._state["total"]:
            start = self._state["position"]
            count = min(self.source.page_size, self._state["total"] - start + 1)
            try:
                assert self._client is not None
                records = self._client.present(start, count, self.syntax,
                                               "marcxml" if self.syntax == "xml" else "F")
            except RemoteDiagnostic as diag:
                # OPAC "when the target offers it": bib-1 238/239 say it does not.
                if self.syntax != "opac" or diag.uri not in ("bib-1 238", "bib-1 239"):
                    raise
                self.syntax = "usmarc"
                self.warnings.append(f"{self.where} offers no OPAC records ({diag.uri}): "
                                     "harvested USMARC without holdings")
                continue
            except Z3950Error:
                failures += 1
                if failures >= self.source.tries:
                    raise
                self.retries += 1
                self._state["total"] = self._connect()
                continue
            if not records:
                raise Z3950Error(f"{self.where}: Present returned no records at {start} of "
                                 f"{self._state['total']}")
            self.pages += 1
            for rec in records:
                yield self._record(rec)
            self._state["position"] = start + len(records)
            yield self.checkpoint()

    def _record(self, rec: Retrieved) -> SourceRecord | Rejected:
        src = self.source
        if rec.diagnostic:
            return Rejected(src.id, self.where, f"record {rec.position}: {rec.diagnostic}", rec.position)
        raw, syntax = rec.octets, None
        try:
            if rec.opac is not None:
                bib = rec.opac.get("bibliographicRecord")
                if not bib or bib["encoding"][0] != "octet-aligned":
                    raise RecordError("OPAC record without an octet-aligned bibliographic record")
                item = item_from_iso2709(bytes(bib["encoding"][1]), rec.position, src.format,
                                         src.encoding)
                raw, syntax = encode_type("OPACRecord", rec.opac), SYNTAX_OPAC
            elif raw[:1] == b"<":
                found = item_from_element(fromstring(raw), rec.position)
                if isinstance(found, RecordError):
                    raise found
                item = found
            else:
                item = item_from_iso2709(raw, rec.position, src.format, src.encoding)
        except RecordError as err:
            return Rejected(src.id, self.where, f"record {rec.position}: {err.reason}", rec.position,
                            raw=rec.octets)
        except Exception as exc:  # lxml's XMLSyntaxError and friends
            return Rejected(src.id, self.where, f"record {rec.position}: {exc}", rec.position,
                            raw=rec.octets)
        digest = content_hash(raw)
        return SourceRecord(
            source_id=src.id, local_id=local_id_for(item.control_number, None, digest), raw=raw,
            syntax=syntax or item.syntax, format=src.format, charset=item.charset,
            leader=item.leader, datestamp=item.datestamp, deleted=item.deleted,
            location=self.where, position=rec.position, notes=item.notes, hash=digest)
