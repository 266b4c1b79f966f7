"""Status feeds, live refresh and `unioncat holdings`: availability without any reindex."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import MARC
from tests.peers import yaz_ztest

HOLD = Path(__file__).parent / "data" / "holdings"
RECORD = "VILL.01-0121680"  # barcode 30007004327143 in its 949
ZREC = "Z.73090924 //r82"  # the one of yaz-ztest's first three records with OPAC holdings

# Items, feeds and live refreshes are kept in the store: every test here runs on both back ends.
pytestmark = pytest.mark.usefixtures("store_backend")


@pytest.fixture
def vill(write_config, run_cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "VILL", "path": str(HOLD / "949_unicorn_evergreen.mrc"), "holdings": "949"},
                       {"id": "TWIN", "path": str(HOLD / "949_unicorn_evergreen.mrc"), "holdings": "949"})
    assert run_cli(cfg, "import", "--all").exit_code == 0
    return cfg


def holdings(run_cli, cfg: Path, rid: str = RECORD, *args: str) -> dict:  # type: ignore[no-untyped-def]
    result = run_cli(cfg, "holdings", rid, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def feed(tmp_path: Path, text: str, name: str = "feed.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_feed_changes_holdings_without_touching_any_index(vill: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = holdings(run_cli, vill)
    assert before["members"][0]["available"] == 1
    result = run_cli(vill, "availability", "load", "VILL", feed(
        tmp_path, "barcode,status,due_date\n30007004327143,checked out,2026-12-24\nGHOST,available,\n"))
    assert result.exit_code == 0, result.output
    assert "1 of 2 rows applied" in result.stdout and "1 barcodes match no item" in result.stdout
    after = holdings(run_cli, vill)
    [member] = after["members"]
    assert (member["available"], member["next_due"]) == (0, "2026-12-24")
    assert member["items"][0]["status_from"] == "feed"
    # The other member's copy with the same barcode is untouched.
    twin = holdings(run_cli, vill, "TWIN.01-0121680")
    assert twin["members"][0]["available"] == 1
    assert not (tmp_path / "index").exists()


def test_a_later_harvest_does_not_undo_a_newer_feed(vill: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli(vill, "availability", "load", "VILL", feed(tmp_path, "barcode,status\n30007004327143,lost\n"))
    assert run_cli(vill, "import", "VILL").exit_code == 0  # unchanged records: items not rewritten
    assert holdings(run_cli, vill)["members"][0]["items"][0]["status"] == "lost"


def test_malformed_feed_reports_every_bad_row_and_changes_nothing(vill: Path, run_cli,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    bad = feed(tmp_path, "barcode,status,due_date\n30007004327143,on_loan,2026-12-24\n"
                         ",available,\n30007004327143,teleported,\n30007004327143,on_loan,24.12.2026\n")
    result = run_cli(vill, "availability", "load", "VILL", bad, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["changed"] is False and report["applied"] == 0
    assert report["errors"] == [f"{bad}: row 3: empty barcode", f"{bad}: row 4: unknown status 'teleported'",
                                f"{bad}: row 5: due_date '24.12.2026' is not an ISO date (YYYY-MM-DD)"]
    assert holdings(run_cli, vill)["members"][0]["available"] == 1


def test_json_and_json_lines_feeds(vill: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = feed(tmp_path, json.dumps({"items": [{"barcode": "30007004327143", "status": "in transit"}]}),
               "f.json")
    assert run_cli(vill, "availability", "load", "VILL", doc).exit_code == 0
    assert holdings(run_cli, vill)["members"][0]["items"][0]["status"] == "in_transit"
    lines = feed(tmp_path, '{"barcode": "30007004327143", "status": "available"}\n', "f.jsonl")
    assert run_cli(vill, "availability", "load", "VILL", lines).exit_code == 0
    assert holdings(run_cli, vill)["members"][0]["available"] == 1


def test_status_counts_items_and_shelf_copies(vill: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    rows = {s["id"]: s for s in json.loads(run_cli(vill, "status", "--json").stdout)["sources"]}
    assert (rows["VILL"]["items"], rows["VILL"]["available"]) == (114, 113)
    text = run_cli(vill, "holdings", RECORD).stdout
    assert "VILL (Library VILL): 1 of 1 available" in text and "barcode 30007004327143" in text


def test_reextract_after_a_holdings_change(write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "V", "path": str(HOLD / "949_unicorn_evergreen.mrc")})
    run_cli(cfg, "import", "V")
    rows = json.loads(run_cli(cfg, "status", "--json").stdout)["sources"]
    assert rows[0]["items"] == 0
    cfg = write_config({"id": "V", "path": str(HOLD / "949_unicorn_evergreen.mrc"), "holdings": "949"})
    result = run_cli(cfg, "availability", "extract", "V")
    assert "V: 114 items" in result.stdout


@pytest.fixture(scope="module")
def ztest() -> Iterator[str]:
    with yaz_ztest() as address:
        yield address


def opac_source(write_config, run_cli, address: str, database: str = "Default", **extra: object) -> Path:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "Z", "type": "z3950", "url": f"{address}/Default", "query": "3",
                        "syntax": "opac", "holdings": "opac", **extra},
                       extra="[availability]\nbudget = 1.0\nttl = 60")
    assert run_cli(cfg, "harvest", "Z").exit_code == 0
    if database != "Default":
        cfg = write_config({"id": "Z", "type": "z3950", "url": f"{address}/{database}", "query": "3",
                            "syntax": "opac", "holdings": "opac", **extra},
                           extra="[availability]\nbudget = 1.0\nttl = 60")
    return cfg  # type: ignore[no-any-return]


def test_live_refresh_from_ztest_opac(ztest: str, write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    cfg = opac_source(write_config, run_cli, ztest)
    stored = holdings(run_cli, cfg, ZREC)
    assert stored["members"] and stored["members"][0]["items"][0]["status_from"] == "record"
    fresh = holdings(run_cli, cfg, ZREC, "--refresh")
    assert fresh["refresh"] == {"Z": "fresh"}
    assert fresh["members"][0]["stale"] is False and fresh["members"][0]["items"]
    again = holdings(run_cli, cfg, ZREC, "--refresh")
    assert again["refresh"] == {"Z": "cached"}


def test_live_refresh_of_a_slow_member_keeps_the_budget(ztest: str, write_config, run_cli) -> None:  # type: ignore[no-untyped-def]
    cfg = opac_source(write_config, run_cli, ztest, database="Default?search-delay=5")
    start = time.monotonic()
    slow = holdings(run_cli, cfg, ZREC, "--refresh")
    elapsed = time.monotonic() - start
    assert slow["refresh"] == {"Z": "no answer within 1 s"}
    member = slow["members"][0]
    assert member["stale"] is True and member["age_seconds"] >= 0 and member["items"]
    assert elapsed < 3.0, elapsed
    text = run_cli(cfg, "holdings", ZREC, "--refresh").stdout
    assert "[stale: no answer within 1 s; data" in text


def test_unknown_record_is_a_clean_error(vill: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(vill, "holdings", "VILL.nope")
    assert result.exit_code == 1 and "no record or master record 'VILL.nope'" in result.stderr
    assert MARC.exists()
