"""Items and availability in the record store, kept apart from any search index.

``items`` holds what members' records say (re-extracted whenever a record
changes, in the same transaction); ``availability`` holds newer statuses from
status feeds; a live refresh re-extracts a record fetched from the member just
now.  The status shown for an item is the newest of its item row and its
availability row, so a loan reported by a feed never waits for a reindex or a
harvest, and a later harvest of the record does not undo a newer feed.
"""
from __future__ import annotations

from typing import Mapping

from unioncat.config.model import SourceConfig
from unioncat.holdings.extract import Extraction, extract, layout_for
from unioncat.models import SourceRecord, now
from unioncat.store import ChangeHook, Store


class ItemExtractor:
    """The store hook that keeps one source's items in step with its records."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source
        self.layout = layout_for(source.holdings)
        self.items = 0
        self.unknown_codes: dict[str, int] = {}

    def extract(self, rec_id: str, raw: bytes, syntax: str, charset: str, leader: str) -> Extraction:
        """Extract one record's items (the layout must be set)."""
        assert self.layout is not None
        found = extract(rec_id, self.source.id, raw, syntax, charset, leader, self.layout,
                        self.source.status_map)
        for code in found.unknown_codes:
            self.unknown_codes[code] = self.unknown_codes.get(code, 0) + 1
        return found

    def __call__(self, store: Store, changed: list[SourceRecord], gone: list[str]) -> None:
        stamp = now()
        store.delete_items(gone)
        if self.layout is None:
            return
        for rec in changed:
            found = self.extract(rec.global_id, rec.raw, rec.syntax, rec.charset, rec.leader)
            self.items += store.write_items(rec.global_id, found.items, stamp)

    def warnings(self) -> list[str]:
        """Return a line about status codes no map knows, if any."""
        if not self.unknown_codes:
            return []
        codes = ", ".join(f"{c!r} x{n}" for c, n in sorted(self.unknown_codes.items())[:10])
        return [f"{sum(self.unknown_codes.values())} items have status codes unioncat does not "
                f"know ({codes}): shown as unknown; map them with the source's status_map"]


def hook_for(source: SourceConfig) -> ChangeHook | None:
    """Return the change hook for a source (items only when holdings is configured)."""
    return ItemExtractor(source)


def reextract(store: Store, source: SourceConfig) -> ItemExtractor:
    """Extract the items of every stored record of a source again (after a settings change)."""
    hook = ItemExtractor(source)
    stamp = now()
    with store.write():
        store.clear_items(source.id)
        if hook.layout is not None:
            for gid, raw, syntax, charset, leader in store.item_sources(source.id):
                found = hook.extract(gid, raw, syntax, charset, leader)
                hook.items += store.write_items(gid, found.items, stamp)
    return hook


def item_counts(store: Store, source: str) -> Mapping[str, int]:
    """Return total, available (effective status) and unknown-status item counts."""
    return store.item_counts(source)
