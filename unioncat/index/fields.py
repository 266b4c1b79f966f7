"""The declarative mapping from MARC 21 and UNIMARC/CNMARC records to index fields.

One line per index field, a spec string of ``tag`` + subfield codes, several
separated by spaces (``"245abnp 246a"``).  MARC 21 880 fields count as the field
their $6 links to, so vernacular titles and names are searchable as titles and names.
A master record's document is the union of its members' fields.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from unioncat.identifiers import isbn13, issn
from unioncat.index.analyzers import fold_cjk, pinyin_tokens, tokens
from unioncat.marc.fields import Subfields, record_fields
from unioncat.text import fold, has_cjk, strip_isbd

MAPPING: dict[str, dict[str, str]] = {
    "marc21": {
        "title": "245abfgknps 246abnp 240ak 130a 730a 740a",
        "author": "100abcdq 110ab 111acd 700abcdq 710ab 711acd",
        "subject": "600abcdtvxyz 610abtvxyz 611atvxyz 630avxyz 650abvxyz 651avxyz 655avxyz",
        "publisher": "260b 264b", "place": "260a 264a", "series": "490av 830anpv 440anpv",
        "notes": "500a 504a 505art 520a", "classification": "050ab 082a 084a",
        "isbn": "020az", "issn": "022ayz", "ids": "010a 035a 024a", "language": "041a",
        "date": "260c 264c", "topic": "600a 610a 611a 630a 650a 651a",
    },
    "unimarc": {
        "title": "200adehi 510a 517a 500a", "author": "700ab 701ab 702ab 710ab 711ab 712ab",
        "subject": "600a 601a 606axyz 607axyz 610a", "publisher": "210c", "place": "210a",
        "series": "225av 410t", "notes": "300a 330a", "classification": "675a 676a 686a 690a",
        "isbn": "010az", "issn": "011a", "ids": "035a", "language": "101a", "date": "210d",
        "topic": "600a 601a 606a 607a",
    },
}
MAPPING["cnmarc"] = MAPPING["unimarc"]
TEXT_FIELDS = ("title", "author", "subject", "publisher", "place", "series", "notes",
               "classification", "language")
_FIELD_SPECS = {fmt: [(name, [(part[:3], frozenset(part[3:])) for part in spec.split()]) for name, spec in m.items()]
                for fmt, m in MAPPING.items()}
_SPEC = {fmt: [(part[:3], part[3:]) for spec in m.values() for part in spec.split()]
         for fmt, m in MAPPING.items()}
# "any" searches the text of every data field 010-899, as Zebra's Any (BIB-1 1016) does.
_ALL_DATA = {f"{n:03d}" for n in range(10, 900)}
_TAGS = {fmt: _ALL_DATA | {tag for tag, _ in specs} for fmt, specs in _SPEC.items()}
_NOT_TEXT = set("0123456789")  # $6 linkage, $8 sequence, $0/$1 authority ids, $2 sources


@dataclass
class DocParts:
    """What one record contributes to its master's document."""

    text: dict[str, Sequence[str]] = field(default_factory=dict)  # field -> raw values
    year: int | None = None
    language: str = ""
    material: str = ""
    title: str = ""
    author: str = ""
    # The title and main entry in their own script where the record has them (MARC 21's 880
    # linked to 245 and 1XX), with ``title``/``author`` then the romanised form beside them.
    title_vernacular: str = ""
    author_vernacular: str = ""
    control_number: str = ""  # 001: searchable as a local number
    all_text: Sequence[str] = field(default_factory=list)  # every data field, for "any"


# What leader/06 (type of record) and /07 (bibliographic level) say, in words a reader uses:
# the format facet and dc.type (MARC 21, then where UNIMARC's codes differ).
_FORMATS = {"a": "book", "c": "score", "d": "score", "e": "map", "f": "map", "g": "video",
            "i": "audiobook", "j": "music recording", "k": "picture", "m": "computer file", "o": "kit",
            "p": "mixed material", "r": "object", "t": "manuscript"}
_UNIMARC_FORMATS = {**_FORMATS, "b": "manuscript", "l": "computer file", "m": "mixed material"}
_SERIAL_LEVELS = {"s": "journal", "i": "journal", "b": "article", "a": "article"}


def format_label(material: str, fmt: str = "marc21") -> str:
    """Return the word for a record's leader/06-07 ("am" -> "book", "as" -> "journal", "e" -> "map")."""
    kind, level = material[:1], material[1:2]
    table = _FORMATS if fmt == "marc21" else _UNIMARC_FORMATS
    if kind in ("a", "t") and level in _SERIAL_LEVELS and (fmt == "marc21" or kind == "a"):
        return _SERIAL_LEVELS[level]
    return table.get(kind, "other")


def record_parts(raw: bytes, syntax: str, charset: str, fmt: str) -> DocParts:
    """Read the indexed values of one stored record."""
    leader, controls, found = record_fields(raw, syntax, charset, _TAGS.get(fmt, _TAGS["marc21"]))
    by_tag: dict[str, list[Subfields]] = {}
    for tag, _, subs in found:
        if tag == "880":
            link = next((v for c, v in subs if c == "6"), "")[:3]
            if link:
                by_tag.setdefault(link, []).append(subs)
            continue
        by_tag.setdefault(tag, []).append(subs)
    parts = DocParts(material=leader[6:8])
    parts.all_text = [" ".join([v for c, v in subs if c not in _NOT_TEXT and v.strip()])
                      for tag, _, subs in found]
    parts.control_number = controls.get("001", "").strip()
    for name, spec in _FIELD_SPECS.get(fmt, _FIELD_SPECS["marc21"]):
        values = []
        for tag, codes in spec:
            for subs in by_tag.get(tag, ()):
                text = " ".join([v for c, v in subs if c in codes and v.strip()])
                if text:
                    values.append(text)
        parts.text[name] = values
    if fmt == "marc21":
        f008 = controls.get("008", "")
        parts.year = _year(f008[7:11]) or _year(" ".join(parts.text["date"]))
        parts.language = f008[35:38].strip() or next(iter(parts.text["language"]), "")
    else:
        f100 = next((v for subs in by_tag.get("100", []) for c, v in subs if c == "a"), "")
        parts.year = _year(f100[9:13]) or _year(" ".join(parts.text["date"]))
        parts.language = next(iter(parts.text["language"]), "")
    parts.title = next(iter(parts.text["title"]), "")
    parts.author = next(iter(parts.text["author"]), "")
    if fmt == "marc21":
        parts.title_vernacular = _linked(found, ("245",), "abnp")
        parts.author_vernacular = _linked(found, ("100", "110", "111"), "abcdnpq")
    return parts


def frozen(parts: DocParts) -> DocParts:
    """Return parts with tuples for lists: a server keeps thousands in its cache, and tuples of
    strings are left alone by Python's garbage collector (lists made each full collection of a
    200,000-record server's cache take up to 360 ms)."""
    return replace(parts, text={k: tuple(v) for k, v in parts.text.items()}, all_text=tuple(parts.all_text))


def _linked(found: list[tuple[str, str, Subfields]], tags: tuple[str, ...], codes: str) -> str:
    """Return the 880 linked ($6) to the first of tags, its subfields in codes joined."""
    for tag, _, subs in found:
        if tag == "880" and next((v for c, v in subs if c == "6"), "")[:3] in tags:
            return " ".join(v.strip() for c, v in subs if c in codes and v.strip())
    return ""


def _year(text: str) -> int | None:
    found = re.search(r"(1[4-9]\d\d|20\d\d)", text or "")
    return int(found.group(1)) if found else None


def identifier_tokens(parts: DocParts) -> dict[str, list[str]]:
    """Return ISBN (both forms), ISSN and other id tokens."""
    isbns: list[str] = []
    for value in parts.text.get("isbn", []):
        code, _ = isbn13(value)
        if code:
            isbns.append(code)
            if code.startswith("978"):
                core = code[3:12]
                check = sum((10 - i) * int(c) for i, c in enumerate(core)) % 11
                isbns.append(core + ("X" if (11 - check) % 11 == 10 else str((11 - check) % 11)))
    issns = [i.replace("-", "") for i in (issn(v) for v in parts.text.get("issn", [])) if i]
    ids = [t for v in parts.text.get("ids", []) for t in fold(v).split()]
    if parts.control_number:
        ids.append(fold(parts.control_number).replace(" ", ""))
    return {"isbn": isbns, "issn": issns, "ids": ids}


HEADINGS = {"title": "title_heading", "author": "author_heading", "subject": "subject_heading"}
HEADING_SEP = "\x1f"  # between a heading's folded form (sorted, matched) and its form as catalogued


def heading_terms(members: list[DocParts], folded: Callable[[str], str] = fold_cjk) -> dict[str, list[str]]:
    """Return the browse headings of a master record per heading field: each whole title, name
    and subject as ``folded<US>as catalogued``, one form per folded heading (so Traditional and
    Simplified, or two cases, of one heading count the record once)."""
    out: dict[str, list[str]] = {}
    for source, target in HEADINGS.items():
        seen: dict[str, str] = {}
        for part in members:
            for value in part.text.get(source, []):
                shown = strip_isbd(" ".join(value.split()))[:180]
                key = folded(shown)  # sorted and matched by this; shown as catalogued
                if key and key not in seen:
                    seen[key] = shown
        out[target] = [f"{key}{HEADING_SEP}{shown}" for key, shown in seen.items()]
    return out


def document_fields(members: list[DocParts]) -> dict[str, list[str]]:
    """Return the token lists of a master document from its members' parts.

    A master's members share most of their text, and one value is a title, a heading and part
    of "any" at once: each distinct text is folded and tokenised once per document."""
    analysed: dict[str, list[str]] = {}
    folds: dict[str, str] = {}

    def toks(value: str) -> list[str]:
        found = analysed.get(value)
        if found is None:
            found = analysed[value] = tokens(value)
        return found

    def folded(value: str) -> str:
        found = folds.get(value)
        if found is None:
            found = folds[value] = fold_cjk(value)
        return found

    fields: dict[str, list[str]] = {}
    for name in TEXT_FIELDS:
        fields[name] = [tok for part in members for value in part.text.get(name, []) for tok in toks(value)]
    for part in members:
        for name, values in identifier_tokens(part).items():
            fields.setdefault(name, []).extend(values)
    cjk = [v for part in members for name in ("title", "author") for v in part.text.get(name, [])
           if has_cjk(v)]
    fields["pinyin"] = [tok for value in cjk for tok in pinyin_tokens(value)]
    fields["any"] = [tok for part in members for value in part.all_text for tok in toks(value)]
    fields.update(heading_terms(members, folded))
    fields["topic"] = topics(members, folded)
    return fields


MAX_TOPICS = 12


def topics(members: list[DocParts], folded: Callable[[str], str] = fold_cjk) -> list[str]:
    """Return the main subject terms (6XX $a) as catalogued, for the subject facet: one form per
    folded term, at most ``MAX_TOPICS``."""
    seen: dict[str, str] = {}
    for part in members:
        for value in part.text.get("topic", []):
            shown = strip_isbd(" ".join(value.split()))[:120]
            key = folded(shown)
            if key and key not in seen and len(seen) < MAX_TOPICS:
                seen[key] = shown
    return list(seen.values())
