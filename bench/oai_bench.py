#!/usr/bin/env python3
"""A full OAI-PMH harvest of the union catalogue by Sickle, next to the same Sickle harvesting
the oaipmh library's reference provider over the same records, in the same run.

    .venv/bin/python bench/oai_bench.py [--records 200000] [--site CONFIG] [--page 100]

Loads N LoC records (`unioncat run`: import, dedup, index, datestamps) or takes an already
loaded site (its LoC drop is the `data/loc.mrc` beside its config), starts `unioncat serve`
(waitress, 4 threads) and ../shared/peers/oai-provider.py over the same LoC file (page size
--page for both), and harvests each with Sickle 0.7.0's ListRecords (marc21) in a child
process.  Prints records, seconds, records/s, the harvester's peak RSS and the server's peak
RSS (VmHWM) for each.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from harvest_bench import SICKLE, child  # noqa: E402
from index_bench import loc_union, stop  # noqa: E402
from sru_bench import wait_for  # noqa: E402
from tests.peers import free_port, need_peers  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    """Return a process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--site", type=Path, help="an already loaded config (kept)")
    ap.add_argument("--page", type=int, default=100)
    args = ap.parse_args()
    if args.site:
        cfg, work = args.site.resolve(), None
    else:
        work, _, cfg = loc_union(args.records, "oai-bench-")
    data = cfg.parent / "data"
    config = cfg.parent / "oai-bench.toml"
    config.write_text(cfg.read_text(encoding="utf-8") + f"\n[oai]\npage_size = {args.page}\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "unioncat", "--config", str(config), "serve", "--port", str(port),
                               "--threads", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peers = need_peers()
    ref_port = free_port()
    state = Path(tempfile.mkdtemp(prefix="oai-peer-"))
    # oai-provider.py directly (as start-oai.sh runs it), given the minutes that reading 200,000
    # records takes: start-oai.sh waits 60 s.
    reference = subprocess.Popen([sys.executable, str(peers / "oai-provider.py"), "--port", str(ref_port),
                                  "--pidfile", str(state / "oai.pid"), "--batch-size", str(args.page), "--quiet",
                                  str(data)], stdout=(state / "oai.out").open("w"), stderr=(state / "oai.log").open("w"),
                                 env=env)
    for _ in range(9000):
        if "OAI_URL=" in (state / "oai.out").read_text() or reference.poll() is not None:
            break
        time.sleep(0.1)
    out = (state / "oai.out").read_text()
    if "OAI_URL=" not in out:
        reference.kill()
        raise SystemExit(f"the reference provider did not come up: {(state / 'oai.log').read_text()[-2000:]}")
    peer = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    ref_pid = reference.pid
    rows = []
    try:
        ours = f"http://127.0.0.1:{port}/oai"
        wait_for(ours + "?verb=Identify")
        for label, url, pid in (("unioncat serve /oai (waitress, 4 threads)", ours, server.pid),
                                ("oaipmh 4.0.0 reference provider (peers)", peer["OAI_URL"], ref_pid)):
            start = time.perf_counter()
            out, secs, harvester_rss = child("code", SICKLE, url)
            rows.append((label, int(out), time.perf_counter() - start, harvester_rss, peak_rss_mib(pid)))
    finally:
        reference.terminate()
        reference.wait(30)
        if work is not None:
            stop([server], work)
        else:
            server.terminate()
            server.wait(20)
    print(f"\nSickle 0.7.0 ListRecords marc21, page size {args.page}, the same {rows[0][1]:,} LoC records\n")
    print("| provider | records | seconds | records/s | Sickle peak RSS MiB | server peak RSS MiB |\n"
          "|---|---|---|---|---|---|")
    for label, n, secs, harvester, served in rows:
        print(f"| {label} | {n:,} | {secs:.1f} | {n / secs:,.0f} | {harvester:.0f} | {served:.0f} |")


if __name__ == "__main__":
    main()
