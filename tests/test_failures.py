"""One failure policy for a night: a member's failure fails that member, loudly, and the run
goes on; every load says how it ended; drops that cannot be read whole never pass as "ok"."""
from __future__ import annotations

import gzip
import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pymarc
import pytest

from unioncat.loading import load
from unioncat.models import SourceRecord, content_hash
from unioncat.store import Store, open_store
from tests.conftest import MARC, ROOT
from tests.support.faulty_oai import FaultyOAI

DEMO = ROOT / "examples" / "demo" / "data"


def records(n: int) -> list[pymarc.Record]:
    with open(MARC / "loc_utf8_100.mrc", "rb") as fh:
        return list(itertools.islice(pymarc.MARCReader(fh), n))


def loads(location: Path | str, source: str) -> list[tuple[str, str | None]]:
    with open_store(str(location), readonly=True) as store:
        return [(r[0], r[1]) for r in store.db.execute("SELECT status, error FROM loads WHERE source=? ORDER BY id",
                                                       (source,))]


def status_of(run_cli: Any, cfg: Path) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in json.loads(run_cli(cfg, "status", "--json").stdout)["sources"]}


# network failures ------------------------------------------------------------------------
def test_a_body_cut_short_fails_that_member_and_the_run_goes_on(write_config, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """requests' ChunkedEncodingError escaped every handler: the whole run stopped at the
    first member whose server cut a response, and dedup and index never happened."""
    with FaultyOAI(records(20), page_size=10, faults={"always": "chunked-cut"}) as bad, \
            FaultyOAI(records(20), page_size=10) as good:  # type: ignore[dict-item]
        cfg = write_config({"id": "BAD", "type": "oai", "url": bad.url, "wait": 0.01, "tries": 2},
                           {"id": "GOOD", "type": "oai", "url": good.url, "wait": 0.01},
                           {"id": "F", "path": str(MARC / "loc_utf8_100.mrc")})
        result = run_cli(cfg, "run", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    runs = {s["source_id"]: s for s in report["harvests"]}
    assert runs["GOOD"]["new"] == 20 and runs["F"]["new"] == 100 and runs["GOOD"]["error"] == ""
    assert "ChunkedEncodingError" in runs["BAD"]["error"] and runs["BAD"]["retries"] == 1
    assert report["dedup"]["records"] == 120 and report["index"]["total"] > 0
    assert [line for line in result.stderr.splitlines() if "error" in line] == \
        [f"unioncat: error: BAD: {runs['BAD']['error']}"]
    assert status_of(run_cli, cfg)["BAD"]["last_load"]["status"] == "failed"


def test_a_cut_body_once_is_retried(write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records(30), page_size=10, faults={2: "chunked-cut"}) as server:  # type: ignore[dict-item]
        cfg = write_config({"id": "O", "type": "oai", "url": server.url, "wait": 0.01})
        result = run_cli(cfg, "harvest", "O", "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["harvests"][0]
    assert (run["new"], run["retries"]) == (30, 1)


def test_tokens_rejected_for_ever_end_the_harvest(write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    """A provider whose every token is badResumptionToken was harvested again and again for ever."""
    with FaultyOAI(records(30), page_size=10, faults={"always": "bad-token"}) as server:  # type: ignore[dict-item]
        cfg = write_config({"id": "O", "type": "oai", "url": server.url, "wait": 0.01})
        result = run_cli(cfg, "harvest", "O", "--json")
        asked = server.list_requests
    assert result.exit_code == 1
    run = json.loads(result.stdout)["harvests"][0]
    assert "badResumptionToken 4 times" in run["error"] and asked == 8


def test_full_wins_over_an_interrupted_incremental_run(write_config, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After an interrupted run, --full resumed the saved incremental run: no deletion sweep."""
    recs = records(30)
    with FaultyOAI(recs, page_size=10) as server:
        cfg = write_config({"id": "O", "type": "oai", "url": server.url, "wait": 0.01, "tries": 1})
        assert run_cli(cfg, "harvest", "O").exit_code == 0
        server.faults = {server.list_requests + 2: "500"}  # the next incremental run dies on page 2
        assert run_cli(cfg, "harvest", "O").exit_code == 1
        server.records = recs[:25]  # five records withdrawn, the server keeps no deletions
        result = run_cli(cfg, "harvest", "O", "--full", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["harvests"][0]["deleted"] == 5
    assert status_of(run_cli, cfg)["O"]["active"] == 25


# every load says how it ended ------------------------------------------------------------
def _recs(n: int) -> Iterator[SourceRecord]:
    for i, rec in enumerate(records(n)):
        raw = rec.as_marc()
        yield SourceRecord(source_id="A", local_id=str(i), raw=raw, syntax="iso2709", format="marc21",
                           charset="utf-8", leader=str(rec.leader), hash=content_hash(raw))


@pytest.mark.usefixtures("store_backend")
def test_any_exception_fails_the_load_and_keeps_what_came_before(store_at) -> None:  # type: ignore[no-untyped-def]
    def items() -> Iterator[SourceRecord]:
        yield from _recs(5)
        raise RuntimeError("a bug in a harvester")

    with open_store(store_at("s.db")) as store:
        stats = load(store, "A", items(), batch_size=2)
        assert stats.error == "RuntimeError: a bug in a harvester" and store.count("A") == 5
    assert loads(store_at("s.db"), "A") == [("failed", "RuntimeError: a bug in a harvester")]


@pytest.mark.usefixtures("store_backend")
def test_ctrl_c_closes_the_load_as_interrupted(store_at) -> None:  # type: ignore[no-untyped-def]
    def items() -> Iterator[SourceRecord]:
        yield from _recs(3)
        raise KeyboardInterrupt

    with open_store(store_at("s.db")) as store, pytest.raises(KeyboardInterrupt):
        load(store, "A", items())
    assert loads(store_at("s.db"), "A") == [("interrupted", "interrupted")]


@pytest.mark.usefixtures("store_backend")
def test_a_failed_upsert_rolls_back_on_any_exception(store_at) -> None:  # type: ignore[no-untyped-def]
    """Only sqlite3 errors rolled back: a hook's exception left the transaction open, and
    the next write on the connection failed ("cannot start a transaction within a transaction")."""
    def hook(store: Store, changed: list[SourceRecord], gone: list[str]) -> None:
        raise RuntimeError("holdings extraction failed")

    recs = list(_recs(4))
    with open_store(store_at("s.db")) as store:
        with pytest.raises(RuntimeError):
            store.upsert(recs[:2], 1, hook)
        assert store.count("A") == 0
        assert store.upsert(recs[2:], 1)["new"] == 2


def _sigint_default() -> None:
    """Give the child the Ctrl-C a terminal gives: a test run started in the background (`make
    test &`, a CI runner) has SIGINT ignored, and children inherit that (the run then harvests on)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_the_command_line(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records(30), page_size=10, faults={"always": "slow"}) as server:  # type: ignore[dict-item]
        cfg = write_config({"id": "O", "type": "oai", "url": server.url, "wait": 0.01})
        proc = subprocess.Popen([str(Path(sys.executable).parent / "unioncat"), "--config", str(cfg), "run"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_sigint_default)
        for _ in range(100):
            if server.list_requests:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1] == "unioncat: interrupted" and b"Traceback" not in err
    assert loads(tmp_path / "store.db", "O") == [("interrupted", "interrupted")]


def test_ctrl_c_while_the_next_page_is_on_its_way(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The harvester fetches the next page in a second thread; Ctrl-C while that thread waits
    on a hanging server ended the process only when the server answered (once 60 s and more)."""
    with FaultyOAI(records(30), page_size=10, faults={2: "slow"}) as server:
        cfg = write_config({"id": "O", "type": "oai", "url": server.url, "wait": 0.01})
        proc = subprocess.Popen([str(Path(sys.executable).parent / "unioncat"), "--config", str(cfg), "run"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_sigint_default)
        for _ in range(100):
            if server.list_requests >= 2:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # page 1 stored, page 2 on its way in the other thread
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)  # the slow page takes 20 s: the process must not wait for it
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1] == "unioncat: interrupted"
    assert loads(tmp_path / "store.db", "O") == [("interrupted", "interrupted")]


# file drops fail loudly ------------------------------------------------------------------
def _bad_drops(folder: Path) -> dict[str, str]:
    city = (DEMO / "city-2026-11-23.mrc.gz").read_bytes()
    (folder / "cut.mrc.gz").write_bytes(city[: len(city) // 2])
    xml = gzip.decompress((DEMO / "riverside-export.xml.gz").read_bytes())
    (folder / "broken.xml").write_bytes(xml[: len(xml) // 2])
    head = xml.index(b"?>") + 2
    (folder / "doctype.xml").write_bytes(xml[:head] + b'<!DOCTYPE c [<!ENTITY x "y">]>' + xml[head:])
    (folder / "empty.mrc").write_bytes(b"")
    (folder / "emptydir").mkdir()
    return {"CUT": "cut.mrc.gz", "BROKEN": "broken.xml", "DOCTYPE": "doctype.xml", "EMPTY": "empty.mrc",
            "NODIR": "emptydir", "MISSING": "missing-tonight.mrc"}


def test_broken_drops_fail_their_member_and_the_run_goes_on(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Today each of these was `run` exit 0 and `status` "ok" with no error."""
    drops = _bad_drops(tmp_path)
    cfg = write_config({"id": "GOOD", "path": str(MARC / "loc_utf8_100.mrc")},
                       *({"id": sid, "path": str(tmp_path / name)} for sid, name in drops.items()))
    result = run_cli(cfg, "run", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    runs = {s["source_id"]: s for s in report["harvests"]}
    assert runs["GOOD"]["error"] == "" and report["index"]["total"] > 100  # dedup and index ran
    errors = [line for line in result.stderr.splitlines() if line.startswith("unioncat: error:")]
    assert len(errors) == len(drops) and len(result.stderr.splitlines()) == len(drops)
    for sid, name in drops.items():
        assert any(line.startswith(f"unioncat: error: {sid}: ") and name in line for line in errors), sid
    why = {sid: runs[sid]["error"] for sid in drops}
    assert "Compressed file ended" in why["CUT"] and "not well-formed" in why["BROKEN"]
    assert "DOCTYPE" in why["DOCTYPE"] and "empty file" in why["EMPTY"]
    assert "no files in the drop" in why["NODIR"] and "missing" in why["MISSING"]
    status = status_of(run_cli, cfg)
    for sid in drops:
        assert status[sid]["last_load"]["status"] == "failed" and status[sid]["last_load"]["error"]
    # what came before the cut is kept: whole records of the first half of the .gz
    assert 300 < status["CUT"]["records"] < 1200 and status["BROKEN"]["records"] > 0


# deletions for members that send full dumps -----------------------------------------------
def _dump(path: Path, n: int) -> Path:
    path.write_bytes(b"".join(r.as_marc() for r in records(n)))
    return path


def _full_dump_member(write_config, run_cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A member M sending complete dumps, with 100 records imported."""
    cfg = write_config({"id": "M", "path": str(tmp_path / "dump.mrc"), "full_dump": True})
    _dump(tmp_path / "dump.mrc", 100)
    assert run_cli(cfg, "import", "M").exit_code == 0
    return cfg


def test_full_dump_deletes_what_is_missing_within_the_limit(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = _full_dump_member(write_config, run_cli, tmp_path)
    _dump(tmp_path / "dump.mrc", 95)
    result = run_cli(cfg, "import", "M", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["imports"][0]["deleted"] == 5
    assert status_of(run_cli, cfg)["M"]["active"] == 95


def test_a_dump_that_shrinks_too_much_deletes_nothing_unless_forced(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A member whose dump shrank from 100 to 37 records kept all 100 for ever."""
    cfg = _full_dump_member(write_config, run_cli, tmp_path)
    _dump(tmp_path / "dump.mrc", 37)
    result = run_cli(cfg, "run")
    assert result.exit_code == 1
    assert "63 of 100 live records (63%) are missing" in result.stderr
    assert "unioncat import M --full --force" in result.stderr
    assert status_of(run_cli, cfg)["M"]["active"] == 100
    forced = run_cli(cfg, "import", "M", "--full", "--force", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["imports"][0]["deleted"] == 63
    assert status_of(run_cli, cfg)["M"]["active"] == 37


def test_a_broken_full_dump_deletes_nothing(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = _full_dump_member(write_config, run_cli, tmp_path)
    data = (tmp_path / "dump.mrc").read_bytes()
    (tmp_path / "dump.mrc").write_bytes(data[: len(data) // 3])  # half-copied drop
    assert run_cli(cfg, "import", "M", "--full", "--force").exit_code == 1
    assert status_of(run_cli, cfg)["M"]["active"] == 100

