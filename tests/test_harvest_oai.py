"""OAI-PMH harvesting against a fault-injecting provider: nothing lost, nothing twice."""
from __future__ import annotations

import itertools
from pathlib import Path

import pymarc
import pytest

from unioncat.config.model import SourceConfig
from unioncat.harvesting import harvest_source
from unioncat.store import Store, open_store
from tests.support.faulty_oai import FaultyOAI

MARC = Path(__file__).parent / "data" / "marc" / "loc_utf8_100.mrc"


@pytest.fixture(scope="module")
def records() -> list[pymarc.Record]:
    with open(MARC, "rb") as fh:
        return list(itertools.islice(pymarc.MARCReader(fh), 100))


def source(url: str, **kw: object) -> SourceConfig:
    return SourceConfig(id="O", name="oai", type="oai", url=url, tries=4, wait=0.01,
                        timeout=5.0, **kw)  # type: ignore[arg-type]


def stored_ids(store: Store) -> list[str]:
    return [i.split(".", 1)[1] for i in store.ids("O")
            if not store.get(i).deleted]  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", ["503-seconds", "503-date", "429", "500", "drop", "truncate",
                                   "invalid-chars"])
def test_each_fault_loses_and_doubles_nothing(tmp_path: Path, records, fault: str) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records, page_size=10, faults={3: fault}) as server, \
            open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(server.url))
        assert stats.error == ""
        ids = stored_ids(store)
        assert sorted(ids) == sorted(server.ids()) and len(ids) == len(set(ids)) == 100
        assert stats.new == 100 and stats.pages == 10
        if fault == "invalid-chars":
            assert stats.stripped == 2 and stats.retries == 0
        else:
            assert stats.retries == 1


def test_same_token_forever_aborts_with_a_clear_error(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records, page_size=10, faults={"always": "same-token"}) as server, \
            open_store(str(tmp_path / "s.db")) as store:  # type: ignore[dict-item]
        stats = harvest_source(store, source(server.url, token_repeats=3))
        assert "the same resumptionToken '1:0' came back 3 times" in stats.error
        assert store.count("O") == 10  # the one page it did get is kept
        assert store.source_summary("O")["last_failure"]["error"] == stats.error


def test_bad_token_after_provider_restart_restarts_the_window(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    # Requests 4-7 fail (the provider is down): the run gives up after page 3 with its
    # token checkpointed.  The provider comes back with new tokens; the next run's saved
    # token is refused, so the window starts again: 100 records, none twice.
    faults = {n: "500" for n in range(4, 8)}
    with FaultyOAI(records, page_size=10, faults=faults) as server, \
            open_store(str(tmp_path / "s.db")) as store:
        first = harvest_source(store, source(server.url))
        assert "HTTP 500" in first.error and store.count("O") == 30
        assert store.checkpoint("O")["run"]["token"] == "1:30"  # type: ignore[index]
        server.restart()
        second = harvest_source(store, source(server.url))
        assert second.error == ""
        assert (second.new, second.unchanged) == (70, 30)
        assert sorted(stored_ids(store)) == sorted(server.ids())
        bad = [r for r in server.requests if r.get("resumptionToken", "").startswith("1:")]
        assert bad[-1]["resumptionToken"] == "1:30"


def test_resume_from_checkpoint_after_failure(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records, page_size=10, faults={n: "drop" for n in range(6, 10)}) as server, \
            open_store(str(tmp_path / "s.db")) as store:
        first = harvest_source(store, source(server.url))
        assert first.error and store.count("O") == 50
        second = harvest_source(store, source(server.url))
        assert second.error == "" and (second.new, second.unchanged) == (50, 0)
        assert server.requests[-5]["resumptionToken"] == "1:50"  # resumed, not restarted
        assert sorted(stored_ids(store)) == sorted(server.ids())


def test_deleted_headers_and_incremental_and_full_sweep(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    gone = {records[5]["001"].data.strip(), records[6]["001"].data.strip()}
    with FaultyOAI(records, page_size=25) as server, open_store(str(tmp_path / "s.db")) as store:
        harvest_source(store, source(server.url))
        assert store.count("O", deleted=False) == 100
        server.deleted = gone
        stats = harvest_source(store, source(server.url))
        assert stats.deleted == 2 and store.count("O", deleted=True) == 2
        # The second run was incremental: it asked from the first run's responseDate.
        firsts = [r for r in server.requests if r.get("verb") == "ListRecords" and "metadataPrefix" in r]
        assert "from" not in firsts[0] and firsts[1]["from"].endswith("Z")


def test_full_harvest_marks_unseen_records_deleted_when_server_keeps_no_deletions(  # type: ignore[no-untyped-def]
        tmp_path: Path, records) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        with FaultyOAI(records, page_size=50, deleted_record="no") as server:
            harvest_source(store, source(server.url))
        with FaultyOAI(records[:90], page_size=50, deleted_record="no") as server:
            stats = harvest_source(store, source(server.url), full=True)
        assert stats.deleted == 10 and store.count("O", deleted=False) == 90


def test_list_identifiers_sweep_for_incremental_runs(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    with open_store(str(tmp_path / "s.db")) as store:
        with FaultyOAI(records, page_size=50, deleted_record="no") as server:
            harvest_source(store, source(server.url, sweep=True))
        with FaultyOAI(records[:97], page_size=50, deleted_record="no") as server:
            stats = harvest_source(store, source(server.url, sweep=True))
            assert any(r.get("verb") == "ListIdentifiers" for r in server.requests)
        assert stats.deleted == 3 and store.count("O", deleted=False) == 97


def test_day_granular_server_gets_one_day_of_overlap(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    with FaultyOAI(records[:5], granularity="YYYY-MM-DD") as server, \
            open_store(str(tmp_path / "s.db")) as store:
        harvest_source(store, source(server.url))
        harvest_source(store, source(server.url))
        last = [r for r in server.requests if r.get("verb") == "ListRecords"][-1]
        ran = store.checkpoint("O")["last_success"]["response_date"][:10]  # type: ignore[index]
        from datetime import date, timedelta
        assert last["from"] == (date.fromisoformat(ran) - timedelta(days=1)).isoformat()


def test_no_records_match_is_an_empty_harvest(tmp_path: Path) -> None:
    with FaultyOAI([]) as server, open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(server.url))
        assert stats.error == "" and stats.read == 0


def test_no_deletion_sweep_when_records_came_twice(tmp_path: Path, records) -> None:  # type: ignore[no-untyped-def]
    # A full run that saw a record twice skipped another: unseen is not deleted then.
    with open_store(str(tmp_path / "s.db")) as store:
        with FaultyOAI(records[:20], page_size=10, deleted_record="no") as server:
            harvest_source(store, source(server.url))
        doubled = records[:5] + records[:5] + records[10:20]
        with FaultyOAI(doubled, page_size=10, deleted_record="no") as server:
            stats = harvest_source(store, source(server.url), full=True)
        assert stats.deleted == 0 and stats.repeated == 5
        assert "records not seen were not marked deleted" in stats.warnings[0]
        assert store.count("O", deleted=False) == 20
