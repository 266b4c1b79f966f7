"""MARCXML written as text: several times faster than an element per subfield, and what the
index keeps of each master record (its head: everything up to the union's holdings)."""
from __future__ import annotations

import re

from unioncat.marc.fields import MarcField

MARC_NS = "http://www.loc.gov/MARC21/slim"

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """Drop characters XML cannot carry (real records have stray control bytes)."""
    return _ILLEGAL.sub("", text)


SPECIAL = re.compile('[&<>"]')


def escape(text: str) -> str:
    """Return text with the characters XML gives a meaning escaped (for text and attributes)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def datafield(out: list[str], tag: str, ind: str, subs: list[tuple[str, str]]) -> None:
    """Append one data field's MARCXML to ``out``."""
    attrs = [tag, ind[:1] or " ", ind[1:2] or " "]  # tags, indicators and codes: almost always plain
    if SPECIAL.search("".join(attrs)):
        attrs = [escape(a) for a in attrs]
    out.append('<datafield tag="%s" ind1="%s" ind2="%s">' % tuple(attrs))
    out += ['<subfield code="%s">%s</subfield>' % (code if code.isalnum() else escape(code),
                                                   escape(value) if SPECIAL.search(value) else value)
            for code, value in subs if value]
    out.append("</datafield>")


def marcxml_head(leader: str, fields: list[MarcField], mode: str = "item", namespace: str = MARC_NS) -> str:
    """Return a record's MARCXML up to its holdings: the part that can be cached.

    Built as text: several times faster than an element per subfield.  Unless ``mode``
    is ``none`` the record's own 852 fields are left out (the union's replace them).
    """
    out = [f'<record xmlns="{namespace}"><leader>{escape(leader)}</leader>']
    for tag, ind, value in fields:
        if isinstance(value, str):
            out.append(f'<controlfield tag="{escape(tag)}">{escape(value)}</controlfield>')
        elif tag != "852" or mode == "none":
            datafield(out, tag, ind, value)
    return clean("".join(out))
