"""Every holdings preset on real records (and Koha's, which ../shared has none of, on
records built to Koha's default frameworks)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from unioncat.config.model import SourceConfig
from unioncat.harvester import FileHarvester
from unioncat.holdings.itemstore import ItemExtractor
from unioncat.holdings.view import holdings_for
from unioncat.loading import load
from unioncat.marc.iso2709 import encode_record, subfields
from unioncat.store import Store, open_store
from tests.conftest import MARC

HOLD = Path(__file__).parent / "data" / "holdings"


def load_with(tmp_path: Path, path: Path, holdings: Any, fmt: str = "marc21", sid: str = "M",
              store: Store | None = None, **extra: Any) -> tuple[Store, ItemExtractor]:
    store = store or open_store(str(tmp_path / "s.db"))
    source = SourceConfig(id=sid, name=sid, type="file", path=str(path), format=fmt,
                          holdings=holdings, **extra)
    hook = ItemExtractor(source)
    stats = load(store, sid, FileHarvester(source).harvest(), on_change=hook)
    assert stats.error == "" and stats.rejected == 0
    return store, hook


def items(store: Store, record_id: str) -> list[dict[str, Any]]:
    return [i for m in holdings_for(store, [record_id]) for i in m["items"]]


def test_852_union_catalogue_one_field_per_member(tmp_path: Path) -> None:
    store, hook = load_with(tmp_path, HOLD / "852_union_catalogue_slsp.xml", "852")
    rid = store.db.execute("SELECT id FROM records").fetchone()[0]
    members = holdings_for(store, [rid], {"M": "swisscovery"})
    institutions = sorted(m["institution"] for m in members)
    assert institutions == ["41SLSP_EPF", "41SLSP_UZB"]
    assert all(m["member"] == f"M/{m['institution']}" for m in members)
    assert {i["status"] for m in members for i in m["items"]} == {"unknown"}


def test_852_items_with_call_numbers_and_barcodes(tmp_path: Path, shared_data: Path) -> None:
    store, hook = load_with(tmp_path, shared_data / "qa-catalogue-test-resources" / "marc21" /
                            "thomas-mann.xml.gz", "852")
    assert hook.items >= 352
    row = store.db.execute("SELECT record_id, branch, call_number FROM items WHERE branch='lsf'"
                           " LIMIT 1").fetchone()
    assert row[2].startswith("PT2625 A55")


def test_852_evergreen_on_evergreen_records(tmp_path: Path, shared_data: Path) -> None:
    store, hook = load_with(tmp_path, shared_data / "evergreen-test-datasets" / "marc" /
                            "nepali.marc", "852-evergreen")
    assert hook.items == 96
    row = store.db.execute("SELECT institution, status FROM items LIMIT 1").fetchone()
    assert row == ("Madan Puraskar Pustakalaya", "unknown")


def test_949_unicorn_items(tmp_path: Path) -> None:
    store, hook = load_with(tmp_path, HOLD / "949_unicorn_evergreen.mrc", "949")
    assert hook.items == 114 and hook.unknown_codes == {}
    [item] = items(store, "M.01-0121680")
    assert (item["barcode"], item["branch"], item["location"], item["call_number"], item["status"]) == (
        "30007004327143", "DESMARAIS", "DESM-CIR", "PS 9476 O88 V47", "available")
    assert item["item_id"] == "M.30007004327143"


def test_999_sirsi_items(tmp_path: Path) -> None:
    store, hook = load_with(tmp_path, HOLD / "999_sirsi_pymarc.dat", "999")
    [item] = items(store, "M.000000001")
    assert (item["location"], item["call_number"]) == ("WFIS", "Juv. 542 M917")


def test_905_cnmarc_and_ava_alma_on_bnu_records(tmp_path: Path) -> None:
    path = MARC / "cnmarcxml_in_sru_response_bom_bnu.xml"
    store, hook = load_with(tmp_path, path, "905-cnmarc", fmt="cnmarc")
    [item] = items(store, "M.990002180740203961")
    assert (item["call_number"], item["status"]) == ("F124 26", "unknown")
    store2, hook2 = load_with(tmp_path / "ava", path, "ava-alma", fmt="cnmarc",
                              store=open_store(str(tmp_path / "ava.db")))
    found = items(store2, "M.990002180740203961")
    assert {i["location"] for i in found} >= {"中文库本书—A-H(主馆六层)"}
    assert all(i["status"] == "available" and i["count"] == 1 for i in found)
    members = holdings_for(store2, ["M.990002180740203961"])
    assert members[0]["available"] == members[0]["total"] == len(found)


def test_mfhd_records_attach_to_their_bibliographic_records(tmp_path: Path) -> None:
    # Evergreen's MFHD export links each holdings record to its bib with a second 001
    # (its internal record id, which the bib file's 001s do not carry).
    store = open_store(str(tmp_path / "s.db"))
    load_with(tmp_path, HOLD / "mfhd_bibs_evergreen.xml", "mfhd", store=store)
    _, hook = load_with(tmp_path, HOLD / "mfhd_evergreen.xml", "mfhd", store=store)
    owners = sorted(r[0] for r in store.db.execute("SELECT DISTINCT record_id FROM items"))
    assert hook.items == 7 and "M.44368" in owners
    [item] = items(store, "M.44368")
    assert item["branch"] == "HRSRH" and item["location"] == "HRSRHL-PER"
    # The holdings record's own id is never an owner: items belong to bibliographic records.
    assert "M.a814607" not in owners


def koha_record(tag: str, items: list[list[tuple[str, str]]], unimarc: bool = False) -> bytes:
    fields = [("001", b"koha1")]
    title = ("200", "1 ") if unimarc else ("245", "10")
    fields.append((title[0], subfields(title[1], [("a", "Koha test title")], "utf-8")))
    fields += [(tag, subfields("  ", subs, "utf-8")) for subs in items]
    return encode_record("00000nam a2200000 a 4500", fields)


def test_952_koha_statuses_from_flags(tmp_path: Path) -> None:
    # Built to Koha's MARC 21 default framework (../shared has no Koha item data:
    # marc4j's two Koha exports carry 942 only).
    path = tmp_path / "koha.mrc"
    path.write_bytes(koha_record("952", [
        [("a", "MAIN"), ("b", "MAIN"), ("o", "QA76 .T4"), ("p", "B1"), ("7", "0")],
        [("a", "MAIN"), ("b", "NORTH"), ("p", "B2"), ("q", "2026-12-01")],
        [("a", "MAIN"), ("b", "MAIN"), ("p", "B3"), ("1", "2")],
        [("a", "MAIN"), ("b", "MAIN"), ("p", "B4"), ("7", "-1")],
        [("a", "MAIN"), ("b", "MAIN"), ("p", "B5"), ("7", "1")]]))
    store, _ = load_with(tmp_path, path, "952-koha")
    got = {i["barcode"]: (i["status"], i["due_date"]) for i in items(store, "M.koha1")}
    assert got == {"B1": ("available", None), "B2": ("on_loan", "2026-12-01"), "B3": ("lost", None),
                   "B4": ("in_processing", None), "B5": ("not_for_loan", None)}


def test_995_koha_unimarc(tmp_path: Path) -> None:
    path = tmp_path / "koha995.mrc"
    path.write_bytes(koha_record("995", [
        [("b", "BIB1"), ("c", "BIB2"), ("f", "U1"), ("k", "843 AUS"), ("n", "2026-12-24")],
        [("b", "BIB1"), ("f", "U2"), ("o", "1")]], unimarc=True))
    store, _ = load_with(tmp_path, path, "995-koha", fmt="unimarc")
    got = {i["barcode"]: (i["status"], i["call_number"]) for i in items(store, "M.koha1")}
    assert got == {"U1": ("on_loan", "843 AUS"), "U2": ("not_for_loan", "")}


def test_koha_exports_in_marc4j_have_no_items(tmp_path: Path, shared_data: Path) -> None:
    store, hook = load_with(tmp_path, shared_data / "marc4j-test-resources" /
                            "1474920681_KOHA_LFL_5.xml", "952-koha")
    assert hook.items == 0


def test_table_layout_and_unknown_codes_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "t.mrc"
    path.write_bytes(koha_record("949", [[("x", "A1"), ("s", "Ausgeliehen")],
                                         [("x", "A2"), ("s", "Zerfleddert")]]))
    table = {"tag": "949", "barcode": "x", "status": "s"}
    store, hook = load_with(tmp_path, path, table, status_map={"Ausgeliehen": "on_loan"})
    got = {i["barcode"]: (i["status"], i["raw_status"]) for i in items(store, "M.koha1")}
    assert got == {"A1": ("on_loan", "Ausgeliehen"), "A2": ("unknown", "Zerfleddert")}
    assert hook.warnings() and "'Zerfleddert' x1" in hook.warnings()[0]


def test_same_barcode_at_two_members_stays_two_items(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.db"))
    load_with(tmp_path, HOLD / "949_unicorn_evergreen.mrc", "949", sid="A", store=store)
    load_with(tmp_path, HOLD / "949_unicorn_evergreen.mrc", "949", sid="B", store=store)
    rows = store.db.execute("SELECT item_id, source FROM items WHERE barcode='30007004327143'").fetchall()
    assert sorted(rows) == [("A.30007004327143", "A"), ("B.30007004327143", "B")]


@pytest.mark.parametrize("preset", ["852", "852-evergreen", "952-koha", "995-koha", "949", "999",
                                    "905-cnmarc", "ava-alma", "mfhd", "opac"])
def test_every_preset_is_accepted_by_the_config(preset: str, tmp_path: Path) -> None:
    from unioncat.config import load_config
    cfg = tmp_path / "u.toml"
    cfg.write_text(f'[[source]]\nid = "A"\nname = "a"\ntype = "file"\npath = "drop"\nholdings = "{preset}"\n')
    assert load_config(str(cfg)).sources[0].holdings == preset


def test_table_layout_on_alma_network_items(tmp_path: Path, shared_data: Path) -> None:
    # hbz's Alma network zone carries member items in ITM: $M member institution,
    # $b barcode, $c call number, $u location, $d process type... as a holdings table.
    table = {"tag": "ITM", "member": "M", "barcode": "b", "call_number": "c", "location": "u"}
    store, hook = load_with(tmp_path, HOLD / "alma_itm_hbz_union.xml", table, sid="HBZ")
    [item] = [i for m in holdings_for(store, ["HBZ.99374153235806441"]) for i in m["items"]]
    assert (item["barcode"], item["call_number"], item["location"]) == ("ULB0183694", "De 114", "DBIO")
    assert item["item_id"] == "HBZ.ULB0183694"
    folder = shared_data / "hbz-lobid-alma-union-catalogue" / "alma-fix-records"
    store2, hook2 = load_with(tmp_path, folder, table, sid="HBZ", store=open_store(str(tmp_path / "all.db")))
    members = {r[0] for r in store2.db.execute("SELECT DISTINCT institution FROM items")}
    assert hook2.items > 117 and {"49HBZ_ULM", "49HBZ_UBK"} <= members
