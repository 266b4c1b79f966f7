"""Analysis, done once in Python so every engine indexes the same tokens.

* Latin and other spaced scripts: NFKC, case and diacritics folding (``Honoré`` and
  LoC's decomposed ``Honore`` + U+0301 give ``honore``), one token per word.
* CJK (kana included): Traditional folded to Simplified on index and query, then
  overlapping bigrams (a lone character is a unigram), so any substring of a title
  is a phrase of bigrams: ``紅樓夢`` and ``红楼梦`` both give ``红楼 楼梦``.
* Pinyin for Chinese titles and authors (pypinyin): every run of 1-4 syllables,
  written together, so ``hongloumeng`` and ``hong lou meng`` find 红楼梦.
"""
from __future__ import annotations

import re
from functools import lru_cache

from unioncat.text import CJK_CLASS, fold

_RUN = re.compile(f"[{CJK_CLASS}]+|[^\\s{CJK_CLASS}]+")
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
_CJK_SPACE = re.compile(f"(?<=[{CJK_CLASS}]) (?=[{CJK_CLASS}])")


def tokens(text: str) -> list[str]:
    """Return the index tokens of a text, in order (positions are list indexes)."""
    out: list[str] = []
    # Spaces inside CJK (LoC writes 金　庸, catalogues space words at will) mean nothing.
    for run in _RUN.findall(_CJK_SPACE.sub("", fold(text))):
        if _CJK_RUN.fullmatch(run):
            out.extend(bigrams(run))
        else:
            out.append(run)
    return out


def bigrams(run: str) -> list[str]:
    """Overlapping bigrams of a CJK run; a lone character stays a unigram."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


@lru_cache(maxsize=1)
def _pinyin():  # type: ignore[no-untyped-def]
    from pypinyin import Style, lazy_pinyin  # imported on first use: 0.4 s

    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors="ignore")


def pinyin_tokens(text: str) -> list[str]:
    """Return syllable runs (1 to 4 syllables, written together) of the Chinese in text."""
    out: list[str] = []
    for run in _CJK_RUN.findall(_CJK_SPACE.sub("", fold(text))):
        syllables = [s for s in _pinyin()(run) if s]
        for size in range(1, 5):
            out.extend("".join(syllables[i:i + size]) for i in range(len(syllables) - size + 1))
    return out


def query_pinyin(text: str) -> str:
    """Return a typed pinyin query as one token: ``Hong Lou Meng`` -> ``hongloumeng``."""
    return "".join(fold(text).split())
