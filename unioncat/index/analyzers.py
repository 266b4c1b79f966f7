"""Analysis, done once in Python so every engine indexes the same tokens.

* Latin and other spaced scripts: NFKC, case and diacritics folding (``Honoré`` and
  LoC's decomposed ``Honore`` + U+0301 give ``honore``), one token per word.
* CJK (kana included): Traditional folded to Simplified on index and query, then
  overlapping bigrams (a lone character is a unigram), so any substring of a title
  is a phrase of bigrams: ``紅樓夢`` and ``红楼梦`` both give ``红楼 楼梦``.
* Pinyin for Chinese titles and authors (pypinyin): every run of 1-4 syllables and
  each whole run of Chinese, written together, so ``hongloumeng``, ``hong lou meng`` and
  ``zhongguofazhanbaogao`` find their titles, and a query of two or more syllables also
  finds the titles it begins (``zhongguofa``).  A character with several common readings
  (重 zhong/chong, 长 chang/zhang, 行 xing/hang) is indexed under each of them.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

from unioncat.text import CJK_CLASS, fold

_RUN = re.compile(f"[{CJK_CLASS}]+|[^\\s{CJK_CLASS}]+")
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
_CJK_SPACE = re.compile(f"(?<=[{CJK_CLASS}]) (?=[{CJK_CLASS}])")


def fold_cjk(text: str) -> str:
    """Fold text (see unioncat.text.fold), dropping spaces between CJK characters: LoC writes
    金　庸, catalogues space Chinese words at will, and the spaces mean nothing."""
    folded = fold(text)
    return folded if folded.isascii() else _CJK_SPACE.sub("", folded)


def tokens(text: str) -> list[str]:
    """Return the index tokens of a text, in order (positions are list indexes)."""
    folded = fold_cjk(text)
    if folded.isascii():  # no CJK: the words are the tokens (most of a Latin-script catalogue)
        return folded.split()
    out: list[str] = []
    for run in _RUN.findall(folded):
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
    from pypinyin import Style, lazy_pinyin, pinyin  # imported on first use: 0.4 s

    def readings(run: str) -> list[list[str]]:
        """Per character: its reading in context first, then its other common readings."""
        context = lazy_pinyin(run, style=Style.NORMAL, errors="ignore")
        if len(context) != len(run):  # a character pypinyin does not know: context only
            return [[s] for s in context]
        out = []
        for char, first in zip(run, context):
            alone = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
            others = [r for r in (alone[0] if alone else []) if r and r != first]
            out.append([first, *others[:MAX_READINGS - 1]])
        return out

    return readings


MAX_READINGS = 2  # readings of one character that are indexed
MAX_VARIANTS = 16  # readings of one run of Chinese that are indexed


def pinyin_tokens(text: str) -> list[str]:
    """Return the pinyin tokens of the Chinese in text: runs of 1 to 4 syllables and each
    whole run, written together, in every reading of its polyphonic characters (capped)."""
    out: list[str] = []
    for run in _CJK_RUN.findall(fold_cjk(text)):
        for syllables in _variants(_pinyin()(run)):
            for size in range(1, 5):
                out.extend("".join(syllables[i:i + size]) for i in range(len(syllables) - size + 1))
            if len(syllables) > 4:
                out.append("".join(syllables))
    return list(dict.fromkeys(out))


def _variants(readings: list[list[str]]) -> list[list[str]]:
    """Return reading sequences of a run: the contextual one first, then every combination
    of common readings, or (past MAX_VARIANTS) each character's alternatives one at a time."""
    primary = [r[0] for r in readings]
    count = 1
    for options in readings:
        count *= len(options)
    if count <= MAX_VARIANTS:
        return [list(v) for v in itertools.product(*readings)]
    out = [primary]
    for i, options in enumerate(readings):
        for other in options[1:]:
            if len(out) < MAX_VARIANTS:
                out.append(primary[:i] + [other] + primary[i + 1:])
    return out


def query_pinyin(text: str) -> str:
    """Return a typed pinyin query as one token: ``Hong Lou Meng`` -> ``hongloumeng``."""
    return "".join(fold(text).split()).replace("ü", "v")


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Return every pinyin syllable without tones (``lv`` for lü), from pypinyin's dictionary."""
    from pypinyin.constants import PINYIN_DICT

    out = set()
    for readings in PINYIN_DICT.values():
        for reading in readings.split(","):
            plain = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
            out.add(plain.replace("u\u0308", "v").replace("ü", "v").lower())
    return frozenset(s for s in out if s.isascii() and s.isalpha())


def pinyin_syllable_count(joined: str) -> tuple[int, bool]:
    """Return how many syllables a run of letters splits into (fewest), and whether the last
    one is only the beginning of a syllable; (0, False) if it is not pinyin at all."""
    if not joined or not joined.isascii() or not joined.isalpha():
        return 0, False
    whole = pinyin_syllables()
    starts = _syllable_prefixes()
    n = len(joined)
    none = n + 1  # more syllables than letters: not reached
    best = [0] + [none] * n  # fewest whole syllables covering joined[:i]
    for i in range(n):
        if best[i] == none:
            continue
        for size in range(1, 7):
            if i + size <= n and joined[i:i + size] in whole:
                best[i + size] = min(best[i + size], best[i] + 1)
    if best[n] != none:
        return best[n], False
    # the last syllable typed only in part: "zhongg" is zhong + "g..."
    for i in range(n - 1, -1, -1):
        if best[i] != none and joined[i:] in starts:
            return best[i] + 1, True
    return 0, False


@lru_cache(maxsize=1)
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:k] for s in pinyin_syllables() for k in range(1, len(s) + 1))
