"""SRU harvesting from Zebra (SRU 1.1, 1.2 and 2.0, xml and string packing)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from unioncat.config.model import SourceConfig
from unioncat.harvesting import harvest_source
from unioncat.store import open_store
from tests.conftest import MARC
from tests.peers import zebra
from tests.support.flaky_proxy import FlakyProxy


@pytest.fixture(scope="module")
def zebra_sru(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    src = tmp_path_factory.mktemp("zebra-src")
    shutil.copy(MARC / "loc_utf8_100.mrc", src / "loc100.mrc")
    with zebra(src) as env:
        yield env["SRU_URL"]


def source(url: str, **kw: object) -> SourceConfig:
    values = {"page_size": 17, "tries": 3, "wait": 0.01, "timeout": 10.0, **kw}
    return SourceConfig(id="Z", name="zebra", type="sru", url=url, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
@pytest.mark.parametrize("packing", ["xml", "string"])
def test_every_version_and_packing_harvests_everything(zebra_sru: str, tmp_path: Path,
                                                       version: str, packing: str) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(zebra_sru, sru_version=version, record_packing=packing))
        assert stats.error == "" and (stats.new, stats.pages) == (100, 6)
        rec = store.get("Z.00000002")
        assert rec is not None and rec.syntax == "marcxml"


def test_diagnostic_names_its_uri(zebra_sru: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(zebra_sru, query="foo.bar=x"))
        assert "diagnostic info:srw/diagnostic/1/15" in stats.error


def test_full_run_marks_unseen_records_deleted(zebra_sru: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        first = harvest_source(store, source(zebra_sru))
        stats = harvest_source(store, source(zebra_sru, query="dc.title=history"))
        assert first.error == "" and stats.error == "", (first.error, stats.error)
        kept = store.count("Z", deleted=False)
        assert 0 < kept < 100 and stats.deleted == 100 - kept
        assert stats.unchanged == kept, (stats.as_dict(), kept)


def test_incremental_query_is_not_a_full_run(zebra_sru: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        harvest_source(store, source(zebra_sru))
        # Zebra knows no modification date; a date query stands in for one.
        src = source(zebra_sru, incremental_query="dc.date>{from}")
        stats = harvest_source(store, src)
        assert stats.error == "" and stats.deleted == 0 and store.count("Z", deleted=False) == 100


def test_failure_midway_resumes_at_the_saved_position(zebra_sru: str, tmp_path: Path) -> None:
    with FlakyProxy(zebra_sru, faults={n: "500" for n in range(4, 7)}) as proxy, \
            open_store(str(tmp_path / "s.db")) as store:
        first = harvest_source(store, source(proxy.url))
        assert "HTTP 500" in first.error and store.count("Z") == 51
        assert store.checkpoint("Z")["run"]["start"] == 52  # type: ignore[index]
        second = harvest_source(store, source(proxy.url))
        assert second.error == "" and (second.new, second.read) == (49, 49)
        assert "startRecord=52" in proxy.paths[-3]
        assert store.count("Z", deleted=False) == 100


def test_truncated_page_is_an_error_not_a_short_harvest(zebra_sru: str, tmp_path: Path) -> None:
    with FlakyProxy(zebra_sru, faults={2: "truncate"}) as proxy, \
            open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(proxy.url))
        assert "malformed searchRetrieve response at startRecord=18" in stats.error
        assert store.count("Z") == 17
