"""When each master record last changed, as downstream harvesters see it (OAI-PMH).

A master's datestamp is the last time its record or its membership changed: its members'
ids and content hashes (holdings in the records included, availability not) make its
signature, and the index run that writes a master with a new signature stamps it now.  A
master that lost its last member, or was merged into another, stays as a deleted record
(persistent) with the time it went.  Sets: ``member:CODE`` for every member holding a copy,
``type:WORD`` for the kind of record (book, serial, map ...).  ``master_sets`` keeps one row
per set and master at its datestamp, so a selective harvest reads one index range.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Iterable

from unioncat.store import Store
from unioncat.store.stamps import Published, Stamp

__all__ = ["Published", "Stamp", "TYPE_SETS", "record", "sets_of", "signature", "stamp_now"]

TYPE_SETS = {"journal": "serial"}  # format words whose set has the name librarians use


def stamp_now() -> str:
    """Return now at the granularity of OAI-PMH datestamps (seconds, UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(members: Iterable[tuple[str, bytes]]) -> str:
    """Return the signature of a master from its members' (record id, content hash)."""
    digest = hashlib.blake2b(digest_size=12)
    for rid, content in sorted(members):
        digest.update(rid.encode("utf-8") + b"\x1f" + bytes(content) + b"\x1e")
    return digest.hexdigest()


def sets_of(sources: Iterable[str], kind: str) -> tuple[str, ...]:
    """Return the set specs of a master: its holding members and its kind of record."""
    word = TYPE_SETS.get(kind, kind).replace(" ", "-")
    return tuple(sorted(f"member:{s}" for s in set(sources))) + ((f"type:{word}",) if word else ())


def record(store: Store, published: Iterable[Published], gone: list[str], everything: bool = False) -> int:
    """Stamp now the masters an index run wrote whose signature or sets changed, and the ones it
    removed (and, after a rebuild, ``everything``: every published master not written);
    return how many datestamps changed."""
    return store.stamp_published(published, gone, everything, stamp_now())
