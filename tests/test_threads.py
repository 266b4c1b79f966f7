"""Decoders and caches shared by server threads give every thread what one thread gets."""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from unioncat.marc.charset import MARC8
from unioncat.marc.fields import all_fields
from unioncat.marc.reader import MarcFile, MarcItem

ROOT = Path(__file__).resolve().parent.parent


def in_threads(work: Callable[[int], None], n: int) -> None:
    """Run work(0) .. work(n-1) at once, switching threads as often as a busy server's do."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)


def marc8_items(path: Path) -> list[MarcItem]:
    return [i for i in MarcFile(str(path), "marc21", "auto").items()
            if isinstance(i, MarcItem) and i.charset == MARC8]


def decode_all(items: list[MarcItem]) -> list[Any]:
    return [all_fields(i.raw, i.syntax, i.charset) for i in items]


def test_marc8_decoding_under_threads(shared_data: Path) -> None:
    """6 threads decoding MARC-8 records gave 2,041 wrong results in 18,000: one cached
    converter per character set whose escape state every call reset, shared by all."""
    items = marc8_items(ROOT / "examples" / "demo" / "data" / "hillside.mrc")
    for name in ("lul_fre_500.mrc", "hebrew.marc", "nepali.marc", "jazz_1k.mrc"):
        items += marc8_items(shared_data / "evergreen-test-datasets" / "marc" / name)
    assert len(items) > 1000
    expected = decode_all(items)
    wrong: list[int] = []
    done: list[int] = []

    def work(seed: int) -> None:
        order = items[seed::6] + items[:seed]  # each thread in its own order
        want = expected[seed::6] + expected[:seed]
        for _ in range(2):
            got = decode_all(order)
            wrong.append(sum(1 for a, b in zip(got, want) if a != b))
        done.append(len(order))

    in_threads(work, 6)
    assert len(done) == 6 and sum(wrong) == 0, f"{sum(wrong)} wrong decodings"


def test_marc8_warnings_never_reach_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """A cut multibyte sequence: pymarc writes to stderr even when quiet; we drop it."""
    from unioncat.marc.charset import decoder

    text = decoder(MARC8)(b"\x1b$1\x21\x30\x64\x21")  # EACC, one whole character and a cut one
    assert text and capfd.readouterr().err == ""


def test_master_records_built_by_many_server_threads(tmp_path: Path) -> None:
    """The record cache kept what a thread built wrong: every VILL (MARC-8) master record
    built in 6 threads at once, with no cache, equals the one-thread build."""
    import dataclasses

    from lxml import etree

    from unioncat.config import load_config
    from unioncat.cql import parse
    from unioncat.serving.resources import Resources
    from tests.support.demo_site import demo_site

    cfg = load_config(str(demo_site(tmp_path, feed=False)))
    cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, record_cache=0))
    res = Resources(cfg)
    found = res.search(parse("bath.possessingInstitution=VILL"), limit=1000)
    hits = list(zip(found.ids, found.displays))
    assert len(hits) >= 100

    def build(part: list[tuple[str, Any]]) -> list[bytes]:
        return [etree.tostring(res.render(schema, m, d)) for m, d in part for schema in ("marcxml", "dc")]

    expected = build(hits)
    wrong: list[int] = []

    def work(seed: int) -> None:
        part = hits[seed::6]
        got = build(part)
        want = [x for i in range(seed, len(hits), 6) for x in expected[2 * i:2 * i + 2]]
        wrong.append(sum(1 for a, b in zip(got, want) if a != b) + abs(len(got) - len(want)))

    in_threads(work, 6)
    assert len(wrong) == 6 and sum(wrong) == 0, f"{sum(wrong)} records differ"
