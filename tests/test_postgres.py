"""PostgreSQL as the store: the same catalogue as SQLite, members loaded by worker processes,
several serving machines reading while the nightly run writes, one run at a time."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.errors import UnioncatError
from unioncat.serve import create_app
from unioncat.store import open_store
from tests.peers import free_port
from tests.postgres import cluster
from tests.support.demo_site import demo_site
from tests.support.probe import Probe, summary
from tests.support.wsgi import call

UNIONCAT = str(Path(sys.executable).parent / "unioncat")
QUERIES = ["連城訣", "hongloumeng or lianchengjue", "dc.title=history", "dc.creator=smith",
           "dc.subject=china and dc.date>=1990", "cql.allRecords=1 and local.available=true"]


def unioncat(cfg: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo on SQLite (members one after another) and on PostgreSQL (three at once)."""
    lite = demo_site(tmp_path_factory.mktemp("sqlite"))
    root = tmp_path_factory.mktemp("postgresql")
    pg = demo_site(root, store_url=cluster().database(), feed=False)
    unioncat(pg, "run", "--full", "--workers", "3")  # again, every member in a worker process
    unioncat(pg, "availability", "load", "CITY", str(Path(__file__).parent.parent / "examples" / "demo" / "data"
                                                     / "city-status.csv"))
    return lite, pg


def answers(cfg: Path) -> dict[str, Any]:
    """What a cataloguer, a reader and the consortium office get from a site."""
    out: dict[str, Any] = {}
    export = cfg.parent / "clusters.csv"
    unioncat(cfg, "clusters", "export", str(export))
    out["clusters"] = sorted(csv.reader(io.StringIO(export.read_text(encoding="utf-8"))))
    for query in QUERIES:
        found = json.loads(unioncat(cfg, "search", query, "--json", "--limit", "20", "--facet", "library,year"))
        out[query] = (found["total"], [r["id"] for r in found["records"]], found.get("facets"))
    held = json.loads(unioncat(cfg, "holdings", "CITY.00470353", "--cluster", "--json"))
    out["holdings"] = [{k: v for k, v in m.items() if k not in ("as_of", "age_seconds", "items")}
                       for m in held["members"]]
    for report in ("overlap", "unique", "copies", "collisions"):
        out[report] = json.loads(unioncat(cfg, "report", report, "--json"))
    status = json.loads(unioncat(cfg, "status", "--json"))["sources"]
    out["status"] = [(s["id"], s["records"], s["deleted"], s["items"], s["available"]) for s in status]
    app = create_app(load_config(str(cfg)))
    listed = call(app, path="/oai", query_string="verb=ListIdentifiers&metadataPrefix=marc21&set=member:VILL")
    out["oai"] = listed.body.decode().count("<header>")
    return out


def test_the_same_catalogue_on_both_back_ends(sites: tuple[Path, Path]) -> None:
    lite, pg = sites
    on_sqlite, on_postgresql = answers(lite), answers(pg)
    assert len(on_sqlite["clusters"]) == 2261 and on_sqlite[QUERIES[0]][0] == 1  # the demo, with its header
    for key in on_sqlite:
        assert on_postgresql[key] == on_sqlite[key], key


def test_one_run_at_a_time(sites: tuple[Path, Path]) -> None:
    _, pg = sites
    with open_store(load_config(str(pg)).store) as store, store.run_lock():
        result = CliRunner().invoke(cli, ["--config", str(pg), "run"])
        assert result.exit_code == 1 and "another unioncat run is in progress" in result.output
        assert "PostgreSQL advisory lock" in result.output
        with pytest.raises(UnioncatError):
            with open_store(load_config(str(pg)).store) as other, other.run_lock():
                pass
    assert "index:" in unioncat(pg, "run")  # the lock went with the run that held it


def serving_machine(pg: Path, name: str) -> Path:
    """Another machine's config: the same database, an index directory of its own."""
    text = pg.read_text(encoding="utf-8").replace('path = "var/index"', f'path = "{name}/index"')
    cfg = pg.parent / f"{name}.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


@pytest.fixture
def serving(sites: tuple[Path, Path]) -> Iterator[list[Probe]]:
    """Two serving machines on the PostgreSQL store, each with an index exported to it."""
    _, pg = sites
    procs, probes = [], []
    try:
        for name in ("east", "west"):
            cfg = serving_machine(pg, name)
            unioncat(pg, "index", "export", str(pg.parent / name / "index"))
            port = free_port()
            procs.append(subprocess.Popen([UNIONCAT, "--config", str(cfg), "serve", "--port", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            probe = Probe(f"http://127.0.0.1:{port}/sru", None)
            probe.learn_when_up()
            probes.append(probe)
        yield probes
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_serving_machines_read_while_the_nightly_run_writes(sites: tuple[Path, Path], serving: list[Probe]) -> None:
    """Two `unioncat serve` processes with their own index copies answer every request right
    (the same hits as when idle, no error, no diagnostic) while the nightly machine runs a full
    run with worker processes on the same database, and after the new index is exported to them."""
    _, pg = sites
    before = time.monotonic()
    run = subprocess.Popen([UNIONCAT, "--config", str(pg), "run", "--full", "--workers", "2", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    threads = [threading.Thread(target=p.run_beside, args=(lambda: run.poll() is not None, 20000)) for p in serving]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err.decode()
    assert json.loads(out)["dedup"]["full"] is True
    for name in ("east", "west"):
        report = json.loads(unioncat(pg, "index", "export", str(pg.parent / name / "index"), "--json"))
        assert report["documents"] == 1476
    ended = time.monotonic()
    for probe in serving:
        probe.run_beside(lambda: time.monotonic() - ended > 3, limit=200)
    samples = [s for p in serving for s in p.samples if s.started >= before]
    during = [s for s in samples if s.started < ended]
    print(f"two serving machines during the run: {summary(during)}")
    assert len(during) >= 20 and len([s for s in samples if s.started >= ended]) >= 2
    errors = [s for s in samples if s.error]
    assert not errors, errors[:5]
