"""UNIMARC/CNMARC records as MARC 21 (marc/data/unimarc_to_marc21.toml), on real records."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pymarc
import pytest
from lxml import etree

from unioncat.marc.crosswalk import rules, unimarc_to_marc21
from unioncat.marc.fields import all_fields
from unioncat.marc.reader import MarcFile, MarcItem
from unioncat.marc.records import fields_to_pymarc
from tests.conftest import MARC

SLIM = "{http://www.loc.gov/MARC21/slim}"
# The facets MARC21slim.xsd (LoC, version 1.2) puts on leader, tags, indicators and subfield
# codes, restated: the schema itself is not vendored (see README, "CNMARC as MARC 21").
LEADER = re.compile(r"[\d ]{5}[\dA-Za-z ][\dA-Za-z][\dA-Za-z ]{3}(2| )(2| )[\d ]{5}[\dA-Za-z ]{3}(4500|    )")
CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
DATA_TAG = re.compile(r"(0([1-9A-Z][0-9A-Z])|0([1-9a-z][0-9a-z]))|(([1-9A-Z][0-9A-Z]{2})|([1-9a-z][0-9a-z]{2}))")
INDICATOR = re.compile(r"[\da-z ]")
CODE = re.compile(r"[\dA-Za-z!\"#$%&'()*+,\-./:;<=>?{}_^`~\[\]\\]")


def cnmarc_records(path: Path) -> list[MarcItem]:
    return [i for i in MarcFile(str(path), "cnmarc").items() if isinstance(i, MarcItem)]


def slim_problems(xml: bytes) -> list[str]:
    """Return what MARC21slim.xsd's structure and facets would reject."""
    root = etree.fromstring(xml)
    record = root if root.tag == SLIM + "record" else root.find(SLIM + "record")
    problems = []
    children = [c.tag.replace(SLIM, "") for c in record]
    if children[:1] != ["leader"] or set(children) - {"leader", "controlfield", "datafield"}:
        problems.append(f"element order {children[:3]}")
    if not LEADER.fullmatch(record.findtext(SLIM + "leader") or ""):
        problems.append(f"leader {record.findtext(SLIM + 'leader')!r}")
    for cf in record.findall(SLIM + "controlfield"):
        if not CONTROL_TAG.fullmatch(cf.get("tag", "")):
            problems.append(f"controlfield tag {cf.get('tag')}")
    for df in record.findall(SLIM + "datafield"):
        if not DATA_TAG.fullmatch(df.get("tag", "")):
            problems.append(f"datafield tag {df.get('tag')}")
        if not (INDICATOR.fullmatch(df.get("ind1", "")) and INDICATOR.fullmatch(df.get("ind2", ""))):
            problems.append(f"indicators of {df.get('tag')}: {df.get('ind1')!r}{df.get('ind2')!r}")
        if not len(df):
            problems.append(f"datafield {df.get('tag')} without subfields")
        problems += [f"subfield code {sf.get('code')!r}" for sf in df if not CODE.fullmatch(sf.get("code", ""))]
    return problems


def title_200(fields: list) -> str:  # type: ignore[type-arg]
    value = next(v for t, _, v in fields if t == "200")
    return next(v for c, v in value if c == "a").replace("\x98", "").replace("\x9c", "").strip()


SOURCES = [MARC / "cnmarc_utf8_wrong_100_bnu.mrc", MARC / "cnmarc_gb18030_from_loc.iso"]


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_cnmarc_as_marc21(path: Path, shared_data: Path) -> None:
    items = cnmarc_records(path)
    if path.name.endswith("bnu.mrc"):
        items += cnmarc_records(shared_data / "cnmarc-dp2-bnu-alma-sru" / "derived_cnmarc_utf8.mrc")
    assert items
    for item in items:
        leader, fields = all_fields(item.raw, item.syntax, item.charset)
        record = fields_to_pymarc(*unimarc_to_marc21(leader, fields))
        # pymarc reads the ISO 2709 strictly
        again = next(pymarc.MARCReader(io.BytesIO(record.as_marc()), to_unicode=True, force_utf8=True))
        assert again is not None and again.leader[9] == "a" and len(again["008"].data) == 40
        title = again["245"]["a"].rstrip(" /:;=.,")
        assert title == title_200(fields), (title, title_200(fields))
        assert not slim_problems(pymarc.record_to_xml(again, namespace=True)), item.position


def test_the_crosswalk_is_data() -> None:
    table = rules()
    assert table["200"].to == "245" and table["690"].add == {"2": "clc"} and table["606"].map["y"] == "z"
    assert {table[t].to for t in ("700", "701", "702", "710", "711", "712")} == {"100", "700", "110", "710"}
