"""Consortium reports (overlap, unique, copies, collisions) against a consortium built so that
the answers follow from how it was built, not from the code under test."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pymarc
import pytest
from click.testing import CliRunner

from tests.conftest import MARC
from unioncat.cli import cli

SAMPLE = MARC / "loc_utf8_100.mrc"  # in the repository: a clean clone has no ../shared
# Which of the 30 titles each member holds, with how many copies, at which branch, and the
# barcodes it wrote: B reuses A's barcode A012-0 for its copy of title 12, and both call a branch MAIN.
HOLDS = {"A": {t: 1 for t in range(0, 20)},
         "B": {t: 2 if t < 15 else 1 for t in range(10, 25)},
         "C": {**{t: 1 for t in range(20, 30)}, 0: 3, 1: 1}}
BRANCH = {"A": "MAIN", "B": "MAIN", "C": "CBR"}


def _barcode(member: str, title: int, copy: int) -> str:
    return "A012-0" if (member, title, copy) == ("B", 12, 0) else f"{member}{title:03d}-{copy}"


def _titles() -> list[pymarc.Record]:
    """Return 30 LoC books that no two of which are one edition (distinct title and LCCN)."""
    out, seen = [], set()
    with SAMPLE.open("rb") as fh:
        for record in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if record is None or not record.get("245") or not record.get("010"):
                continue
            key = record["245"].get("a", "").lower().strip(" /:.")
            if key and key not in seen and not record.get_fields("020"):
                seen.add(key)
                out.append(record)
            if len(out) == 30:
                return out
    raise AssertionError("the sample has fewer than 30 distinct titles")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reports' consortium, on each store back end."""
    root = tmp_path_factory.mktemp("reports")
    url = ""
    if request.param == "postgresql":
        from tests.postgres import cluster

        url = f'url = "{cluster().database()}"\n'
    titles = _titles()
    blocks = []
    for member, held in HOLDS.items():
        with (root / f"{member}.mrc").open("wb") as fh:
            for title, copies in held.items():
                record = pymarc.Record(leader=titles[title].leader, force_utf8=True)
                for field in titles[title].fields:
                    if field.tag not in ("001", "852"):
                        record.add_field(field)
                record.add_ordered_field(pymarc.Field(tag="001", data=f"{member}{title:03d}"))
                for copy in range(copies):
                    record.add_field(pymarc.Field(tag="852", indicators=[" ", " "], subfields=[
                        pymarc.Subfield("b", BRANCH[member]), pymarc.Subfield("p", _barcode(member, title, copy))]))
                fh.write(record.as_marc())
        blocks.append(f'[[source]]\nid = "{member}"\nname = "Library {member}"\ntype = "file"\n'
                      f'path = "{root / (member + ".mrc")}"\nholdings = "852"\n')
    config = root / "unioncat.toml"
    config.write_text(f'[store]\npath = "{root / "store.db"}"\n{url}[index]\npath = "{root / "index"}"\n\n'
                      + "\n".join(blocks), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return config


def report(site: Path, *args: str) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(cli, ["--config", str(site), "report", *args, "--json"])
    assert result.exit_code == 0, result.output
    found: dict[str, list[dict[str, object]]] = json.loads(result.output)
    return found


def held(member: str) -> set[int]:
    return set(HOLDS[member])


def test_overlap_counts_the_titles_each_pair_holds(site: Path) -> None:
    rows = report(site, "overlap")["overlap"]
    expected = {(a, b): len(held(a) & held(b)) for a, b in (("A", "B"), ("A", "C"), ("B", "C"))}
    assert {(r["a"], r["b"]): r["titles"] for r in rows} == expected == {("A", "B"): 10, ("A", "C"): 2, ("B", "C"): 5}


def test_unique_counts_what_no_other_member_holds(site: Path) -> None:
    rows = report(site, "unique")["unique"]
    expected = {m: {"titles": len(held(m)), "unique": len(held(m) - set().union(*(held(o) for o in HOLDS if o != m)))}
                for m in HOLDS}
    assert {r["member"]: {"titles": r["titles"], "unique": r["unique"]} for r in rows} == expected
    assert expected["B"]["unique"] == 0 and expected["C"]["unique"] == 5


def test_copies_lists_the_titles_with_more_copies_than_the_minimum(site: Path) -> None:
    for minimum in (2, 3):
        rows = report(site, "copies", "--min", str(minimum))["copies"]
        totals = {t: sum(HOLDS[m].get(t, 0) for m in HOLDS) for t in range(30)}
        wanted = {t for t, n in totals.items() if n > minimum}
        assert len(rows) == len(wanted) and all(r["copies"] > minimum for r in rows)
        assert sorted(r["copies"] for r in rows) == sorted(totals[t] for t in wanted)
    title_0 = next(r for r in report(site, "copies", "--min", "3")["copies"])
    assert title_0["members"] == {"A": 1, "C": 3} and title_0["title"]


def test_collisions_are_the_codes_two_members_wrote(site: Path) -> None:
    rows = report(site, "collisions")["collisions"]
    assert rows == [{"code": "A012-0", "kind": "barcode", "members": ["A", "B"]},
                    {"code": "MAIN", "kind": "holding", "members": ["A", "B"]}]


def test_csv_and_text_forms(site: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(site), "report", "overlap", "--csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows[0] == {"a": "A", "b": "B", "titles": "10"}
    result = CliRunner().invoke(cli, ["--config", str(site), "report", "collisions", "--csv"])
    assert list(csv.reader(io.StringIO(result.output)))[1] == ["A012-0", "barcode", "A B"]
    text = CliRunner().invoke(cli, ["--config", str(site), "report", "unique"]).output
    assert "Library C" in text and " 5 " in text
    bad = CliRunner().invoke(cli, ["--config", str(site), "report", "nonsense"])
    assert bad.exit_code == 2 and "nonsense" in bad.output
