"""Work out a record's character set and decode its fields.

The rule, in order (README "Character sets" repeats it):

* a source's ``encoding`` setting other than ``auto`` wins;
* MARC 21: leader/09 ``a`` means UTF-8 and blank means MARC-8, but the flag is
  checked against the bytes: data that is valid multibyte UTF-8 and has no MARC-8
  escape is UTF-8 whatever the flag says; "UTF-8" data that is not valid UTF-8 and
  has no valid multibyte sequence is MARC-8; runs of high bytes with no escape are
  single-byte Cyrillic (cp1251), a common mislabelling;
* UNIMARC and CNMARC: 100$a/26-29 declares the set, but real servers declare it
  wrongly (Beijing Normal University's Alma says ``0120`` over UTF-8), so valid
  UTF-8 is UTF-8; otherwise CNMARC is GB18030, UNIMARC declaring ``50`` is UTF-8,
  high-byte runs are cp1251, and anything else is read as Latin-1 with a note
  asking for an ``encoding`` setting.

Every guess that overrides what the record declares leaves a note on the record.
"""
from __future__ import annotations

import io
import re
import sys
from functools import lru_cache

import pymarc.marc8
from pymarc.marc8 import MARC8ToUnicode


MARC8 = "marc-8"
UTF8 = "utf-8"
# Character sets whose decoding of a whole field equals that of its subfields one by one
# (the subfield delimiter is never part of a character), so a field is decoded at once.
STATELESS = frozenset({UTF8})
# UTF-8 that was encoded to UTF-8 a second time ("mÃ¼himme" for "mühimme"): Sudoc
# exports carry it.  Decoded as UTF-8, then each damaged run is repaired.
UTF8_DOUBLE = "utf-8-double-encoded"
_DOUBLE = re.compile(rb"\xc3[\x82-\x9f]\xc2[\x80-\xbf]|\xc3[\xa0-\xaf](?:\xc2[\x80-\xbf]){2}")
_MULTI = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_DAMAGED_RUN = re.compile("[\u00c2-\u00ef][\u0080-\u00bf]+")
_HIGH = re.compile(rb"[\x80-\xff]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")


def detect(raw: bytes, leader: str, fmt: str, field100: bytes | None = None,
           override: str = "auto") -> tuple[str, tuple[str, ...]]:
    """Return (charset, notes) for one ISO 2709 record."""
    if override != "auto":
        return override, ()
    if fmt == "marc21":
        charset, notes = _detect_marc21(raw, leader)
    else:
        charset, notes = _detect_unimarc(raw, fmt, field100)
    if charset == UTF8 and _is_double_encoded(raw):
        return UTF8_DOUBLE, notes + ("UTF-8 encoded twice: repaired",)
    return charset, notes


def _is_double_encoded(raw: bytes) -> bool:
    doubles = len(_DOUBLE.findall(raw))
    return doubles > 0 and 2 * doubles >= len(_MULTI.findall(raw)) // 2


def _utf8_state(raw: bytes) -> tuple[bool, bool]:
    """Return (is valid UTF-8, has any multibyte sequence)."""
    if not _HIGH.search(raw):
        return True, False
    try:
        raw.decode("utf-8")
        return True, True
    except UnicodeDecodeError:
        return False, _valid_multibyte(raw)


def _valid_multibyte(raw: bytes) -> bool:
    text = raw.decode("utf-8", "replace")
    return any(ord(c) > 0x7F and c != "\ufffd" for c in text)


def _looks_cp1251(raw: bytes) -> bool:
    if b"\x1b" in raw:
        return False
    high = len(_HIGH.findall(raw))
    in_runs = sum(len(m) for m in _HIGH_RUN.findall(raw))
    return high >= 4 and in_runs / high > 0.6


def _detect_marc21(raw: bytes, leader: str) -> tuple[str, tuple[str, ...]]:
    valid, multibyte = _utf8_state(raw)
    says_utf8 = leader[9:10] == "a"
    if not multibyte and valid:
        return (UTF8 if says_utf8 else MARC8), ()
    if valid and b"\x1b" not in raw:
        note = () if says_utf8 else ("leader/09 is blank (MARC-8) but the data is UTF-8: read as UTF-8",)
        return UTF8, note
    if says_utf8 and multibyte:
        return UTF8, ("invalid UTF-8 sequences replaced by U+FFFD",)
    if _looks_cp1251(raw):
        return "cp1251", ("data is neither UTF-8 nor MARC-8: read as cp1251 Cyrillic",)
    if says_utf8:
        return MARC8, ("leader/09 says UTF-8 but the data is MARC-8: read as MARC-8",)
    return MARC8, ()


def declared_unimarc_charset(field100: bytes | None) -> str:
    """Return 100$a/26-29 (the declared character sets), or '' if absent."""
    if not field100:
        return ""
    for sub in field100.split(b"\x1f")[1:]:
        if sub[:1] == b"a":
            return sub[1:][26:30].decode("latin-1")
    return ""


def _detect_unimarc(raw: bytes, fmt: str, field100: bytes | None) -> tuple[str, tuple[str, ...]]:
    declared = declared_unimarc_charset(field100)
    valid, multibyte = _utf8_state(raw)
    if valid:
        if multibyte and declared[:2] != "50":
            return UTF8, (f"100$a/26-29 declares {declared!r} but the data is UTF-8: read as UTF-8",)
        return UTF8, ()
    if fmt == "cnmarc":
        try:
            raw.decode("gb18030")
            return "gb18030", ()
        except UnicodeDecodeError:
            return "gb18030", ("invalid GB18030 sequences replaced by U+FFFD",)
    if declared[:2] == "50":
        return UTF8, ("invalid UTF-8 sequences replaced by U+FFFD",)
    if _looks_cp1251(raw):
        return "cp1251", (f"100$a/26-29 declares {declared!r}; data read as cp1251 Cyrillic",)
    return "latin-1", (f"character set {declared!r} not supported: read as Latin-1; "
                       "set the source's encoding",)


class _Sink(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


class _QuietSys:
    """What ``pymarc.marc8`` sees as ``sys``: the real one, with a stderr that drops
    pymarc's complaints about cut multibyte sequences (it writes them even when quiet,
    and they would garble a progress bar).  Set once at import, never swapped per call,
    so it is safe under threads (``contextlib.redirect_stderr`` swapped ``sys.stderr``
    for the whole process, under every other thread)."""

    stderr = _Sink()

    def __getattr__(self, name: str) -> object:
        return getattr(sys, name)


setattr(pymarc.marc8, "sys", _QuietSys())


class Decoder:
    """Decode field bytes in one character set; MARC-8 state starts afresh at every call.

    Shared between threads (the servers decode stored records in many): a decoder
    keeps no state between calls; each MARC-8 call has a converter of its own."""

    def __init__(self, charset: str) -> None:
        self.charset = charset

    def __call__(self, data: bytes) -> str:
        """Decode one subfield or control field."""
        if self.charset == UTF8_DOUBLE:
            return _DAMAGED_RUN.sub(_repair_run, data.decode(UTF8, "replace"))
        if self.charset != MARC8:
            return data.decode(self.charset, "replace")
        if not _HIGH.search(data) and b"\x1b" not in data:
            return data.decode("ascii")
        try:
            return str(MARC8ToUnicode(quiet=True).translate(data))
        except (IndexError, TypeError, KeyError, ValueError):
            # A broken escape or a cut multibyte sequence: keep what ASCII we can.
            return data.decode("ascii", "replace")


def _repair_run(match: re.Match[str]) -> str:
    try:
        return match.group().encode("latin-1").decode(UTF8)
    except UnicodeError:
        return match.group()


@lru_cache(maxsize=16)
def decoder(charset: str) -> Decoder:
    """Return a shared decoder for a character set."""
    return Decoder(charset)
