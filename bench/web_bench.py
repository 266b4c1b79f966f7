#!/usr/bin/env python3
"""The web catalogue's cost next to SRU for the same searches, same server, same run.

    .venv/bin/python bench/web_bench.py [--records 200000] [--duration 10] [--connections 1,16]

Loads N LoC records (`unioncat run`: import, dedup, index), starts `unioncat serve` (waitress,
4 threads: the web pages and SRU in one process) and drives it with wrk (keep-alive, 127.0.0.1):

* results pages, ``/search?q=WORDS`` (20 hits, five facets, "on the shelf at N of M"), next to
  SRU searchRetrieve of the same search (``cql.serverChoice all "WORDS"``, 10 records as DC);
* record pages, ``/record/ID`` (description, holdings, MARC view, JSON-LD), next to SRU
  searchRetrieve of the same record (``rec.id="ID"``, MARCXML with its holdings).

Two mixes each: warm (8 searches, or 8 records, asked over and over, after a 2 s warm-up) and
cold (title words found in 2 to 2,000 records, or records, each asked once: every run, warm-up
included, gets its own words and records, and a row is marked where a run asked for more than its
share, so repeated). Prints requests/s, median and p99 per page and connection count, and the web
page's median and p99 over SRU's.
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from index_bench import loc_union, stop  # noqa: E402
from sru_bench import UNITS, wait_for  # noqa: E402
from tests.peers import free_port  # noqa: E402

COLD_SHARE = 6000  # distinct words or records per cold run (warm-up: the first 600)
WARM = ["computer", "smith", "history", "united states", "civil war", "economic policy", "china", "poetry"]


def lua(folder: Path, name: str, paths: list[str]) -> Path:
    script = folder / f"{name}.lua"
    body = ",\n".join(f'  "{p}"' for p in paths)
    script.write_text("local paths = {\n" + body + "\n}\nlocal i = 0\n"
                      "request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[((i - 1) % #paths) + 1])\n"
                      "end\n", encoding="utf-8")
    return script


def web_search(words: str) -> str:
    return "/search?" + urlencode({"q": words})


def sru_search(words: str) -> str:
    return "/sru?" + urlencode({"version": "1.2", "operation": "searchRetrieve", "maximumRecords": "10",
                                "recordSchema": "dc", "query": f'cql.serverChoice all "{words}"'}, quote_via=quote)


def sru_record(master: str) -> str:
    return "/sru?" + urlencode({"version": "1.2", "operation": "searchRetrieve", "maximumRecords": "1",
                                "recordSchema": "marcxml", "query": f'rec.id="{master}"'}, quote_via=quote)


def cold_words(cfg: Path, count: int) -> list[str]:
    """Title words found in 2 to 2,000 records, a seeded sample: each asked once."""
    from unioncat.config import load_config
    from unioncat.index.engine import open_engine

    config = load_config(str(cfg))
    engine = open_engine(config.index.engine, config.index.path, create=False)
    words = [t for t, n in engine.all_terms("title") if 2 <= n <= 2000 and t.isascii() and t.isalpha() and len(t) > 3]
    random.Random(7).shuffle(words)
    return words[:count]


def masters(cfg: Path, count: int) -> list[str]:
    from unioncat.config import load_config
    from unioncat.cql import parse
    from unioncat.index.engine import open_engine

    config = load_config(str(cfg))
    engine = open_engine(config.index.engine, config.index.path, create=False)
    hits = engine.search(parse("cql.allRecords=1"), limit=count)
    ids = list(hits.ids)
    random.Random(11).shuffle(ids)
    return ids[:count]


def wrk(base: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": latency["50"], "p99": latency["99"], "requests": int(done.group(1)) if done else 0,
            "non2xx": int(bad.group(1)) if bad else 0}


def measure(base: str, folder: Path, name: str, paths: list[str], cold: bool, conns: int,
            seconds: int) -> dict[str, float]:
    """Warm up (2 s), then measure; a cold run warms up on paths it does not measure."""
    warm_up, measured = (paths[:COLD_SHARE // 10], paths[COLD_SHARE // 10:]) if cold else (paths, paths)
    wrk(base, lua(folder, name + "-warmup", warm_up), conns, 2)
    result = wrk(base, lua(folder, name, measured), conns, seconds)
    result["repeated"] = float(cold and result["requests"] > len(measured))
    return result


def masters_total(cfg: Path) -> int:
    from unioncat.config import load_config
    from unioncat.index.engine import open_engine

    config = load_config(str(cfg))
    return open_engine(config.index.engine, config.index.path, create=False).count()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", default="1,16")
    ap.add_argument("--site", type=Path, help="serve this already loaded config instead of loading --records "
                    "LoC records (kept afterwards)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does)")
    if args.site:
        cfg = args.site.resolve()
        work = Path(tempfile.mkdtemp(prefix="web-bench-"))
    else:
        work, _, cfg = loc_union(args.records, "web-bench-")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(cfg), "serve", "--port", str(port),
                               "--threads", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    connections = [int(c) for c in args.connections.split(",")]
    runs = 2 * len(connections)  # a web and an SRU run per connection count
    try:
        wait_for(base + "/")
        words = cold_words(cfg, COLD_SHARE * runs)
        if len(words) < COLD_SHARE * runs:
            raise SystemExit(f"only {len(words):,} title words for {runs} cold runs of {COLD_SHARE:,}: use more records")
        records = masters(cfg, COLD_SHARE * runs)
        print(f"\n{masters_total(cfg):,} master records; unioncat serve (waitress, 4 threads); wrk {args.duration} s a row; "
              f"cold: {len(words):,} words and {len(records):,} records, {COLD_SHARE:,} a run, each asked once")
        print("\n| page | mix | connections | web req/s | web median ms | web p99 ms | SRU req/s | SRU median ms "
              "| SRU p99 ms | web/SRU median | web/SRU p99 | non-2xx |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
        turn = 0
        for conns in connections:
            share = [slice((turn + k) * COLD_SHARE, (turn + k + 1) * COLD_SHARE) for k in (0, 1)]
            turn += 2
            mixes = {
                ("results", "warm"): ([web_search(w) for w in WARM], [sru_search(w) for w in WARM]),
                ("results", "cold"): ([web_search(w) for w in words[share[0]]], [sru_search(w) for w in words[share[1]]]),
                ("record", "warm"): ([f"/record/{m}" for m in records[:8]], [sru_record(m) for m in records[:8]]),
                ("record", "cold"): ([f"/record/{m}" for m in records[share[0]]],
                                     [sru_record(m) for m in records[share[1]]]),
            }
            for (kind, mix), (web_paths, sru_paths) in mixes.items():
                cold = mix == "cold"
                web = measure(base, work, f"web-{kind}-{mix}-{conns}", web_paths, cold, conns, args.duration)
                sru = measure(base, work, f"sru-{kind}-{mix}-{conns}", sru_paths, cold, conns, args.duration)
                note = " (repeated: more requests than the run's share)" if web["repeated"] or sru["repeated"] else ""
                print(f"| {kind} | {mix}{note} | {conns} | {web['rps']:,.0f} | {web['p50']:.2f} | {web['p99']:.2f} "
                      f"| {sru['rps']:,.0f} | {sru['p50']:.2f} | {sru['p99']:.2f} | {web['p50'] / sru['p50']:.2f} "
                      f"| {web['p99'] / sru['p99']:.2f} | {web['non2xx'] + sru['non2xx']} |", flush=True)
    finally:
        stop([server], work)


if __name__ == "__main__":
    main()
