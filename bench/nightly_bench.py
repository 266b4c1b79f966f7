#!/usr/bin/env python3
"""The whole nightly `unioncat run` (import, dedup, index) over the 200,000 LoC records
split across 4 file-drop members, then again after 1% of the records changed.

    .venv/bin/python bench/nightly_bench.py

Prints elapsed per stage and the run's peak RSS (the child's own).  Targets: first
run within 10 minutes, the incremental run within 1 minute, RSS under 500 MB.
"""
from __future__ import annotations

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
from unioncat.marc.iso2709 import encode_record, iter_chunks, parse_fields  # noqa: E402

LOC = ROOT.parent / "shared" / "data" / "loc-booksall-2016"
WRAP = """
import atexit, resource, runpy, sys
atexit.register(lambda: sys.stderr.write(
    "PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.argv = ["unioncat"] + sys.argv[1:]
runpy.run_module("unioncat", run_name="__main__")
"""


def run(cfg: Path) -> tuple[dict, float, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WRAP, "--config", str(cfg), "run", "--json"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    secs = time.perf_counter() - start
    peak = [l for l in out.stderr.splitlines() if l.startswith("PEAK_RSS_KB=")]
    if out.returncode or not peak:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout), secs, int(peak[-1].split("=")[1]) / 1024


def change_one_percent(folder: Path) -> int:
    """Rewrite a member's drop with every 100th record's title changed."""
    changed = 0
    for path in sorted(folder.glob("*.mrc.gz")):
        out = bytearray()
        with gzip.open(path.resolve()) as fh:
            for n, chunk in enumerate(iter_chunks(fh, str(path))):
                data = chunk.data  # type: ignore[union-attr]
                if n % 100 == 0:
                    parsed = parse_fields(data)
                    fields = [(t, d + b" [revised]" if t == "245" else d) for t, d in parsed.fields]
                    data = encode_record(parsed.leader, fields)
                    changed += 1
                out += data
        path.unlink()
        path.with_suffix("").write_bytes(bytes(out))
    return changed


def report(label: str, result: dict, secs: float, rss: float) -> None:
    imports = sum(h["elapsed"] for h in result["harvests"])
    read = sum(h["read"] for h in result["harvests"])
    print(f"{label:<22} total {secs:6.1f} s | import {imports:5.1f} s ({read:,} read, "
          f"{sum(h['new'] for h in result['harvests']):,} new, {sum(h['updated'] for h in result['harvests']):,} "
          f"updated) | dedup {result['dedup']['elapsed']:5.1f} s ({result['dedup']['processed']:,} records) | "
          f"index {result['index']['elapsed']:5.1f} s ({result['index']['documents']:,} documents) | "
          f"peak RSS {rss:,.0f} MiB", flush=True)


def main() -> None:
    chunks = sorted(LOC.glob("*.mrc.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lines = ["[store]", f'path = "{work / "store.db"}"', "batch_size = 5000", "[index]",
                 f'path = "{work / "index"}"']
        for n in range(4):
            folder = work / f"M{n}"
            folder.mkdir()
            for chunk in chunks[n * 5:(n + 1) * 5]:
                (folder / chunk.name).symlink_to(chunk)
            lines += ["[[source]]", f'id = "M{n}"', f'name = "Member {n}"', 'type = "file"',
                      f'path = "{folder}"']
        cfg = work / "unioncat.toml"
        cfg.write_text("\n".join(lines) + "\n")
        print(f"nightly_bench: 200,000 LoC records as 4 file-drop members, {os.cpu_count()} cores", flush=True)
        report("first run", *run(cfg))
        changed = sum(change_one_percent(work / f"M{n}") for n in range(4))
        for n in range(4):
            for gz in (work / f"M{n}").glob("*.mrc.gz"):
                gz.unlink()
        print(f"changed {changed:,} records (1%)", flush=True)
        report("after 1% changed", *run(cfg))


if __name__ == "__main__":
    main()
