"""The embedded back end (the default): one SQLite file in WAL mode.

Readers never wait on the writer (WAL: they see the last committed state); writers take the
database's one write lock with ``BEGIN IMMEDIATE`` for short transactions; a whole run holds
``{store}.lock`` (flock) so two nightly runs never overlap.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import contextmanager
from typing import Iterator

from unioncat.errors import StoreError, UnioncatError
from unioncat.store.api import Store
from unioncat.store.base import Connection
from unioncat.store.schema import ADDED_COLUMNS, SCHEMA_VERSION, statements

TYPES = {"serial": "INTEGER PRIMARY KEY", "text": "TEXT", "blob": "BLOB", "real": "REAL",
         "bigint": "INTEGER", "without_rowid": " WITHOUT ROWID"}


class SQLiteStore(Store):
    """The SQLite record store (``store.path``)."""

    Error = (sqlite3.Error,)
    backend = "sqlite"
    types = TYPES

    def __init__(self, path: str, *, wal: bool = True, readonly: bool = False,
                 timeout: float = 30.0) -> None:
        self.location = path
        self.readonly = readonly
        try:
            if readonly:
                if not os.path.exists(path):
                    raise StoreError(f"{path}: no record store here (run `unioncat run` or "
                                     "`unioncat import` first)")
                self.db = _connect(f"file:{os.path.abspath(path)}?mode=ro", timeout, uri=True)
                if not self._check_version():  # the first writer has not made its tables yet
                    self.db.close()
                    raise StoreError(f"{path}: no record store here yet (the first `unioncat run` "
                                     "or `unioncat import` is still creating it)")
                return
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.db = _connect(path, timeout)
            if wal and self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            if self._check_version() < SCHEMA_VERSION:
                # Only a new or older store is written on opening: an up-to-date one is
                # opened without taking the write lock the nightly run may be holding.
                with self.write():
                    version = self._check_version()
                    if version < SCHEMA_VERSION:
                        self._add_columns()
                        for statement in statements(TYPES, version):
                            self.db.execute(statement)
                        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the record store: {exc}") from exc

    def _check_version(self) -> int:
        return self.checked_version(int(self.db.execute("PRAGMA user_version").fetchone()[0]))

    def _add_columns(self) -> None:
        """Add columns that later versions introduced to an existing store."""
        for table, column, kind in ADDED_COLUMNS:
            cols = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if cols and column not in cols:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind.format(**TYPES)}")

    def busy(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def concat(self, column: str, separator: str) -> str:
        if column.startswith("DISTINCT "):  # SQLite's DISTINCT aggregates take one argument
            assert separator == ","
            return f"group_concat({column})"
        return f"group_concat({column}, char({ord(separator)}))"

    def temp_table(self, name: str, columns: str) -> str:
        self.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
        self.db.execute(f"DELETE FROM temp.{name}")
        return f"temp.{name}"

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Hold ``{store}.lock`` for a whole run; fail at once if another run holds it."""
        path = f"{self.location}.lock"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise UnioncatError(f"another unioncat run is in progress ({holder}; lock {path})") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            try:
                yield
            finally:
                fh.seek(0)
                fh.truncate()


def _connect(target: str, timeout: float, uri: bool = False) -> Connection:
    db: Connection = sqlite3.connect(target, isolation_level=None, timeout=timeout, uri=uri)
    return db
