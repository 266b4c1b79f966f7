#!/usr/bin/env python3
"""SRU throughput and latency: our server next to Zebra on the same LoC records, same run.

    .venv/bin/python bench/sru_bench.py [--records 50000] [--duration 10] [--connections 1,16] [--cold 600]

Loads N LoC records into unioncat (`unioncat run`: import, dedup, index) and into Zebra
(../shared/peers/start-zebra.sh), then drives each server with wrk (Debian's wrk 4.1,
keep-alive, on 127.0.0.1) over a fixed mix of searchRetrieve requests, SRU 1.2, 10
MARCXML records each (ours carry every member's holdings in 852 fields, joined per
request).  Servers: ours under waitress (`unioncat serve`, 4 threads) and under gunicorn
(2 gthread workers x 4 threads, --reuse-port, the README's production setup; once more with the
master-record cache off, so every record is built from the store per request), and Zebra 2.2.7
(zebrasrv forks a process per connection).  Prints hits per query for both, then
requests/s and median / p99 latency per server and connection count: the warm mix (8 queries
again and again).  Then the cold mix: --cold distinct queries drawn from the records loaded
(title words and subject headings, each asked once, so nothing is cached from an earlier ask),
one keep-alive connection, each query to `unioncat serve` (the default: waitress) and to Zebra in
turn; per-request latency median / p90 / p99 and how many hit counts agree.  Last, where a cold
request's time goes: as many other distinct queries through the serving layer in this process
(search and the page of records, no HTTP), and waitress answering a body of the cold mix's median
size from an app that does no work, asked by the same client (the HTTP server's and client's
share).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from index_bench import loc_union, stop  # noqa: E402
from tests.peers import free_port, zebra  # noqa: E402

QUERIES = ["dc.title=computer", "dc.creator=smith", "dc.title=comp*", "dc.subject=history and dc.date>=1950",
           "cql.anywhere=history", '"united states"', "bath.isbn=0791060438", "dc.title=\"civil war\""]
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def params_of(query: str) -> str:
    return (f"version=1.2&operation=searchRetrieve&query={quote(query, safe='')}"
            "&maximumRecords=10&recordSchema=marcxml")


def wrk_script(folder: Path, base_path: str) -> Path:
    lua = folder / f"mix{base_path.replace('/', '_')}.lua"
    paths = ",\n".join(f'  "{base_path}?{params_of(q)}"' for q in QUERIES)
    lua.write_text("local paths = {\n" + paths + "\n}\nlocal i = 0\n"
                   "request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n",
                   encoding="utf-8")
    return lua


def wrk(url: str, lua: Path, connections: int, seconds: int) -> dict[str, float]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url]
    subprocess.run(args[:3] + ["-d2s"] + args[4:], capture_output=True, check=True)  # warm up
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rate, "p50": latency["50"], "p99": latency["99"], "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}  # type: ignore[dict-item]


def check(base: str) -> list[tuple[int, int]]:
    """Return (hits, records returned) per query."""
    out = []
    for query in QUERIES:
        body = requests.get(f"{base}?{params_of(query)}", timeout=60).text
        hits = re.search(r"<(?:\w+:)?numberOfRecords>(\d+)<", body)
        out.append((int(hits.group(1)) if hits else -1, len(re.findall(r"<(?:\w+:)?recordData>", body))))
    return out


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def cold_queries(data: Path, count: int, seed: int = 11) -> list[str]:
    """Return ``count`` distinct CQL queries from the records staged: title words and subject
    headings, alternately, in a random order (a mix that does not repeat)."""
    import pymarc

    words: dict[str, None] = {}
    subjects: dict[str, None] = {}
    with (data / "loc.mrc").open("rb") as fh:
        for rec in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if rec is None:
                continue
            for word in ((rec["245"] or {}).get("a") or "").split() if "245" in rec else ():
                if word.isascii() and word.isalpha() and len(word) >= 5:
                    words[word.lower()] = None
            for field in rec.get_fields("650"):
                heading = (field.get("a") or "").rstrip(" .,;:")
                if heading.isascii() and heading.replace(" ", "").isalpha() and '"' not in heading:
                    subjects[heading] = None
    rnd = random.Random(seed)
    titles, topics = list(words), list(subjects)
    rnd.shuffle(titles)
    rnd.shuffle(topics)
    mixed = [q for pair in zip((f"dc.title={w}" for w in titles), (f'dc.subject="{h}"' for h in topics))
             for q in pair]
    return mixed[:count]


def in_process(cfg: Path, queries: list[str]) -> list[float]:
    """Return ms per query of the serving layer alone (search, then the page of 10 MARCXML
    records with holdings as SRU writes them), in this process: what a request costs before
    any HTTP server."""
    from unioncat.config import load_config
    from unioncat.serving.resources import Resources

    res = Resources(load_config(str(cfg)))
    times = []
    for query in queries:
        started = time.perf_counter()
        hits = res.search(res.parse(query), limit=10)
        res.render_many("marcxml", list(zip(hits.ids, hits.displays)))
        times.append((time.perf_counter() - started) * 1000)
    return times


FLOOR_APP = """
import os
BODY = b"x" * int(os.environ["FLOOR_BYTES"])
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(BODY)))])
    return [BODY]
"""


def http_floor(work: Path, size: int, count: int) -> list[float]:
    """Return ms per request of a WSGI app that does nothing but answer ``size`` bytes, under
    waitress with 4 threads as `unioncat serve` runs it, asked as the cold mix asks: what the
    HTTP server and this client cost before any searching."""
    (work / "floor_app.py").write_text(FLOOR_APP, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "import floor_app, waitress; waitress.serve(floor_app.app, "
                               f"host='127.0.0.1', port={port}, threads=4)"],
                              cwd=work, env={**os.environ, "FLOOR_BYTES": str(size), "PYTHONPATH": str(work)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        times = []
        for n in range(count):
            started = time.perf_counter()
            conn.request("GET", f"/sru?n={n}")
            conn.getresponse().read()
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        server.terminate()
        server.wait()


def cold_mix(targets: dict[str, str], queries: list[str]) -> int:
    """Ask each query once of each server, in turn, over one keep-alive connection each;
    return the median size of the first server's answers."""
    conns = {name: http.client.HTTPConnection(*url.split("/")[2].split(":"), timeout=60)
             for name, url in targets.items()}
    times: dict[str, list[float]] = {name: [] for name in targets}
    hits: dict[str, list[int]] = {name: [] for name in targets}
    sizes: list[int] = []
    for query in queries:
        for name, url in targets.items():
            path = "/" + url.split("/", 3)[3] + "?" + params_of(query)
            started = time.perf_counter()
            conns[name].request("GET", path)
            response = conns[name].getresponse()
            body = response.read()
            times[name].append((time.perf_counter() - started) * 1000)
            if name == next(iter(targets)):
                sizes.append(len(body))
            found = re.search(rb"<(?:\w+:)?numberOfRecords>(\d+)<", body)
            hits[name].append(int(found.group(1)) if found and response.status == 200 else -1)
    names = list(targets)
    agree = sum(1 for pair in zip(*(hits[n] for n in names)) if len(set(pair)) == 1)
    print(f"\ncold mix: {len(queries)} distinct queries (title words and subject headings), each asked once,"
          f" 1 connection; hit counts agree on {agree} of {len(queries)}")
    print("| server | median ms | p90 ms | p99 ms | mean ms | queries with hits |\n|---|---|---|---|---|---|")
    for name in names:
        ordered = sorted(times[name])
        pick = lambda q: ordered[min(len(ordered) - 1, int(len(ordered) * q))]  # noqa: E731
        print(f"| {name} | {statistics.median(ordered):.2f} | {pick(0.9):.2f} | {pick(0.99):.2f} "
              f"| {statistics.fmean(ordered):.2f} | {sum(1 for h in hits[name] if h > 0)} |")
    ours, zebra_ = (statistics.median(times[n]) for n in names[:2])
    print(f"median, {names[0]} / {names[1]}: {ours / zebra_:.2f}")
    return int(statistics.median(sizes))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", default="1,16")
    ap.add_argument("--cold", type=int, default=600, help="distinct queries of the cold mix (0: none)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does)")
    work, data, cfg = loc_union(args.records, "sru-bench-")
    cold = work / "cold.toml"  # the same, with no master-record cache: every record built per request
    cold.write_text(cfg.read_text(encoding="utf-8") + "[server]\nrecord_cache = 0\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNIONCAT_CONFIG": str(cfg)}
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread", "-w", "2", "--threads", "4", "--reuse-port",
                "--log-level", "warning", "unioncat.sru_server.app:wsgi_app()", "-b"]
    ports = [free_port() for _ in range(3)]
    servers = [subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for command, environment in (
                   ([sys.executable, "-m", "unioncat", "serve", "--port", str(ports[0]), "--threads", "4"], env),
                   (gunicorn + [f"127.0.0.1:{ports[1]}"], env),
                   (gunicorn + [f"127.0.0.1:{ports[2]}"], {**env, "UNIONCAT_CONFIG": str(cold)}))]
    try:
        with zebra(data) as peer:
            targets = {"unioncat (waitress, 4 threads)": f"http://127.0.0.1:{ports[0]}/sru",
                       "unioncat (gunicorn gthread 2x4)": f"http://127.0.0.1:{ports[1]}/sru",
                       "unioncat (gunicorn, record cache off)": f"http://127.0.0.1:{ports[2]}/sru",
                       "Zebra 2.2.7": peer["SRU_URL"]}
            for url in targets.values():
                wait_for(url)
            ours, theirs = check(targets["unioncat (waitress, 4 threads)"]), check(peer["SRU_URL"])
            print(f"\n{'query':45} {'unioncat hits/recs':>20} {'Zebra hits/recs':>18}")
            for query, (h1, r1), (h2, r2) in zip(QUERIES, ours, theirs):
                print(f"{query:45} {h1:>13,}/{r1:<6} {h2:>11,}/{r2:<6}")
            print("\n| server | connections | requests/s | median ms | p99 ms | non-2xx |\n|---|---|---|---|---|---|")
            for conns in (int(c) for c in args.connections.split(",") if c):
                for name, url in targets.items():
                    base, _, path = url.rpartition("/")
                    result = wrk(base, wrk_script(work, "/" + path), conns, args.duration)
                    print(f"| {name} | {conns} | {result['rps']:,.0f} | {result['p50']:.2f} | {result['p99']:.2f} "
                          f"| {result['non2xx']}{' ' + str(result['socket_errors']) if result['socket_errors'] else ''} |",
                          flush=True)
            if args.cold:
                queries = cold_queries(data, 2 * args.cold)
                size = cold_mix({"unioncat serve": targets["unioncat (waitress, 4 threads)"],
                                 "Zebra 2.2.7": peer["SRU_URL"]}, queries[:args.cold])
                # Where a cold request's time goes: the serving layer alone (other queries, as
                # cold), and waitress answering a body of the same size with no work at all.
                alone, floor = in_process(cfg, queries[args.cold:]), http_floor(work, size, args.cold)
                print(f"\nwhere it goes (median ms): serving layer in process, {len(alone)} other distinct "
                      f"queries: {statistics.median(alone):.2f}; waitress answering {size:,} bytes with no work, "
                      f"same client: {statistics.median(floor):.2f}")
    finally:
        stop(servers, work)


if __name__ == "__main__":
    main()
