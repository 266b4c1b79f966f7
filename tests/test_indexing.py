"""Incremental indexing, rebuilds, kill -9 during indexing, and term listing (scan)."""
from __future__ import annotations

import json
import os
import sqlite3
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymarc
import pytest

from unioncat.config import load_config
from unioncat.index.engine import open_engine
from tests.conftest import MARC, ROOT


def records(n: int) -> list[pymarc.Record]:
    with open(MARC / "loc_utf8_100.mrc", "rb") as fh:
        return [r for _, r in zip(range(n), pymarc.MARCReader(fh))]


def run(cfg: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "unioncat", "--config", str(cfg), *args],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def total(cfg: Path, query: str) -> int:
    return int(json.loads(run(cfg, "search", query, "--format", "json"))["total"])


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_incremental_index_follows_changes_and_deletions(write_config, tmp_path: Path, engine: str) -> None:  # type: ignore[no-untyped-def]
    recs = records(30)
    drop = tmp_path / "a.mrc"
    drop.write_bytes(b"".join(r.as_marc() for r in recs))
    cfg = write_config({"id": "A", "path": str(drop)}, extra=f'engine = "{engine}"')
    run(cfg, "run")
    assert total(cfg, "cql.allRecords=1") == 30
    title = recs[0]["245"]["a"]
    recs[0]["245"]["a"] = "Zyxwvut unmistakable retitling"
    drop.write_bytes(b"".join(r.as_marc() for r in recs[:29]))  # the last record is gone
    run(cfg, "import", "A")
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("UPDATE records SET deleted=1, updated='2999-01-01T00:00:00.000Z' WHERE id=?",
                   (f"A.{recs[29]['001'].data.strip()}",))
    run(cfg, "dedup")
    stats = json.loads(run(cfg, "index", "--json"))
    assert stats["rebuilt"] is False and stats["documents"] == 1 and stats["deleted"] == 1
    assert total(cfg, "dc.title=zyxwvut") == 1 and total(cfg, "cql.allRecords=1") == 29
    assert total(cfg, f'dc.title="{title.rstrip(" /:")}"') == 0 or title.startswith("Zyx")
    rebuilt = json.loads(run(cfg, "index", "--rebuild", "--json"))
    assert rebuilt["rebuilt"] is True and rebuilt["total"] == 29


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        if entry.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _poll(look, until: bool = True, tries: int = 200) -> list[int]:  # type: ignore[no-untyped-def]
    """Look every 50 ms until what is found is non-empty (``until``) or empty; return the last look."""
    for _ in range(tries):
        found = look()
        if bool(found) == until:
            break
        time.sleep(0.05)
    return found  # type: ignore[no-any-return]


def test_kill_9_during_indexing_leaves_the_previous_index_searchable(write_config, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     shared_data: Path) -> None:
    cfg = write_config({"id": "L", "path": str(MARC / "loc_utf8_100.mrc")})
    run(cfg, "run")
    assert total(cfg, "cql.allRecords=1") == 100
    chunk = shared_data / "loc-booksall-2016" / "BooksAll.2016.part01.recs010001-020000.mrc.gz"
    run(cfg, "import", "L", str(chunk))
    run(cfg, "dedup")
    proc = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(cfg), "index"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers = _poll(lambda: _children(proc.pid))  # 10,000 masters: built in worker processes
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The workers go with it (they used to wait for ever, adopted by init, each with its memory).
    assert workers and not _poll(lambda: [pid for pid in workers if os.path.exists(f"/proc/{pid}")], until=False)
    assert total(cfg, "cql.allRecords=1") >= 100  # still searchable, old or partly new
    run(cfg, "index")
    assert total(cfg, "cql.allRecords=1") == 10100


def test_terms_from_a_start_term(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "L", "path": str(MARC / "loc_utf8_100.mrc")})
    run(cfg, "run")
    config = load_config(str(cfg))
    engine = open_engine(config.index.engine, config.index.path, create=False)
    terms = engine.terms("title", "hist", 5)
    assert terms and all(t >= "hist" for t, _ in terms) and [t for t, _ in terms] == sorted(t for t, _ in terms)
    assert all(n >= 1 for _, n in terms)


def test_switching_engines_asks_for_a_rebuild(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config({"id": "L", "path": str(MARC / "loc_utf8_100.mrc")})
    run(cfg, "run")
    cfg = write_config({"id": "L", "path": str(MARC / "loc_utf8_100.mrc")}, extra='engine = "whoosh"')
    out = subprocess.run([sys.executable, "-m", "unioncat", "--config", str(cfg), "search", "history"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1 and "built by tantivy" in out.stderr and "--rebuild" in out.stderr
    run(cfg, "index", "--rebuild")
    assert total(cfg, "cql.allRecords=1") == 100


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_documents_built_in_worker_processes_are_those_built_here(site: Path, engine: str) -> None:
    """A large index run builds its documents in ``index.workers`` processes: the same documents,
    in the same order, as the indexing process builds alone (the demo, every master, in chunks)."""
    import dataclasses

    from unioncat.index import build
    from unioncat.store import open_store

    cfg = load_config(str(site))
    cfg = dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, engine=engine, workers=2))
    with open_store(cfg.store, readonly=True) as store:
        masters = [r[0] for r in store.db.execute("SELECT DISTINCT master_id FROM clusters ORDER BY master_id")]
        masters.append("M-no-such-master")  # a master whose members are all gone: its id comes back
        here = list(build.prepared(store, cfg, masters))
        old_chunk = build.CHUNK
        build.CHUNK = 7  # several chunks over two workers, answers gathered in order
        try:
            there = list(build.build_documents(store, cfg, masters, parallel_from=1))
        finally:
            build.CHUNK = old_chunk

    def plain(item: object) -> object:
        if isinstance(item, str):
            return item
        published, doc = item  # type: ignore[misc]
        return published, doc  # tantivy's JSON text, Whoosh's dict

    assert len(here) == len(masters) > 20 and here[-1] == "M-no-such-master"
    assert [plain(i) for i in there] == [plain(i) for i in here]


def test_readers_never_see_half_an_incremental_update(write_config, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An update is one commit: a server searching while ``unioncat index`` writes sees the index
    before the update or after it, never the part written so far (an update used to commit every
    COMMIT_EVERY documents, on the live index)."""
    from unioncat.cql import parse
    from unioncat.index import build
    from unioncat.store import open_store

    recs = records(30)
    drop = tmp_path / "a.mrc"
    drop.write_bytes(b"".join(r.as_marc() for r in recs))
    cfg_path = write_config({"id": "A", "path": str(drop)})
    run(cfg_path, "run")
    for rec in recs[:20]:
        rec["245"]["a"] = "Zyxwvut unmistakable retitling"
    drop.write_bytes(b"".join(r.as_marc() for r in recs))
    run(cfg_path, "import", "A")
    run(cfg_path, "dedup")

    cfg = load_config(str(cfg_path))
    query = parse("dc.title=zyxwvut")
    seen: list[int] = []
    add_prepared = build.TantivyEngine.add_prepared

    def add_and_look(self, docs, replace=True):  # type: ignore[no-untyped-def]
        add_prepared(self, docs, replace)
        seen.append(open_engine("tantivy", cfg.index.path, create=False).search(query).total)

    monkeypatch.setattr(build, "BATCH", 5)
    monkeypatch.setattr(build, "COMMIT_EVERY", 5)
    monkeypatch.setattr(build.TantivyEngine, "add_prepared", add_and_look)
    with open_store(cfg.store) as store:
        stats = build.update(store, cfg)
    assert stats.documents == 20 and not stats.rebuilt
    assert len(seen) >= 4 and set(seen) == {0}, seen  # a reader during the update: the old index
    assert open_engine("tantivy", cfg.index.path, create=False).search(query).total == 20


def test_a_display_is_read_back_as_it_was_stored() -> None:
    """The stored display keeps the MARCXML outside its JSON (after a NUL): every display comes
    back equal, with quotes, CJK and backslashes in either part; a display stored as JSON alone
    (an index built before) is read as it was."""
    from unioncat.index.engine import pack_display, unpack_display

    marcxml = ('<record xmlns="http://www.loc.gov/MARC21/slim"><datafield tag="245" ind1="1" ind2="0">'
               '<subfield code="a">連城訣 "quoted" \\ back&amp;slash</subfield></datafield></record>')
    displays = [{"title": '連城訣 "a\\b"\n', "year": 1963, "members": ["LOC.1", "HK.2"], "marcxml": marcxml},
                {"title": "no MARCXML kept", "members": []},
                {"title": "empty MARCXML", "marcxml": ""},
                {"title": "NUL in the JSON part \x00 is escaped", "marcxml": "<record/>"}]
    for display in displays:
        packed = pack_display(display)
        assert unpack_display(packed) == display
        assert ("marcxml" in display) == (b"\0" in packed)
    legacy = json.dumps(displays[0], ensure_ascii=False).encode("utf-8")
    assert unpack_display(legacy) == displays[0]
