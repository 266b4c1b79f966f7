"""Normalisation for matching: text folding, identifiers, numbers, editions, volumes.

Word lists and code maps are data files in ``data/`` (leading articles, edition
words and ordinals, known bad identifiers), not code.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from unioncat.text import fold, has_cjk

__all__ = ["fold", "has_cjk"]  # re-exported: dedup's callers fold through here
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"^(m{0,3})(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def _data(name: str) -> str:
    return resources.files("unioncat.dedup").joinpath(f"data/{name}").read_text("utf-8")


@lru_cache(maxsize=1)
def articles() -> tuple[str, ...]:
    """Return the leading articles, longest first."""
    words = [w.strip() for w in _data("articles.txt").splitlines() if w.strip() and not w.startswith("#")]
    return tuple(sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def editions() -> tuple[frozenset[str], dict[str, int]]:
    """Return (words meaning "edition", ordinal words -> number)."""
    data = tomllib.loads(_data("editions.toml"))
    return frozenset(data["edition_words"]), dict(data["ordinals"])


@lru_cache(maxsize=1)
def bad_identifiers() -> frozenset[str]:
    """Return the identifiers that are never trusted."""
    return frozenset(w.strip() for w in _data("bad_identifiers.txt").splitlines()
                     if w.strip() and not w.startswith("#"))


def drop_article(folded: str, nonfiling: int = 0, original: str = "") -> str:
    """Drop a leading article: by the non-filing count when given, else by the word list."""
    if nonfiling and original:
        return fold(original[nonfiling:])
    first, _, rest = folded.partition(" ")
    # Folding turned l'amour into "l amour": an elided article is a word of its own.
    if rest and first in _article_words():
        return rest
    return folded


@lru_cache(maxsize=1)
def _article_words() -> frozenset[str]:
    return frozenset(a.rstrip("'") for a in articles())


def compact(folded: str) -> str:
    """Remove spaces between CJK characters (catalogues space Chinese words inconsistently)."""
    return re.sub(r"(?<=[\u3040-\u9fff]) (?=[\u3040-\u9fff])", "", folded)


# numbers ---------------------------------------------------------------------------
def roman(text: str) -> int | None:
    """Return the value of a Roman numeral, or None."""
    text = text.lower()
    if not text or not _ROMAN.match(text):
        return None
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    total = 0
    for a, b in zip(text, text[1:] + " "):
        total += -values[a] if b != " " and values[a] < values[b] else values[a]
    return total


def chinese_number(text: str) -> int | None:
    """Return the value of a Chinese numeral (第二十三 -> 23), or None."""
    text = text.strip("第卷册冊部分辑輯版編编")
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        else:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
    return total + current


def number_in(text: str) -> int | None:
    """Return the first number in a volume or part designation: 3, iii, 第三, 三."""
    found = _DIGITS.search(text)
    if found:
        return int(found.group())
    for word in fold(text).split():
        value = roman(word) or chinese_number(word)
        if value:
            return value
    cn = re.search(r"[零〇一二两三四五六七八九十百千]+", text)
    return chinese_number(cn.group()) if cn else None


def volume_key(text: str) -> str:
    """Return a comparable volume/part designation: its number, else its folded words."""
    if not text.strip():
        return ""
    value = number_in(text)
    return str(value) if value is not None else fold(text)


def edition_number(text: str) -> int | None:
    """Return the edition number a statement gives (1 for an unnumbered "new" one is None)."""
    if not text.strip():
        return None
    words, ordinals = editions()
    folded = fold(text)
    numbers = [int(n) for n in _DIGITS.findall(folded) if int(n) < 500]  # not "1998 ed."
    if numbers:
        return numbers[0]
    for word in folded.split():
        if word in ordinals and ordinals[word]:
            return ordinals[word]
        value = chinese_number(word) or chinese_number(word.rstrip("版"))
        if value:
            return value
    cn = re.search(r"第?([零〇一二两三四五六七八九十]+)版", text)
    if cn:
        return chinese_number(cn.group(1))
    return None


def year_in(text: str) -> int | None:
    """Return a plausible four-digit year in text (1450-2099)."""
    for found in re.finditer(r"(1[4-9]\d\d|20\d\d)", text or ""):
        return int(found.group(1))
    return None


def pages_in(text: str) -> int | None:
    """Return the largest page count in an extent statement (300 $a, 215 $a)."""
    counts = [int(m.group(1)) for m in re.finditer(r"(\d+)\s*(?:p\b|pp|pages|s\.|页|頁|с\.)", text or "")]
    return max(counts) if counts else None


# identifiers (ISBN and ISSN in unioncat.identifiers, below the index too) -------------
def lccn(raw: str) -> str | None:
    """Return a normalised LCCN (prefix and serial, no spaces or hyphens)."""
    text = raw.strip().split("/")[0].replace(" ", "")
    if "-" in text:
        head, _, serial = text.partition("-")
        text = head + serial.zfill(6)
    return text.lower() or None


def system_number(raw: str) -> str | None:
    """Return a 035 system number with its prefix, (OCoLC) numbers without ocm/ocn."""
    found = re.match(r"\s*\(([^)]+)\)\s*(.+)", raw)
    if not found:
        return None
    prefix, number = found.group(1).strip(), found.group(2).strip()
    if prefix.upper() == "OCOLC":
        number = re.sub(r"^(ocm|ocn|on)", "", number).lstrip("0")
        prefix = "OCoLC"
    return f"({prefix}){number}" if number else None
