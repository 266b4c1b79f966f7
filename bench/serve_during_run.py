#!/usr/bin/env python3
"""Serve SRU and Z39.50 while `unioncat run --full` rewrites the same store: errors and latency.

    .venv/bin/python bench/serve_during_run.py [--records 50000] [--idle 20]

Stages the first N LoC records as one file-drop member, runs the nightly job once,
starts `unioncat serve` (waitress, 4 threads, and the Z39.50 target), then sends two
request streams one after another (one SRU client: searchRetrieve of 3 MARCXML
records; one Z39.50 client: Init, Search, Present of 3 XML records, Close), every answer
checked against the hit count the query had when idle:

* idle, for --idle seconds, and then during `unioncat run --full` (re-import, full
  dedup into staging tables swapped in, index rebuilt and swapped in);
* twice: a warm mix (6 queries repeated) and a cold mix (a title word of the data used
  once per request, never repeated, so neither the record cache nor the OS has seen it).

Prints requests, errors, median and p99 ms per phase and mix, and the run's length.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from index_bench import loc_union, stop  # noqa: E402
from tests.peers import free_port  # noqa: E402
from tests.support.probe import Probe, Sample, summary  # noqa: E402
from unioncat.cql import parse  # noqa: E402
from unioncat.index.engine import open_engine  # noqa: E402
from unioncat.marc.reader import MarcFile  # noqa: E402
from unioncat.marc.records import load_record  # noqa: E402

WARM = [("dc.title=history", "@attr 1=4 history"), ("dc.subject=united", "@attr 1=21 united"),
        ("dc.creator=smith", "@attr 1=1003 smith"), ("dc.title=law", "@attr 1=4 law"),
        ("dc.date>=1990", "@attr 2=4 @attr 1=31 1990"), ("cql.anywhere=china", "@attr 1=1016 china")]


def cold_mix(data: Path, n: int) -> list[tuple[str, str]]:
    """Return n distinct title words of the staged records, shuffled (each asked once)."""
    words: set[str] = set()
    for item in MarcFile(str(data / "loc.mrc"), "marc21", "auto").items():
        raw = getattr(item, "raw", None)
        if raw is None:
            continue
        title = load_record(raw, item.syntax, item.charset).title or ""
        words.update(w.lower() for w in title.split() if w.isalpha() and w.isascii() and len(w) > 3)
    chosen = sorted(words)
    random.Random(7).shuffle(chosen)
    return [(f"dc.title={w}", f"@attr 1=4 {w}") for w in chosen[:n]]


def expected_counts(cfg: Path, queries: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return each query's hit count from the index in this process (the server's caches
    stay cold); the Z39.50 form is translated into the same CQL, so its count is the same."""
    engine = open_engine("tantivy", str(cfg.parent / "index"), create=False)
    out = {}
    for cql, pqf in queries:
        total = engine.search(parse(cql), limit=1).total
        out["sru", cql] = out["z3950", pqf] = total
    return out


def phase(probe: Probe, done: Callable[[], bool], repeat: bool) -> list[Sample]:
    """Stream until done(); a cold mix then forgets the queries it used."""
    probe.samples.clear()
    probe.run_beside(done, limit=10**6 if repeat else len(probe.queries) // 2)
    samples = list(probe.samples)
    if not repeat:
        used = max((sum(1 for s in samples if s.face == f) for f in ("sru", "z3950")), default=0)
        probe.queries = probe.queries[used:len(probe.queries) - used]
    for s in samples:
        if s.error:
            print(f"  error: {s.face} {s.query}: {s.error}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50000)
    parser.add_argument("--idle", type=float, default=20.0)
    args = parser.parse_args()
    work, data, cfg = loc_union(args.records, "serve-during-run-")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    port, z_port = free_port(), free_port()
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(cfg), "serve",
                               "--port", str(port), "--z3950-port", str(z_port)], stdout=log, stderr=log, env=env)
    try:
        cold = cold_mix(data, 100000)
        print(f"{args.records:,} LoC records; cold mix: {len(cold):,} distinct title words", flush=True)
        print("| mix | phase | requests | errors | median ms | p99 ms |\n|---|---|---|---|---|---|")
        for name, queries, repeat in (("warm: 6 queries repeated", WARM, True),
                                      ("cold: each title word once", cold, False)):
            probe = Probe(f"http://127.0.0.1:{port}/sru", ("127.0.0.1", z_port), queries=list(queries))
            probe.expected = expected_counts(cfg, queries)
            for _ in range(100):  # wait for the server
                try:
                    probe.sru("dc.title=zzzzzz")
                    break
                except OSError:
                    time.sleep(0.2)
            started = time.monotonic()
            idle = phase(probe, lambda: time.monotonic() - started > args.idle, repeat)
            probe.expected = expected_counts(cfg, probe.queries)
            run_start = time.monotonic()
            run = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(cfg), "run", "--full"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            during = phase(probe, lambda: run.poll() is not None, repeat)
            _, err = run.communicate()
            if run.returncode:
                raise SystemExit(f"unioncat run --full failed: {err.decode()[-2000:]}")
            took = time.monotonic() - run_start
            for label, samples in (("idle", idle), ("during run --full", during)):
                r = summary(samples)
                print(f"| {name} | {label} | {r['requests']:,} | {r['errors']} | {r['median_ms']} | "
                      f"{r['p99_ms']} |", flush=True)
            print(f"| {name} | run --full took {took:.0f} s | | | | |", flush=True)
    finally:
        stop([server], work)
        log.close()


if __name__ == "__main__":
    main()
