"""Consortium reports: who holds what, and what collides.

A *title* is a master record (a cluster of the members' records of one edition); a member
*holds* a title when it has a live (not deleted) record in that cluster.  Copies are the
items of those records (an item's ``count`` included: a summary holding of three copies
counts three).  Collisions are the barcodes and holding (branch) codes as the members wrote
them, before the union put each member's name in front, that more than one member uses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from unioncat.marc.fields import all_fields
from unioncat.store import Store
from unioncat.text import strip_isbd

REPORTS = ("overlap", "unique", "copies", "collisions")

# (master, member) for every title a member holds
_TITLE = {"245": "abnp", "200": "aehi"}  # MARC 21, UNIMARC: title, rest of title, number and name of part


@dataclass(frozen=True)
class Overlap:
    a: str
    b: str
    titles: int


@dataclass(frozen=True)
class Unique:
    member: str
    titles: int
    unique: int


@dataclass(frozen=True)
class Copies:
    master: str
    title: str
    copies: int
    members: dict[str, int]


@dataclass(frozen=True)
class Collision:
    code: str
    kind: str  # "barcode" or "holding"
    members: list[str]


def overlap(store: Store, members: list[str]) -> list[Overlap]:
    """Return the titles held by both members of every pair (each pair once, ``a`` < ``b``,
    pairs that share nothing included), most shared first."""
    shared = store.shared_titles()
    names = sorted(set(members) | {m for pair in shared for m in pair})
    pairs = [Overlap(a, b, shared.get((a, b), 0)) for i, a in enumerate(names) for b in names[i + 1:]]
    return sorted(pairs, key=lambda p: (-p.titles, p.a, p.b))


def unique(store: Store, members: list[str]) -> list[Unique]:
    """Return per member the titles it holds and those no other member holds."""
    counts = store.unique_titles()
    return [Unique(m, *counts.get(m, (0, 0))) for m in sorted(set(members) | set(counts))]


def copies(store: Store, minimum: int) -> list[Copies]:
    """Return the titles with more than ``minimum`` copies consortium-wide, with each member's
    copies: candidates for a shared reserve; most copies first."""
    per: dict[str, dict[str, int]] = {}
    for master, member, n in store.copies_by_master():
        per.setdefault(master, {})[member] = n
    per = {master: by for master, by in per.items() if sum(by.values()) > minimum}
    titles = _titles(store, list(per))
    out = [Copies(master, titles.get(master, ""), sum(by.values()), dict(sorted(by.items())))
           for master, by in per.items()]
    return sorted(out, key=lambda c: (-c.copies, c.master))


def collisions(store: Store) -> list[Collision]:
    """Return the barcodes and holding (branch) codes that more than one member uses."""
    out = []
    for kind, column in (("barcode", "barcode"), ("holding", "branch")):
        for code, members in store.shared_codes(column):
            out.append(Collision(code, kind, members))
    return out


def _titles(store: Store, masters: list[str]) -> dict[str, str]:
    """Return the title of each master's most complete member."""
    best: dict[str, tuple[float, str]] = {}
    for master, rid, completeness in store.member_completeness(masters):
        if master not in best or completeness > best[master][0]:
            best[master] = (completeness, rid)
    records = store.get_many(rid for _, rid in best.values())
    out = {}
    for master, (_, rid) in best.items():
        stored = records.get(rid)
        if stored is not None:
            fields = all_fields(stored.raw, stored.syntax, stored.charset, set(_TITLE))[1]
            tag, title = next(((f[0], f[2]) for f in fields if f[0] in _TITLE and not isinstance(f[2], str)),
                              ("245", []))
            out[master] = strip_isbd(" ".join(v for code, v in title if code in _TITLE[tag]))
    return out


def report(store: Store, name: str, members: list[str], minimum: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Return a report as its JSON form: ``{name: [rows]}``."""
    rows: list[Any]
    if name == "overlap":
        rows = overlap(store, members)
    elif name == "unique":
        rows = unique(store, members)
    elif name == "copies":
        rows = copies(store, minimum)
    elif name == "collisions":
        rows = collisions(store)
    else:
        raise ValueError(f"no report {name!r}: one of {', '.join(REPORTS)}")
    return {name: [asdict(row) for row in rows]}
