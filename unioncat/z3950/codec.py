"""Z39.50 BER codec: the official ASN.1 compiled by asn1tools, plus PDU framing.

asn1tools decodes one complete PDU but cannot cut PDUs from a socket stream, and
Z39.50 peers (YAZ) send indefinite lengths; :func:`read_pdu` walks the TLVs to
find where a PDU ends.  Shared by the harvester and the Z39.50 server.

    pdu = encode("initRequest", {...});  name, value = decode(read_pdu(sock))
"""
from __future__ import annotations

import socket
from functools import lru_cache
from importlib import resources
from typing import Any

import asn1tools
import asn1tools.codecs.ber

from unioncat.errors import Z3950Error

# Object identifiers (Z39.50 appendix 3).
BIB1 = "1.2.840.10003.3.1"
DIAG_BIB1 = "1.2.840.10003.4.1"
SYNTAXES = {
    "usmarc": "1.2.840.10003.5.10",
    "marc21": "1.2.840.10003.5.10",
    "unimarc": "1.2.840.10003.5.1",
    "opac": "1.2.840.10003.5.102",
    "sutrs": "1.2.840.10003.5.101",
    "xml": "1.2.840.10003.5.109.10",
}
MAX_PDU = 64 << 20


def _yaz_boolean(self: Any, data: Any, values: Any = None) -> bytearray:
    return bytearray([1 if data else 0])


# BER lets TRUE be any non-zero octet; asn1tools writes DER's 0xFF, YAZ writes 1 and shows the
# octet as a number, so yaz-client printed "availableNow: -1" and "records in selected charset: -1".
# asn1tools is pinned (0.169.0), so its BER Boolean is patched here, once, to write what YAZ does.
asn1tools.codecs.ber.Boolean.encode_content = _yaz_boolean


@lru_cache(maxsize=1)
def spec() -> Any:
    """Return the compiled Z39.50 specification (compiled once, about 0.15 s)."""
    path = resources.files("unioncat.z3950").joinpath("z3950v3.asn")
    with resources.as_file(path) as file:
        return asn1tools.compile_files(str(file), "ber")


def _wire(value: Any, convert: Any) -> Any:
    """Apply ``convert`` to every string inside a value (dict keys and bytes untouched)."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        return {k: _wire(v, convert) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_wire(v, convert) for v in value)
    return value


def _to_wire(text: str) -> str:
    # asn1tools writes an InternationalString (GeneralString) as Latin-1; Z39.50 peers without
    # character-set negotiation exchange UTF-8, so hand it the UTF-8 bytes as Latin-1 text.
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def _from_wire(text: str) -> str:
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text  # a peer that sent Latin-1 after all


def encode(kind: str, value: dict[str, Any]) -> bytes:
    """Encode one PDU, e.g. encode("initRequest", {...}); strings go out as UTF-8."""
    return bytes(spec().encode("PDU", (kind, _wire(value, _to_wire))))


def decode(data: bytes) -> tuple[str, Any]:
    """Decode one PDU into (kind, value); strings are read as UTF-8 (else Latin-1)."""
    try:
        kind, value = spec().decode("PDU", data)
    except Exception as exc:  # asn1tools raises several unrelated types
        raise Z3950Error(f"undecodable PDU ({len(data)} bytes): {exc}") from None
    return str(kind), _wire(value, _from_wire)


def decode_type(type_name: str, data: bytes) -> Any:
    """Decode a value of a named type (an OPAC record, say)."""
    try:
        return _wire(spec().decode(type_name, data), _from_wire)
    except Exception as exc:
        raise Z3950Error(f"undecodable {type_name} ({len(data)} bytes): {exc}") from None


def encode_type(type_name: str, value: Any) -> bytes:
    """Encode a value of a named type."""
    return bytes(spec().encode(type_name, _wire(value, _to_wire)))


def bits(positions: list[int], width: int) -> tuple[bytes, int]:
    """Return an asn1tools BIT STRING with the given bits (0 = most significant) set."""
    value = bytearray((width + 7) // 8)
    for pos in positions:
        value[pos // 8] |= 0x80 >> (pos % 8)
    return bytes(value), width


def bit_set(value: tuple[bytes, int], pos: int) -> bool:
    """Return True if bit ``pos`` of an asn1tools BIT STRING is set."""
    data, width = value
    return pos < width and bool(data[pos // 8] & (0x80 >> (pos % 8)))


class _Reader:
    """Buffered reads from a socket, with a cap on how much one PDU may take."""

    def __init__(self, sock: socket.socket, buffer: bytearray, limit: int) -> None:
        self.sock = sock
        self.buf = buffer
        self.limit = limit

    def need(self, end: int) -> None:
        if end > self.limit:
            raise Z3950Error(f"PDU larger than {self.limit} bytes")
        while len(self.buf) < end:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Z3950Error("connection closed by the target in the middle of a PDU"
                                 if self.buf else "connection closed by the target")
            self.buf.extend(chunk)


def _tlv_end(reader: _Reader, pos: int) -> int:
    """Return the offset just past the TLV that starts at pos."""
    reader.need(pos + 2)
    buf = reader.buf
    first = buf[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # high tag number form
        while True:
            reader.need(pos + 1)
            byte = buf[pos]
            pos += 1
            if not byte & 0x80:
                break
    reader.need(pos + 1)
    length = buf[pos]
    pos += 1
    if length == 0x80:  # indefinite: constructed contents until 00 00
        if not first & 0x20:
            raise Z3950Error("indefinite length on a primitive encoding")
        while True:
            reader.need(pos + 2)
            if buf[pos] == 0 and buf[pos + 1] == 0:
                return pos + 2
            pos = _tlv_end(reader, pos)
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise Z3950Error(f"unsupported BER length of {count} bytes")
        reader.need(pos + count)
        length = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    reader.need(pos + length)
    return pos + length


def read_pdu(sock: socket.socket, buffer: bytearray, limit: int = MAX_PDU) -> bytes:
    """Read exactly one BER-encoded PDU of at most ``limit`` bytes from the socket
    (leftovers stay in buffer)."""
    reader = _Reader(sock, buffer, limit)
    end = _tlv_end(reader, 0)
    pdu = bytes(buffer[:end])
    del buffer[:end]
    return pdu
