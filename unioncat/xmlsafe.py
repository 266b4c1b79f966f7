"""The one hardened XML parser configuration every unioncat module uses.

External entities are never resolved, no DTD is loaded, nothing is fetched from the
network and libxml2's "huge tree" limits stay on, so XXE and billion-laughs documents
cannot read files or exhaust memory.  Broken XML is an error, never silently repaired
(``recover=False``): a "repaired" OAI page loses its resumption token and ends a harvest
early without a word.
"""
from __future__ import annotations

import io
from typing import Any, BinaryIO, Iterator

from lxml import etree

SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "recover": False,
}

PARSER = etree.XMLParser(remove_blank_text=False, **SAFE_OPTIONS)


def fromstring(data: bytes) -> etree._Element:
    """Parse a complete XML document or fragment with the hardened parser."""
    return etree.fromstring(data, PARSER)


def iterparse(stream: BinaryIO | io.RawIOBase, **kwargs: Any) -> Iterator[tuple[str, etree._Element]]:
    """Stream-parse XML with the hardened settings."""
    return etree.iterparse(stream, **SAFE_OPTIONS, **kwargs)  # type: ignore[no-any-return]


def has_entity(elem: etree._Element) -> bool:
    """Return True if an unresolved entity reference sits anywhere under elem."""
    return next(elem.iter(etree.Entity), None) is not None
