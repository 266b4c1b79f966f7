"""`unioncat import`, `status`, `rejects` and `show` end to end on real records."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree
import pymarc
import pytest

from unioncat.marc.iso2709 import encode_record, iter_chunks, parse_fields
from unioncat.errors import UnioncatError
from unioncat.models import SourceRecord
from unioncat.store import open_store

# Every test here runs against both store back ends (SQLite and the throwaway PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def status(run_cli, config: Path) -> dict:  # type: ignore[no-untyped-def]
    result = run_cli(config, "status", "--json")
    assert result.exit_code == 0, result.output
    return {s["id"]: s for s in json.loads(result.stdout)["sources"]}


def import_json(run_cli, config: Path, *args: str) -> dict:  # type: ignore[no-untyped-def]
    result = run_cli(config, "import", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["imports"][0]  # type: ignore[no-any-return]


def chunks(path: Path) -> list[bytes]:
    with open(path, "rb") as fh:
        return [c.data for c in iter_chunks(fh, str(path))]


def test_import_then_reimport_is_a_no_op(write_config, run_cli, marc_dir: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "LOC", "path": str(marc_dir / "loc_utf8_100.mrc")})
    first = import_json(run_cli, cfg, "LOC")
    assert (first["read"], first["new"], first["rejected"]) == (100, 100, 0)
    second = import_json(run_cli, cfg, "LOC")
    assert (second["new"], second["updated"], second["unchanged"]) == (0, 0, 100)
    row = status(run_cli, cfg)["LOC"]
    assert (row["records"], row["deleted"], row["rejects"]) == (100, 0, 0)
    assert row["last_load"]["status"] == "ok" and row["last_load"]["stats"]["unchanged"] == 100


def test_changed_and_deleted_records_are_counted(write_config, run_cli, marc_dir: Path,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    records = chunks(marc_dir / "loc_utf8_100.mrc")
    cfg = write_config({"id": "LOC"})
    drop = tmp_path / "drop.mrc"
    drop.write_bytes(b"".join(records[:10]))
    import_json(run_cli, cfg, "LOC", str(drop))
    changed = parse_fields(records[0])
    fields = [(t, d + b" (revised)" if t == "245" else d)
              for t, d in changed.fields]
    deleted = parse_fields(records[1])
    leader = deleted.leader[:5] + "d" + deleted.leader[6:]
    drop.write_bytes(encode_record(changed.leader, fields)
                     + encode_record(leader, list(deleted.fields)) + b"".join(records[2:10]))
    stats = import_json(run_cli, cfg, "LOC", str(drop))
    assert (stats["updated"], stats["deleted"], stats["unchanged"]) == (1, 1, 8)
    row = status(run_cli, cfg)["LOC"]
    assert (row["records"], row["deleted"], row["active"]) == (10, 1, 9)


def test_unchanged_records_are_recognised_by_their_bytes_not_parsed(  # type: ignore[no-untyped-def]
        write_config, run_cli, marc_dir: Path, store_at, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A nightly drop is mostly last night's records: re-parsing each (fields, charset
    # detection) cost 0.1 ms, 9 minutes of a 5,000,000-record consortium's 1% run.
    import unioncat.marc.reader as reader

    records = chunks(marc_dir / "loc_utf8_100.mrc")
    cfg = write_config({"id": "LOC"})
    drop = tmp_path / "drop.mrc"
    drop.write_bytes(b"".join(records[:10]))
    import_json(run_cli, cfg, "LOC", str(drop))
    columns = "id, hash, syntax, format, charset, leader, datestamp, deleted, notes, location"
    with open_store(store_at(), readonly=True) as store:
        before = {r[0]: r for r in store.db.execute(f"SELECT {columns} FROM records")}
    parsed = []
    parse = reader.item_from_iso2709
    monkeypatch.setattr(reader, "item_from_iso2709",
                        lambda data, *a, **k: parsed.append(data) or parse(data, *a, **k))
    revised = parse_fields(records[0])
    changed = encode_record(revised.leader, [(t, d + b" (revised)" if t == "245" else d)
                                             for t, d in revised.fields])
    # changed, eight unchanged, the old version of the changed record after its new one,
    # a new record, and an unchanged one twice
    drop.write_bytes(changed + b"".join(records[1:9]) + records[0] + records[10] + records[9] * 2)
    stats = import_json(run_cli, cfg, "LOC", str(drop))
    assert (stats["read"], stats["updated"], stats["unchanged"], stats["new"], stats["renamed"],
            stats["repeated"]) == (13, 1, 9, 2, 1, 1)
    # parsed: the changed record, the old one whose id the changed one took, the new one,
    # and the second copy (counted as seen twice, as before); not the nine unchanged
    assert parsed == [changed, records[0], records[10], records[9]]
    with open_store(store_at(), readonly=True) as store:
        after = {r[0]: r for r in store.db.execute(f"SELECT {columns} FROM records")}
    old_id = parse_fields(records[0]).first("001").decode().strip()  # type: ignore[union-attr]
    assert {k: v for k, v in after.items() if k in before and k != f"LOC.{old_id}"} == \
        {k: v for k, v in before.items() if k != f"LOC.{old_id}"}
    assert after[f"LOC.{old_id}#2"][1:] == before[f"LOC.{old_id}"][1:]  # the old one, kept whole


def test_bad_records_listed_by_rejects_with_file_and_position(write_config, run_cli,  # type: ignore[no-untyped-def]
                                                              marc_dir: Path) -> None:
    bad = str(marc_dir / "bad_records_pymarc.mrc")
    cfg = write_config({"id": "BAD", "path": bad})
    stats = import_json(run_cli, cfg, "BAD")
    assert (stats["read"], stats["rejected"]) == (9, 3)
    text = run_cli(cfg, "rejects", "BAD")
    assert f"{bad}: record 5, byte 509: directory entry 1" in text.stdout
    assert f"{bad}: record 9, byte 917: truncated record" in text.stdout
    listed = json.loads(run_cli(cfg, "rejects", "BAD", "--json").stdout)["rejects"]
    assert [(r["position"], r["byte_offset"]) for r in listed] == [(5, 509), (7, 764), (9, 917)]
    # Importing the same file again replaces its rejects instead of piling them up.
    import_json(run_cli, cfg, "BAD")
    assert status(run_cli, cfg)["BAD"]["rejects"] == 3


def test_records_without_001_get_stable_content_hash_ids(write_config, run_cli, store_at,  # type: ignore[no-untyped-def]
                                                         marc_dir: Path, tmp_path: Path) -> None:
    cfg = write_config({"id": "X", "path": str(marc_dir / "marcxml_several_roots_evergreen.xml")})
    import_json(run_cli, cfg, "X")
    with open_store(store_at()) as store:
        ids = sorted(store.ids("X"))
    assert len(ids) == 7 and sum(i.startswith("X.hash-") for i in ids) == 4
    assert "X.21061" in ids
    again = import_json(run_cli, cfg, "X")
    assert again["unchanged"] == 7


def test_show_in_every_format(write_config, run_cli, marc_dir: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "UNIV", "format": "cnmarc",
                        "path": str(marc_dir / "cnmarc_gb18030_from_loc.iso")})
    import_json(run_cli, cfg, "UNIV")
    text = run_cli(cfg, "show", "UNIV.ENU00000001").stdout
    assert "charset gb18030" in text and "=200  1\\$a連城訣$ALian cheng jue" in text
    xml = etree.fromstring(run_cli(cfg, "show", "UNIV.ENU00000001", "--format", "marcxml").stdout.encode())
    titles = xml.xpath("//m:datafield[@tag='200']/m:subfield[@code='a']/text()",
                       namespaces={"m": "http://www.loc.gov/MARC21/slim"})
    assert titles == ["連城訣"]
    data = json.loads(run_cli(cfg, "show", "UNIV.ENU00000001", "--format", "json").stdout)
    assert data["charset"] == "gb18030" and data["source"] == "UNIV"
    assert data["record"]["fields"][0] == {"001": "ENU00000001"}
    marc = run_cli(cfg, "show", "UNIV.ENU00000001", "--format", "marc").stdout_bytes
    [again] = list(pymarc.MARCReader(marc, to_unicode=True, force_utf8=True))
    assert again["200"]["a"] == "連城訣"


def test_unknown_id_and_missing_file_are_one_line_errors(write_config, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "A"})
    result = run_cli(cfg, "show", "A.nope")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "no record 'A.nope'" in result.stderr
    result = run_cli(cfg, "import", "A", str(tmp_path / "absent.mrc"))
    assert result.exit_code == 1 and "absent.mrc" in result.stderr
    assert "Traceback" not in result.output
    result = run_cli(cfg, "import", "NOPE", str(tmp_path))
    assert result.exit_code == 2 and "no source with id 'NOPE'" in result.stderr


def test_import_all_and_text_summary(write_config, run_cli, marc_dir: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "A", "path": str(marc_dir / "loc_utf8_100.mrc")},
                       {"id": "B", "path": str(marc_dir / "marc8_hebrew_880_evergreen.mrc")})
    result = run_cli(cfg, "import", "--all")
    assert result.exit_code == 0
    assert "A: read 100 records from 1 file" in result.stdout
    assert "B: read 20 records from 1 file" in result.stdout
    assert "new 20, updated 0, unchanged 0, deleted 0, rejected 0" in result.stdout


def _many_records(marc_dir: Path, copies: int) -> bytes:
    out = bytearray()
    base = chunks(marc_dir / "loc_utf8_100.mrc")
    for n in range(copies):
        for i, data in enumerate(base):
            parsed = parse_fields(data)
            fields = [("001", f"k{n:04d}-{i:03d}".encode()) if t == "001" else (t, d)
                      for t, d in parsed.fields]
            out += encode_record(parsed.leader, fields)
    return bytes(out)


def test_kill_9_mid_import_then_rerun_gives_exact_counts(write_config, marc_dir: Path, store_at,  # type: ignore[no-untyped-def]
                                                          store_backend: str, tmp_path: Path) -> None:
    drop = tmp_path / "big.mrc"
    drop.write_bytes(_many_records(marc_dir, 300))  # 30,000 records
    cfg = write_config({"id": "K", "path": str(drop)})
    cmd = [sys.executable, "-m", "unioncat", "--config", str(cfg), "import", "K"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            with open_store(store_at(), readonly=True) as reader:
                if reader.count() >= 2000:
                    break
        except UnioncatError:
            continue  # not created yet
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open_store(store_at(), readonly=True) as reader:
        partial = reader.count()
    if store_backend == "sqlite":
        with sqlite3.connect(tmp_path / "store.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 0 < partial < 30000, partial
    assert partial % 50 == 0  # whole batches only (batch_size = 50)
    done = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, check=True)
    stats = json.loads(done.stdout)["imports"][0]
    assert (stats["new"], stats["unchanged"]) == (30000 - partial, partial)
    with open_store(store_at(), readonly=True) as reader:
        assert reader.count() == len(set(reader.ids("K"))) == 30000
        load = [r[0] for r in reader.db.execute("SELECT status FROM loads ORDER BY id")]
    assert load == ["running", "ok"]  # the killed run is visibly unfinished


def test_a_reused_id_keeps_both_records(write_config, run_cli, marc_dir: Path, store_at,  # type: ignore[no-untyped-def]
                                        tmp_path: Path) -> None:
    # Two different records with one 001 (aggregated exports), and one exact copy.
    first, second = chunks(marc_dir / "loc_utf8_100.mrc")[:2]
    parsed = parse_fields(second)
    same_id = encode_record(parsed.leader, [("001", parse_fields(first).first("001") or b"")]
                            + [f for f in parsed.fields if f[0] != "001"])
    drop = tmp_path / "agg.mrc"
    drop.write_bytes(first + same_id + first)
    cfg = write_config({"id": "A", "path": str(drop)})
    stats = import_json(run_cli, cfg, "A")
    assert (stats["new"], stats["renamed"], stats["repeated"]) == (2, 1, 1)
    with open_store(store_at()) as store:
        ids = sorted(store.ids("A"))
    assert ids == ["A.00000002", "A.00000002#2"]  # LoC record 1 has 001 00000002
    again = import_json(run_cli, cfg, "A")
    assert (again["unchanged"], again["renamed"], again["new"]) == (2, 1, 0)


def test_show_marc_refuses_a_record_iso2709_cannot_hold(write_config, run_cli, marc_dir: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "L", "path": str(marc_dir / "leader_length_wrong_marc4j.mrc")})
    import_json(run_cli, cfg, "L")
    result = run_cli(cfg, "show", "L.360944", "--format", "marc")
    assert result.exit_code == 1 and "exceeds ISO 2709's 99,999" in result.stderr
    assert run_cli(cfg, "show", "L.360944", "--format", "marcxml").exit_code == 0
    small = run_cli(cfg, "show", "L.360945", "--format", "marc").stdout_bytes
    [rec] = list(pymarc.MARCReader(small))
    assert rec["245"]["a"] == "Masterpieces of modern Chinese fiction, 1919-1949 /"


@pytest.mark.parametrize("store_backend", ["sqlite"])
def test_a_store_without_later_columns_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE records (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT"
                     " NOT NULL, local_id TEXT NOT NULL, syntax TEXT NOT NULL, format TEXT NOT NULL,"
                     " charset TEXT NOT NULL, leader TEXT, raw BLOB NOT NULL, hash BLOB NOT NULL,"
                     " datestamp TEXT, deleted INTEGER NOT NULL DEFAULT 0, notes TEXT, location TEXT,"
                     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, updated TEXT NOT NULL,"
                     " last_load INTEGER)")
    with open_store(str(db)) as store:
        cols = {r[1] for r in store.db.execute("PRAGMA table_info(records)")}
    assert "protocol_id" in cols


@pytest.mark.parametrize("store_backend", ["sqlite"])
def test_a_server_opening_a_store_still_being_created_is_told_so(tmp_path: Path) -> None:
    # The first writer makes the file (WAL) before its tables, in one transaction after:
    # a reader in between got sqlite3's "no such table: records" from its first query.
    path = tmp_path / "store.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchone()
    with pytest.raises(UnioncatError, match="no record store here yet"):
        open_store(str(path), readonly=True)


def test_a_store_of_the_version_before_is_migrated(store_at, store_backend: str) -> None:  # type: ignore[no-untyped-def]
    """Schema versions are kept by both back ends: a version 4 store (before items(source, updated)
    and the year and edition beside each blocking key) gets versions 5 and 6 when a writer opens it,
    and keeps its records."""
    from unioncat.store.schema import SCHEMA_VERSION

    with open_store(store_at()) as store:
        load = store.start_load("A", "import")
        store.upsert([SourceRecord("A", "1", b"raw", "iso2709", "marc21", "utf-8", "")], load)
        store.db.execute("DROP INDEX items_source_updated")
        store.db.execute("DROP TABLE dedup_keys")
        store.db.execute("CREATE TABLE dedup_keys (key TEXT NOT NULL, id TEXT NOT NULL)")
        store.db.execute("CREATE INDEX dedup_keys_key ON dedup_keys(key)")
        if store_backend == "sqlite":
            store.db.execute("PRAGMA user_version=4")
        else:
            store.db.execute("UPDATE unioncat_schema SET version=4")
    with open_store(store_at()) as store:
        assert store.count() == 1
        if store_backend == "sqlite":
            version = store.db.execute("PRAGMA user_version").fetchone()[0]
            indexes = {r[1] for r in store.db.execute("PRAGMA index_list(items)")}
            columns = {r[1] for r in store.db.execute("PRAGMA table_info(dedup_keys)")}
        else:
            version = store.db.execute("SELECT version FROM unioncat_schema").fetchone()[0]
            indexes = {r[0] for r in store.db.execute("SELECT indexname FROM pg_indexes WHERE tablename='items'")}
            columns = {r[0] for r in store.db.execute("SELECT column_name FROM information_schema.columns"
                                                      " WHERE table_name='dedup_keys'")}
    assert version == SCHEMA_VERSION == 6 and "items_source_updated" in indexes
    assert columns == {"key", "id", "year", "edition"}


def test_a_store_from_a_newer_unioncat_is_refused(store_at, store_backend: str) -> None:  # type: ignore[no-untyped-def]
    with open_store(store_at()) as store:
        store.db.execute("PRAGMA user_version=99" if store_backend == "sqlite" else "UPDATE unioncat_schema SET version=99")
    for readonly in (False, True):
        with pytest.raises(UnioncatError, match="store schema 99 is newer than this unioncat"):
            open_store(store_at(), readonly=readonly)
