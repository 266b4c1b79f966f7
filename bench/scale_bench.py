#!/usr/bin/env python3
"""How the embedded default (SQLite + tantivy) grows: a synthetic consortium of N member records,
the full nightly run, a 1% incremental run, query latency, sizes on disk.

    .venv/bin/python bench/scale_bench.py --records 200000 [--members 4] [--keep DIR [--build-only | --queries-only]] [--postgresql]

The consortium is built from the 200,000 LoC records (../shared/data): each work is held by one to
three of the members, each copy catalogued differently as bench/dedup_eval.py does it (ISBN forms,
punctuation, dropped subtitles, typos, author and publisher forms, scripts), so deduplication has
real work.  Past what the LoC records give, the works come round again as later editions (an
edition statement and a later year: other masters, as in life).  Then, in child processes as cron
runs them: `unioncat run` (full), 1% of the records changed (a note added) and `unioncat run`
again; per stage seconds (the run's own record), peak RSS of the run, store and index size; then
query latency for a fixed mix of 40 title words drawn from the data, each asked once (cold) and
then the 8 first again and again (warm): `unioncat search` in process, and SRU searchRetrieve of 10
MARCXML records from `unioncat serve`.  Prints one row of figures; the README's scale table is these
rows at several N.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import BinaryIO
from pathlib import Path
from urllib.parse import quote

import opencc
import pymarc
import requests
from pymarc import Field, Indicators, Subfield

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from dedup_eval import vary  # noqa: E402
from sru_bench import wait_for  # noqa: E402
from tests.peers import free_port  # noqa: E402

LOC = ROOT.parent / "shared" / "data" / "loc-booksall-2016"
ORDINALS = ["2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th"]


def works() -> "iter[pymarc.Record]":  # type: ignore[valid-type]
    """Yield the LoC records with a title and an 008, chunk after chunk."""
    for chunk in sorted(LOC.glob("*.mrc.gz")):
        with gzip.open(chunk) as fh:
            for rec in pymarc.MARCReader(fh, force_utf8=True, to_unicode=True):
                if rec is not None and "245" in rec and "008" in rec:
                    yield rec


def edition(rec: pymarc.Record, round_: int) -> pymarc.Record:
    """The same work's later edition: an edition statement, a later year, no identifiers."""
    if not round_:
        return rec
    out = copy.deepcopy(rec)
    out.remove_fields("020", "010", "035", "250")
    out.add_ordered_field(Field(tag="250", indicators=Indicators(" ", " "),
                                subfields=[Subfield("a", f"{ORDINALS[(round_ - 1) % len(ORDINALS)]} ed.")]))
    year = out["008"].data[7:11]
    if year.isdigit():
        out["008"].data = out["008"].data[:7] + str(int(year) + 2 * round_) + out["008"].data[11:]
    return out


def build(folder: Path, records: int, members: int, seed: int = 5) -> list[str]:
    """Write each member's file drop; return the title words of the query mix."""
    rnd = random.Random(seed)
    t2s = opencc.OpenCC("t2s")
    names = [f"M{i}" for i in range(1, members + 1)]
    files = {m: (folder / f"{m}.mrc").open("wb") for m in names}
    counts = {m: 0 for m in names}
    written, round_, words = 0, 0, set()
    try:
        while written < records:
            for base in works():
                work = edition(base, round_)
                for member in rnd.sample(names, rnd.choice([1, 2, 2, 3])):
                    copy_ = vary(work, rnd, t2s)
                    copy_.remove_fields("001")
                    copy_.add_ordered_field(Field(tag="001", data=f"{member.lower()}{counts[member]:08d}"))
                    counts[member] += 1
                    files[member].write(copy_.as_marc())
                    written += 1
                if len(words) < 4000 and round_ == 0:
                    words |= {w.lower() for w in (base["245"].get("a") or "").split()
                              if w.isalpha() and w.isascii() and len(w) >= 6}
                if written >= records:
                    break
            round_ += 1
    finally:
        for fh in files.values():
            fh.close()
    chosen = sorted(words)
    rnd.shuffle(chosen)
    return chosen[:40]


def touch_one_percent(folder: Path, seed: int = 9) -> int:
    """Change 1% of every member's records (a 500 note), as a night's edits do; return how many."""
    rnd = random.Random(seed)
    changed = 0
    for path in sorted(folder.glob("M*.mrc")):
        out = path.with_suffix(".new")
        with path.open("rb") as fh, out.open("wb") as dst:
            for raw in iter(lambda: _next_record(fh), b""):
                if rnd.random() < 0.01:  # only the changed ones are parsed: 5,000,000 took 20 minutes
                    rec = pymarc.Record(data=raw, force_utf8=True, to_unicode=True)
                    rec.add_ordered_field(Field(tag="500", indicators=Indicators(" ", " "),
                                                subfields=[Subfield("a", f"Changed {changed}.")]))
                    changed += 1
                    raw = rec.as_marc()
                dst.write(raw)
        out.replace(path)
    return changed


def _next_record(fh: BinaryIO) -> bytes:
    """Return the next ISO 2709 record of a file as it is (its length from the leader), or b""."""
    head = fh.read(5)
    return head + fh.read(int(head) - 5) if head else b""


# Runs the CLI, then reports the peak RSS of the run and of its worker processes on stderr.
PEAK = ("import atexit, resource, runpy, sys\n"
        "atexit.register(lambda: sys.stderr.write('PEAK_RSS_KB=%d\\n' % max(\n"
        "    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)))\n"
        "sys.argv = ['unioncat'] + sys.argv[1:]\n"
        "runpy.run_module('unioncat', run_name='__main__')\n")


def run(cfg: Path, *extra: str) -> tuple[float, float, dict[str, object]]:
    """Run `unioncat run` in a child; return seconds, its peak RSS in MiB (the largest of the run's
    process and its workers) and the run's own record of its stages."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", PEAK, "--config", str(cfg), "run", "--json", *extra],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.monotonic() - started
    if out.returncode:
        raise SystemExit(f"unioncat run failed:\n{out.stderr[-3000:]}")
    peak = max(int(line.split("=")[1]) for line in out.stderr.splitlines() if line.startswith("PEAK_RSS_KB="))
    from unioncat.config import load_config
    from unioncat.store import open_store

    with open_store(load_config(str(cfg)).store, readonly=True) as store:
        last = store.last_run() or {}
    return seconds, peak / 1024, last


def stages(last: dict[str, object]) -> dict[str, object]:
    """Return a run's seconds by stage, from its own record of the run."""
    return {s["stage"]: s["seconds"] for s in last.get("stages", [])}  # type: ignore[attr-defined]


def pg_size(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]) / 2**20


def du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.is_dir() \
        else path.stat().st_size / 2**20


def query_latency(cfg: Path, mix: list[str]) -> dict[str, float]:
    """Return the medians of the query mix (title words) in process and over SRU, cold and warm."""
    from unioncat.config import load_config
    from unioncat.index.search import run_search
    from unioncat.store import open_store

    config = load_config(str(cfg))
    store = open_store(config.store, readonly=True)
    queries = [f"dc.title={w}" for w in mix]

    def cli_ms(query: str) -> float:
        clock = time.perf_counter()
        run_search(store, config, query, limit=10)
        return (time.perf_counter() - clock) * 1000

    cli_cold = [cli_ms(q) for q in queries]
    cli_warm = [cli_ms(q) for q in queries[:8] * 5]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(cfg), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        base = f"http://127.0.0.1:{port}/sru"
        wait_for(base + "?operation=explain&version=1.2")
        session = requests.Session()

        def sru_ms(query: str) -> float:
            clock = time.perf_counter()
            session.get(f"{base}?version=1.2&operation=searchRetrieve&maximumRecords=10&recordSchema=marcxml"
                        f"&query={quote(query, safe='')}").raise_for_status()
            return (time.perf_counter() - clock) * 1000

        sru_ms("dc.title=warmup")
        sru_cold = [sru_ms(q) for q in queries]
        sru_warm = [sru_ms(q) for q in queries[:8] * 5]
    finally:
        server.terminate()
        server.wait(20)
    return {"search cold median ms": round(statistics.median(cli_cold), 1),
            "search warm median ms": round(statistics.median(cli_warm), 1),
            "SRU cold median ms": round(statistics.median(sru_cold), 1),
            "SRU warm median ms": round(statistics.median(sru_warm), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument("--postgresql", action="store_true", help="a PostgreSQL store (a throwaway cluster)")
    ap.add_argument("--build-only", action="store_true", help="build the consortium in DIR/built (with --keep) and stop")
    ap.add_argument("--queries-only", action="store_true",
                    help="only the query latency, on the store and index a run left in DIR (with --keep)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    built = work / "built"  # the consortium as generated, kept with --keep for the next run
    built.mkdir(exist_ok=True)
    marker = built / "mix.json"
    if marker.exists() and json.loads(marker.read_text())["records"] == [args.records, args.members]:
        mix = json.loads(marker.read_text())["mix"]
        print(f"reusing the {args.records:,} member records built in {built}", flush=True)
    else:
        started = time.monotonic()
        mix = build(built, args.records, args.members)
        marker.write_text(json.dumps({"records": [args.records, args.members], "mix": mix}))
        print(f"built {args.records:,} member records for {args.members} members in {time.monotonic() - started:.0f} s",
              flush=True)
    if args.build_only:
        return
    if args.queries_only:
        print(json.dumps(query_latency(work / "unioncat.toml", mix), indent=2))
        return
    data = work / "data"  # this run's copy: the 1% change is made to it
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(work / "index", ignore_errors=True)
    for old in work.glob("store.db*"):
        old.unlink()
    shutil.copytree(built, data, ignore=shutil.ignore_patterns("mix.json"))
    cfg = work / "unioncat.toml"
    url = ""
    if args.postgresql:
        from tests.postgres import cluster

        url = cluster().database()
    cfg.write_text(f'[store]\npath = "{work}/store.db"\n' + (f'url = "{url}"\n' if url else "")
                   + f'[index]\npath = "{work}/index"\n' + "".join(
        f'[[source]]\nid = "M{i}"\nname = "Member {i}"\ntype = "file"\npath = "{data}/M{i}.mrc"\n'
        for i in range(1, args.members + 1)), encoding="utf-8")
    workers = ("--workers", "2") if url else ()
    full, full_rss, full_run = run(cfg, *workers)
    print(json.dumps({"full run s": round(full), "full peak RSS MiB": round(full_rss),  # a long run's first figures
                      "full stages s": stages(full_run)}), flush=True)
    changed = touch_one_percent(data)
    incremental, inc_rss, inc_run = run(cfg, *workers)
    print(json.dumps({"1% changed": changed, "incremental run s": round(incremental),
                      "incremental stages s": stages(inc_run)}), flush=True)
    sizes = {"store MiB": pg_size(url) if url else du(work / "store.db"), "index MiB": du(work / "index")}

    latency = query_latency(cfg, mix)
    row = {"records": args.records, "members": args.members, "store": "postgresql" if url else "sqlite",
           "full run s": round(full), "full peak RSS MiB": round(full_rss),
           "full stages s": stages(full_run),
           "1% changed": changed, "incremental run s": round(incremental),
           "incremental stages s": stages(inc_run),
           **{k: round(v) for k, v in sizes.items()},
           **latency}
    print(json.dumps(row, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
