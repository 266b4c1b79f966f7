"""MARCXML reading: namespaces, envelopes, several roots, bad records, hostile XML."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from unioncat.errors import FatalReadError
from unioncat.marc.reader import MarcFile
from tests.conftest import read_marc as read
from unioncat.marc.records import load_record


def test_alma_record_without_namespace(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "marcxml_no_namespace_alma.xml")
    assert (len(ok), len(bad)) == (1, 0)
    assert ok[0].control_number == "990001412590206441"


def test_several_root_records_without_collection(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "marcxml_several_roots_evergreen.xml")
    assert (len(ok), len(bad)) == (7, 0)
    assert len({i.raw for i in ok}) == 7
    assert sorted(i.control_number for i in ok if i.control_number) == [
        "01-0309208", "01-0321871", "21061"]


def test_cnmarcxml_inside_an_sru_response_with_bom(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "cnmarcxml_in_sru_response_bom_bnu.xml", "cnmarc")
    assert (len(ok), len(bad)) == (10, 0)
    rec = load_record(ok[0].raw, ok[0].syntax, ok[0].charset)
    assert rec["200"]["a"] == "'94中国发展报告"


def test_datafield_without_tag_is_rejected_with_its_line(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "marcxml_datafield_without_tag_marc4j.xml")
    assert ok == [] and len(bad) == 1
    assert bad[0].reason == "datafield without a tag attribute (line 61)"
    assert bad[0].raw.startswith(b"<record") or b"<record" in bad[0].raw[:200]


def test_external_entity_is_refused_and_never_read(marc_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    doc = (marc_dir / "xxe_external_entity.xml").read_text().replace(
        "file:///etc/hostname", secret.as_uri())
    path = tmp_path / "xxe.xml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(FatalReadError) as err:
        list(MarcFile(str(path)).items())
    assert "DOCTYPE" in str(err.value) and str(path) in str(err.value)
    assert "TOP-SECRET" not in str(err.value)


def test_billion_laughs_is_refused(marc_dir: Path) -> None:
    with pytest.raises(FatalReadError) as err:
        list(MarcFile(str(marc_dir / "billion_laughs.xml")).items())
    assert "DOCTYPE" in str(err.value)


def test_entity_reference_without_doctype_rejects_the_record(tmp_path: Path) -> None:
    path = tmp_path / "ent.xml"
    path.write_text('<collection xmlns="http://www.loc.gov/MARC21/slim"><record>'
                    '<leader>00000nam a2200000 a 4500</leader><controlfield tag="001">e1'
                    '</controlfield><datafield tag="245" ind1="0" ind2="0"><subfield code="a">'
                    '&amp;fine</subfield></datafield></record></collection>', encoding="utf-8")
    ok, bad = read(path)
    assert len(ok) == 1
    assert load_record(ok[0].raw, ok[0].syntax, ok[0].charset)["245"]["a"] == "&fine"


def test_broken_xml_is_fatal_naming_file_line_and_offset(tmp_path: Path) -> None:
    good = ('<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">{}'
            '</controlfield></record>')
    body = "".join(good.format(n) for n in range(3))
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(gzip.compress(
        f'<collection xmlns="http://www.loc.gov/MARC21/slim">{body}<record><leader>'.encode()))
    items = []
    with pytest.raises(FatalReadError) as err:
        for item in MarcFile(str(path)).items():
            items.append(item)
    assert len(items) == 3  # what came before the break is kept
    assert str(path) in str(err.value) and "line 1" in str(err.value)
    assert err.value.offset is not None


def test_control_characters_forbidden_in_xml_are_dropped_and_counted(tmp_path: Path) -> None:
    # pymarc's XMLWriter writes a stray 0x1F from a MARC field straight into the XML.
    rec = ('<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">{}'
           '</controlfield><datafield tag="245" ind1="0" ind2="0"><subfield code="a">{}'
           '</subfield></datafield></record>')
    body = rec.format("c1", "Before\x1fafter") + rec.format("c2", "Next")
    path = tmp_path / "ctl.xml"
    path.write_bytes(f'<collection xmlns="http://www.loc.gov/MARC21/slim">{body}</collection>'.encode())
    marc_file = MarcFile(str(path))
    items = list(marc_file.items())
    assert [load_record(i.raw, i.syntax, i.charset)["245"]["a"] for i in items] == ["Beforeafter", "Next"]
    assert marc_file.warnings == [f"{path}: 1 characters not allowed in XML (C0 controls) dropped"]
