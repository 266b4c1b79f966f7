"""The comparator: an ordered list of vetoes, then evidence, every step with a reason.

Vetoes come first and nothing outvotes them, not even a shared ISBN (volumes of a
set and works that reuse an ISBN share one): a different material type, volume or
part, series number, edition, an ISSN conflict, years or page counts too far
apart, or authors that do not overlap; and two editions: a later edition on one side
only with ISBNs that differ, or, with no identifier in common, two different publishers
(compared in one script, without the company's legal form).  Then the title must be close (rapidfuzz on
folded strings; ``ratio`` on unspaced CJK, token methods for Latin script, every
title form against every other so a dropped subtitle or an 880 vernacular still
matches) and the evidence (identifiers, authors, publisher) must add up.

    decision = compare(a, b, MatchSettings())
    decision.matched, decision.score, decision.reasons
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from unioncat.dedup.normalize import has_cjk
from unioncat.models import DedupRecord, MatchDecision


@dataclass(frozen=True)
class MatchSettings:
    """Tolerances and thresholds of the comparator."""

    year_tolerance: int = 1
    pages_tolerance: float = 0.1  # fraction of the larger count, at least 10 pages
    title_threshold: float = 90.0  # title similarity needed without a shared identifier
    id_title_threshold: float = 60.0  # title similarity needed with a shared identifier
    within_source: frozenset[str] = frozenset()  # sources whose own duplicates may merge


def text_similarity(x: str, y: str) -> float:
    """Return 0-100: ratio for CJK, the better of ratio and token_sort_ratio otherwise."""
    if not x or not y:
        return 0.0
    if has_cjk(x) or has_cjk(y):
        return float(fuzz.ratio(x.replace(" ", ""), y.replace(" ", "")))
    return float(max(fuzz.ratio(x, y), fuzz.token_sort_ratio(x, y)))


def title_similarity(a: DedupRecord, b: DedupRecord) -> float:
    """Return the best similarity between any title form of a and any of b."""
    forms_a = {a.title, a.title_full, *a.alt_titles} - {""}
    forms_b = {b.title, b.title_full, *b.alt_titles} - {""}
    return max((text_similarity(x, y) for x in forms_a for y in forms_b), default=0.0)


def author_similarity(a: DedupRecord, b: DedupRecord) -> float | None:
    """Return the best similarity between any name of a and any of b; None if either has none."""
    names_a = set(a.authors) | set(a.alt_authors)
    names_b = set(b.authors) | set(b.alt_authors)
    if not names_a or not names_b:
        return None
    best = 0.0
    for x in names_a:
        for y in names_b:
            if has_cjk(x) or has_cjk(y):
                score = float(fuzz.ratio(x.replace(" ", ""), y.replace(" ", "")))
            else:
                score = float(max(fuzz.token_set_ratio(x, y), _initials_match(x, y)))
            best = max(best, score)
    return best


# A publisher's legal form and the words around a name that cataloguers add or leave out.
_PUBLISHER_NOISE = frozenset("""inc incorporated ltd limited co corp corporation company llc plc gmbh ag sa srl bv
    pub pubs publisher publishers publishing publications published by the and verlag editions editora editorial
    press""".split())
_CJK_NOISE = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")


def publisher_similarity(x: str, y: str) -> float | None:
    """Return 0-100 for two folded publisher names, without their legal forms (one name's
    words all in the other is 100); None when they are in different scripts (a romanised
    name against the vernacular one says nothing)."""
    if has_cjk(x) != has_cjk(y) or _latin(x) != _latin(y):
        return None
    if has_cjk(x):
        for noise in _CJK_NOISE:
            x, y = x.replace(noise, ""), y.replace(noise, "")
        x, y = x.replace(" ", ""), y.replace(" ", "")
        if x and y and (x in y or y in x):
            return 100.0
        return float(fuzz.ratio(x, y)) if x and y else None
    wx = [w for w in x.split() if w not in _PUBLISHER_NOISE]
    wy = [w for w in y.split() if w not in _PUBLISHER_NOISE]
    if not wx or not wy:
        return None
    if set(wx) <= set(wy) or set(wy) <= set(wx):
        return 100.0
    return text_similarity(" ".join(wx), " ".join(wy))


def _latin(text: str) -> bool:
    return all(ord(c) < 0x250 for c in text if c.isalpha())


def _shared_identifier(a: DedupRecord, b: DedupRecord) -> bool:
    return bool(set(a.isbns) & set(b.isbns) or (a.lccn and a.lccn == b.lccn)
                or set(a.system_numbers) & set(b.system_numbers) or set(a.issns) & set(b.issns))


def _initials_match(x: str, y: str) -> float:
    """Score "j smith" against "john smith": same surname, compatible initials."""
    wx, wy = x.split(), y.split()
    if not wx or not wy:
        return 0.0
    sx, sy = set(wx), set(wy)
    common = sx & sy
    if not common:
        return 0.0
    rest_x = [w[0] for w in wx if w not in common]
    rest_y = [w[0] for w in wy if w not in common]
    return 90.0 if set(rest_x) <= set(rest_y) or set(rest_y) <= set(rest_x) else 0.0


def _subtitle_only(a: DedupRecord, b: DedupRecord) -> bool:
    """Return True if one record's full title starts with the other's whole title."""
    x, y = sorted((a.title_full, b.title_full), key=len)
    return len(x.split()) >= 2 and y.startswith(x + " ")


def _short(title: str) -> bool:
    if has_cjk(title):
        return len(title.replace(" ", "")) <= 4
    return len(title.split()) <= 2


def compare(a: DedupRecord, b: DedupRecord, settings: MatchSettings | None = None) -> MatchDecision:
    """Decide whether a and b describe the same edition; explain every step."""
    s = settings or MatchSettings()
    reasons: list[str] = []

    def veto(why: str) -> MatchDecision:
        return MatchDecision(False, 0.0, tuple(reasons + [f"VETO {why}"]))

    if a.source == b.source and a.source not in s.within_source:
        return veto(f"same member {a.source} (dedup_within_source is off)")
    if a.material[:1] != b.material[:1] or (a.material[1:2] == "s") != (b.material[1:2] == "s"):
        return veto(f"material type {a.material!r} vs {b.material!r}")
    reasons.append(f"ok material type {a.material!r}")
    if a.issns and b.issns and not set(a.issns) & set(b.issns):
        return veto(f"ISSN {', '.join(a.issns)} vs {', '.join(b.issns)}")
    if a.volume != b.volume:
        return veto(f"volume or part {a.volume or 'none'!r} vs {b.volume or 'none'!r}")
    if a.volume:
        reasons.append(f"ok volume or part {a.volume!r}")
    if a.host_part and b.host_part and a.host_part != b.host_part:
        return veto(f"place in the host item (volume, issue, page) {a.host_part!r} vs {b.host_part!r}")
    if a.series_number and b.series_number and a.series_number != b.series_number:
        return veto(f"series number {a.series_number!r} vs {b.series_number!r}")
    if a.edition and b.edition and a.edition != b.edition:
        return veto(f"edition {a.edition} vs {b.edition}")
    if bool(a.edition and a.edition > 1) != bool(b.edition and b.edition > 1) and a.isbns and b.isbns \
            and not set(a.isbns) & set(b.isbns):
        return veto(f"edition {a.edition or 'none'} vs {b.edition or 'none'} with other ISBNs "
                    f"{a.isbns[0]} vs {b.isbns[0]}")
    if a.year and b.year and abs(a.year - b.year) > s.year_tolerance:
        return veto(f"year {a.year} vs {b.year} (tolerance {s.year_tolerance})")
    if a.pages and b.pages:
        limit = max(10.0, s.pages_tolerance * max(a.pages, b.pages))
        if abs(a.pages - b.pages) > limit:
            return veto(f"pages {a.pages} vs {b.pages} (tolerance {limit:.0f})")
    if a.publisher and b.publisher and not _shared_identifier(a, b):
        publisher = publisher_similarity(a.publisher, b.publisher)
        if publisher is not None and publisher < 50:
            return veto(f"publisher {a.publisher!r} vs {b.publisher!r} (similarity {publisher:.0f}), "
                        "no identifier in common")
    authors = author_similarity(a, b)
    if authors is not None and authors < 60:
        return veto(f"authors differ (similarity {authors:.0f}): {a.authors[:2]} vs {b.authors[:2]}")
    return _evidence(a, b, s, reasons, authors)


def _evidence(a: DedupRecord, b: DedupRecord, s: MatchSettings, reasons: list[str],
              authors: float | None) -> MatchDecision:
    title = title_similarity(a, b)
    reasons.append(f"{'ok' if title >= s.title_threshold else '??'} title similarity {title:.0f}")
    score = title
    shared = sorted(set(a.isbns) & set(b.isbns))
    ids = [f"ISBN {i}" for i in shared]
    if a.lccn and a.lccn == b.lccn:
        ids.append(f"LCCN {a.lccn}")
    ids += [f"035 {n}" for n in sorted(set(a.system_numbers) & set(b.system_numbers))]
    ids += [f"ISSN {n}" for n in sorted(set(a.issns) & set(b.issns))]
    if ids:
        score += 10
        reasons.append(f"++ shared identifier: {', '.join(ids)}")
    elif a.isbns and b.isbns:
        score -= 5
        reasons.append(f"-- different ISBNs {a.isbns[:2]} vs {b.isbns[:2]}")
    if authors is None:
        reasons.append("?? author on one side only" if (a.authors or b.authors) else "?? no authors")
    else:
        score += 5 if authors >= 80 else 0
        reasons.append(f"{'ok' if authors >= 80 else '??'} author similarity {authors:.0f}")
    if a.publisher and b.publisher:
        pub = text_similarity(a.publisher, b.publisher)
        score += 3 if pub >= 80 else 0
        reasons.append(f"{'ok' if pub >= 80 else '??'} publisher similarity {pub:.0f}")
    if bool(a.edition and a.edition > 1) != bool(b.edition and b.edition > 1):
        score -= 5
        reasons.append(f"-- edition {a.edition or 'none'} vs {b.edition or 'none'}")
    if a.year and b.year:
        reasons.append(f"ok year {a.year} vs {b.year}")
    needed = s.id_title_threshold if ids else s.title_threshold
    if title < needed and authors is not None and authors >= 90 and _subtitle_only(a, b):
        # One title is the other plus a subtitle (dropped by one cataloguer), by the same authors.
        reasons.append("ok one title is the other with a subtitle, same authors")
        title = needed
        score = max(score, needed + 5 + (10 if ids else 0))
    generic = _short(a.title) and not ids and not (authors and authors >= 80)
    matched = title >= needed and score >= 90 and not generic
    if generic and title >= needed:
        reasons.append("-- short title without a shared identifier or author: not enough")
    return MatchDecision(matched, round(score, 1), tuple(reasons))
