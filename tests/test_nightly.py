"""Production nights: the servers answer while `unioncat run` rewrites the same store."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from unioncat.config import load_config
from unioncat.serving.resources import Resources
from unioncat.store import open_store
from tests.peers import free_port
from tests.support.probe import Probe, summary

UNIONCAT = str(Path(sys.executable).parent / "unioncat")


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[Probe]:
    port, z_port = free_port(), free_port()
    log = (site.parent / "serve.log").open("wb")
    proc = subprocess.Popen([UNIONCAT, "--config", str(site), "serve", "--port", str(port),
                             "--z3950-port", str(z_port)], stdout=log, stderr=subprocess.STDOUT)
    probe = Probe(f"http://127.0.0.1:{port}/sru", ("127.0.0.1", z_port))
    try:
        probe.learn_when_up()
        yield probe
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_opening_the_store_never_waits_on_the_writer(site: Path) -> None:
    """A server thread opening the store while a long write transaction is open (dedup
    held BEGIN IMMEDIATE for its whole run) used to wait 30 s and fail: opening wrote."""
    cfg = load_config(str(site))
    writer = sqlite3.connect(cfg.store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE records SET last_seen = last_seen WHERE rid = 1")
    try:
        res = Resources(cfg)
        got: list[object] = []
        thread = threading.Thread(target=lambda: got.append(res.store().count()))
        thread.start()
        thread.join(5)
        assert got and isinstance(got[0], int) and got[0] > 2000
        # the writer's own connection opens without writing too
        assert open_store(cfg.store, timeout=0.5).count() == got[0]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.store_backends("sqlite", "postgresql")
def test_serving_through_a_full_nightly_run(site: Path, served: Probe) -> None:
    """SRU and Z39.50 answer correctly, without one error or diagnostic, while `run --full`
    re-imports, re-deduplicates and rebuilds the index of the same store."""
    before = time.monotonic()
    run = subprocess.Popen([UNIONCAT, "--config", str(site), "run", "--full", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    served.run_beside(lambda: run.poll() is not None, limit=20000)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err.decode()
    during = [s for s in served.samples if s.started >= before]
    # and afterwards, on the new index, the same answers
    ended = time.monotonic()
    served.run_beside(lambda: time.monotonic() - ended > 3, limit=200)
    after = [s for s in served.samples if s.started >= ended]
    stats = summary(during)
    print(f"during the run: {stats}; after: {summary(after)}")
    assert stats["requests"] >= 20 and {s.face for s in during} == {"sru", "z3950"}
    errors = [s for s in during + after if s.error]
    assert not errors, errors[:5]
    assert b'"rebuilt": true' in out


@pytest.mark.parametrize("full", [True, False])
def test_dedup_never_holds_the_write_lock_between_steps(site: Path, full: bool) -> None:
    """Dedup held BEGIN IMMEDIATE from its first record to its last: a status feed or a
    cataloguer's split waited for the whole run.  Now, at every progress report, another
    writer gets the lock at once, and the clusters come out the same."""
    from unioncat.dedup.engine import Deduplicator

    cfg = load_config(str(site))
    before = dict(sqlite3.connect(cfg.store.path).execute("SELECT record_id, master_id FROM clusters"))
    if not full:  # records changed since the last run, for an incremental run to redo
        with open_store(cfg.store) as store:
            store.db.execute("UPDATE records SET updated='9999' WHERE rid % 3 = 0")
    other = sqlite3.connect(cfg.store.path, isolation_level=None, timeout=0)
    got: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        got.append(stage)

    with open_store(cfg.store) as store:
        stats = Deduplicator(store, cfg, progress).run(full=full)
    other.close()
    assert "extract" in got and stats.processed > (2000 if full else 500)
    after = dict(sqlite3.connect(cfg.store.path).execute("SELECT record_id, master_id FROM clusters"))
    assert after == before
