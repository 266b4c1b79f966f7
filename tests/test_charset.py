"""Character sets decode to the right strings on real records (no mojibake passes)."""
from __future__ import annotations

from pathlib import Path

from unioncat.errors import RecordError
from unioncat.marc.reader import MarcFile
from unioncat.marc.records import load_record


def records(path: Path, fmt: str = "marc21", encoding: str = "auto") -> list:
    out = []
    for item in MarcFile(str(path), fmt, encoding).items():
        assert not isinstance(item, RecordError), item
        out.append((item, load_record(item.raw, item.syntax, item.charset)))
    return out


def test_marc8_diacritics(marc_dir: Path) -> None:
    [(item, rec)] = records(marc_dir / "marc8_diacritics_pymarc.dat")
    assert item.charset == "marc-8"
    assert rec["240"]["a"] == "De la solitude à la communauté."


def test_marc8_french_diacritics_compose(shared_data: Path) -> None:
    recs = records(shared_data / "evergreen-test-datasets" / "marc" / "lul_fre_100.mrc")
    titles = [rec["245"].value() for _, rec in recs]
    assert "Dix-huitième siècle : études littéraires / Émile Faguet." in titles
    assert all(item.charset == "marc-8" for item, _ in recs)


def test_marc8_eacc_japanese(marc_dir: Path) -> None:
    [(item, rec)] = records(marc_dir / "marc8_eacc_japanese_pymarc.dat")
    assert item.charset == "marc-8"
    assert rec.get_fields("880")[0]["a"].startswith("米国の統治の仕組")


def test_marc8_eacc_chinese_with_broken_multibyte(marc_dir: Path) -> None:
    recs = records(marc_dir / "marc8_eacc_chinese_mangled_marc4j.mrc")
    assert len(recs) == 4
    item, rec = recs[0]
    assert item.charset == "marc-8"
    imprint = [f for f in rec.get_fields("880") if f["6"].startswith("260")][0]
    assert imprint["a"].startswith("济南")


def test_marc8_hebrew_880(marc_dir: Path) -> None:
    recs = records(marc_dir / "marc8_hebrew_880_evergreen.mrc")
    assert len(recs) == 20
    assert "לתורה" in recs[0][1].get_fields("880")[0]["a"]


def test_utf8_with_blank_leader_flag_is_read_as_utf8(marc_dir: Path) -> None:
    recs = records(marc_dir / "utf8_leader_blank_armenian_evergreen.mrc")
    assert len(recs) == 52 and {item.charset for item, _ in recs} == {"utf-8"}
    assert recs[0][1]["245"]["a"].startswith("Люди с чистой совестью")
    assert "leader/09 is blank" in recs[0][0].notes[0]


def test_cp1251_mislabelled_as_marc8(marc_dir: Path) -> None:
    recs = records(marc_dir / "cp1251_mislabelled_pymarc.dat")
    assert recs[0][0].charset == "cp1251"
    assert recs[0][1]["245"]["a"].startswith("Основы гидравлического расчета")


def test_unimarc_utf8_title(marc_dir: Path) -> None:
    [(item, rec)] = records(marc_dir / "unimarc_utf8_pymarc.dat", "unimarc")
    assert item.charset == "utf-8"
    # U+0088/U+0089 are UNIMARC's non-sort begin/end marks around the article.
    assert rec["200"]["a"] == "\x88L'\x89altra faccia della spirale"


def test_unimarc_double_encoded_utf8_is_repaired(marc_dir: Path) -> None:
    recs = records(marc_dir / "unimarc_double_utf8_sudoc.mrc", "unimarc")
    titles = [rec["200"]["a"] for _, rec in recs if rec.get("200")]
    assert "3 numarali mühimme defteri (966-968) - (1558-1560)" in titles
    assert not any("Ã" in t for t in titles)


def test_rusmarc_cp1251(marc_dir: Path) -> None:
    [(item, rec)] = records(marc_dir / "rusmarc_cp1251.iso", "unimarc")
    assert item.charset == "cp1251"
    assert rec["200"]["a"].startswith("Медико-социальные проблемы")


def test_cnmarc_utf8_despite_declared_gb(marc_dir: Path) -> None:
    recs = records(marc_dir / "cnmarc_utf8_wrong_100_bnu.mrc", "cnmarc")
    assert len(recs) == 10 and {item.charset for item, _ in recs} == {"utf-8"}
    assert recs[0][1]["200"]["a"] == "'94中国发展报告"
    assert "declares '0120'" in recs[0][0].notes[0]


def test_cnmarc_gb18030_built_from_loc_chinese_records(marc_dir: Path) -> None:
    recs = records(marc_dir / "cnmarc_gb18030_from_loc.iso", "cnmarc")
    assert {item.charset for item, _ in recs} == {"gb18030"}
    first = recs[0][1]
    assert first["200"]["a"] == "連城訣" and first["200"]["A"] == "Lian cheng jue"
    assert first["700"]["a"] == "金　庸"


def test_gb18030_override_reads_a_gbk_marc21_feed(tmp_path: Path) -> None:
    from unioncat.marc.iso2709 import encode_record, subfields
    data = encode_record("00000nam  2200000   4500", [
        ("001", b"gbk1"), ("245", subfields("10", [("a", "高等数学 / 同济大学数学系编")], "gbk"))])
    path = tmp_path / "gbk.mrc"
    path.write_bytes(data)
    [(item, rec)] = records(path, "marc21", "gb18030")
    assert item.charset == "gb18030" and rec["245"]["a"] == "高等数学 / 同济大学数学系编"
    # Without the override the record is not mistaken for UTF-8.
    [(auto_item, _)] = records(path)
    assert auto_item.charset != "utf-8"
