"""Z39.50 harvesting from yaz-ztest (USMARC, OPAC, diagnostics, timeouts) and Zebra."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from unioncat.config.model import SourceConfig
from unioncat.harvesting import harvest_source
from unioncat.marc.records import load_record
from unioncat.store import open_store
from unioncat.z3950 import Z3950Client, parse_pqf
from unioncat.z3950.codec import decode_type
from tests.conftest import MARC
from tests.peers import yaz_ztest, zebra
from tests.support.cutting_proxy import CuttingProxy


@pytest.fixture(scope="module")
def ztest() -> Iterator[str]:
    with yaz_ztest() as address:
        yield address


@pytest.fixture(scope="module")
def zebra_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    src = tmp_path_factory.mktemp("zebra-z-src")
    shutil.copy(MARC / "loc_utf8_100.mrc", src / "loc100.mrc")
    with zebra(src) as env:
        yield env


def source(url: str, **kw: object) -> SourceConfig:
    values = {"page_size": 10, "tries": 3, "wait": 0.01, "timeout": 10.0, **kw}
    return SourceConfig(id="Z", name="z", type="z3950", url=url, **values)  # type: ignore[arg-type]


def test_usmarc_from_ztest(ztest: str, tmp_path: Path) -> None:
    # yaz-ztest answers a numeric term with that many hits, cycling 24 records.
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(f"{ztest}/Default", query="24"))
        assert stats.error == "" and (stats.read, stats.new, stats.pages) == (24, 24, 3)
        rec = store.get("Z.11224466")
        assert rec is not None and rec.charset == "marc-8"
        assert load_record(rec.raw, rec.syntax, rec.charset)["245"]["a"].startswith("How to program a computer")


def test_opac_records_keep_holdings_and_circulation(ztest: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(f"{ztest}/Default", query="5", syntax="opac"))
        assert stats.error == "" and stats.new == 5
        rec = store.get("Z.11224466")
        assert rec is not None and rec.syntax == "opac"
        opac = decode_type("OPACRecord", rec.raw)
        holding = opac["holdingsData"][0][1]
        assert holding["callNumber"] and holding["circulationData"][0]["availableNow"] in (True, False)
        assert load_record(rec.raw, rec.syntax, rec.charset)["001"].data.strip() == "11224466"


def test_unknown_database_is_a_bib1_diagnostic(ztest: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(f"{ztest}/nosuchdb", query="5"))
        assert "diagnostic bib-1 109" in stats.error


def test_slow_target_times_out(ztest: str, tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(f"{ztest}/Default?search-delay=3", query="5",
                                             timeout=0.5))
        assert "no answer to searchRequest within 0.5 s" in stats.error


def test_zebra_harvest_is_complete_and_matches_its_sru_count(zebra_peer: dict[str, str],
                                                             tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(zebra_peer["Z3950"], page_size=33))
        assert stats.error == "" and (stats.new, stats.pages) == (100, 4)
        assert store.get("Z.00000002") is not None


def test_opac_falls_back_to_usmarc_when_the_target_has_none(zebra_peer: dict[str, str],
                                                            tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(zebra_peer["Z3950"], syntax="opac", page_size=50))
        assert stats.error == "" and stats.new == 100
        assert stats.warnings == [f"z3950://{zebra_peer['Z3950']} offers no OPAC records "
                                  "(bib-1 239): harvested USMARC without holdings"]


def test_dropped_connection_reconnects_and_goes_on(zebra_peer: dict[str, str], tmp_path: Path) -> None:
    host, port = zebra_peer["Z3950"].split("/")[0].split(":")
    with CuttingProxy(host, int(port), cut_after=3) as proxy, open_store(str(tmp_path / "s.db")) as store:
        stats = harvest_source(store, source(f"127.0.0.1:{proxy.port}/Default", page_size=20))
        assert stats.error == "" and stats.retries == 1 and proxy.connections == 2
        assert (stats.new, store.count("Z")) == (100, 100)


def test_client_query_and_present_against_zebra(zebra_peer: dict[str, str]) -> None:
    host, port = zebra_peer["Z3950"].split("/")[0].split(":")
    with Z3950Client(host, int(port), 10) as client:
        hits = client.search("Default", parse_pqf("@attr 1=4 history"))
        assert 0 < hits < 100
        records = client.present(1, 2, "usmarc")
        assert [r.octets[:5].isdigit() for r in records] == [True, True]
