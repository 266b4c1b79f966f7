#!/usr/bin/env python3
"""Index N LoC records with tantivy and Whoosh, next to Zebra; time indexing and queries.

    .venv/bin/python bench/index_bench.py [--sizes 10000,50000,200000] [--whoosh-max 50000] [--no-zebra]

For each size: import the first N LoC records, deduplicate, then time `index --rebuild`
(store to searchable index, our field extraction and analysis included) and the
index's size; then a fixed query mix, 50 times each (10 when one query takes over
0.2 s), in process, after one warm-up: median and p95 ms.
Zebra (../shared/peers) indexes the same records (its own zebraidx seconds) and is
queried over SRU with 10 MARCXML records per response, keep-alive, same statistics.
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.peers import zebra  # noqa: E402
from unioncat.config import load_config  # noqa: E402
from unioncat.cql import parse  # noqa: E402
from unioncat.index.engine import open_engine  # noqa: E402

LOC = ROOT.parent / "shared" / "data" / "loc-booksall-2016"
QUERIES = [("Q1 title", "dc.title=history"), ("Q2 author", "dc.creator=smith"),
           ("Q3 prefix", "dc.title=comp*"), ("Q4 subject+date", "dc.subject=history and dc.date>=1950"),
           ("Q5 any", "cql.anywhere=\"united states\"")]


def stage(n: int, folder: Path) -> None:
    chunks = sorted(LOC.glob("*.mrc.gz"))
    out = bytearray()
    left = n
    for chunk in chunks:
        data = gzip.decompress(chunk.read_bytes())
        pos = 0
        while pos < len(data) and left:
            length = int(data[pos:pos + 5])
            out += data[pos:pos + length]
            pos += length
            left -= 1
        if not left:
            break
    (folder / "loc.mrc").write_bytes(bytes(out))


def loc_union(records: int, prefix: str) -> tuple[Path, Path, Path]:
    """Stage the first N LoC records as one file-drop member and `unioncat run` them;
    return (work folder, data folder, config)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    data = work / "data"
    data.mkdir()
    stage(records, data)
    cfg = work / "unioncat.toml"
    cfg.write_text(f'[store]\npath = "{work}/store.db"\n[index]\npath = "{work}/index"\n'
                   f'[[source]]\nid = "LOC"\nname = "LoC"\ntype = "file"\npath = "{data}/loc.mrc"\n'
                   'holdings = "852"\n', encoding="utf-8")
    start = time.monotonic()
    unioncat(cfg, "run")
    print(f"unioncat run: {records:,} records in {time.monotonic() - start:.1f} s", flush=True)
    return work, data, cfg


def stop(procs: list[subprocess.Popen[bytes]], work: Path) -> None:
    """Stop the servers a benchmark started and remove its work folder."""
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)
    shutil.rmtree(work, ignore_errors=True)


def unioncat(cfg: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "unioncat", "--config", str(cfg), *args],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return out.stdout


def du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def timings(fn, runs: int = 50) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start > 0.2:
        runs = 10  # a slow engine (Whoosh at 200k): fewer rounds, same statistics
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def ours(work: Path, engine: str, n: int) -> dict[str, object]:
    cfg = work / f"{engine}.toml"
    cfg.write_text(f'[store]\npath = "{work / "store.db"}"\n[index]\npath = "{work / engine}"\n'
                   f'engine = "{engine}"\n[[source]]\nid = "L"\nname = "LoC"\ntype = "file"\n'
                   f'path = "{work / "src" / "loc.mrc"}"\n')
    if not (work / "store.db").exists():
        unioncat(cfg, "import", "L")
        unioncat(cfg, "dedup", "--full")
    start = time.perf_counter()
    unioncat(cfg, "index", "--rebuild")
    secs = time.perf_counter() - start
    config = load_config(str(cfg))
    index = open_engine(engine, config.index.path, create=False)
    row: dict[str, object] = {"engine": engine, "docs/s": n / secs, "seconds": secs, "MB": du(work / engine)}
    for label, query in QUERIES:
        parsed = parse(query)
        hits = index.search(parsed, limit=10)
        row[label] = (*timings(lambda: index.search(parsed, limit=10)), hits.total)
    return row


def zebra_row(src: Path, n: int) -> dict[str, object]:
    with zebra(src) as env:
        workdir = Path(env["PIDFILE"]).parent
        stats = workdir / "index.stats"
        fields = dict(kv.split("=") for kv in stats.read_text().split() if "=" in kv)
        secs = float(fields.get("seconds", "nan"))
        session = requests.Session()
        row: dict[str, object] = {"engine": "Zebra 2.2.7", "docs/s": n / secs, "seconds": secs,
                                  "MB": du(workdir)}
        for label, query in QUERIES:
            params = {"version": "1.2", "operation": "searchRetrieve", "query": query,
                      "maximumRecords": "10", "recordSchema": "marcxml"}
            body = session.get(env["SRU_URL"], params=params).text
            count = body.split("numberOfRecords>")[1].split("<")[0] if "numberOfRecords>" in body else "?"
            row[label] = (*timings(lambda: session.get(env["SRU_URL"], params=params).content), count)
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--whoosh-max", type=int, default=50000)
    parser.add_argument("--no-zebra", action="store_true")
    args = parser.parse_args()
    print(f"index_bench: {os.cpu_count()} cores; query times in ms (median / p95 of 50) and hits; "
          "ours in process, Zebra over SRU with 10 MARCXML records", flush=True)
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "src").mkdir()
            stage(n, work / "src")
            rows = [ours(work, "tantivy", n)]
            if n <= args.whoosh_max:
                rows.append(ours(work, "whoosh", n))
            if not args.no_zebra:
                rows.append(zebra_row(work / "src", n))
        print(f"\n{n:,} records")
        head = f"{'engine':<12} {'docs/s':>8} {'s':>7} {'MB':>7}  " + "  ".join(f"{q:<22}" for q, _ in QUERIES)
        print(head)
        for row in rows:
            cells = "  ".join(f"{row[q][0]:>6.2f}/{row[q][1]:>6.2f} {str(row[q][2]):>7}" for q, _ in QUERIES)
            print(f"{row['engine']:<12} {row['docs/s']:>8,.0f} {row['seconds']:>7.1f} {row['MB']:>7.1f}  {cells}",
                  flush=True)


if __name__ == "__main__":
    main()
