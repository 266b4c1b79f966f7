"""Blocking keys: records are compared only when they share one.

Keys: every valid ISBN-13, ISSN, LCCN and 035 system number (with its prefix);
title-author keys: the first three words of the folded title (the first four
characters of a CJK title, in every script the record gives it) with the surname
of each of the first five authors (copies list authors in different orders); and
for longer titles (five words, or eight CJK characters) a title-only key of that
length, for copies whose authors are written too differently to share a surname; the
initials of the title's first eight words with each surname, for copies with a typo; the two
longest words with each surname, for copies that reorder the words.  A key shared by more
records than ``max_block`` is not used; such blocks are reported.
"""
from __future__ import annotations

from unioncat.dedup.normalize import has_cjk
from unioncat.models import DedupRecord


def title_key(title: str) -> str:
    """Return the short-title part of a key."""
    if not title:
        return ""
    if has_cjk(title):
        return title.replace(" ", "")[:4]
    return "_".join(title.split()[:3])


def blocking_keys(rec: DedupRecord) -> set[str]:
    """Return every blocking key of a record."""
    keys = {f"isbn:{i}" for i in rec.isbns}
    keys |= {f"issn:{i}" for i in rec.issns}
    keys |= {f"sys:{n}" for n in rec.system_numbers}
    if rec.lccn:
        keys.add(f"lccn:{rec.lccn}")
    authors = rec.author_keys or ("",)
    for title in {rec.title, *rec.alt_titles} - {""}:
        short = title_key(title)
        keys |= {f"ta:{short}|{author}" for author in authors}
        if has_cjk(title):
            if len(title.replace(" ", "")) >= 8:
                keys.add(f"t:{title.replace(' ', '')[:8]}")
            continue
        if len(title.split()) >= 5:
            keys.add("t:" + "_".join(title.split()[:5]))
        # The two longest words, in order of spelling: copies that reorder a title's words.
        longest = sorted(sorted(set(title.split()), key=lambda w: (-len(w), w))[:2])
        if len(longest) == 2 and len(longest[1]) >= 5:
            keys |= {f"tl:{longest[0]}_{longest[1]}|{author}" for author in authors}
    # The words' initials, of the title and of the title with its subtitle: copies with a typo
    # (a typo keeps a word's first letter), or that dropped the subtitle.
    for title in {rec.title, rec.title_full, *rec.alt_titles} - {""}:
        words = title.split()
        if not has_cjk(title) and len(words) >= (2 if rec.author_keys else 4):
            initials = "".join(w[0] for w in words[:8])
            keys |= {f"ti:{initials}|{author}" for author in authors}
    return keys
