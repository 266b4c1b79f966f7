"""One declarative mapping from MARC 21 and UNIMARC/CNMARC records to DedupRecords.

Each entry is a spec string ``"245ab"`` (tag, then subfield codes), several joined
with spaces: the values of every such field, in record order.
"""
from __future__ import annotations

import re

from unioncat.dedup.normalize import (bad_identifiers, compact, drop_article, edition_number, fold,
                                      lccn, pages_in, system_number, volume_key, year_in)
from unioncat.identifiers import isbn13, issn
from unioncat.marc.fields import Subfields, record_fields
from unioncat.models import DedupRecord

MAPPINGS: dict[str, dict[str, str]] = {
    "marc21": {
        "title": "245a", "subtitle": "245b", "parts": "245np", "authors": "100a 110a 111a 700a 710a 711a",
        "isbn": "020a", "isbn_invalid": "020z", "issn": "022a", "lccn": "010a", "system": "035a",
        "edition": "250a", "year": "260c 264c", "publisher": "260b 264b", "pages": "300a",
        "series_number": "490v 440v 800v 830v", "linked": "880a", "host_part": "773g",
    },
    "unimarc": {
        "title": "200a", "subtitle": "200e", "parts": "200hi", "authors": "700a 701a 702a 710a 711a 712a",
        "isbn": "010a", "isbn_invalid": "010z", "issn": "011a", "lccn": "", "system": "035a",
        "edition": "205a", "year": "210d", "publisher": "210c", "pages": "215a",
        "series_number": "225v", "alt_title": "200A 510a 517a", "host_part": "463v",
        "alt_authors": "700A 701A 702A",
    },
}
MAPPINGS["cnmarc"] = MAPPINGS["unimarc"]
_SPEC = re.compile(r"^([0-9A-Za-z]{3})([0-9a-zA-Z]+)$")
_NON_SORT = re.compile("\x88.*?\x89|\x98.*?\x9c")


def _parse_spec(spec: str) -> list[tuple[str, str]]:
    out = []
    for part in spec.split():
        found = _SPEC.match(part)
        if not found:
            raise ValueError(f"bad field spec {part!r}")
        out.append((found.group(1), found.group(2)))
    return out


_PARSED = {fmt: {key: _parse_spec(spec) for key, spec in mapping.items()}
           for fmt, mapping in MAPPINGS.items()}
_TAGS = {fmt: {tag for specs in parsed.values() for tag, _ in specs} for fmt, parsed in _PARSED.items()}


def _values(fields: dict[str, list[tuple[str, Subfields]]], specs: list[tuple[str, str]]) -> list[str]:
    out = []
    for tag, codes in specs:
        for _, subs in fields.get(tag, []):
            text = " ".join(v for c, v in subs if c in codes and v.strip())
            if text:
                out.append(text)
    return out


def dedup_record(rid: str, source: str, fmt: str, raw: bytes, syntax: str, charset: str,
                 blocked: frozenset[str] = frozenset()) -> DedupRecord:
    """Extract and normalise what matching needs from one stored record."""
    mapping = _PARSED.get(fmt, _PARSED["marc21"])
    leader, controls, found = record_fields(raw, syntax, charset, _TAGS.get(fmt, _TAGS["marc21"]))
    fields: dict[str, list[tuple[str, Subfields]]] = {}
    for tag, ind, subs in found:
        fields.setdefault(tag, []).append((ind, subs))

    def get(key: str) -> list[str]:
        return _values(fields, mapping[key])

    title_tag = mapping["title"][0][0]
    raw_title = next(iter(get("title")), "")
    nonfiling = 0
    if fmt == "marc21" and fields.get(title_tag):
        ind2 = fields[title_tag][0][0][1:2]
        nonfiling = int(ind2) if ind2.isdigit() else 0
    raw_title = _NON_SORT.sub("", raw_title)
    title = compact(drop_article(fold(raw_title), nonfiling, raw_title))
    subtitle = compact(fold(" ".join(get("subtitle"))))
    isbns, bad = [], []
    bad_ids = bad_identifiers() | blocked
    for value in get("isbn"):
        code, valid = isbn13(value)
        if code and valid and code not in bad_ids:
            isbns.append(code)
        elif code:
            bad.append(code)
    for value in get("isbn_invalid"):
        code, _ = isbn13(value)
        if code:
            bad.append(code)
    year = None
    if fmt == "marc21":
        year = year_in(controls.get("008", "")[7:11])
    else:
        f100 = next((subs for _, subs in fields.get("100", [])), [])
        year = year_in(next((v for c, v in f100 if c == "a"), "")[9:13])
    if year is None:
        year = next((y for y in map(year_in, get("year")) if y), None)
    authors = _names(get("authors"))
    alt_titles: list[str] = []
    alt_authors: list[str] = []
    if "linked" in mapping:  # MARC 21 880: the vernacular of 245 and of the names
        for _, subs in fields.get("880", []):
            link = next((v for c, v in subs if c == "6"), "")
            value = next((v for c, v in subs if c == "a"), "")
            if link.startswith("245"):
                alt_titles.append(compact(drop_article(fold(value))))
            elif link[:3] in ("100", "110", "111", "700", "710", "711"):
                alt_authors.append(value)
    else:
        alt_titles = [compact(drop_article(fold(v))) for v in get("alt_title")]
        alt_authors = list(get("alt_authors"))
    return DedupRecord(
        id=rid, source=source, material=leader[6:8], title=title,
        title_full=(title + " " + subtitle).strip(), authors=authors,
        isbns=tuple(dict.fromkeys(isbns)), bad_isbns=tuple(dict.fromkeys(bad)),
        issns=tuple(dict.fromkeys(i for i in map(issn, get("issn")) if i)),
        lccn=next((n for n in map(lccn, get("lccn")) if n), ""),
        system_numbers=tuple(dict.fromkeys(n for n in map(system_number, get("system"))
                                           if n and n not in bad_ids)),
        year=year, edition=next((e for e in map(edition_number, get("edition")) if e), None),
        volume=" ".join(volume_key(v) for v in get("parts")),
        series_number=" ".join(dict.fromkeys(volume_key(v) for v in get("series_number"))),
        host_part=" ".join(re.findall(r"\d+", " ".join(get("host_part")))[:3]),
        pages=next((p for p in map(pages_in, get("pages")) if p), None),
        publisher=fold(" ".join(get("publisher")[:1])),
        completeness=_completeness(found, controls, raw_title),
        alt_titles=tuple(dict.fromkeys(t for t in alt_titles if t and t != title)),
        alt_authors=_names(alt_authors),
        # Every listed author, not just the first: copies list authors in different orders.
        author_keys=tuple(dict.fromkeys(k for k in (_surname(v) for v in
                                                    get("authors")[:5] + alt_authors[:5]) if k)))


def _surname(name: str) -> str:
    """Return the blocking form of a name: the part before the comma of an inverted name,
    else the last word; the first character of a CJK name."""
    name = _NON_SORT.sub("", name)
    folded = compact(fold(name.split(",")[0] if "," in name else name))
    if not folded:
        return ""
    from unioncat.dedup.normalize import has_cjk
    if has_cjk(folded):
        return folded[0]
    words = folded.split()
    return words[0] if "," in name else words[-1]


def _names(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for a in (compact(fold(_NON_SORT.sub("", v))) for v in values) if a))


def _completeness(found: list[tuple[str, str, Subfields]], controls: dict[str, str], title: str) -> float:
    """Score how complete a record is: fields and subfields, less for short or shouting records."""
    subfields = sum(len(subs) for _, _, subs in found)
    score = float(len(controls) + len(found) * 2 + subfields)
    letters = [c for c in title if c.isalpha()]
    if len(letters) > 8 and all(c.isupper() for c in letters):
        score *= 0.7  # all-capitals records are usually brief conversions
    if len(found) < 5:
        score *= 0.5
    return round(score, 2)
