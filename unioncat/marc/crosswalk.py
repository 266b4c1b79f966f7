"""UNIMARC / CNMARC bibliographic records as MARC 21, for clients that read only MARC 21.

The field mapping is data (``marc/data/unimarc_to_marc21.toml``); this module applies it,
and computes what the table cannot say: the leader, 008 from 100/101/102, 245's
indicators (1 when a 1XX was made; the non-filing characters UNIMARC marks with
NSB/NSE, U+0098/U+009C), and ISBD punctuation, which UNIMARC leaves out between
subfields and MARC 21 carries at the end of the preceding one (leader/18 ``i``).

    leader, fields = unimarc_to_marc21(leader, fields)   # fields as marc.fields gives them
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from unioncat.marc.fields import MarcField, Subfields

_NSB, _NSE = "\x98", "\x9c"
# leader/06 and /17 where UNIMARC's codes differ; 100 $a/8 (type of date) as 008/06
_TYPE = {"b": "t", "l": "m", "m": "o"}
_LEVEL = {"2": "8", "3": "7", "1": "1", " ": " "}
_DATE_TYPE = {"a": "c", "b": "d", "c": "u", "d": "s", "e": "r", "f": "q", "g": "m", "h": "t", "i": "p",
              "j": "e"}
# 102 $a (ISO 3166) as MARC country codes, for the consortium's common cases; others "xx "
_COUNTRY = {"CN": "cc ", "TW": "ch ", "HK": "cc ", "MO": "cc ", "US": "xxu", "GB": "xxk", "JP": "ja ",
            "KR": "ko ", "FR": "fr ", "DE": "gw ", "RU": "ru ", "IT": "it ", "ES": "sp ", "SG": "si "}
# UNIMARC relator codes ($4) as MARC's
_RELATORS = {"070": "aut", "340": "edt", "730": "trl", "440": "ill", "650": "pbl", "020": "ann",
             "080": "aui", "220": "com", "557": "orm", "695": "sad"}


@dataclass(frozen=True)
class Rule:
    """How one UNIMARC field becomes a MARC 21 field."""

    to: str
    ind1: str
    ind2: str
    map: dict[str, str]
    join: str = ""
    before: dict[str, str] = field(default_factory=dict)
    add: dict[str, str] = field(default_factory=dict)
    ind2_of: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def rules() -> dict[str, Rule]:
    """Return the crosswalk's rules by UNIMARC tag."""
    text = resources.files("unioncat.marc").joinpath("data/unimarc_to_marc21.toml").read_text("utf-8")
    out: dict[str, Rule] = {}
    for item in tomllib.loads(text)["field"]:
        rule = Rule(to=item["to"], ind1=item["ind1"], ind2=item["ind2"], map=item["map"],
                    join=item.get("join", ""), before=item.get("before", {}), add=item.get("add", {}),
                    ind2_of=item.get("ind2_of", {}))
        for tag in item["from"]:
            out[tag] = rule
    return out


def unimarc_to_marc21(leader: str, fields: list[MarcField]) -> tuple[str, list[MarcField]]:
    """Return a UNIMARC record's leader and fields as MARC 21."""
    table = rules()
    controls = {tag: value for tag, _, value in fields if isinstance(value, str)}
    coded = {tag: _first(value, "a") for tag, _, value in fields
             if tag in ("100", "101", "102") and not isinstance(value, str)}
    out: list[MarcField] = [(tag, "", controls[tag]) for tag in ("001", "005") if tag in controls]
    out.append(("008", "", _f008(coded.get("100", ""), coded.get("101", ""), coded.get("102", ""))))
    nonfiling = 0
    for tag, ind, value in fields:
        rule = table.get(tag)
        if rule is None or isinstance(value, str):
            continue
        if tag == "200":
            nonfiling = _nonfiling(value)
        subs = _subfields(rule, value)
        if subs:
            out.append((rule.to, _indicator(rule.ind1, ind, 0) + _indicator(rule.ind2_of.get(tag, rule.ind2), ind, 1),
                        subs))
    has_main = any(tag[0] == "1" for tag, _, _ in out)
    fixed: list[MarcField] = []
    for tag, ind, content in out:
        if tag == "245":
            ind = ("1" if has_main else "0") + str(min(nonfiling, 9))
        elif tag == "240" and not has_main:
            tag, ind = "130", "0 "  # a uniform title with no name is the main entry itself
        fixed.append((tag, ind, content))
    fixed.sort(key=lambda f: f[0])
    return _leader(leader), _one_040(fixed)


def _one_040(fields: list[MarcField]) -> list[MarcField]:
    """Merge the 040s that several 801s made: MARC 21 040 is not repeatable; the first agency
    catalogued ($a, transcribed as $c too), the later ones modified ($d)."""
    agencies = [v for tag, _, subs in fields if tag == "040" and not isinstance(subs, str) for _, v in subs]
    if len(agencies) < 2:
        return fields
    merged: Subfields = [("a", agencies[0]), ("c", agencies[0])]
    merged += [("d", a) for a in dict.fromkeys(agencies[1:]) if a != agencies[0]]
    out = [f for f in fields if f[0] != "040"]
    at = next((i for i, f in enumerate(out) if f[0] > "040"), len(out))
    out.insert(at, ("040", "  ", merged))
    return out


def _subfields(rule: Rule, value: Subfields) -> Subfields:
    subs: Subfields = []
    pending_b = ""
    for code, text in value:
        target = rule.map.get(code)
        text = text.replace(_NSB, "").replace(_NSE, "").strip()
        if target is None or not text:
            continue
        if rule.join == "a+b" and code == "b":
            pending_b = text
            continue
        if target == "4":  # a relator code; CNMARC often writes the term (主编) there: MARC's $e
            target, text = ("4", _RELATORS.get(text, text)) if text.isdigit() else ("e", text)
        subs.append((target, text))
    if pending_b:
        at = next((i for i, (c, _) in enumerate(subs) if c == "a"), None)
        if at is None:
            subs.insert(0, ("a", pending_b))
        else:
            subs[at] = ("a", f"{subs[at][1]}, {pending_b}")
    for i in range(1, len(subs)):
        mark = rule.before.get(subs[i][0], "")
        if mark and not subs[i - 1][1].endswith(mark.strip()):
            subs[i - 1] = (subs[i - 1][0], subs[i - 1][1] + mark.rstrip())
    subs.extend(rule.add.items())
    return subs


def _indicator(spec: str, ind: str, which: int) -> str:
    if spec in ("=1", "=2"):
        kept = ind[int(spec[1]) - 1: int(spec[1])] or " "
        return kept if kept.isalnum() else " "
    return spec[:1] or " "


def _nonfiling(value: Subfields) -> int:
    """Return the characters UNIMARC's 200 $a marks as not filed (between NSB and NSE)."""
    title = next((v for c, v in value if c == "a"), "")
    if title.startswith(_NSB) and _NSE in title:
        return len(title[1:title.index(_NSE)])
    return 0


def _first(value: Any, code: str) -> str:
    return next((v for c, v in value if c == code), "")


def _f008(f100: str, f101: str, f102: str) -> str:
    """Return MARC 21 008 from UNIMARC 100 $a (dates), 101 $a (language) and 102 $a (country)."""
    f100 = f100.ljust(36)
    entered = f100[2:8] if f100[:8].strip().isdigit() else "      "
    date_type = _DATE_TYPE.get(f100[8:9], "|")
    dates = "".join(c if c.isdigit() or c == "u" else " " for c in f100[9:17])
    country = _COUNTRY.get(f102.strip().upper()[:2], "xx ")
    language = (f101.strip().lower() + "   ")[:3] if f101.strip() else "   "
    return f"{entered}{date_type}{dates}{country}" + "|" * 17 + f"{language} d"


def _leader(leader: str) -> str:
    """Return a MARC 21 leader (lengths left to the encoder): type, level and encoding level
    mapped, Unicode (09 a), ISBD punctuation included (18 i)."""
    leader = leader.ljust(24)
    kind = _TYPE.get(leader[6], leader[6] if leader[6].isalpha() else "a")
    level = leader[7] if leader[7] in "abcdims" else "m"
    encoding = _LEVEL.get(leader[17], " ")
    return f"00000{leader[5] if leader[5] in 'acdnp' else 'n'}{kind}{level} a2200000{encoding}i 4500"
