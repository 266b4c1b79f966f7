"""The record store: one interface (``Store``), one module per back end.

    store = open_store(cfg.store)                  # the writer: the nightly run, imports
    store = open_store(cfg.store, readonly=True)   # a server's: never writes, never waits

SQLite (``store.path``, the default) for a consortium on one machine; PostgreSQL
(``store.url = "postgresql://..."``) when several machines share the store.
"""
from __future__ import annotations

from unioncat.config.model import StoreConfig
from unioncat.store.api import ChangeHook, Store
from unioncat.store.base import in_chunks

__all__ = ["ChangeHook", "Store", "in_chunks", "is_url", "open_store"]


def is_url(location: str) -> bool:
    """Return True if a store location is a PostgreSQL URL rather than a file."""
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | StoreConfig, *, readonly: bool = False, timeout: float = 30.0) -> Store:
    """Open the store at a path (SQLite) or a ``postgresql://`` URL (or a config's ``[store]``)."""
    if isinstance(location, StoreConfig):
        location = location.location
    if is_url(location):
        from unioncat.store.postgres import PostgresStore

        return PostgresStore(location, readonly=readonly, timeout=timeout)
    from unioncat.store.sqlite import SQLiteStore

    return SQLiteStore(location, readonly=readonly, timeout=timeout)
