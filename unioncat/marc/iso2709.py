"""ISO 2709 framing and directory parsing that survives broken records.

pymarc's reader trusts the leader's record length and never resynchronises, so one
record whose length was counted in characters instead of bytes mis-frames every
record after it.  Here the stream is cut into records by the declared length when
it lands on a record terminator (0x1D), and by the next terminator otherwise; a
directory whose offsets are wrong is recovered from the field terminators (0x1E)
when the field count agrees.  Anything else is a :class:`RecordError` for that
record alone, and reading goes on at the next terminator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from unioncat.errors import FatalReadError, RecordError

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
SUBFIELD_DELIMITER = 0x1F
LEADER_LEN = 24
ENTRY_LEN = 12
_READ_SIZE = 1 << 20
# Bytes that real exports put between records (newline-separated dumps, DOS EOF).
_BETWEEN_RECORDS = b"\r\n\x00\x1a \t\x1d"
# A record longer than this without a terminator means we are not reading MARC.
_MAX_SCAN = 16 << 20


@dataclass(frozen=True)
class Chunk:
    """The bytes of one framed record with where they were found."""

    data: bytes
    position: int  # 1-based ordinal of the record in its file
    offset: int  # byte offset of the record in the (uncompressed) stream
    note: str = ""


@dataclass(frozen=True)
class ParsedFields:
    """A record's leader and raw (still encoded) fields, in directory order."""

    leader: str
    fields: tuple[tuple[str, bytes], ...]
    notes: tuple[str, ...] = ()

    def first(self, tag: str) -> bytes | None:
        """Return the raw data of the first field with this tag, if any."""
        for t, data in self.fields:
            if t == tag:
                return data
        return None


def iter_chunks(stream: BinaryIO, location: str) -> Iterator[Chunk | RecordError]:
    """Cut a byte stream into records; yield a RecordError for bytes that are no record."""
    buf = bytearray()
    base = 0  # absolute offset of buf[0]
    pos = 0
    eof = False
    position = 0

    def fill(need: int) -> bool:
        nonlocal eof
        while len(buf) - pos < need and not eof:
            block = stream.read(_READ_SIZE)
            if not block:
                eof = True
            else:
                buf.extend(block)
        return len(buf) - pos >= need

    while True:
        if pos > _READ_SIZE:
            del buf[:pos]
            base += pos
            pos = 0
        while fill(1) and buf[pos] in _BETWEEN_RECORDS:
            pos += 1
        if not fill(1):
            return
        position += 1
        start = pos
        fill(5)
        head = bytes(buf[pos:pos + 5])
        declared = int(head) if head.isdigit() else 0
        if declared > LEADER_LEN:
            fill(declared)
            if len(buf) - pos >= declared and buf[pos + declared - 1] == RECORD_TERMINATOR:
                yield Chunk(bytes(buf[pos:pos + declared]), position, base + pos)
                pos += declared
                continue
        end = _find_terminator(buf, pos, fill)
        if end < 0:
            rest = bytes(buf[pos:])
            pos = len(buf)
            if len(rest) >= _MAX_SCAN:
                raise FatalReadError(location, "no record terminator in 16 MiB: not ISO 2709 data",
                                     base + start)
            yield RecordError(f"truncated record: {len(rest)} bytes and no record terminator "
                              "before the end of the file", position=position,
                              offset=base + start, raw=rest)
            return
        data = bytes(buf[pos:end + 1])
        pos = end + 1
        note = (f"leader length {head.decode('latin-1')!r} wrong, record is {len(data)} bytes: "
                "recovered by the record terminator")
        yield Chunk(data, position, base + start, note)


def _find_terminator(buf: bytearray, pos: int, fill: Callable[[int], bool]) -> int:
    """Return the index of the next record terminator at or after pos, reading more as needed."""
    searched = pos
    while True:
        end = buf.find(RECORD_TERMINATOR, searched)
        if end >= 0 or searched - pos >= _MAX_SCAN:
            return end
        searched = len(buf)
        if not fill(searched - pos + 1):
            return -1


def parse_fields(data: bytes) -> ParsedFields:
    """Parse leader and directory of one framed record; raise RecordError if it has no usable structure."""
    if len(data) < LEADER_LEN + 2:
        raise RecordError(f"record of {len(data)} bytes is shorter than a leader")
    notes: list[str] = []
    leader_bytes = data[:LEADER_LEN]
    try:
        leader = leader_bytes.decode("ascii")
    except UnicodeDecodeError:
        leader = "".join(chr(b) if b < 0x80 else " " for b in leader_bytes)
        notes.append("non-ASCII bytes in the leader replaced by blanks")
    base_txt = leader_bytes[12:17]
    dir_end = data.find(FIELD_TERMINATOR, LEADER_LEN)
    if dir_end < 0:
        raise RecordError("no field terminator after the directory")
    if base_txt.isdigit() and int(base_txt) == dir_end + 1:
        base = dir_end + 1
    else:
        base = dir_end + 1
        notes.append(f"base address {base_txt.decode('latin-1')!r} wrong, directory ends at {dir_end}")
    directory = data[LEADER_LEN:dir_end]
    if len(directory) % ENTRY_LEN:
        notes.append(f"directory length {len(directory)} is not a multiple of 12")
    entries = []
    for i in range(0, len(directory) - len(directory) % ENTRY_LEN, ENTRY_LEN):
        entry = directory[i:i + ENTRY_LEN]
        length, start = entry[3:7], entry[7:12]
        if not (length.isdigit() and start.isdigit()):
            raise RecordError(f"directory entry {i // ENTRY_LEN + 1} ({entry!r}) is not numeric")
        entries.append((entry[:3].decode("latin-1"), int(length), int(start)))
    if not entries:
        raise RecordError("the directory lists no fields")
    fields = _fields_by_directory(data, base, entries)
    if fields is None:
        fields = _fields_by_terminators(data, base, entries)
        notes.append("directory offsets wrong: fields recovered by field terminators")
    return ParsedFields(leader, tuple(fields), tuple(notes))


def _fields_by_directory(data: bytes, base: int,
                         entries: list[tuple[str, int, int]]) -> list[tuple[str, bytes]] | None:
    fields = []
    size = len(data)
    for tag, length, start in entries:
        begin = base + start
        end = begin + length
        if length < 1 or end > size or data[end - 1] != FIELD_TERMINATOR:
            return None
        fields.append((tag, data[begin:end - 1]))
    return fields


def _fields_by_terminators(data: bytes, base: int,
                           entries: list[tuple[str, int, int]]) -> list[tuple[str, bytes]]:
    body = data[base:]
    if body.endswith(b"\x1d"):
        body = body[:-1]
    if body.endswith(b"\x1e"):
        body = body[:-1]
    parts = body.split(b"\x1e")
    if len(parts) != len(entries):
        raise RecordError(f"directory does not match the data: {len(entries)} entries, "
                          f"{len(parts)} fields between terminators")
    return [(tag, part) for (tag, _, _), part in zip(entries, parts)]


def encode_record(leader: str, fields: list[tuple[str, bytes]]) -> bytes:
    """Serialise a leader and already-encoded fields as ISO 2709.

    Record length and base address in the leader are recomputed; leader/09 and
    every other position are kept, so UNIMARC and GB18030 records stay what they are
    (pymarc's ``as_marc`` forces leader/09 to ``a``).
    """
    directory = bytearray()
    body = bytearray()
    for tag, data in fields:
        chunk = data + b"\x1e"
        directory += f"{tag[:3]:>3}{len(chunk):04d}{len(body):05d}".encode("ascii")
        body += chunk
    directory += b"\x1e"
    base = LEADER_LEN + len(directory)
    total = base + len(body) + 1
    if total > 99999:
        raise RecordError(f"record of {total} bytes exceeds ISO 2709's 99,999")
    lead = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:24]}".encode("ascii")
    return bytes(lead + directory + body) + b"\x1d"


def subfields(indicators: str, pairs: list[tuple[str, str]], encoding: str) -> bytes:
    """Encode a data field's indicators and (code, value) subfields."""
    out = indicators.ljust(2)[:2].encode("ascii")
    for code, value in pairs:
        out += b"\x1f" + code.encode("ascii") + value.encode(encoding)
    return out
