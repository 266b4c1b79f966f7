"""Read a MARC file drop: ISO 2709 or MARCXML, plain or gzip, streamed.

``MarcFile(path, fmt, encoding).items()`` yields a :class:`MarcItem` for every record
and a :class:`~unioncat.errors.RecordError` (with position, offset and raw bytes) for
every record that cannot be read, and carries on; only a stream that cannot be read
any further raises :class:`~unioncat.errors.FatalReadError`, naming file and offset.

    for item in MarcFile("drop.mrc.gz", "marc21").items():
        if isinstance(item, RecordError): ...
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from lxml import etree

from unioncat import xmlsafe
from unioncat.errors import FatalReadError, RecordError
from unioncat.marc.charset import UTF8, decoder, detect
from unioncat.marc.iso2709 import Chunk, iter_chunks, parse_fields
from unioncat.marc.records import (DEFAULT_LEADER, SYNTAX_ISO2709, SYNTAX_MARCXML, local_name,
                                   xml_to_pymarc)

_PROLOG_PEEK = 1 << 16


@dataclass(frozen=True)
class MarcItem:
    """One record as read from a file, before it has a global id."""

    raw: bytes
    syntax: str
    charset: str
    leader: str
    control_number: str  # 001, blanks stripped; '' when absent
    datestamp: str | None  # 005 as found, or None
    position: int
    offset: int | None
    line: int | None
    notes: tuple[str, ...] = ()

    @property
    def deleted(self) -> bool:
        """Return True when leader/05 marks the record deleted."""
        return self.leader[5:6] == "d"


@dataclass(frozen=True)
class KnownItem:
    """An ISO 2709 record recognised by its bytes as one already stored, so not parsed."""

    raw: bytes
    local_id: str
    digest: bytes  # models.content_hash(raw)
    position: int
    offset: int | None


# Given a framed record's bytes: its local id and content hash when it is known as is.
Recognise = Callable[[bytes], "tuple[str, bytes] | None"]


class MarcFile:
    """A MARC file on disk: format sniffed from content, gzip by magic bytes.

    With ``recognise``, an ISO 2709 record it knows comes out as a :class:`KnownItem`
    without being parsed (most of a nightly drop is last night's records)."""

    def __init__(self, path: str, fmt: str = "marc21", encoding: str = "auto",
                 recognise: Recognise | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.encoding = encoding
        self.recognise = recognise
        self.size = os.path.getsize(path)
        self._raw: BinaryIO | None = None
        self.warnings: list[str] = []

    def bytes_read(self) -> int:
        """Return how many bytes of the file on disk have been read (for progress)."""
        try:
            return self._raw.tell() if self._raw and not self._raw.closed else self.size
        except (OSError, ValueError):
            return self.size

    @contextlib.contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        """Open the file, through gzip when it starts with gzip's magic bytes."""
        raw = open(self.path, "rb")
        self._raw = raw
        try:
            if raw.read(2) == b"\x1f\x8b":
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    yield _Gunzipped(unzipped)  # type: ignore[misc]
            else:
                raw.seek(0)
                yield raw
        finally:
            raw.close()

    def is_xml(self) -> bool:
        """Return True if the (decompressed) content starts like XML."""
        with self._open() as stream:
            head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return head[:1] == b"<"

    def items(self) -> Iterator[MarcItem | KnownItem | RecordError]:
        """Yield every record or per-record error in file order."""
        try:
            if self.is_xml():
                yield from self._xml_items()
            else:
                yield from self._iso_items()
        except (OSError, EOFError, zlib.error) as exc:
            raise FatalReadError(self.path, f"cannot read further: {exc} (after {self.bytes_read()} "
                                 "bytes of the file)") from exc
        finally:
            if self._raw is not None:
                self._raw.close()

    # ISO 2709 -----------------------------------------------------------------
    def _iso_items(self) -> Iterator[MarcItem | KnownItem | RecordError]:
        recognise = self.recognise
        with self._open() as stream:
            for chunk in iter_chunks(stream, self.path):
                if isinstance(chunk, RecordError):
                    yield chunk
                    continue
                known = recognise(chunk.data) if recognise is not None and not chunk.note else None
                if known is not None:
                    yield KnownItem(chunk.data, known[0], known[1], chunk.position, chunk.offset)
                    continue
                try:
                    yield self._iso_item(chunk)
                except RecordError as err:
                    yield RecordError(err.reason, position=chunk.position, offset=chunk.offset,
                                      raw=chunk.data)

    def _iso_item(self, chunk: Chunk) -> MarcItem:
        return item_from_iso2709(chunk.data, chunk.position, self.fmt, self.encoding,
                                 offset=chunk.offset, note=chunk.note)

    # MARCXML ------------------------------------------------------------------
    def _xml_items(self) -> Iterator[MarcItem | RecordError]:
        seen = 0
        try:
            for item in self._xml_pass(wrapped=False):
                seen += 1
                yield item
        except _ExtraRoot:
            # Several root <record>s and no <collection> (Evergreen's serials file, Alma
            # exports): read again inside a synthetic root, skipping what was yielded.
            for n, item in enumerate(self._xml_pass(wrapped=True), 1):
                if n > seen:
                    yield item

    def _xml_pass(self, wrapped: bool) -> Iterator[MarcItem | RecordError]:
        with self._open() as stream:
            source: _Counting = _Wrapped(stream) if wrapped else _refuse_doctype(stream, self.path)
            position = 0
            events = xmlsafe.iterparse(source, events=("end",))
            try:
                for _, elem in events:
                    if local_name(elem) != "record" or not is_marc_record(elem):
                        continue
                    position += 1
                    yield item_from_element(elem, position)
                    _release(elem)
                if source.stripped:
                    self.warnings.append(f"{self.path}: {source.stripped} characters not allowed "
                                         "in XML (C0 controls) dropped")
            except etree.XMLSyntaxError as exc:
                if "Extra content at the end of the document" in str(exc) and not wrapped:
                    raise _ExtraRoot() from exc
                line = exc.lineno if exc.lineno else "?"
                raise FatalReadError(self.path, f"XML not well-formed at line {line}: {exc.msg}",
                                     getattr(source, "consumed", None)) from exc


def item_from_iso2709(data: bytes, position: int, fmt: str, encoding: str = "auto", *,
                      offset: int | None = None, note: str = "") -> MarcItem:
    """Parse one framed ISO 2709 record and detect its charset; raise RecordError."""
    parsed = parse_fields(data)
    charset, notes = detect(data, parsed.leader, fmt, parsed.first("100"), encoding)
    decode = decoder(charset)
    f001, f005 = parsed.first("001"), parsed.first("005")
    all_notes = ((note,) if note else ()) + parsed.notes + notes
    return MarcItem(
        raw=data, syntax=SYNTAX_ISO2709, charset=charset, leader=parsed.leader,
        control_number=decode(f001).strip() if f001 else "",
        datestamp=decode(f005).strip() or None if f005 else None,
        position=position, offset=offset, line=None, notes=all_notes)


# Anything that makes a MARCXML record unusable; checked in C, and only when it
# matches is the record walked again in Python to say exactly what is wrong.
_BROKEN = etree.XPath(
    "*[local-name()='controlfield' or local-name()='datafield'][not(@tag) or @tag='']"
    " | *[local-name()='datafield']/*[local-name()='subfield'][not(@code) or @code='']")


def item_from_element(elem: etree._Element, position: int) -> MarcItem | RecordError:
    """Turn a MARCXML record element (any namespace) into a MarcItem, or a RecordError."""
    raw = etree.tostring(elem, encoding="utf-8")
    if _BROKEN(elem) or xmlsafe.has_entity(elem) or not is_marc_record(elem):
        try:
            xml_to_pymarc(elem)
        except RecordError as err:
            return RecordError(err.reason, position=position, offset=None, raw=raw)
    leader, f001, f005 = None, None, None
    for child in elem:
        name = local_name(child)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag")
            if tag == "001" and f001 is None:
                f001 = child.text or ""
            elif tag == "005" and f005 is None:
                f005 = child.text or ""
    notes: tuple[str, ...] = ()
    if leader is None:
        notes = ("no leader: a default leader was supplied",)
    return MarcItem(raw=raw, syntax=SYNTAX_MARCXML, charset=UTF8,
                    leader=(leader or DEFAULT_LEADER).ljust(24)[:24],
                    control_number=f001.strip() if f001 else "",
                    datestamp=f005.strip() or None if f005 else None,
                    position=position, offset=None, line=elem.sourceline, notes=notes)


def is_marc_record(elem: etree._Element) -> bool:
    """Return True for an element that holds a MARC record (leader or fields)."""
    return any(local_name(c) in ("leader", "controlfield", "datafield") for c in elem)


class _ExtraRoot(Exception):
    pass


def _release(elem: etree._Element) -> None:
    """Free a parsed record and its already-read siblings: flat memory on big files."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


# C0 controls other than TAB, LF and CR may not appear in XML 1.0 at all.  Exports
# write them anyway (a stray subfield delimiter 0x1F in a MARC field, written out by
# pymarc's XMLWriter), and one would end the whole file.  They are dropped and
# counted, as the OAI-PMH harvester does; in UTF-8 these bytes are never part of a
# multibyte sequence, so dropping them cannot split a character.
_XML_INVALID = bytes(b for b in range(32) if b not in (9, 10, 13))


class _Counting(io.RawIOBase):
    """A read-only stream that counts the bytes handed to the XML parser and drops
    the control characters XML forbids."""

    def __init__(self, inner: BinaryIO, head: bytes = b"") -> None:
        self.inner = inner
        self.head = head
        self.consumed = 0
        self.stripped = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
        else:
            data = self.inner.read(size if size and size > 0 else 1 << 16)
        self.consumed += len(data)
        clean = data.translate(None, _XML_INVALID)
        self.stripped += len(data) - len(clean)
        return clean


class _Gunzipped:
    """A gzip stream read as far as it goes: ``read(n)`` returns what one step of
    decompression gives (``read1``), so the records before the cut of a truncated
    ``.gz`` are read and kept; GzipFile.read(n) drops a whole block on EOFError."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        self.inner = inner

    def read(self, size: int = -1) -> bytes:
        return self.inner.read() if size is None or size < 0 else self.inner.read1(size)

    def readable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _refuse_doctype(stream: BinaryIO, path: str) -> _Counting:
    head = stream.read(_PROLOG_PEEK)
    root_at = _first_element(head)
    if b"<!DOCTYPE" in head[:root_at if root_at >= 0 else len(head)]:
        raise FatalReadError(path, "DOCTYPE declarations are refused in MARC files "
                             "(external and expanding entities); nothing was read", 0)
    return _Counting(stream, head)


def _first_element(head: bytes) -> int:
    i = 0
    while True:
        i = head.find(b"<", i)
        if i < 0 or head[i + 1:i + 2] not in (b"?", b"!"):
            return i
        i += 1


class _Wrapped(_Counting):
    """The file's content without its XML declaration, inside one synthetic root."""

    def __init__(self, inner: BinaryIO) -> None:
        head = inner.read(_PROLOG_PEEK).lstrip(b"\xef\xbb\xbf")
        if head.lstrip().startswith(b"<?xml"):
            head = head[head.index(b"?>") + 2:]
        if b"<!DOCTYPE" in head[:max(_first_element(head), 0)]:
            raise FatalReadError("(wrapped)", "DOCTYPE declarations are refused", 0)
        super().__init__(inner, b"<unioncat-wrap>" + head)
        self._tail_sent = False

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        if not data and not self._tail_sent:
            self._tail_sent = True
            return b"</unioncat-wrap>"
        return data
