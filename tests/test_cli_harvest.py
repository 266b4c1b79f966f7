"""`unioncat harvest`, `unioncat run` and `status` after harvests, end to end."""
from __future__ import annotations

import fcntl
import itertools
import json
from pathlib import Path

import pymarc

from tests.conftest import MARC
from tests.support.faulty_oai import FaultyOAI


def records(n: int) -> list[pymarc.Record]:
    with open(MARC / "loc_utf8_100.mrc", "rb") as fh:
        return list(itertools.islice(pymarc.MARCReader(fh), n))


def test_one_failing_source_does_not_stop_the_others(write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    recs = records(30)
    with FaultyOAI(recs, page_size=10, faults={"always": "same-token"}) as bad, \
            FaultyOAI(recs, page_size=10) as good:  # type: ignore[dict-item]
        cfg = write_config({"id": "BAD", "type": "oai", "url": bad.url, "wait": 0.01},
                           {"id": "GOOD", "type": "oai", "url": good.url, "wait": 0.01})
        result = run_cli(cfg, "harvest", "--all")
    assert result.exit_code == 1
    assert "GOOD: harvested 30 records in 3 pages, 0 retries" in result.stdout
    # The same page three times: 30 read, 10 stored, then the guard stops it.
    assert "BAD: harvested 30 records in 3 pages" in result.stdout and "FAILED" in result.stdout
    assert "unioncat: error: BAD: " in result.stderr and "same resumptionToken" in result.stderr
    status = json.loads(run_cli(cfg, "status", "--json").stdout)
    rows = {s["id"]: s for s in status["sources"]}
    assert "same resumptionToken" in rows["BAD"]["last_failure"]["error"]
    assert rows["GOOD"]["last_success"]["kind"] == "harvest" and rows["GOOD"]["last_failure"] is None
    text = run_cli(cfg, "status").stdout
    assert "last failure" in text and "same resumptionToken" in text


def test_run_imports_files_and_harvests_under_a_lock(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records(20), page_size=10) as server:
        cfg = write_config({"id": "F", "path": str(MARC / "marc8_hebrew_880_evergreen.mrc")},
                           {"id": "O", "type": "oai", "url": server.url, "wait": 0.01})
        result = run_cli(cfg, "run", "--json")
        assert result.exit_code == 0, result.output
        runs = {s["source_id"]: s for s in json.loads(result.stdout)["harvests"]}
        assert (runs["F"]["new"], runs["O"]["new"]) == (20, 20)
        with open(tmp_path / "store.db.lock", "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.write("pid 4242")
            held.flush()
            blocked = run_cli(cfg, "run")
        assert blocked.exit_code == 1
        assert "another unioncat run is in progress (pid 4242" in blocked.stderr


def test_harvest_refuses_file_sources_and_needs_a_choice(write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "F", "path": str(MARC / "loc_utf8_100.mrc")})
    result = run_cli(cfg, "harvest", "F")
    assert result.exit_code == 2 and "use `unioncat import`" in result.stderr
    assert run_cli(cfg, "harvest").exit_code == 2
