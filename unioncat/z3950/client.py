"""A Z39.50 client: Init, Search (type-1 RPN), Present, Close, over one TCP socket.

    with Z3950Client("127.0.0.1", 9999, timeout=30) as z:
        hits = z.search("Default", parse_pqf('@attr 1=4 computer'))
        for rec in z.present(1, 10, "usmarc"): ...

Diagnostics from the target become RemoteDiagnostic (``bib-1 N``); a refused Init,
a broken PDU or a timeout is a Z3950Error.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from unioncat import __version__
from unioncat.errors import RemoteDiagnostic, Z3950Error
from unioncat.z3950.codec import SYNTAXES, bits, decode, encode, read_pdu

# Options we ask for: search, present, delSet, scan, sort, namedResultSets.
_OPTIONS = [0, 1, 2, 7, 8, 14]
MESSAGE_SIZE = 16 << 20


@dataclass(frozen=True)
class Retrieved:
    """One record from a Present: its syntax OID and payload, or a diagnostic."""

    position: int
    syntax: str  # an OID, or "" for diagnostics
    octets: bytes = b""  # octet-aligned records (MARC, XML)
    opac: dict[str, Any] | None = None  # a decoded OPAC record
    diagnostic: str = ""


class Z3950Client:
    """One Z39.50 association."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.where = f"z3950://{host}:{port}"
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.target = ""

    def __enter__(self) -> Z3950Client:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, kind: str, value: dict[str, Any], expect: str) -> Any:
        if self.sock is None:
            raise Z3950Error(f"{self.where}: not connected")
        try:
            self.sock.sendall(encode(kind, value))
            got, answer = decode(read_pdu(self.sock, self.buffer))
        except socket.timeout:
            raise Z3950Error(f"{self.where}: no answer to {kind} within {self.timeout:g} s") from None
        except OSError as exc:
            raise Z3950Error(f"{self.where}: {kind} failed: {exc}") from None
        except Z3950Error as exc:
            raise Z3950Error(f"{self.where}: {kind}: {exc}") from None
        if got == "close":
            reason = answer.get("diagnosticInformation") or answer.get("closeReason")
            raise Z3950Error(f"{self.where}: the target closed the association ({reason})")
        if got != expect:
            raise Z3950Error(f"{self.where}: expected {expect}, got {got}")
        return answer

    def connect(self) -> None:
        """Open the connection and initialise the association."""
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise Z3950Error(f"{self.where}: cannot connect: {exc}") from None
        answer = self._call("initRequest", {
            "protocolVersion": bits([0, 1, 2], 3), "options": bits(_OPTIONS, 16),
            "preferredMessageSize": MESSAGE_SIZE, "exceptionalRecordSize": MESSAGE_SIZE,
            "implementationId": "unioncat", "implementationName": "unioncat",
            "implementationVersion": __version__}, "initResponse")
        if not answer["result"]:
            raise Z3950Error(f"{self.where}: Init refused by {answer.get('implementationName', '?')}")
        self.target = f"{answer.get('implementationName', '')} {answer.get('implementationVersion', '')}".strip()

    def search(self, database: str, rpn: dict[str, Any], result_set: str = "default") -> int:
        """Run a type-1 query; return the hit count."""
        answer = self._call("searchRequest", {
            "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
            "replaceIndicator": True, "resultSetName": result_set, "databaseNames": [database],
            "query": ("type-1", rpn)}, "searchResponse")
        if not answer["searchStatus"]:
            raise self._diagnostic(answer.get("records"), "search")
        return int(answer["resultCount"])

    def present(self, start: int, count: int, syntax: str, element_set: str = "F",
                result_set: str = "default") -> list[Retrieved]:
        """Fetch records start..start+count-1 of a result set."""
        oid = SYNTAXES.get(syntax, syntax)
        answer = self._call("presentRequest", {
            "resultSetId": result_set, "resultSetStartPoint": start,
            "numberOfRecordsRequested": count,
            "recordComposition": ("simple", ("genericElementSetName", element_set)),
            "preferredRecordSyntax": oid}, "presentResponse")
        records = answer.get("records")
        if records is None or records[0] != "responseRecords":
            raise self._diagnostic(records, "present")
        out = []
        for pos, npr in enumerate(records[1], start):
            kind, value = npr["record"]
            if kind == "surrogateDiagnostic":
                out.append(Retrieved(pos, "", diagnostic=_diag_text(value)))
                continue
            if kind != "retrievalRecord":
                out.append(Retrieved(pos, "", diagnostic=f"fragmented record ({kind}) not supported"))
                continue
            enc_kind, payload = value["encoding"]
            ref = value.get("direct-reference", oid)
            if enc_kind == "octet-aligned":
                out.append(Retrieved(pos, ref, octets=bytes(payload)))
            elif enc_kind == "single-ASN1-type" and payload[0] == "opac":
                out.append(Retrieved(pos, ref, opac=payload[1]))
            elif enc_kind == "single-ASN1-type" and payload[0] == "sutrs":
                out.append(Retrieved(pos, ref, octets=str(payload[1]).encode("utf-8")))
            else:
                out.append(Retrieved(pos, "", diagnostic=f"record encoding {enc_kind} not supported"))
        return out

    def _diagnostic(self, records: Any, what: str) -> Exception:
        if records and records[0] == "nonSurrogateDiagnostic":
            diag = records[1]
            return RemoteDiagnostic(self.where, f"bib-1 {diag['condition']}",
                                    f"{what} failed", _addinfo(diag))
        if records and records[0] == "multipleNonSurDiagnostics" and records[1]:
            return RemoteDiagnostic(self.where, _diag_text(records[1][0]), f"{what} failed")
        return Z3950Error(f"{self.where}: {what} failed without a diagnostic")

    def close(self) -> None:
        """Send Close (reason: finished) and drop the connection."""
        if self.sock is None:
            return
        try:
            self.sock.sendall(encode("close", {"closeReason": 0}))
            self.sock.settimeout(min(self.timeout, 2.0))
            read_pdu(self.sock, self.buffer)
        except (OSError, Z3950Error):
            pass  # the target may drop the line at once; Close is a courtesy
        finally:
            self.sock.close()
            self.sock = None


def _addinfo(diag: dict[str, Any]) -> str:
    info = diag.get("addinfo")
    return str(info[1]) if info else ""


def _diag_text(value: Any) -> str:
    if isinstance(value, tuple) and value[0] == "defaultFormat":
        diag = value[1]
        text = f"bib-1 {diag['condition']}"
        extra = _addinfo(diag)
        return f"{text} ({extra})" if extra else text
    return "diagnostic in an unsupported format"
