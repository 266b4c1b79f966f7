"""One Z39.50 association: Init, Search, Present, Scan, Sort, Delete result set, Close.

A session keeps its named result sets (the query and sort keys, never the records:
Present runs the query again for the range it needs, which costs well under a
millisecond).  Records are the SRU server's, built from the same cache, with
holdings and availability joined when they are sent:

================  ==========================================================================
USMARC / MARC 21  ISO 2709 in UTF-8 (leader/09 ``a``) with the union's 852 fields
UNIMARC           the same from UNIMARC and CNMARC members (100 $a/26-27 ``50``, UTF-8)
XML               MARCXML; element sets ``dc``, ``mods``, ``opacxml``, ``isohold`` give those schemas
OPAC              the bibliographic record plus holdingsAndCirc per member location, with a
                  circulation record per item (``availableNow``, ``availablityDate``, ``itemId``)
================  ==========================================================================

USMARC and UNIMARC are built from the cluster's best member of that MARC family, so a
UNIMARC client gets a CNMARC member's record of a book the City Library catalogued in
MARC 21; a cluster with no member of the family is a surrogate diagnostic 238 naming
the syntax it has.  XML and OPAC carry every record.  Element set ``B`` gives brief records.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from unioncat import __version__
from unioncat.config.model import Config
from unioncat.cql import CQLQuery, Modifier, Node, SortKey, walk
from unioncat.dedup.clusters import best_member, family, marc21_fields, master_fields, members
from unioncat.errors import Bib1Diagnostic, DedupError, SRUDiagnostic, UnioncatError
from unioncat.marc.iso2709 import encode_record, subfields
from unioncat.serving.records import holding_groups, holdings_852, status_note
from unioncat.serving.resources import Resources
from unioncat.z3950.codec import BIB1, DIAG_BIB1, SYNTAXES, bit_set, bits
from unioncat.serving.rpn import USE, attributes, bib1, clause, to_cql

log = logging.getLogger("unioncat.z3950")
CQL_QUERY = "1.2.840.10003.16.2"
OID_NAMES = {oid: name for name, oid in SYNTAXES.items() if name != "marc21"}
OPTIONS = [0, 1, 2, 7, 8, 14, 19]  # search present delSet scan sort namedResultSets queryType104
NEGOTIATION_MODEL = 17  # the Init option bit saying a negotiation record is answered
NEGOTIATION = "1.2.840.10003.15.3"  # CharSetandLanguageNegotiation-3
UTF8_FORM = "1.0.10646.1.0.8"
BRIEF = {"001", "003", "005", "008", "010", "020", "022", "035", "100", "110", "111", "130", "245", "250",
         "260", "264", "300", "852", "200", "205", "210", "215", "700", "701", "710"}
MAX_SETS = 32


@dataclass
class ResultSet:
    """A named result set: the query and how to sort it."""

    query: CQLQuery
    total: int
    sort: tuple[SortKey, ...] = ()


@dataclass
class Session:
    """The state of one association and the answer to each request PDU."""

    res: Resources
    cfg: Config
    peer: str
    message_size: int = 1 << 20
    record_size: int = 1 << 20
    initialised: bool = False
    sets: dict[str, ResultSet] = field(default_factory=dict)
    charset: str = ""  # what character-set negotiation agreed ("UTF-8"), if the origin asked

    @property
    def database(self) -> str:
        return self.cfg.server.z3950_database

    def handle(self, kind: str, value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Return the response PDU to one request PDU (``close`` ends the association)."""
        if kind == "close":
            return "close", {"closeReason": 0}
        if not self.initialised and kind != "initRequest":
            return "close", {"closeReason": 6, "diagnosticInformation": "the first request must be Init"}
        handler = {"initRequest": self.init, "searchRequest": self.search, "presentRequest": self.present,
                   "scanRequest": self.scan, "sortRequest": self.sort,
                   "deleteResultSetRequest": self.delete}.get(kind)
        if handler is None:
            return "close", {"closeReason": 6, "diagnosticInformation": f"{kind} is not supported"}
        response_kind, response = handler(value)
        if value.get("referenceId") is not None:
            response["referenceId"] = value["referenceId"]
        return response_kind, response

    # Init ---------------------------------------------------------------------------
    def init(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cap = self.cfg.server.z3950_message_size
        self.message_size = max(min(int(req.get("preferredMessageSize") or cap), cap), 4096)
        self.record_size = max(min(int(req.get("exceptionalRecordSize") or cap), cap), self.message_size)
        asked = req.get("options") or (b"", 0)
        options = [o for o in OPTIONS if bit_set(asked, o)] or OPTIONS
        self.initialised = True
        answer: dict[str, Any] = {
            "protocolVersion": bits([0, 1, 2], 3), "preferredMessageSize": self.message_size,
            "exceptionalRecordSize": self.record_size,
            "result": True, "implementationId": "unioncat", "implementationName": "unioncat union catalogue",
            "implementationVersion": __version__}
        proposal = negotiation_proposal(req.get("otherInfo"))
        if proposal is not None:
            self.charset, response = negotiate(proposal)
            answer["otherInfo"] = [{"information": ("externallyDefinedInfo", {
                "direct-reference": NEGOTIATION, "encoding": ("single-ASN1-type", ("charneg", ("response", response)))})}]
            options = sorted({*options, NEGOTIATION_MODEL})
        answer["options"] = bits(options, 20)
        return "initResponse", answer

    # Search ---------------------------------------------------------------------------
    def search(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            self._database(req["databaseNames"])
            query = self._query(req["query"])
            name = str(req["resultSetName"]) or "default"
            if name in self.sets and not req["replaceIndicator"]:
                raise Bib1Diagnostic(21, name)
            total = self._engine_search(query, 0, 0).total
            if name not in self.sets and len(self.sets) >= MAX_SETS:
                raise Bib1Diagnostic(112, f"at most {MAX_SETS} result sets")
            self.sets[name] = ResultSet(query, total, query.sort)
        except (Bib1Diagnostic, SRUDiagnostic, UnioncatError) as exc:
            return "searchResponse", {"resultCount": 0, "numberOfRecordsReturned": 0, "nextResultSetPosition": 0,
                                      "searchStatus": False, "resultSetStatus": 3,
                                      "records": ("nonSurrogateDiagnostic", _diag(exc))}
        answer: dict[str, Any] = {"resultCount": total, "numberOfRecordsReturned": 0,
                                  "nextResultSetPosition": 1, "searchStatus": True}
        piggyback, element_names = _piggyback(req, total)
        if piggyback:
            # Records in the search response (Z39.50 3.2.2.1.4): all of a small set, the
            # medium set's present number; a Present's own rules and diagnostics apply.
            try:
                syntax = self._syntax(req.get("preferredRecordSyntax"))
                element_set = _element_set(("simple", element_names) if element_names else None)
                out, status = self._records(self.sets[name], 1, piggyback, syntax, element_set)
            except (Bib1Diagnostic, SRUDiagnostic, UnioncatError) as exc:
                answer.update(presentStatus=5, records=("nonSurrogateDiagnostic", _diag(exc)))
            else:
                answer.update(numberOfRecordsReturned=len(out), nextResultSetPosition=1 + len(out),
                              presentStatus=status, records=("responseRecords", out))
        return "searchResponse", answer

    def _database(self, names: list[str]) -> None:
        if len(names) != 1:
            raise Bib1Diagnostic(111, "one database at a time")
        if str(names[0]).lower() != self.database.lower():
            raise Bib1Diagnostic(109, str(names[0]))

    def _query(self, query: tuple[str, Any]) -> CQLQuery:
        kind, value = query
        if kind in ("type-1", "type-101"):
            if value.get("attributeSet") not in (None, BIB1):
                raise Bib1Diagnostic(121, str(value.get("attributeSet")))
            root = to_cql(value["rpn"], self._set_query)
            if len(walk(root)) > self.cfg.server.max_clauses:
                raise Bib1Diagnostic(113, f"more than {self.cfg.server.max_clauses} terms")
            return CQLQuery(root)
        if kind == "type-104" and value.get("direct-reference") == CQL_QUERY:
            enc_kind, payload = value["encoding"]
            text = (bytes(payload).decode("utf-8", "replace") if enc_kind == "octet-aligned"
                    else str(payload[1]) if enc_kind == "single-ASN1-type" else "")
            try:
                return self.res.parse(text)
            except SRUDiagnostic as diag:
                raise bib1(diag) from None
        raise Bib1Diagnostic(107, kind)

    def _set_query(self, name: str) -> Node:
        found = self.sets.get(name)
        if found is None:
            raise Bib1Diagnostic(30, name)
        return found.query.root

    def _engine_search(self, query: CQLQuery, limit: int, offset: int, sort: tuple[SortKey, ...] = ()) -> Any:
        try:
            return self.res.search(query, limit=limit, offset=offset, sort=sort)
        except SRUDiagnostic as diag:
            raise bib1(diag) from None

    # Present --------------------------------------------------------------------------
    def present(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        start, count = int(req["resultSetStartPoint"]), int(req["numberOfRecordsRequested"])
        try:
            found = self.sets.get(str(req["resultSetId"]))
            if found is None:
                raise Bib1Diagnostic(30, str(req["resultSetId"]))
            if start < 1 or start > found.total or count < 0:
                raise Bib1Diagnostic(13, f"{start} of {found.total}")
            syntax = self._syntax(req.get("preferredRecordSyntax"))
            element_set = _element_set(req.get("recordComposition"))
            out, status = self._records(found, start, count, syntax, element_set)
        except (Bib1Diagnostic, SRUDiagnostic, UnioncatError) as exc:
            return "presentResponse", {"numberOfRecordsReturned": 0, "nextResultSetPosition": start,
                                       "presentStatus": 5, "records": ("nonSurrogateDiagnostic", _diag(exc))}
        return "presentResponse", {"numberOfRecordsReturned": len(out), "nextResultSetPosition": start + len(out),
                                   "presentStatus": status, "records": ("responseRecords", out)}

    def _syntax(self, oid: Any) -> str:
        syntax = str(oid or SYNTAXES["usmarc"])
        if syntax not in OID_NAMES:
            raise Bib1Diagnostic(239, syntax)
        return syntax

    def _records(self, found: ResultSet, start: int, count: int, syntax: str,
                 element_set: str) -> tuple[list[dict[str, Any]], int]:
        """Return NamePlusRecords start..start+count-1 of a result set, within the message
        size, and the present status (0, or 2 when the message size cut it short)."""
        hits = self._engine_search(found.query, min(count, self.cfg.server.max_records * 10), start - 1,
                                   found.sort)
        out: list[dict[str, Any]] = []
        size, status = 0, 0
        for master, display in zip(hits.ids, hits.displays):
            record = self.record(master, display, syntax, element_set)
            length = _size(record)
            if out and size + length > self.message_size:
                status = 2  # partial: the negotiated message size
                break
            size += length
            out.append({"name": self.database, "record": record})
        return out, status

    def record(self, master: str, display: dict[str, Any], syntax: str, element_set: str) -> tuple[str, Any]:
        """Return one NamePlusRecord record choice: the record, or a surrogate diagnostic."""
        name = OID_NAMES[syntax]
        try:
            if name == "sutrs":
                if element_set.upper() not in ("F", "B", ""):
                    raise Bib1Diagnostic(25, element_set)
                text = sutrs_text(self.res.brief(master, display), self.res.holdings(display))
                return "retrievalRecord", {"direct-reference": syntax, "encoding": ("single-ASN1-type", ("sutrs", text))}
            if name == "xml":
                schema = element_set.lower() if element_set.lower() in ("dc", "mods", "opacxml", "isohold") else ""
                if element_set.upper() not in ("F", "B", "MARCXML", "") and not schema:
                    raise Bib1Diagnostic(25, element_set)
                data = bytes(etree.tostring(self.res.render(schema or "marcxml", master, display), encoding="utf-8"))
                return "retrievalRecord", {"direct-reference": syntax, "encoding": ("octet-aligned", data)}
            if element_set.upper() not in ("F", "B", ""):
                raise Bib1Diagnostic(25, element_set)
            leader, fields, unimarc = self._marc(master, {"usmarc": "marc21", "unimarc": "unimarc"}.get(name),
                                                 list(display.get("members", [])))
            if element_set.upper() == "B":
                fields = [f for f in fields if f[0] in BRIEF]
            holdings = self.res.holdings(display)
            if name == "opac":
                bib = {"direct-reference": SYNTAXES["unimarc" if unimarc else "usmarc"],
                       "encoding": ("octet-aligned", iso2709(leader, fields, [], unimarc))}
                return "retrievalRecord", {"direct-reference": syntax, "encoding": (
                    "single-ASN1-type", ("opac", {"bibliographicRecord": bib, "holdingsData": opac_holdings(holdings)}))}
            marc = iso2709(leader, fields, holdings_852(holdings, self.cfg.server.holdings), unimarc)
            return "retrievalRecord", {"direct-reference": syntax, "encoding": ("octet-aligned", marc)}
        except (Bib1Diagnostic, SRUDiagnostic, UnioncatError, ValueError, KeyError) as exc:
            if not isinstance(exc, Bib1Diagnostic):
                log.warning("record %s cannot be sent as %s: %s", master, name, exc)
            return "surrogateDiagnostic", ("defaultFormat", _diag(exc if isinstance(exc, Bib1Diagnostic)
                                                                  else Bib1Diagnostic(14, master)))

    def _marc(self, master: str, of_family: str | None, ids: list[str]) -> tuple[str, list[Any], bool]:
        """Return a master's leader, fields and whether it is UNIMARC: built from its best
        member (of those the index holds) of the family the syntax needs (238 naming the
        other when it has none)."""
        def build() -> tuple[str, list[Any], bool]:
            store = self.res.store()
            if of_family == "marc21":  # a CNMARC-only master goes through the crosswalk
                leader, fields = marc21_fields(store, master, ids)
                return leader, fields, False
            found = members(store, master, ids)
            try:
                best = best_member(store, master, found, of_family=of_family)
            except DedupError:
                raise Bib1Diagnostic(238, "usmarc" if of_family == "unimarc" else "unimarc") from None
            leader, fields = master_fields(store, master, family(best.format), ids, found)
            return leader, fields, family(best.format) == "unimarc"
        found: tuple[str, list[Any], bool] = self.res.records.get((master, "marc", of_family), build)
        return found

    # Scan -----------------------------------------------------------------------------
    def scan(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            self._database(req["databaseNames"])
            start = req["termListAndStartPoint"]
            found = clause(start["attributes"], start["term"])
            count = min(int(req["numberOfTermsRequested"]), self.cfg.server.max_terms)
            position = int(req.get("preferredPositionInResponse") or 1)
            if count < 0 or position < 0 or position > count + 1:
                raise Bib1Diagnostic(120 if position > count + 1 else 126, f"{position} of {count}")
            try:
                scanned = self.res.scan_entries(found.index, found.term.rstrip("*"), position, count)
            except SRUDiagnostic as diag:
                raise bib1(diag) from None
        except (Bib1Diagnostic, UnioncatError) as exc:
            return "scanResponse", {"scanStatus": 6, "numberOfEntriesReturned": 0,
                                    "entries": {"nonsurrogateDiagnostics": [("defaultFormat", _diag(exc))]}}
        entries = [("termInfo", {"term": ("general", t.encode("utf-8")), "displayTerm": t, "globalOccurrences": n})
                   for _, t, n in scanned]
        # Where the start term stands (or would stand) in the list: after the terms before it,
        # so one past the end when the scan ran off the end of the term list.
        start_term = self.res.scan_start(found.index, found.term.rstrip("*"))
        before = sum(1 for key, _, _ in scanned if key < start_term)
        # Fewer terms than asked: the term list ran out, partial-5 as YAZ targets (Zebra) say.
        status = 0 if len(entries) >= count else 5
        return "scanResponse", {"stepSize": 0, "scanStatus": status, "numberOfEntriesReturned": len(entries),
                                "positionOfTerm": before + 1 if position else 0,
                                "entries": {"entries": entries}}

    # Sort and Delete ------------------------------------------------------------------
    def sort(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            names = [str(n) for n in req["inputResultSetNames"]]
            if len(names) != 1:
                raise Bib1Diagnostic(230, "one input result set")
            found = self.sets.get(names[0])
            if found is None:
                raise Bib1Diagnostic(30, names[0])
            keys = tuple(_sort_key(spec) for spec in req["sortSequence"])
            name = str(req["sortedResultSetName"])
            if name not in self.sets and len(self.sets) >= MAX_SETS:  # as Search: never past the cap
                raise Bib1Diagnostic(112, f"at most {MAX_SETS} result sets")
            self.sets[name] = ResultSet(found.query, found.total, keys)
        except (Bib1Diagnostic, UnioncatError) as exc:
            return "sortResponse", {"sortStatus": 2, "diagnostics": [("defaultFormat", _diag(exc))]}
        return "sortResponse", {"sortStatus": 0, "resultSetStatus": 4, "resultCount": found.total}

    def delete(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if req["deleteFunction"] == 1:
            self.sets.clear()
            return "deleteResultSetResponse", {"deleteOperationStatus": 0}
        statuses = []
        for name in (str(n) for n in req.get("resultSetList") or []):
            statuses.append({"id": name, "status": 0 if self.sets.pop(name, None) else 1})
        worst = 0 if all(s["status"] == 0 for s in statuses) else 9
        return "deleteResultSetResponse", {"deleteOperationStatus": worst, "deleteListStatuses": statuses}


def _piggyback(req: dict[str, Any], total: int) -> tuple[int, Any]:
    """Return how many records a Search asks back (small, medium or large set) and the
    element set names for them."""
    small, large = int(req.get("smallSetUpperBound") or 0), int(req.get("largeSetLowerBound") or 1)
    if total and total <= small:
        return total, req.get("smallSetElementSetNames")
    if total and total < large:
        return min(int(req.get("mediumSetPresentNumber") or 0), total), req.get("mediumSetElementSetNames")
    return 0, None


def sutrs_text(brief: dict[str, str], members: list[dict[str, Any]]) -> str:
    """Return a brief record as SUTRS: labelled lines, then one line per holding member."""
    lines = [f"{label}: {brief[key]}" for key, label in (
        ("title", "Title"), ("author", "Author"), ("edition", "Edition"), ("publication", "Published"),
        ("isbn", "ISBN"), ("id", "Record")) if brief.get(key)]
    for member in members:
        where = member["name"] + (f" ({member['member']})" if member["member"] != member["name"] else "")
        calls = ", ".join(member.get("call_numbers") or [])
        lines.append(f"Held by: {where}{'; ' + calls if calls else ''}; "
                     f"{member['available']} of {member['total']} on the shelf")
    return "\n".join(lines) + "\n"


def negotiation_proposal(other_info: Any) -> dict[str, Any] | None:
    """Return the character-set and language negotiation proposal of an Init's otherInfo
    (Z39.50 appendix 9, as YAZ, ZOOM and pazpar2 send it), or None."""
    for unit in other_info or []:
        kind, value = unit.get("information", ("", None))
        if kind != "externallyDefinedInfo" or value.get("direct-reference") != NEGOTIATION:
            continue
        encoding: tuple[str, Any] = value.get("encoding") or ("", ("", ("", {})))
        kind, inner = encoding
        if kind == "single-ASN1-type" and inner[0] == "charneg" and inner[1][0] == "proposal":
            return dict(inner[1][1])
    return None


def negotiate(proposal: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Answer a negotiation proposal: UTF-8 (ISO 10646 transfer form 8) is the one set we speak
    for names, messages and records; if the origin did not offer it, none is agreed (and we still
    send UTF-8, as without negotiation).  Our messages are English: "eng" if it was proposed."""
    offered = [_charset_name(c) for c in proposal.get("proposedCharSets") or []]
    response: dict[str, Any] = {}
    agreed = ""
    if "proposedCharSets" in proposal:
        if any(name.replace("-", "").replace("_", "").lower() == "utf8" for name in offered):
            agreed = "UTF-8"
            response["selectedCharSets"] = ("iso10646", {"encodingLevel": UTF8_FORM})
        else:
            response["selectedCharSets"] = ("none", None)
    languages = [str(lang).lower() for lang in proposal.get("proposedlanguages") or []]
    if "eng" in languages or "en" in languages:
        response["selectedLanguage"] = "eng"
    if "recordsInSelectedCharSets" in proposal:
        response["recordsInSelectedCharSets"] = bool(agreed)
    return agreed, response


def _charset_name(choice: tuple[str, Any]) -> str:
    kind, value = choice
    if kind == "iso10646":
        return {UTF8_FORM: "UTF-8", "1.0.10646.1.0.2": "UCS-2", "1.0.10646.1.0.4": "UCS-4",
                "1.0.10646.1.0.5": "UTF-16"}.get(str(value.get("encodingLevel")), "")
    if kind == "private" and value[0] == "externallySpecified":
        encoding = value[1].get("encoding") or ("", b"")
        if encoding[0] == "octet-aligned":
            return bytes(encoding[1]).decode("ascii", "replace")
    return ""


def _size(record: tuple[str, Any]) -> int:
    """Return about how many bytes a record adds to a Present response."""
    if record[0] == "retrievalRecord" and record[1]["encoding"][0] == "octet-aligned":
        return len(record[1]["encoding"][1]) + 32
    return 2048


def _element_set(composition: Any) -> str:
    if composition is None:
        return "F"
    kind, value = composition
    if kind == "simple" and value[0] == "genericElementSetName":
        return str(value[1])
    raise Bib1Diagnostic(26, "only generic element set names")


def _sort_key(spec: dict[str, Any]) -> SortKey:
    kind, key = spec["sortElement"]
    if kind != "generic":
        raise Bib1Diagnostic(211, "database-specific sort keys")
    key_kind, value = key
    if key_kind == "sortfield":
        index = str(value)
    elif key_kind == "sortAttributes":
        use = attributes(value["list"]).get(1)
        index = use if isinstance(use, str) else USE.get(use or 0, "")
    else:
        raise Bib1Diagnostic(211, key_kind)
    if index not in ("dc.title", "dc.date", "title", "date", "year"):
        raise Bib1Diagnostic(207, index or "no use attribute")
    descending = int(spec.get("sortRelation", 0)) == 1
    return SortKey(index, (Modifier("sort.descending"),) if descending else ())


def _diag(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, SRUDiagnostic):
        exc = bib1(exc)
    if not isinstance(exc, Bib1Diagnostic):
        log.error("Z39.50 operation failed: %s", exc)
        exc = Bib1Diagnostic(2, "the union catalogue's index is not available just now")
    return {"diagnosticSetId": DIAG_BIB1, "condition": exc.condition, "addinfo": ("v3Addinfo", exc.addinfo[:200])}


def iso2709(leader: str, fields: list[Any], extra_852: list[list[tuple[str, str]]], unimarc: bool) -> bytes:
    """Encode a master record and the union's 852 fields as ISO 2709 in UTF-8."""
    out: list[tuple[str, bytes]] = []
    for tag, ind, value in fields:
        if isinstance(value, str):
            out.append((tag, value.encode("utf-8")))
        elif extra_852 and tag == "852":
            continue
        else:
            if unimarc and tag == "100":
                value = [(c, v[:26] + "50" + v[28:] if c == "a" and len(v) >= 30 else v) for c, v in value]
            out.append((tag, subfields(ind, value, "utf-8")))
    for subs in extra_852:
        at = next((i for i, f in enumerate(out) if f[0] > "852"), len(out))
        out.insert(at, ("852", subfields("  ", [(c, v) for c, v in subs if v], "utf-8")))
    leader = leader.ljust(24)[:24]
    if not unimarc:
        leader = leader[:9] + "a" + leader[10:]
    return encode_record(leader, out)


def opac_holdings(members: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Return OPAC holdingsData: holdingsAndCirc per member location, a CircRecord per item."""
    out = []
    for (member, branch, location, call_number), items in holding_groups(members).items():
        data: dict[str, Any] = {"nucCode": member, "localLocation": branch or member}
        if location:
            data["shelvingLocation"] = location
        if call_number:
            data["callNumber"] = call_number
        circs = []
        for it in items:
            circ: dict[str, Any] = {"availableNow": it.status == "available", "renewable": False,
                                    "onHold": it.status == "on_hold", "restrictions": status_note(it.status, it.due_date)}
            if it.due_date:
                circ["availablityDate"] = it.due_date[:10]
            if it.barcode:
                circ["itemId"] = it.barcode
            if it.volume:
                circ["enumAndChron"] = it.volume
            circs.append(circ)
        data["circulationData"] = circs
        out.append(("holdingsAndCirc", data))
    return out
