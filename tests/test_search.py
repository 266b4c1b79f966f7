"""CQL parsing, analysis and searching the union index (tantivy) through the CLI."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from unioncat.cli import cli
from unioncat.cql import BooleanNode, Modifier, SearchClause, SortKey, parse
from unioncat.errors import SRUDiagnostic
from unioncat.index.analyzers import pinyin_tokens, tokens
from tests.conftest import ROOT


def test_cql_parses_to_the_expected_tree() -> None:
    q = parse('dc.title = "red mansions" and (year >= 1990 or dc.creator any "cao xueqin") '
              "sortBy dc.date/sort.descending")
    assert q.root == BooleanNode("and", SearchClause("dc.title", "=", "red mansions"),
                                 BooleanNode("or", SearchClause("year", ">=", "1990"),
                                             SearchClause("dc.creator", "any", "cao xueqin")))
    assert q.sort == (SortKey("dc.date", (Modifier("sort.descending"),)),) and q.sort[0].descending
    assert parse("history").root == SearchClause("cql.serverChoice", "=", "history")
    assert parse("a b").root == BooleanNode("and", SearchClause("cql.serverChoice", "=", "a"),
                                            SearchClause("cql.serverChoice", "=", "b"))


@pytest.mark.parametrize("query, number", [("dc.title=", 27), ("(((", 10), ("a and", 10),
                                           ("a prox b", 37), ("title cql.foo x", 19),
                                           ("a sortBy", 80), ('"unclosed', 14)])
def test_cql_errors_carry_their_diagnostic(query: str, number: int) -> None:
    with pytest.raises(SRUDiagnostic) as err:
        parse(query)
    assert err.value.number == number


def test_analysis() -> None:
    assert tokens("紅樓夢") == tokens("红楼梦") == ["红楼", "楼梦"]
    assert tokens("Honore\u0301") == tokens("HONORÉ") == ["honore"]
    assert tokens("日本の") == ["日本", "本の"]
    assert {"hongloumeng", "honglou", "meng"} <= set(pinyin_tokens("紅樓夢"))


@pytest.fixture(scope="module", params=["tantivy", "whoosh"])
def demo(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Path]:
    # Every behaviour test below runs against both engines.
    root = tmp_path_factory.mktemp(f"search-{request.param}")
    shutil.copytree(ROOT / "examples" / "demo", root / "demo", ignore=shutil.ignore_patterns("var"))
    cfg = root / "demo" / "unioncat.toml"
    text = cfg.read_text(encoding="utf-8").replace('path = "var/index"',
                                                    f'path = "var/index"\nengine = "{request.param}"')
    cfg.write_text(text, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(cfg), "run", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield cfg


def search(cfg: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "search", *args, "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def ids(result: dict) -> set[str]:
    return {m for r in result["records"] for m in r["members"]}


def test_traditional_and_simplified_find_each_other(demo: Path) -> None:
    trad = search(demo, "連城訣")
    simp = search(demo, "连城诀")
    assert trad["total"] == simp["total"] == 1
    assert ids(trad) == {"CITY.00470353", "DIST.rd0000002", "UNIV.ENU00000001"}


def test_substring_of_a_chinese_title_and_pinyin(demo: Path) -> None:
    assert "UNIV.ENU00000001" in ids(search(demo, "dc.title=城訣"))
    assert "UNIV.ENU00000001" in ids(search(demo, "lianchengjue"))
    assert "UNIV.ENU00000001" in ids(search(demo, "local.pinyin=lian cheng jue"))


def test_relations_booleans_truncation_and_sort(demo: Path) -> None:
    history = search(demo, "dc.title=history", "--limit", "100")["total"]
    recent = search(demo, "dc.title=history and dc.date>=2000", "--limit", "100")["total"]
    older = search(demo, "dc.title=history not dc.date>=2000", "--limit", "100")["total"]
    assert history == recent + older and recent > 0 and older > 0
    assert search(demo, "dc.title=hist*")["total"] >= history
    both = search(demo, 'dc.title all "history economic"')["total"]
    either = search(demo, 'dc.title any "history economic"')["total"]
    assert both <= history <= either
    years = [r["year"] for r in search(demo, "dc.title=history", "--sort", "year:desc", "--limit", "50")["records"]]
    assert years == sorted(years, reverse=True)


def test_library_filter_facets_and_available(demo: Path) -> None:
    univ = search(demo, "lian cheng jue", "--library", "UNIV", "--facet", "library,year")
    assert univ["total"] == 1 and univ["facets"]["library"]["UNIV"] == 1
    assert search(demo, "bath.possessingInstitution=VILL")["total"] == 100
    assert search(demo, "lian cheng jue", "--available")["total"] == 0
    runner = CliRunner()
    feed = demo.parent / "feed.csv"
    feed.write_text("barcode,status\nENU-20001,available\n")
    runner.invoke(cli, ["--config", str(demo), "availability", "load", "UNIV", str(feed)], catch_exceptions=False)
    assert search(demo, "lian cheng jue", "--available")["total"] == 1  # no reindex in between


def test_bad_queries_are_one_line_errors(demo: Path) -> None:
    runner = CliRunner()
    for query, number in (("foo.bar=x", 15), ("dc.nope=x", 16), ("dc.title>x", 19)):
        result = runner.invoke(cli, ["--config", str(demo), "search", query])
        assert result.exit_code == 1 and f"SRU diagnostic {number}" in result.stderr
        assert "Traceback" not in result.output


def test_marcxml_output_is_one_collection_and_json_is_json(demo: Path) -> None:
    """`search --format marcxml` wrote one root element per record: not one XML document."""
    from lxml import etree

    out = CliRunner().invoke(cli, ["--config", str(demo), "search", "dc.title=lian", "--format", "marcxml"])
    assert out.exit_code == 0, out.output
    root = etree.fromstring(out.stdout.encode("utf-8"))
    slim = "{http://www.loc.gov/MARC21/slim}"
    assert root.tag == slim + "collection" and len(root.findall(slim + "record")) == 4
    as_json = CliRunner().invoke(cli, ["--config", str(demo), "search", "dc.title=lian", "--json"])
    assert json.loads(as_json.stdout)["total"] == search(demo, "dc.title=lian")["total"] == 4


def test_format_facet_in_words(demo: Path) -> None:
    """The format facet showed leader codes ("am", "as"); dc.type takes the same words."""
    found = search(demo, "cql.allRecords=1", "--facet", "format")
    formats = found["facets"]["format"]
    assert "book" in formats and all(len(name) > 2 for name in formats), formats
    assert search(demo, "dc.type=book")["total"] == formats["book"]


def test_pinyin_as_chinese_readers_type_it(demo: Path) -> None:
    """`zhongguofazhanbaogao` found nothing while `zhongguo fazhan baogao` found 9."""
    spaced = ids(search(demo, '"zhongguo fazhan baogao"', "--limit", "100"))
    assert len(spaced) >= 9
    for query in ("zhongguofazhanbaogao", '"zhong guo fa zhan bao gao"', "ZhongguoFazhanBaogao",
                  "local.pinyin=zhongguofazhanbaogao"):
        assert ids(search(demo, query, "--limit", "100")) >= spaced, query
    # a beginning of a title, the last syllable perhaps only begun
    assert ids(search(demo, "zhongguofa", "--limit", "100")) >= spaced
    assert ids(search(demo, "zhongguofazh", "--limit", "100")) >= spaced
    # a polyphonic character under every common reading: 传统 is chuantong, 传 alone also zhuan
    chuan = ids(search(demo, "taiwanchuantongjianzhu"))
    assert chuan and chuan == ids(search(demo, "taiwanzhuantongjianzhu"))
    assert ids(search(demo, "lianchengjue")) == ids(search(demo, "連城訣"))


def test_cjk_titles_shown_in_their_script_and_columns_by_width(demo: Path) -> None:
    """Results showed only the romanised title; the table counted a Chinese character as one column."""
    from unioncat.text import display_width

    found = search(demo, "連城訣")["records"][0]
    assert (found["title"], found["title_romanised"]) == ("連城訣", "Lian cheng jue")
    assert found["author"].startswith("金") and found["author_romanised"].startswith("Jin, Yong")
    latin = search(demo, "dc.title=history")["records"][0]
    assert latin["title"] and latin["title_romanised"] == ""  # no 880: the title as catalogued
    table = CliRunner().invoke(cli, ["--config", str(demo), "search", "lianchengjue or dc.title=history"]).stdout
    rows = [line for line in table.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert any("連城訣 (Lian cheng jue)" in row for row in rows) and len(rows) > 2
    # the year column starts at display column 92 on every row (6 + title 60 + 1 + author 24 + 1)
    for row in rows:
        cut = next(i for i in range(len(row) + 1) if display_width(row[:i]) >= 92)
        assert display_width(row[:cut]) == 92 and re.match(r"(\d{4}| {4})  ", row[cut:]), row
