#!/usr/bin/env python3
"""Z39.50: searches/s and Present latency, our target next to Zebra's on the same records.

    .venv/bin/python bench/z3950_bench.py [--records 50000] [--rounds 30] [--clients 1,4]

Loads N LoC records into unioncat (`unioncat run`) and into Zebra (../shared/peers),
starts `unioncat serve --no-sru --z3950-port` (one process, and two worker processes
sharing the port: `[server] z3950_workers`) and drives the targets with the same
client (unioncat's Z39.50 client, one association per client process, keep-alive):
a fixed mix of type-1 BIB-1 queries, each followed by a Present of records 1-10 in
USMARC (ours with every member's holdings in 852 fields).  Prints hits per query for
both, then per target and number of concurrent clients: searches/s (search + present
pairs per second), and search and present latency median / p99 in ms.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from index_bench import loc_union, stop  # noqa: E402
from tests.peers import free_port, zebra  # noqa: E402
from unioncat.errors import UnioncatError, Z3950Error  # noqa: E402
from unioncat.z3950.client import Z3950Client  # noqa: E402
from unioncat.z3950.pqf import parse_pqf  # noqa: E402

QUERIES = ["@attr 1=4 computer", "@attr 1=1003 smith", "@attr 1=21 history", "@attr 1=1016 history",
           "@and @attr 1=21 history @attr 1=30 @attr 2=4 @attr 4=109 1950", "@attr 1=7 0791060438",
           "@attr 1=4 @attr 5=1 comp", "@attr 1=4 @attr 4=1 \"civil war\""]


def address(where: str) -> tuple[str, int, str]:
    host_port, _, database = where.partition("/")
    host, _, port = host_port.rpartition(":")
    return host, int(port), database or "Default"


def drive(args: tuple[str, int]) -> tuple[list[float], list[float], float, list[str]]:
    """One client: every query `rounds` times, each with a Present of 1-10; return timings
    and the errors (as text: diagnostics do not cross process boundaries)."""
    try:
        return (*_drive(*args), [])
    except UnioncatError as exc:  # a diagnostic or a broken association
        return [], [], 0.0, [str(exc)]


def _drive(where: str, rounds: int) -> tuple[list[float], list[float], float]:
    host, port, database = address(where)
    searches: list[float] = []
    presents: list[float] = []
    with Z3950Client(host, port, timeout=60) as z:
        for query in QUERIES:  # warm up
            count = z.search(database, parse_pqf(query))
            if count:
                z.present(1, min(count, 10), "usmarc")
        started = time.perf_counter()
        for _ in range(rounds):
            for query in QUERIES:
                t0 = time.perf_counter()
                count = z.search(database, parse_pqf(query))
                t1 = time.perf_counter()
                searches.append((t1 - t0) * 1000)
                if count:
                    z.present(1, min(count, 10), "usmarc")
                    presents.append((time.perf_counter() - t1) * 1000)
        return searches, presents, time.perf_counter() - started


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def wait_for(where: str) -> None:
    host, port, _ = address(where)
    for _ in range(300):
        try:
            with Z3950Client(host, port, timeout=2):
                return
        except Z3950Error:
            time.sleep(0.1)
    raise SystemExit(f"{where} did not come up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--clients", default="1,4")
    args = ap.parse_args()
    work, data, cfg = loc_union(args.records, "z3950-bench-")
    two = work / "two.toml"  # the same with two worker processes on the port
    two.write_text(cfg.read_text(encoding="utf-8") + "[server]\nz3950_workers = 2\n", encoding="utf-8")
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(conf), "serve", "--no-sru",
                                 "--z3950-port", str(p)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for conf, p in ((cfg, ports[0]), (two, ports[1]))]
    try:
        with zebra(data) as peer:
            targets = {"unioncat (1 process)": f"127.0.0.1:{ports[0]}/Default",
                       "unioncat (2 processes)": f"127.0.0.1:{ports[1]}/Default", "Zebra 2.2.7": peer["Z3950"]}
            for where in targets.values():
                wait_for(where)
            print(f"\n{'query':55} {'unioncat':>10} {'Zebra':>10}")
            counts = {}
            for name, where in targets.items():
                host, zport, database = address(where)
                with Z3950Client(host, zport) as z:
                    counts[name] = [z.search(database, parse_pqf(q)) for q in QUERIES]
            for i, query in enumerate(QUERIES):
                print(f"{query:55} {counts['unioncat (1 process)'][i]:>10,} {counts['Zebra 2.2.7'][i]:>10,}")
            print("\n| target | clients | searches/s | search median ms | search p99 ms | present 10 median ms "
                  "| present 10 p99 ms |\n|---|---|---|---|---|---|---|")
            for clients in (int(c) for c in args.clients.split(",")):
                for name, where in targets.items():
                    with multiprocessing.Pool(clients) as pool:
                        results = pool.map(drive, [(where, args.rounds)] * clients)
                    errors = [e for r in results for e in r[3]]
                    if errors:
                        print(f"| {name} | {clients} | failed: {errors[0]} |", flush=True)
                        continue
                    searches = [v for r in results for v in r[0]]
                    presents = [v for r in results for v in r[1]]
                    rate = len(searches) / max(r[2] for r in results)
                    print(f"| {name} | {clients} | {rate:,.0f} | {statistics.median(searches):.2f} | "
                          f"{p99(searches):.2f} | {statistics.median(presents):.2f} | {p99(presents):.2f} |",
                          flush=True)
    finally:
        stop(servers, work)


if __name__ == "__main__":
    main()
