"""``Store``: the one interface every stage and face uses, whichever back end holds it."""
from __future__ import annotations

from typing import Callable

from unioncat.models import SourceRecord
from unioncat.store.dedup import DedupStore
from unioncat.store.holdings import HoldingsStore
from unioncat.store.staff import StaffStore
from unioncat.store.stamps import StampStore


class Store(DedupStore, HoldingsStore, StampStore, StaffStore):
    """The record store: what every stage and face reads and writes, whichever back end.

    ``open_store(location)`` opens one: a path is the embedded SQLite store, a
    ``postgresql://`` URL the shared PostgreSQL one.  Without ``readonly`` it is a writer's
    (the nightly run, imports, feeds, staff actions): it creates or upgrades the schema on
    opening, and only then writes.  A ``readonly`` store is a server's: it never writes, so it
    never waits on the nightly writer (it reads the last committed state)."""


# Called inside a batch's transaction with the records whose content changed and the ids newly
# marked deleted, so that what is derived from records (holdings) never disagrees with them.
ChangeHook = Callable[[Store, list[SourceRecord], list[str]], None]
