"""Human-readable reports for the command line (their --json forms are plain dicts)."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from lxml import etree
from pymarc import Record, record_to_xml

from unioncat.models import LoadStats, StoredRecord
from unioncat.text import fit


def format_import_summary(stats: LoadStats, harvest: bool = False) -> str:
    """Return the summary of one source's import or harvest."""
    rate = stats.read / stats.elapsed if stats.elapsed > 0 else 0.0
    files = len(stats.files)
    where = (f"in {stats.pages:,} page{'s' * (stats.pages != 1)}, {stats.retries:,} retries"
             if harvest else f"from {files} file{'s' * (files != 1)}")
    lines = [
        f"{stats.source_id}: {'harvested' if harvest else 'read'} {stats.read:,} records {where} "
        f"in {stats.elapsed:.1f} s ({rate:,.0f} records/s)"
        + (f"  FAILED: {stats.error}" if stats.error else ""),
        f"  new {stats.new:,}, updated {stats.updated:,}, unchanged {stats.unchanged:,}, "
        f"deleted {stats.deleted:,}, rejected {stats.rejected:,}",
    ]
    extra = []
    if stats.repeated:
        extra.append(f"{stats.repeated:,} records appeared twice, identical (stored once)")
    if stats.renamed:
        extra.append(f"{stats.renamed:,} records reused an id already taken in this import: "
                     "kept as ID#2, ID#3, ...")
    if stats.noted:
        extra.append(f"{stats.noted:,} records kept with a repair or character-set note "
                     "(see `unioncat show ID`)")
    if stats.items:
        extra.append(f"{stats.items:,} holdings items extracted from new and changed records")
    if stats.stripped:
        extra.append(f"{stats.stripped:,} characters not allowed in XML stripped from responses")
    if stats.rejected:
        extra.append(f"see `unioncat rejects {stats.source_id}`")
    lines.extend("  " + e for e in extra)
    lines.extend(f"  warning: {w}" for w in stats.warnings)
    return "\n".join(lines)


def format_status(store_path: str, rows: list[dict[str, Any]]) -> str:
    """Return the status table."""
    head = (f"{'SOURCE':<12} {'TYPE':<6} {'RECORDS':>9} {'DELETED':>8} {'REJECTS':>8} "
            f"{'ITEMS':>8} {'ON SHELF':>8}  LAST LOAD")
    lines = [f"store: {store_path}", head]
    for row in rows:
        last = row["last_load"]
        when = "never"
        if last:
            when = f"{last['kind']} {last['finished'] or last['started']} {last['status']}"
            if last.get("error"):
                when += f": {last['error']}"
        lines.append(f"{row['id']:<12} {row['type']:<6} {row['records']:>9,} {row['deleted']:>8,} "
                     f"{row['rejects']:>8,} {row.get('items', 0):>8,} {row.get('available', 0):>8,}"
                     f"  {when}")
        if row.get("unknown_status_codes"):
            lines.append(f"{'':<12} {row['unknown_status_codes']:,} items with status codes no map "
                         "knows (shown as unknown)")
        failure = row.get("last_failure")
        success = row.get("last_success")
        if failure and (not success or (failure["finished"] or "") > (success["finished"] or "")):
            lines.append(f"{'':<12} last failure {failure['finished']}: {failure['error']}")
            if success:
                lines.append(f"{'':<12} last success {success['finished']}")
    if not rows:
        lines.append("(no sources configured)")
    return "\n".join(lines)


def format_rejects(source: str, rows: list[dict[str, Any]]) -> str:
    """Return the rejects of one source, one line each."""
    if not rows:
        return f"{source}: no rejected records"
    lines = [f"{source}: {len(rows)} rejected record{'s' * (len(rows) != 1)}"]
    for row in rows:
        where = []
        if row["position"] is not None:
            where.append(f"record {row['position']}")
        if row["byte_offset"] is not None:
            where.append(f"byte {row['byte_offset']}")
        if row["line"] is not None:
            where.append(f"line {row['line']}")
        lines.append(f"{row['location']}: {', '.join(where) or '-'}: {row['reason']}")
    return "\n".join(lines)


def record_text(stored: StoredRecord, record: Record) -> str:
    """Return a record in line format with a header naming where it came from."""
    head = [f"# {stored.id}  source {stored.source_id}  {stored.format}/{stored.syntax}  "
            f"charset {stored.charset}{'  DELETED' if stored.deleted else ''}",
            f"# first seen {stored.first_seen}, last seen {stored.last_seen}, "
            f"changed {stored.updated}, from {stored.location or '-'}"]
    head.extend(f"# note: {n}" for n in stored.notes)
    return "\n".join(head) + "\n" + str(record)


def record_marcxml(record: Record) -> str:
    """Return a record as MARCXML (MARC21 slim namespace)."""
    xml = record_to_xml(record, namespace=True)
    return str(etree.tostring(etree.fromstring(xml), encoding="unicode", pretty_print=True)).rstrip()


def marcxml_collection(records: Iterable[Record]) -> str:
    """Return records as one MARCXML document: a <collection> in the MARC21 slim namespace."""
    ns = "http://www.loc.gov/MARC21/slim"
    root = etree.Element(f"{{{ns}}}collection", nsmap={None: ns})
    for record in records:
        root.append(etree.fromstring(record_to_xml(record, namespace=True)))
    return str(etree.tostring(root, encoding="unicode", pretty_print=True)).rstrip()


def record_json(stored: StoredRecord, record: Record) -> dict[str, Any]:
    """Return a record's store metadata and its MARC-in-JSON."""
    return {"id": stored.id, "source": stored.source_id, "local_id": stored.local_id,
            "format": stored.format, "syntax": stored.syntax, "charset": stored.charset,
            "datestamp": stored.datestamp, "deleted": stored.deleted, "notes": list(stored.notes),
            "first_seen": stored.first_seen, "last_seen": stored.last_seen,
            "updated": stored.updated, "location": stored.location, "record": record.as_dict()}


def format_holdings(record_id: str, members: list[dict[str, Any]],
                    refresh: dict[str, str] | None) -> str:
    """Return the holdings of a record, one block per member, on-shelf first."""
    if not members:
        return f"{record_id}: no holdings known"
    lines = [f"{record_id}: {sum(m['available'] for m in members)} of "
             f"{sum(m['total'] for m in members)} copies on the shelf, at {len(members)} "
             f"member{'s' * (len(members) != 1)}"]
    for m in members:
        due = f", next due {m['next_due']}" if m["next_due"] else ""
        stale = ""
        if m.get("stale"):
            stale = f"  [stale: {m['refresh']}; data {_age(m['age_seconds'])} old]"
        lines.append(f"{m['member']} ({m['name']}): {m['available']} of {m['total']} available{due}{stale}")
        for item in m["items"]:
            parts = [item["status"] + (f" (due {item['due_date']})" if item["due_date"] else "")]
            parts += [p for p in (item["branch"], item["location"], item["call_number"],
                                  item["volume"], item["barcode"] and f"barcode {item['barcode']}") if p]
            if item["count"] > 1:
                parts.append(f"{item['count']} copies")
            lines.append("  " + "; ".join(parts))
    if refresh:
        lines.append("live refresh: " + ", ".join(f"{k} {v}" for k, v in sorted(refresh.items())))
    return "\n".join(lines)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def format_feed_report(report: Any) -> str:
    """Return what loading a status feed did."""
    if not report.ok:
        return (f"{report.source}: {report.file}: {len(report.errors)} bad rows of {report.rows}; "
                "nothing was changed")
    lines = [f"{report.source}: {report.file}: {report.applied:,} of {report.rows:,} rows applied"]
    if report.unknown_barcodes:
        sample = ", ".join(report.unknown_sample[:10])
        lines.append(f"  {report.unknown_barcodes:,} barcodes match no item of {report.source} "
                     f"(first: {sample})")
    if report.duplicates:
        lines.append(f"  {report.duplicates:,} barcodes listed more than once (the last row wins)")
    return "\n".join(lines)


def format_dedup_summary(stats: Any) -> str:
    """Return the summary of a dedup run."""
    rate = stats.processed / stats.elapsed if stats.elapsed else 0
    lines = [f"dedup ({'full' if stats.full else 'incremental'}): {stats.processed:,} records "
             f"(re)examined in {stats.elapsed:.1f} s ({rate:,.0f} records/s), {stats.comparisons:,} "
             f"comparisons, {stats.matches:,} matches",
             f"  {stats.records:,} records in {stats.clusters:,} clusters; {stats.merged_records:,} "
             f"records merged; largest cluster {stats.largest_cluster}"]
    if stats.removed:
        lines.append(f"  {stats.removed:,} deleted records taken out of their clusters")
    if stats.oversized_blocks:
        lines.append(f"  {stats.oversized_blocks:,} blocking keys shared by too many records were "
                     f"not used (dedup.max_block), e.g. {', '.join(stats.oversized_examples[:3])}")
    return "\n".join(lines)


def format_search(result: dict[str, Any], elapsed: float) -> str:
    """Return search results as a table: title, author, year, copies per member."""
    lines = [f"{result['total']:,} master records ({elapsed * 1000:.1f} ms); showing "
             f"{result['offset'] + 1 if result['records'] else 0}-{result['offset'] + len(result['records'])}"]
    for n, rec in enumerate(result["records"], result["offset"] + 1):
        copies = ", ".join(f"{m}: {c['available']}/{c['total']}" for m, c in rec["copies"].items()) or "no items"
        title = rec["title"] + (f" ({rec['title_romanised']})" if rec.get("title_romanised") else "")
        author = rec["author"] + (f" ({rec['author_romanised']})" if rec.get("author_romanised") else "")
        # columns by display width: a Chinese character takes two
        lines.append(f"{n:>4}. {fit(title, 60)} {fit(author, 24)} {rec['year'] or '':>4}  {copies}")
        lines.append(f"      {rec['id']}  members: {', '.join(rec['members'])}")
    for name, counts in result["facets"].items():
        lines.append(f"{name}: " + ", ".join(f"{k} ({v})" for k, v in counts.items()))
    return "\n".join(lines)


def format_rota(requester: str, ranked: list[dict[str, Any]]) -> str:
    """Return the lending rota for a reader of one member, best lender first."""
    if not ranked:
        return f"Lending rota for a reader of {requester}: no other member can lend a copy."
    lines = [f"Lending rota for a reader of {requester}:"]
    for entry in ranked:
        lines.append(f"  {entry['rank']}. {entry['member']:<8} {entry['name'][:34]:<34} "
                     f"{entry['available']}/{entry['loanable']} on the shelf  ({entry['reason']})")
    return "\n".join(lines)


def report_csv(rows: list[dict[str, Any]]) -> str:
    """Return a consortium report's rows as CSV: a list as its values with spaces between, a
    mapping as NAME=VALUE pairs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if rows:
        writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([" ".join(v) if isinstance(v, list) else
                         " ".join(f"{k}={n}" for k, n in v.items()) if isinstance(v, dict) else v
                         for v in row.values()])
    return out.getvalue()


def format_report(name: str, rows: list[dict[str, Any]], names: dict[str, str], minimum: int) -> str:
    """Return a consortium report as a table."""
    def who(member: str) -> str:
        return f"{member} ({names[member]})" if names.get(member, member) != member else member

    if name == "overlap":
        lines = ["titles held by both members of each pair", f"{'TITLES':>8}  MEMBERS"]
        lines += [f"{r['titles']:>8,}  {who(r['a'])} + {who(r['b'])}" for r in rows]
    elif name == "unique":
        lines = ["titles per member, and those no other member holds",
                 f"{'TITLES':>8} {'UNIQUE':>8} {'SHARE':>6}  MEMBER"]
        lines += [f"{r['titles']:>8,} {r['unique']:>8,} {r['unique'] / r['titles'] if r['titles'] else 0:>6.0%}"
                  f"  {who(r['member'])}" for r in rows]
    elif name == "copies":
        lines = [f"titles with more than {minimum} copies consortium-wide ({len(rows):,})",
                 f"{'COPIES':>6}  {'MASTER':<14} TITLE / COPIES PER MEMBER"]
        for r in rows:
            lines.append(f"{r['copies']:>6,}  {r['master']:<14} {fit(r['title'], 60)}".rstrip())
            lines.append(f"{'':>22} " + ", ".join(f"{m} {n}" for m, n in r["members"].items()))
    else:
        lines = [f"codes used by more than one member ({len(rows):,})", f"{'KIND':<8} {'CODE':<24} MEMBERS"]
        lines += [f"{r['kind']:<8} {r['code']:<24} {', '.join(r['members'])}" for r in rows]
    if len(lines) == 2:
        lines.append("  (none)")
    return "\n".join(lines)


def format_live(result: dict[str, Any]) -> str:
    """Return a federated search: each target's answer, then the merged records and their sources."""
    lines = [f"{result['total']:,} in the union catalogue; {result['merged']:,} records merged in "
             f"{result['elapsed_ms']:,} ms"]
    for t in result["targets"]:
        lines.append(f"  {t['id']:<12} {t['status']:<8} {t['hits']:>8,} hits {t['ms']:>6,} ms"
                     + (f"  {t['error'][:100]}" if t.get("error") else ""))
    for i, r in enumerate(result["records"], 1):
        lines.append(f"{i:>3}. {fit(r['title'], 60).rstrip()}  {r['author'] or ''} {r['year'] or ''}".rstrip())
        ids = r["records"]
        lines.append("     " + ", ".join(f"{source} {ids[source]}" for source in r["sources"]))
    return "\n".join(lines)
