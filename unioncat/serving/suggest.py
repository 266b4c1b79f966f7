"""Other ways of writing a search that found nothing: the other Chinese script, and pinyin
(a romanised catalogue record has no Chinese characters to match)."""
from __future__ import annotations

from functools import lru_cache

import opencc

from unioncat.text import has_cjk


@lru_cache(maxsize=2)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def alternatives(text: str) -> list[tuple[str, str]]:
    """Return (kind, text) pairs: ``script`` (Traditional <-> Simplified) and ``pinyin``."""
    if not has_cjk(text):
        return []
    out = []
    simplified = _converter("t2s").convert(text)
    other = simplified if simplified != text else _converter("s2t").convert(text)
    if other != text:
        out.append(("script", other))
    from pypinyin import Style, lazy_pinyin  # imported on first use: 0.4 s

    reading = " ".join(" ".join(lazy_pinyin(simplified, style=Style.NORMAL, errors="default")).split())
    if reading and reading != text:
        out.append(("pinyin", reading))
    return out
