"""Turn the item fields of a member's record into Items, by preset or by table.

A layout says which tag carries items and which subfield holds what; a few
systems spread the status over several subfields (Koha's lost/withdrawn/not-for-loan
flags and due date, Sirsi's current location, Alma's AVA counts) and get a rule.

Presets (the ``holdings`` setting):

=============  =====  ==========================================================
preset         tag    layout
=============  =====  ==========================================================
852            852    MARC 21 location: $a institution (one 852 per member in a
                      union catalogue), $b branch, $c shelving location, $h+$i call
                      number, $p barcode, $t copy; no status (unknown)
852-evergreen  852    Evergreen export: $b circulating library, $c copy location,
                      $j call number, $p barcode, $t copy, $n status
952-koha       952    Koha (MARC 21): $a home branch, $b holding branch, $c
                      location, $o call number, $p barcode, $t copy, $h volume,
                      $q due date, $1 lost, $0 withdrawn, $7 not for loan
995-koha       995    Koha (UNIMARC): $b home branch, $c holding branch, $e
                      location, $k call number, $f barcode, $6 copy, $v volume,
                      $n due date, $2 lost, $0 withdrawn, $o not for loan
949            949    SirsiDynix/Unicorn: $m library, $l home location, $a call
                      number, $i barcode, $c copy, $k current location (status)
999            999    the same Sirsi layout in 999
905-cnmarc     905    CNMARC holdings: $a institution, $b barcode, $c location,
                      $d+$e call number ($s whole), $f copy, $y status
ava-alma       AVA    Alma availability: $b library, $c location, $d call number,
                      $e available/unavailable/check_holdings, $f items, $g of
                      them unavailable (one summary entry per AVA)
mfhd           852    MARC 21 holdings records (leader/06 u, v, x, y) linked by
                      004 to the bibliographic 001: 852 location and call number,
                      876 items ($p barcode, $j status, $t copy), 866 summary
opac           -      Z39.50 OPAC records: holdingsAndCirc with one item per
                      circulation record (availableNow, availablityDate, itemId)
=============  =====  ==========================================================

A table instead of a preset names ``tag`` and the subfield codes of member
(institution), location, call_number, barcode, status, due_date, copy, volume.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from unioncat.marc.fields import Subfields, control_fields, fields_with_tags, opac_record
from unioncat.holdings.status import DEFAULT, Status, normalise
from unioncat.marc.records import SYNTAX_OPAC
from unioncat.models import Item


@dataclass(frozen=True)
class Layout:
    """Where the parts of an item sit in one tag."""

    tag: str
    institution: str = ""
    branch: str = ""
    location: str = ""
    call_number: str = ""  # several codes are joined with spaces
    barcode: str = ""
    copy: str = ""
    volume: str = ""
    status: str = ""
    due_date: str = ""
    rule: str = ""  # koha952, koha995, sirsi, ava: status from several subfields
    no_status: Status = DEFAULT  # what an item with no status information is


PRESETS: dict[str, Layout] = {
    "852": Layout("852", institution="a", branch="b", location="c", call_number="hi",
                  barcode="p", copy="t"),
    "852-evergreen": Layout("852", institution="a", branch="b", location="c", call_number="j",
                            barcode="p", copy="t", status="n"),
    "952-koha": Layout("952", institution="a", branch="b", location="c", call_number="o",
                       barcode="p", copy="t", volume="h", due_date="q", rule="koha952",
                       no_status=Status.AVAILABLE),
    "995-koha": Layout("995", institution="b", branch="c", location="e", call_number="k",
                       barcode="f", copy="6", volume="v", due_date="n", rule="koha995",
                       no_status=Status.AVAILABLE),
    "949": Layout("949", branch="m", location="l", call_number="a", barcode="i", copy="c",
                  status="k", rule="sirsi", no_status=Status.AVAILABLE),
    "999": Layout("999", branch="m", location="l", call_number="a", barcode="i", copy="c",
                  status="k", rule="sirsi", no_status=Status.AVAILABLE),
    "905-cnmarc": Layout("905", institution="a", barcode="b", location="c", call_number="de",
                         copy="f", status="y"),
    "ava-alma": Layout("AVA", institution="a", branch="b", location="c", call_number="d",
                       status="e", rule="ava"),
    "mfhd": Layout("852", branch="b", location="c", call_number="hi"),
    "opac": Layout("", rule="opac"),
}
HOLDINGS_RECORD_TYPES = frozenset("uvxy")  # leader/06 of a MARC 21 holdings record


def layout_for(setting: str | Mapping[str, Any] | None) -> Layout | None:
    """Return the layout a source's ``holdings`` setting names, or None."""
    if setting is None:
        return None
    if isinstance(setting, str):
        return PRESETS[setting]
    return Layout(tag=str(setting["tag"]), institution=setting.get("member", ""),
                  location=setting.get("location", ""), call_number=setting.get("call_number", ""),
                  barcode=setting.get("barcode", ""), status=setting.get("status", ""),
                  due_date=setting.get("due_date", ""), copy=setting.get("copy", ""),
                  volume=setting.get("volume", ""))


@dataclass
class Extraction:
    """Items of one record, and status codes that could not be mapped."""

    record_id: str
    items: list[Item]
    unknown_codes: list[str]


def extract(record_id: str, source: str, raw: bytes, syntax: str, charset: str, leader: str,
            layout: Layout, status_map: Mapping[str, str] | None = None) -> Extraction:
    """Extract the items of one stored record.

    For ``mfhd`` the record is a holdings record and its items belong to the
    bibliographic record its 004 names; ``record_id`` of the result says which.
    """
    unknown: list[str] = []

    def status_of(code: str | None, default: Status) -> tuple[str, str]:
        if not code:
            return default.value, ""
        status, known = normalise(code, status_map)
        if not known:
            unknown.append(code)
        return status.value, code

    if layout.rule == "opac":
        if syntax != SYNTAX_OPAC:
            return Extraction(record_id, [], [])
        items = _opac_items(record_id, source, opac_record(raw), status_of)
        return Extraction(record_id, items, unknown)
    owner = record_id
    if layout is PRESETS["mfhd"]:
        if leader[6:7] not in HOLDINGS_RECORD_TYPES:
            return Extraction(record_id, [], [])
        links = control_fields(raw, syntax, charset, "004")
        if not links:
            # Evergreen's MFHD export writes the bibliographic link as a second 001.
            links = control_fields(raw, syntax, charset, "001")[1:2]
        bib = links[0] if links else ""
        if not bib:
            return Extraction(record_id, [], [])
        owner = f"{source}.{bib}"
        fields = fields_with_tags(raw, syntax, charset, {"852", "866", "876", "877", "878"})
        return Extraction(owner, _mfhd_items(owner, source, fields, layout, status_of), unknown)
    fields = fields_with_tags(raw, syntax, charset, {layout.tag})
    items = []
    for n, (_, subs) in enumerate(fields, 1):
        items.append(_item(owner, source, n, subs, layout, status_of))
    return Extraction(owner, items, unknown)


def _get(subs: Subfields, codes: str, sep: str = " ") -> str:
    if not codes:
        return ""
    return sep.join(v.strip() for c, v in subs if c in codes and v.strip())


def _first(subs: Subfields, code: str) -> str:
    for c, v in subs:
        if c == code and v.strip():
            return v.strip()
    return ""


def item_id(source: str, record_id: str, barcode: str, n: int) -> str:
    """Return the member-namespaced id of an item."""
    return f"{source}.{barcode}" if barcode else f"{record_id}@{n}"


StatusFn = Callable[[str | None, Status], tuple[str, str]]


def _item(record_id: str, source: str, n: int, subs: Subfields, layout: Layout,
          status_of: StatusFn) -> Item:
    barcode = _first(subs, layout.barcode) if layout.barcode else ""
    due = _first(subs, layout.due_date) if layout.due_date else ""
    count = 1
    if layout.rule in ("koha952", "koha995"):
        status, raw_status = _koha_status(subs, layout.rule, due, status_of)
    elif layout.rule == "ava":
        status, raw_status, count = _ava_status(subs, status_of)
    else:
        code = _first(subs, layout.status) if layout.status else ""
        status, raw_status = status_of(code or None, layout.no_status)
        if layout.rule == "sirsi" and code and code.upper() == "CHECKEDOUT":
            status = Status.ON_LOAN.value
    if due and status == Status.AVAILABLE.value:
        status = Status.ON_LOAN.value
    return Item(item_id=item_id(source, record_id, barcode, n), record_id=record_id, source=source,
                institution=_first(subs, layout.institution) if layout.institution else "",
                branch=_first(subs, layout.branch) if layout.branch else "",
                location=_get(subs, layout.location, " / "),
                call_number=_get(subs, layout.call_number), barcode=barcode,
                copy=_first(subs, layout.copy) if layout.copy else "",
                volume=_get(subs, layout.volume), status=status, raw_status=raw_status,
                due_date=due or None, count=count)


def _koha_status(subs: Subfields, rule: str, due: str, status_of: StatusFn) -> tuple[str, str]:
    lost, withdrawn, notforloan = ("1", "0", "7") if rule == "koha952" else ("2", "0", "o")

    def flag(code: str) -> str:
        value = _first(subs, code)
        return "" if value in ("", "0") else value

    if flag(lost):
        return Status.LOST.value, f"lost={flag(lost)}"
    if flag(withdrawn):
        return Status.MISSING.value, f"withdrawn={flag(withdrawn)}"
    if due:
        return Status.ON_LOAN.value, ""
    value = flag(notforloan)
    if value:
        # Koha: negative not-for-loan values mean ordered / in processing.
        kind = Status.IN_PROCESSING if value.startswith("-") else Status.NOT_FOR_LOAN
        return kind.value, f"notforloan={value}"
    return Status.AVAILABLE.value, ""


def _ava_status(subs: Subfields, status_of: StatusFn) -> tuple[str, str, int]:
    code = _first(subs, "e")
    total = _first(subs, "f")
    count = int(total) if total.isdigit() and int(total) > 0 else 1
    status, raw = status_of(code or None, DEFAULT)
    return status, raw, count


def _mfhd_items(owner: str, source: str, fields: list[tuple[str, Subfields]], layout: Layout,
                status_of: StatusFn) -> list[Item]:
    location = next((subs for tag, subs in fields if tag == "852"), [])
    summary = "; ".join(_get(subs, "a") for tag, subs in fields if tag == "866" and _get(subs, "a"))
    base = _item(owner, source, 1, location, layout, status_of) if location else \
        Item(item_id=f"{owner}@1", record_id=owner, source=source)
    base = replace(base, volume=summary or base.volume)
    items = []
    for n, (tag, subs) in enumerate((f for f in fields if f[0] in ("876", "877", "878")), 1):
        barcode = _first(subs, "p")
        status, raw = status_of(_first(subs, "j") or None, DEFAULT)
        items.append(replace(base, item_id=item_id(source, owner, barcode, n), barcode=barcode,
                             copy=_first(subs, "t"), status=status, raw_status=raw,
                             volume=_get(subs, "3") or base.volume))
    return items or [base]


def _opac_items(record_id: str, source: str, opac: dict[str, Any], status_of: StatusFn) -> list[Item]:
    items: list[Item] = []
    for kind, holding in opac.get("holdingsData") or []:
        if kind != "holdingsAndCirc":
            continue
        base = Item(item_id="", record_id=record_id, source=source,
                    institution=holding.get("nucCode", ""), branch=holding.get("localLocation", ""),
                    location=holding.get("shelvingLocation", ""),
                    call_number=holding.get("callNumber", ""), copy=holding.get("copyNumber", ""),
                    volume=holding.get("enumAndChron", ""))
        circs = holding.get("circulationData") or []
        if not circs:
            items.append(replace(base, item_id=f"{record_id}@{len(items) + 1}"))
        for circ in circs:
            barcode = circ.get("itemId", "")
            if circ.get("onHold"):
                status = Status.ON_HOLD.value
            elif circ.get("availableNow"):
                status = Status.AVAILABLE.value
            else:
                status = Status.ON_LOAN.value
            items.append(replace(base, item_id=item_id(source, record_id, barcode, len(items) + 1),
                                 barcode=barcode, status=status,
                                 due_date=None if circ.get("availableNow") else circ.get("availablityDate"),
                                 location=circ.get("temporaryLocation") or base.location,
                                 raw_status=circ.get("restrictions", "")))
    return items
