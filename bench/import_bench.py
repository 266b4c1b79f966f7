#!/usr/bin/env python3
"""Import N Library of Congress records into a fresh store; print records/s and RSS.

    .venv/bin/python bench/import_bench.py [--records 200000] [--batch-size 2000]

Runs the same path as `unioncat import` (FileHarvester -> loading.load -> Store),
twice: a first import (all new) and a second one (all unchanged).  RSS is sampled
after every batch; the table shows it at 10k, 50k, 100k and 200k records so that
memory can be seen to stay flat.  Needs ../shared/data/loc-booksall-2016.
"""
from __future__ import annotations

import argparse
import glob
import os
import resource
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from unioncat.config.model import SourceConfig  # noqa: E402
from unioncat.harvester import FileHarvester  # noqa: E402
from unioncat.loading import load  # noqa: E402
from unioncat.models import LoadStats  # noqa: E402
from unioncat.store import Store, open_store# noqa: E402

LOC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "loc-booksall-2016"
MARKS = (10_000, 50_000, 100_000, 200_000)


def rss_mb() -> float:
    """Return the current resident set size in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(store: Store, files: list[str], limit: int, batch: int) -> tuple[LoadStats, dict[int, float]]:
    """Import up to `limit` records; return stats and RSS at the marks."""
    source = SourceConfig(id="LOC", name="LoC", type="file")
    seen: dict[int, float] = {}

    def sample(stats: LoadStats) -> None:
        for mark in MARKS:
            if stats.read >= mark and mark not in seen:
                seen[mark] = rss_mb()

    items = islice(FileHarvester(source, files).harvest(), limit)
    return load(store, "LOC", items, batch_size=batch, on_batch=sample), seen


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    files = sorted(glob.glob(str(LOC / "*.mrc.gz")))
    if not files:
        sys.exit(f"no LoC files in {LOC}")
    print(f"import_bench: {args.records:,} LoC records from {len(files)} gzip files, "
          f"batch {args.batch_size}, python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        with open_store(os.path.join(tmp, "bench.db")) as store:
            for label in ("first import", "second import"):
                start = time.perf_counter()
                stats, marks = run(store, files, args.records, args.batch_size)
                secs = time.perf_counter() - start
                print(f"{label:>14}: {stats.read:,} read, new {stats.new:,}, unchanged "
                      f"{stats.unchanged:,}, rejected {stats.rejected:,} in {secs:.1f} s = "
                      f"{stats.read / secs:,.0f} records/s")
                print(" " * 16 + "RSS MiB at " + ", ".join(
                    f"{m // 1000}k: {v:.0f}" for m, v in sorted(marks.items())))
            size = os.path.getsize(os.path.join(tmp, "bench.db"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store size {size / 2**20:,.0f} MiB; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
