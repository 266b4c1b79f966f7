"""ISO 2709 framing and recovery on real broken records and on hand-built edge cases."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from unioncat.errors import RecordError
from unioncat.marc.iso2709 import encode_record, iter_chunks, parse_fields, subfields
from tests.conftest import read_marc as read
from unioncat.marc.records import load_record


def record(title: str, control: str = "rec1", encoding: str = "utf-8") -> bytes:
    fields = [("001", control.encode()), ("245", subfields("10", [("a", title)], encoding))]
    return encode_record("00000nam a2200000 a 4500", fields)


def test_good_records_frame_by_declared_length() -> None:
    data = record("One", "a") + record("Two", "b")
    chunks = list(iter_chunks(io.BytesIO(data), "mem"))
    assert [c.position for c in chunks] == [1, 2]
    assert [c.offset for c in chunks] == [0, len(record("One", "a"))]
    assert all(c.note == "" for c in chunks)


def test_leader_length_counted_in_characters_is_recovered() -> None:
    # A CJK title: the exporting system counted characters, not bytes, in the leader
    # and in the directory.  The record terminator and field terminators recover it.
    good = record("紅樓夢 / 曹雪芹著", "cjk1")
    title_bytes = len(subfields("10", [("a", "紅樓夢 / 曹雪芹著")], "utf-8")) + 1
    title_chars = len(subfields("10", [("a", "紅樓夢 / 曹雪芹著")], "utf-8").decode()) + 1
    wrong = bytearray(good)
    wrong[0:5] = f"{len(good) - (title_bytes - title_chars):05d}".encode()
    dir_245 = 24 + 12
    wrong[dir_245 + 3:dir_245 + 7] = f"{title_chars:04d}".encode()
    data = bytes(wrong) + record("Next", "after")
    ok, _bad = [], []
    for chunk in iter_chunks(io.BytesIO(data), "mem"):
        assert not isinstance(chunk, RecordError)
        ok.append(chunk)
    assert len(ok) == 2 and "recovered by the record terminator" in ok[0].note
    parsed = parse_fields(ok[0].data)
    assert "fields recovered by field terminators" in parsed.notes[-1]
    rec = load_record(ok[0].data, "iso2709", "utf-8")
    assert rec["245"]["a"] == "紅樓夢 / 曹雪芹著"
    assert load_record(ok[1].data, "iso2709", "utf-8")["001"].data == "after"


def test_garbage_between_records_is_rejected_and_reading_resumes() -> None:
    data = record("First", "1") + b"this is not MARC at all\x1d" + record("Third", "3")
    items = list(iter_chunks(io.BytesIO(data), "mem"))
    assert len(items) == 3
    with pytest.raises(RecordError):
        parse_fields(items[1].data)
    assert load_record(items[2].data, "iso2709", "utf-8")["245"]["a"] == "Third"


def test_truncated_final_record_is_a_reject_with_position_and_offset(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "truncated_last_record_marc4j.mrc")
    assert len(ok) == 18
    assert len(bad) == 1 and bad[0].position == 19 and bad[0].offset == 62502
    assert "truncated record" in bad[0].reason and len(bad[0].raw) == 3034


def test_pymarc_bad_records_keeps_every_good_and_recoverable_record(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "bad_records_pymarc.mrc")
    # pymarc's file: 2 good records and 7 broken ones.  4 broken ones have a wrong
    # base address or directory length and are recovered; 3 have no usable structure.
    assert [i.position for i in ok] == [1, 2, 3, 4, 6, 8]
    assert [(b.position, b.offset) for b in bad] == [(5, 509), (7, 764), (9, 917)]
    for item in ok:
        rec = load_record(item.raw, item.syntax, item.charset)
        assert rec["245"]["a"] == "The pragmatic programmer : "


def test_marc4j_wrong_leader_and_directory_records_are_recovered(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "leader_length_wrong_marc4j.mrc")
    assert (len(ok), len(bad)) == (3, 0)
    # A 123,375-byte record: more than five digits can say, framed by its terminator.
    assert len(ok[0].raw) == 123375 and "leader length" in ok[0].notes[0]
    ok, bad = read(marc_dir / "directory_offsets_wrong_marc4j.mrc")
    assert (len(ok), len(bad)) == (5, 0)
    notes = [n for item in ok for n in item.notes]
    assert any("fields recovered by field terminators" in n for n in notes)


def test_newline_separated_export_reads_every_record(marc_dir: Path) -> None:
    ok, bad = read(marc_dir / "newline_between_records_qa.mrc")
    assert (len(ok), len(bad)) == (20, 0)


def test_encode_record_keeps_unimarc_leader_and_recomputes_lengths() -> None:
    data = encode_record("99999nam0 2299999   450 ", [("001", b"x"), ("200", b"1 \x1faT")])
    assert data[:5] == f"{len(data):05d}".encode()
    assert data[5:12] == b"nam0 22" and data[17:24] == b"   450 "
    assert parse_fields(data).fields == (("001", b"x"), ("200", b"1 \x1faT"))
