"""Harvest the oaipmh library's real OAI-PMH server: deletions, sets, dates, kill -9."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MARC, ROOT
from tests.peers import oai_provider


@pytest.fixture(scope="module")
def provider_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("oai-src")
    shutil.copy(MARC / "loc_utf8_100.mrc", src / "loc100.mrc")
    shutil.copy(MARC / "marc8_hebrew_880_evergreen.mrc", src / "hebrew.mrc")
    return src


def config(write_config, url: str, **extra: object) -> Path:  # type: ignore[no-untyped-def]
    return write_config({"id": "P", "type": "oai", "url": url, "wait": 0.05, **extra})


def harvest(run_cli, cfg: Path, *args: str) -> dict:  # type: ignore[no-untyped-def]
    result = run_cli(cfg, "harvest", "P", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["harvests"][0]  # type: ignore[no-any-return]


def live_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT local_id FROM records WHERE deleted=0")}


def test_peer_full_then_incremental_with_deleted_records(provider_dir: Path, write_config,  # type: ignore[no-untyped-def]
                                                         run_cli, tmp_path: Path) -> None:
    with oai_provider(provider_dir, "--batch-size", "15", "--delete-every", "10") as url:
        cfg = config(write_config, url)
        first = harvest(run_cli, cfg)
        # 120 records, every 10th deleted: 108 live; the last page has no token element.
        assert (first["read"], first["new"], first["rejected"]) == (120, 108, 0)
        assert first["pages"] == 8
        second = harvest(run_cli, cfg)
        assert second["read"] == 0 and second["error"] == ""
        full = harvest(run_cli, cfg, "--full")
        assert (full["unchanged"], full["new"], full["deleted"]) == (120, 0, 0)
    assert len(live_ids(tmp_path / "store.db")) == 108


def test_peer_sets_and_date_window(provider_dir: Path, write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with oai_provider(provider_dir, "--batch-size", "40") as url:
        cfg = config(write_config, url, set="src:hebrew")
        stats = harvest(run_cli, cfg)
        assert stats["new"] == 20
        cfg = config(write_config, url, set=["src:hebrew", "src:loc100"])
        stats = harvest(run_cli, cfg, "--full")
        assert (stats["new"], stats["unchanged"]) == (100, 20)
        dated = harvest(run_cli, cfg, "--from", "2030-01-01")
        assert dated["read"] == 0 and dated["error"] == ""


def test_peer_kill_9_then_resume_gives_the_providers_ids(shared_data: Path, write_config,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(shared_data / "loc-booksall-2016" / "BooksAll.2016.part01.recs010001-020000.mrc.gz",
                src / "loc10k.mrc.gz")
    with oai_provider(src, "--batch-size", "50", "--delete-every", "97") as url:
        cfg = config(write_config, url)
        cmd = [sys.executable, "-m", "unioncat", "--config", str(cfg), "harvest", "P"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = tmp_path / "store.db"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT count(*) FROM records").fetchone()[0] >= 2000:
                        break
            except sqlite3.Error:
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(db) as conn:
            partial = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            token = json.loads(conn.execute("SELECT state FROM checkpoints").fetchone()[0])["run"]["token"]
        assert 0 < partial < 10000 and token
        done = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, check=True)
        stats = json.loads(done.stdout)["harvests"][0]
        assert stats["error"] == ""
        # Resumed from the token: far fewer than 10,000 records read the second time.
        assert stats["read"] < 10000 - partial + 100
        listed = subprocess.run(
            [sys.executable, "-c", "import sys, sickle; s = sickle.Sickle(sys.argv[1]);"
             "print('\\n'.join(h.identifier for h in s.ListIdentifiers(metadataPrefix='marc21')"
             " if not h.deleted))", url], capture_output=True, text=True, check=True)
        provider = {line.rsplit(":", 1)[1] for line in listed.stdout.split()}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT local_id FROM records WHERE deleted=0").fetchall()
    assert len(rows) == len({r[0] for r in rows}) == len(provider)
    assert {r[0] for r in rows} == provider
