"""Text folding shared by deduplication and the search index.

NFKC (full- and half-width forms), Traditional to Simplified Chinese (opencc),
case, diacritics, punctuation; HTML entities some harvested data carries.
"""
from __future__ import annotations

import codecs
import html
import re
import unicodedata
from functools import lru_cache

import opencc

CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK = re.compile(f"[{CJK_CLASS}]")
_NON_WORD = re.compile(f"[^\\w{CJK_CLASS}]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def has_cjk(text: str) -> bool:
    """Return True if text has Chinese, Japanese (kana included) or Korean characters."""
    return bool(_CJK.search(text))


def fold(text: str) -> str:
    """Fold for comparison and search: NFKC, Traditional to Simplified, case,
    diacritics, punctuation and ISBD marks, spaces."""
    if not text:
        return ""
    if "&" in text and ";" in text:
        text = html.unescape(text)  # harvested data carries HTML entities (J&#246;rg)
    if text.isascii():  # most Latin-script data: no width, script or diacritic folding to do
        return " ".join(_NON_WORD.sub(" ", text.lower().replace("_", " ")).split())
    text = unicodedata.normalize("NFKC", text)
    if has_cjk(text):
        text = _t2s().convert(text)
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NON_WORD.sub(" ", text.replace("_", " "))
    return " ".join(text.split())


_ISBD_TAIL = re.compile(r"[\s/:;,=+／：；，＝]+$|(?<=[^.\s]{3})\.$")


def strip_isbd(text: str) -> str:
    """Return text without the ISBD punctuation catalogues end an element with (" /", " :", ".")."""
    return _ISBD_TAIL.sub("", text)


def shown(vernacular: str, romanised: str) -> tuple[str, str]:
    """Return (the form to show, the romanised form beside it): a title or name in its own
    script where the record has one (880), else the romanised form alone; ISBD marks off."""
    vernacular, romanised = strip_isbd(vernacular or ""), strip_isbd(romanised or "")
    return (vernacular, romanised) if vernacular else (romanised, "")


def display_width(text: str) -> int:
    """Return the columns a terminal gives text: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def fit(text: str, width: int) -> str:
    """Cut text to at most width columns and pad it to exactly width (wide characters count two)."""
    out, used = [], 0
    for char in text:
        w = display_width(char)
        if used + w > width:
            break
        out.append(char)
        used += w
    return "".join(out) + " " * (width - used)


def canonical_encoding(name: str) -> str:
    """Return the canonical name of an encoding setting, or raise LookupError."""
    low = name.strip().lower().replace("_", "-")
    if low in ("auto", "marc-8", "marc8"):
        return "auto" if low == "auto" else "marc-8"
    return codecs.lookup(low).name.replace("_", "-")
