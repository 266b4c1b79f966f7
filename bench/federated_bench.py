#!/usr/bin/env python3
"""Federated live search with 4 targets: time to first and to complete results, all targets asked
at once (unioncat's `ask_all`) next to the same targets asked one after another, same run.

    .venv/bin/python bench/federated_bench.py [--records 20000] [--queries 40] [--budget 10]

Targets, all real servers on 127.0.0.1: Zebra over N LoC records by SRU and by Z39.50 (one
zebrasrv), `unioncat serve` SRU over the demo consortium, and yaz-ztest (Z39.50).  The query mix
is cold: each query is a different title word taken from the LoC records (no target has seen it
before in the run), `dc.title=WORD`, 20 records asked of each target.  Time to first results is
when the first target's answer is in; complete is when the last is (or the budget ran out).  Then
the merge of the 4 answers with the union catalogue's own hits (the dedup comparator), per query.
Prints medians and 90th percentiles in milliseconds.
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from sru_bench import wait_for  # noqa: E402
from tests.peers import free_port, yaz_ztest, zebra  # noqa: E402
from tests.support.demo_site import demo_site  # noqa: E402
from unioncat.config import load_config  # noqa: E402
from unioncat.config.model import TargetConfig  # noqa: E402
from unioncat.cql import parse  # noqa: E402
from unioncat.federated.search import ask, ask_all, merge  # noqa: E402
from unioncat.index.search import run_search  # noqa: E402
from unioncat.store import open_store# noqa: E402

LOC = ROOT.parent / "shared" / "data" / "loc-booksall-2016"


def words(path: Path, n: int, seed: int = 11) -> list[str]:
    """Return n distinct title words (5+ letters) of the records, in a seeded random order."""
    import pymarc

    seen: set[str] = set()
    with path.open("rb") as fh:
        for rec in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if rec is not None and rec.get("245") and rec["245"].get("a"):
                seen |= {w.lower() for w in rec["245"]["a"].split() if w.isalpha() and w.isascii() and len(w) >= 5}
    chosen = sorted(seen)
    random.Random(seed).shuffle(chosen)
    return chosen[:n]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--budget", type=float, default=10.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="federated-bench-"))
    src = work / "zebra-src"
    src.mkdir()
    data = src / "loc.mrc"
    with data.open("wb") as out:
        left = args.records
        for chunk in sorted(LOC.glob("*.mrc.gz")):
            with gzip.open(chunk, "rb") as fh:
                raw = fh.read()
            recs = raw.split(b"\x1d")[:-1]
            out.write(b"".join(r + b"\x1d" for r in recs[:left]))
            left -= min(left, len(recs))
            if not left:
                break
    queries = [f"dc.title={w}" for w in words(data, args.queries)]
    site = demo_site(work / "demo")
    cfg = load_config(str(site))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(site), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for(f"http://127.0.0.1:{port}/sru?operation=explain&version=1.2")
        with zebra(src) as env, yaz_ztest() as ztest:
            host_port = env["Z3950"].split("/")[0]
            targets = [TargetConfig("ZSRU", "Zebra SRU", "sru", env["SRU_URL"]),
                       TargetConfig("ZZ", "Zebra Z39.50", "z3950", f"{host_port}/Default"),
                       TargetConfig("US", "unioncat SRU", "sru", f"http://127.0.0.1:{port}/sru"),
                       TargetConfig("ZTEST", "yaz-ztest", "z3950", f"{ztest}/Default")]
            for target in targets:  # one connection each first: the run measures queries, not start-up
                ask(target, parse("dc.title=warmup"), 1)
            rows = {"parallel": ([], []), "sequential": ([], [])}
            merges: list[float] = []
            answered: dict[str, int] = {t.id: 0 for t in targets}
            store = open_store(cfg.store, readonly=True)
            for n, query in enumerate(queries):
                parsed = parse(query)
                if n % 2 == 0:  # alternate which goes first, so neither always meets a warmer cache
                    order = ("parallel", "sequential")
                else:
                    order = ("sequential", "parallel")
                for how in order:
                    if how == "parallel":
                        started = time.monotonic()
                        answers = ask_all(targets, parsed, 20, args.budget)
                        total = (time.monotonic() - started) * 1000
                        first = min((a.ms for a in answers if a.status == "ok"), default=total)
                        for a in answers:
                            answered[a.target.id] += a.status == "ok"
                        local = run_search(store, cfg, query, limit=50)["records"]
                        clock = time.monotonic()
                        merge(cfg, store, local, answers)
                        merges.append((time.monotonic() - clock) * 1000)
                    else:
                        started = time.monotonic()
                        first = 0.0
                        for i, target in enumerate(targets):
                            ask(target, parsed, 20)
                            if i == 0:
                                first = (time.monotonic() - started) * 1000
                        total = (time.monotonic() - started) * 1000
                    rows[how][0].append(first)
                    rows[how][1].append(total)
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n4 targets (Zebra SRU and Z39.50 over {args.records:,} LoC records, unioncat SRU over the demo, "
          f"yaz-ztest), {len(queries)} cold title-word queries, 20 records a target\n")
    print("| asked | first results median ms | p90 | complete median ms | p90 |\n|---|---|---|---|---|")
    for how, (first, total) in rows.items():
        print(f"| {how} | {statistics.median(first):.0f} | {pct(first, 0.9):.0f} | "
              f"{statistics.median(total):.0f} | {pct(total, 0.9):.0f} |")
    print(f"\nmerge with the union catalogue's hits: median {statistics.median(merges):.1f} ms, "
          f"p90 {pct(merges, 0.9):.1f} ms; answers ok per target: {answered}")


if __name__ == "__main__":
    main()
