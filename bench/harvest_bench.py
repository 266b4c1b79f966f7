#!/usr/bin/env python3
"""Harvest N LoC records from real peers; print records/s and peak RSS, with Sickle's rate.

    .venv/bin/python bench/harvest_bench.py [--records 50000] [--page 200]

Starts, on 127.0.0.1, the oaipmh library's OAI-PMH provider and Zebra (SRU and
Z39.50 on one port) over the first N LoC records, then runs `unioncat harvest`
in a child process for each (OAI-PMH, SRU 1.2, Z39.50 USMARC) and Sickle 0.7.0's
ListRecords over the same provider.  Each child's peak RSS comes from wait4().
Exits 1 if any harvest stores a count other than N.  Needs ../shared (data and
peers), Debian's yaz and idzebra-2.0, and the dev extras (oaipmh, sickle).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.peers import oai_provider, zebra  # noqa: E402

LOC = ROOT.parent / "shared" / "data" / "loc-booksall-2016"

SICKLE = """
import sys, sickle
n = 0
for rec in sickle.Sickle(sys.argv[1], max_retries=3).ListRecords(metadataPrefix="marc21"):
    n += 0 if rec.deleted else 1
print(n)
"""
# Runs a child's code, then reports the child's own peak RSS on stderr.
WRAP = """
import atexit, resource, runpy, sys
atexit.register(lambda: sys.stderr.write(
    "PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
mode, target, sys.argv = sys.argv[1], sys.argv[2], sys.argv[2:]
if mode == "module":
    runpy.run_module(target, run_name="__main__")
else:
    exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
"""


def stage(records: int, folder: Path) -> None:
    """Copy the first `records` LoC records, as gzip chunks of 10,000."""
    chunks = sorted(LOC.glob("*.mrc.gz"))[: (records + 9999) // 10000]
    for chunk in chunks:
        (folder / chunk.name).write_bytes(chunk.read_bytes())
    if records % 10000:
        last = folder / chunks[-1].name
        data = gzip.decompress(last.read_bytes())
        keep, pos = records % 10000, 0
        for _ in range(keep):
            pos += int(data[pos:pos + 5])
        last.write_bytes(gzip.compress(data[:pos]))


def child(mode: str, target: str, *args: str) -> tuple[str, float, float]:
    """Run a module or code in a child; return (stdout, seconds, its peak RSS MiB)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAP, mode, target, *args], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    secs = time.perf_counter() - start
    peak = [line for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")]
    if proc.returncode or not peak:
        raise SystemExit(f"{target} {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout, secs, int(peak[-1].split("=")[1]) / 1024


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "src"
        src.mkdir()
        stage(args.records, src)
        print(f"harvest_bench: {args.records:,} LoC records, page size {args.page}, "
              f"{os.cpu_count()} cores", flush=True)
        t0 = time.perf_counter()
        with oai_provider(src, "--batch-size", str(args.page), "--quiet") as oai_url, \
                zebra(src) as zeb:
            print(f"peers up in {time.perf_counter() - t0:.0f} s (OAI provider load + Zebra index)",
                  flush=True)
            peers = [("OAI-PMH (oaipmh provider)", {"type": "oai", "url": oai_url}),
                     ("SRU 1.2 (Zebra)", {"type": "sru", "url": zeb["SRU_URL"],
                                          "page_size": args.page}),
                     ("Z39.50 USMARC (Zebra)", {"type": "z3950", "url": zeb["Z3950"],
                                                "page_size": args.page})]
            for label, settings in peers:
                cfg = work / f"{settings['type']}.toml"
                lines = ["[store]", f'path = "{work / (settings["type"] + ".db")}"', "[[source]]",
                         'id = "B"', 'name = "bench"']
                lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
                cfg.write_text("\n".join(lines) + "\n")
                out, secs, rss = child("module", "unioncat", "--config", str(cfg), "harvest", "B",
                                       "--json")
                stats = json.loads(out)["harvests"][0]
                rows.append((label, stats["new"], secs, rss, stats["pages"]))
            out, secs, rss = child("code", SICKLE, oai_url)
            rows.append(("Sickle 0.7.0, same OAI-PMH provider (no store)", int(out), secs, rss, 0))
    print(f"{'peer':<48} {'records':>8} {'s':>7} {'rec/s':>8} {'peak RSS MiB':>13}")
    bad = False
    for label, n, secs, rss, _ in rows:
        print(f"{label:<48} {n:>8,} {secs:>7.1f} {n / secs:>8,.0f} {rss:>13.0f}")
        bad |= n != args.records
    if bad:
        print("COUNT MISMATCH: a harvest did not store exactly the records served")
        sys.exit(1)


if __name__ == "__main__":
    main()
