#!/usr/bin/env python3
"""Load a 1,000,000-item status feed; time holdings assembly for 10 records.

    .venv/bin/python bench/availability_bench.py [--items 1000000]

Builds a store whose members hold N items (5 per record; rows written straight
into the items table, as extraction would leave them), writes a CSV status feed
covering every item plus 1% unknown barcodes, and loads it with the same code as
`unioncat availability load`, in a child process so its peak RSS is its own.
Then assembles holdings with availability for 10 records, 200 times each.
Needs nothing outside the repository.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from unioncat.holdings.view import holdings_for  # noqa: E402
from unioncat.models import now  # noqa: E402
from unioncat.store import open_store# noqa: E402

STATUSES = ["available", "checked out", "in transit", "on hold", "lost", "missing", "reference"]
LOAD = """
import resource, sys, time
sys.path.insert(0, sys.argv[3])
from unioncat.holdings.feeds import load_feed
from unioncat.store import open_store
start = time.perf_counter()
with open_store(sys.argv[1]) as store:
    report = load_feed(store, "M", sys.argv[2])
secs = time.perf_counter() - start
print(report.rows, report.applied, report.unknown_barcodes, secs,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def build(db_path: str, items: int) -> None:
    """Create a store with `items` items, five per record, across three branches."""
    stamp = now()
    with open_store(db_path) as store:
        db = store.db
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO items(item_id, record_id, origin, source, branch, call_number, barcode,"
            " status, count, updated) VALUES (?,?,?,?,?,?,?,?,1,?)",
            ((f"M.B{n:08d}", f"M.r{n // 5:07d}", f"M.r{n // 5:07d}", "M",
              ("Central", "Harbour", "Hill")[n % 3], f"QA{n % 997}", f"B{n:08d}", "available", stamp)
             for n in range(items)))
        db.execute("COMMIT")


def write_feed(path: Path, items: int) -> None:
    """Write the CSV feed: every item once, plus 1% barcodes no item has."""
    rnd = random.Random(42)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("barcode,status,due_date\n")
        for n in range(items):
            status = rnd.choice(STATUSES)
            due = f"2026-12-{1 + n % 28:02d}" if status == "checked out" else ""
            fh.write(f"B{n:08d},{status},{due}\n")
        for n in range(items // 100):
            fh.write(f"X{n:08d},available,\n")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "store.db")
        t0 = time.perf_counter()
        build(db_path, args.items)
        feed = Path(tmp) / "feed.csv"
        write_feed(feed, args.items)
        print(f"availability_bench: store with {args.items:,} items and a {feed.stat().st_size / 2**20:.0f} MiB "
              f"CSV feed built in {time.perf_counter() - t0:.0f} s", flush=True)
        out = subprocess.run([sys.executable, "-c", LOAD, db_path, str(feed), str(ROOT)],
                             capture_output=True, text=True, check=True).stdout.split()
        rows, applied, unknown, secs, rss = int(out[0]), int(out[1]), int(out[2]), float(out[3]), int(out[4])
        print(f"feed load: {rows:,} rows, {applied:,} applied, {unknown:,} unknown barcodes in "
              f"{secs:.1f} s = {rows / secs:,.0f} items/s; peak RSS {rss / 1024:.0f} MiB")
        with open_store(db_path) as store:
            records = [f"M.r{n:07d}" for n in range(0, args.items // 5, args.items // 50)][:10]
            times = []
            for _ in range(200):
                for rid in records:
                    start = time.perf_counter()
                    members = holdings_for(store, [rid], {"M": "Member"})
                    times.append(time.perf_counter() - start)
            assert all(members) and sum(m["total"] for m in members) == 5
        print(f"holdings with availability, 10 records x 200: median {statistics.median(times) * 1000:.3f} ms, "
              f"p95 {sorted(times)[int(len(times) * 0.95)] * 1000:.3f} ms per record")
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
