"""Every MARC file in ../shared/data imports without a crash, with exact counts.

The table gives, per file, records read and records rejected (and whether the
file is abandoned as a whole).  Where pymarc 5.4 reads the same file we never keep
fewer records than it does; where it loses records after a broken one (it never
resynchronises) we keep them: bad_records.mrc 6 vs 2, bad_hathi_records.mrc 5 vs 3,
000-line-seperated.mrc 20 vs 1, music.mrc 3 vs 1, oss.marc 42 vs 41.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from unioncat.config.model import SourceConfig
from unioncat.harvester import FileHarvester
from unioncat.loading import load
from unioncat.store import open_store

# (path under ../shared/data, read, rejected[, abandoned])
EXPECTED: list[tuple] = [
    ("pymarc-test-data/1251.dat", 6, 0),
    ("pymarc-test-data/alphatag.dat", 1, 0),
    ("pymarc-test-data/bad_eacc_encoding.dat", 1, 0),
    ("pymarc-test-data/bad_indicator.dat", 1, 0),
    ("pymarc-test-data/bad_marc8_escape.dat", 1, 0),
    ("pymarc-test-data/bad_records.mrc", 6, 3),
    ("pymarc-test-data/bad_subfield_code.dat", 1, 0),
    ("pymarc-test-data/bad_tag.xml", 1, 0),
    ("pymarc-test-data/batch.xml", 2, 0),
    ("pymarc-test-data/diacritic.dat", 1, 0),
    ("pymarc-test-data/marc.dat", 20, 0),
    ("pymarc-test-data/marc8-to-unicode.dat", 1, 0),
    ("pymarc-test-data/marc8.dat", 1, 0),
    ("pymarc-test-data/multi_isbn.dat", 1, 0),
    ("pymarc-test-data/one.dat", 1, 0),
    ("pymarc-test-data/regression45.dat", 12, 0),
    ("pymarc-test-data/test.dat", 10, 0),
    ("pymarc-test-data/testunimarc.dat", 1, 0),
    ("pymarc-test-data/utf8.xml", 1, 0),
    ("pymarc-test-data/utf8_errors.dat", 1, 0),
    ("pymarc-test-data/utf8_invalid.mrc", 1, 0),
    ("pymarc-test-data/utf8_with_leader_flag.dat", 1, 0),
    ("pymarc-test-data/utf8_without_leader_flag.dat", 1, 0),
    ("marc4j-test-resources/008008027.mrc", 18, 1),
    ("marc4j-test-resources/065001035.mrc", 40, 0),
    ("marc4j-test-resources/1474920681_KOHA_LFL_5.xml", 1, 0),
    ("marc4j-test-resources/1474920681_KOHA_LFL_6_with_comment.xml", 1, 0),
    ("marc4j-test-resources/185258.mrc", 1, 0),
    ("marc4j-test-resources/54-56-008008027.mrc", 5, 0),
    ("marc4j-test-resources/OCLC_814388508.xml", 1, 0),
    ("marc4j-test-resources/azdoud.xml", 1, 0),
    ("marc4j-test-resources/bad-characters-in-various-fields.mrc", 1, 0),
    ("marc4j-test-resources/bad_hathi_records.mrc", 5, 0),
    ("marc4j-test-resources/bad_leaders_10_11.mrc", 1, 0),
    ("marc4j-test-resources/bad_oversize_field_bad_directory.mrc", 5, 0),
    ("marc4j-test-resources/bad_too_long_plus_2.mrc", 3, 0),
    ("marc4j-test-resources/brkrtest.mrc", 8, 0),
    ("marc4j-test-resources/brkrtest_UTF8.mrc", 8, 0),
    ("marc4j-test-resources/chabon-bad-subfields-element.xml", 1, 0),
    ("marc4j-test-resources/chabon-loc.mrc", 2, 0),
    ("marc4j-test-resources/chabon-missing-controlfield-tag.xml", 0, 1),
    ("marc4j-test-resources/chabon-missing-datafield-tag.xml", 0, 1),
    ("marc4j-test-resources/chabon-missing-subfield-code.xml", 0, 1),
    ("marc4j-test-resources/chabon-record-type-bad.xml", 2, 0),
    ("marc4j-test-resources/chabon-record-type.xml", 2, 0),
    ("marc4j-test-resources/chabon.mrc", 2, 0),
    ("marc4j-test-resources/chabon.xml", 2, 0),
    ("marc4j-test-resources/chinese_mangled_multibyte.mrc", 4, 0),
    ("marc4j-test-resources/cruel-cruel-indicatorless-summerland.xml", 1, 0),
    ("marc4j-test-resources/cyrillic_capital_e.mrc", 2, 0),
    ("marc4j-test-resources/datos-20161010-slice.mrc", 0, 1),
    ("marc4j-test-resources/dp_004015001.mrc", 3, 0),
    ("marc4j-test-resources/field700_4_test.mrc", 2, 0),
    ("marc4j-test-resources/getty_test_1.mrc", 1, 0),
    ("marc4j-test-resources/getty_test_output.mrc", 1, 0),
    ("marc4j-test-resources/greekmissingcharsetchange.mrc", 3, 0),
    ("marc4j-test-resources/incomplete_esc_seq.mrc", 1, 0),
    ("marc4j-test-resources/kan1222221.mrc", 1, 0),
    ("marc4j-test-resources/loongboonmee.mrc", 2, 0),
    ("marc4j-test-resources/not_unimarc_errors_3.mrc", 3, 0),
    ("marc4j-test-resources/oclc_63111280_export_as_UTF8_from_connexion.mrc", 1, 0),
    ("marc4j-test-resources/pride-and-prejudice-fixed.mrc", 383, 0),
    ("marc4j-test-resources/pride-and-prejudice-with-many-errors.mrc", 367, 16),
    ("marc4j-test-resources/rec1.mrc", 1, 0),
    ("marc4j-test-resources/rec2.mrc", 1, 0),
    ("marc4j-test-resources/rec3.mrc", 1, 0),
    ("marc4j-test-resources/sample1.mrc", 8, 0),
    ("marc4j-test-resources/sample1a.xml", 9, 0),
    ("marc4j-test-resources/selectedRecs.mrc", 11, 0),
    ("marc4j-test-resources/summerland-record-with-type.xml", 1, 0),
    ("marc4j-test-resources/summerland-record.xml", 1, 0),
    ("marc4j-test-resources/summerland.mrc", 1, 0),
    ("marc4j-test-resources/summerland.xml", 1, 0),
    ("marc4j-test-resources/summerlandwith710.xml", 1, 0),
    ("marc4j-test-resources/u17_utf8.mrc", 1, 0),
    ("marc4j-test-resources/u335.mrc", 1, 0),
    ("marc4j-test-resources/unordered-directory-entries.mrc", 1, 0),
    ("qa-catalogue-test-resources/marc21/000-line-seperated.mrc", 20, 0),
    ("qa-catalogue-test-resources/marc21/0001-01.mrc", 5, 0),
    ("qa-catalogue-test-resources/marc21/22561.mrc", 1, 0),
    ("qa-catalogue-test-resources/marc21/BooksAll.2014.part01-0001.mrc", 100, 0),
    ("qa-catalogue-test-resources/marc21/authority.sample.xml", 10, 0),
    ("qa-catalogue-test-resources/marc21/music.mrc", 3, 0),
    ("qa-catalogue-test-resources/marc21/test.xml.gz", 10, 0),
    ("qa-catalogue-test-resources/marc21/thomas-mann.xml.gz", 352, 0),
    ("qa-catalogue-test-resources/unimarc-sudoc/serial.bnr.1993.mrc", 11, 0),
    ("qa-catalogue-test-resources/unimarc-sudoc/short.bnr.1993.mrc", 10, 0),
    ("qa-catalogue-test-resources/unimarc-sudoc/short.firenze.1977.mrc", 10, 0),
    ("rusmarc-afronkin-marcrecord/marcxml_1.xml", 12, 0),
    ("rusmarc-afronkin-marcrecord/rusmarc_1.iso", 1, 0),
    ("rusmarc-afronkin-marcrecord/rusmarc_2.iso", 1, 0),
    ("evergreen-test-datasets/authority/auth-1066.mrc", 1066, 0),
    ("evergreen-test-datasets/holdings-mfhd/serials_marc21.xml", 7, 0),
    ("evergreen-test-datasets/holdings-mfhd/serials_mfhd.xml", 7, 0),
    ("evergreen-test-datasets/marc/FSL.marc", 52, 0),
    ("evergreen-test-datasets/marc/hebrew.marc", 20, 0),
    ("evergreen-test-datasets/marc/jazz_1k.mrc", 1000, 0),
    ("evergreen-test-datasets/marc/lul_fre_100.mrc", 100, 0),
    ("evergreen-test-datasets/marc/lul_fre_500.mrc", 500, 0),
    ("evergreen-test-datasets/marc/map_data.mrc", 3, 0),
    ("evergreen-test-datasets/marc/nepali.marc", 96, 0),
    ("evergreen-test-datasets/marc/oss.marc", 42, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_concerto.xml", 100, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_cze.xml", 7, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_etextbooks.xml", 7, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_fic.xml", 17, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_fre.xml", 100, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_graphic_880.xml", 7, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_maps.xml", 3, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_mr.xml", 7, 0),
    ("evergreen-test-datasets/marcxml-from-sql/bibs_rda.xml", 10, 0),
    ("evergreen-test-datasets/rda/RDA_record_CD_Claudia.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_DVD-BLUE-RAY-MOVIE_Pineapple_express.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_DVD_Jorge_Mautner.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_MAP_2012_Enchanted_Circle.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_PHOTO_Srid_pa_ho.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_SCORE-CD_Arias_for_soprano.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_SCORE_Arias_for_bass.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_SCORE_Intermediate_studies.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_SCORE_Wiegenlied.mrc", 1, 0),
    ("evergreen-test-datasets/rda/RDA_record_SERIAL_IEEE_International_conference.mrc", 1, 0),
    ("cnmarc-dp2-bnu-alma-sru/derived_cnmarc_utf8.mrc", 10, 0),
    ("cnmarc-dp2-bnu-alma-sru/sample_cnmarcxml.xml", 10, 0),
    # holdings XML with no MARC record: as a member's drop, an empty file, which fails the load
    ("cnmarc-dp2-bnu-alma-sru/sample_isohold.xml", 0, 1),
    ("cnmarc-dp2-bnu-alma-sru/sample_marcxml.xml", 10, 0),
    ("cnmarc-dp2-bnu-alma-sru/sample_unimarcxml.xml", 10, 0),
    ("hbz-lobid-alma-union-catalogue/alma-fix-records", 232, 0),
    ("hbz-lobid-alma-union-catalogue/culturegraph_aggregate_20240507_example.marcxml", 5, 0),
]

# Files with no broken records, by their SOURCE.md: nothing may be rejected.
KNOWN_GOOD = ("loc-booksall-2016", "pride-and-prejudice-fixed", "evergreen-test-datasets/marc/",
              "cnmarc-dp2", "alma-fix-records", "thomas-mann", "unimarc-sudoc", "rusmarc")


def fmt_for(rel: str) -> str:
    if "unimarc" in rel or "rusmarc" in rel:
        return "unimarc"
    return "cnmarc" if rel.startswith("cnmarc") else "marc21"


@pytest.mark.parametrize("rel, read, rejected", [row[:3] for row in EXPECTED],
                         ids=[row[0] for row in EXPECTED])
def test_shared_file_counts(shared_data: Path, tmp_path: Path, rel: str, read: int,
                            rejected: int) -> None:
    path = shared_data / rel
    source = SourceConfig(id="S", name="s", type="file", path=str(path), format=fmt_for(rel))
    with open_store(str(tmp_path / "s.db")) as store:
        stats = load(store, "S", FileHarvester(source).harvest(), batch_size=500)
        assert (stats.read - stats.rejected, stats.rejected) == (read, rejected)
        assert store.count("S") == read - stats.repeated
        assert len(store.rejects("S")) == rejected
        abandoned = [r for r in store.rejects("S") if r["reason"].startswith("file abandoned")]
        assert bool(stats.error) == bool(abandoned)  # a file that broke fails the load
        if any(k in rel for k in KNOWN_GOOD) and read:
            assert rejected == 0


def test_every_marc_file_in_the_corpus_is_in_the_table(shared_data: Path) -> None:
    listed = {row[0] for row in EXPECTED}
    folders = ["pymarc-test-data", "marc4j-test-resources", "qa-catalogue-test-resources",
               "rusmarc-afronkin-marcrecord", "evergreen-test-datasets", "hbz-lobid-alma-union-catalogue",
               *[p.name for p in shared_data.glob("cnmarc-*")]]
    found = set()
    for folder in folders:
        for path in (shared_data / folder).rglob("*"):
            if path.is_file() and path.name.endswith((".mrc", ".dat", ".iso", ".marc", ".xml", ".xml.gz", ".marcxml")):
                rel = str(path.relative_to(shared_data))
                found.add(rel.rsplit("/", 1)[0] if "alma-fix-records" in rel else rel)
    assert found - listed == set()


def test_marc4j_bad_records_are_listed_by_rejects_with_file_and_position(  # type: ignore[no-untyped-def]
        shared_data: Path, write_config, run_cli) -> None:
    bad = shared_data / "marc4j-test-resources" / "pride-and-prejudice-with-many-errors.mrc"
    good = shared_data / "marc4j-test-resources" / "pride-and-prejudice-fixed.mrc"
    cfg = write_config({"id": "M", "path": str(bad)}, {"id": "G", "path": str(good)})
    result = run_cli(cfg, "import", "--all", "--json")
    stats = {s["source_id"]: s for s in json.loads(result.stdout)["imports"]}
    listed = json.loads(run_cli(cfg, "rejects", "M", "--json").stdout)["rejects"]
    assert len(listed) == 16
    assert all(r["location"] == str(bad) and r["position"] and r["byte_offset"] is not None
               for r in listed)
    status = {s["id"]: s for s in json.loads(run_cli(cfg, "status", "--json").stdout)["sources"]}
    # The file carries byte-identical copies of some records: stored once, counted as
    # repeated.  Every record of the damaged file is kept, listed, or such a copy.
    assert (stats["G"]["repeated"], stats["G"]["renamed"], status["G"]["records"]) == (20, 0, 363)
    assert (stats["M"]["repeated"], stats["M"]["rejected"], status["M"]["records"]) == (18, 16, 349)
    assert status["M"]["records"] + status["M"]["rejects"] + stats["M"]["repeated"] == 383
