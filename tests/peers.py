"""Start real third-party peers from ../shared/peers on 127.0.0.1 for tests.

Each helper starts one server on a free port and stops it (and removes its work
directory) afterwards.  The peers need Debian's yaz and idzebra-2.0 (`make test`
installs them) and PyPI's oaipmh (a dev extra).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

PEERS = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_peers() -> Path:
    """Return ../shared/peers, or skip saying why."""
    if not PEERS.is_dir():
        pytest.skip(f"{PEERS} is absent (the shared peers sit beside the repository)")
    return PEERS


def _env(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@contextlib.contextmanager
def oai_provider(source: Path, *args: str) -> Iterator[str]:
    """Serve MARC records over OAI-PMH with the oaipmh library; yield its URL."""
    peers = need_peers()
    port = free_port()
    env = {**os.environ, "OAI_PYTHON": sys.executable}
    out = subprocess.run([str(peers / "start-oai.sh"), str(source), str(port), *args],
                         capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"start-oai.sh failed: {out.stderr[-2000:]}")
    try:
        yield _env(out.stdout)["OAI_URL"]
    finally:
        subprocess.run([str(peers / "stop-oai.sh"), str(port)], capture_output=True, timeout=60)


@contextlib.contextmanager
def zebra(source: Path) -> Iterator[dict[str, str]]:
    """Index MARC records with Zebra and serve them (SRU and Z39.50 on one port)."""
    peers = need_peers()
    if not shutil.which("zebrasrv"):
        raise RuntimeError("zebrasrv not installed: run `make test` (apt-get install idzebra-2.0 yaz)")
    port = free_port()
    out = subprocess.run([str(peers / "start-zebra.sh"), "-q", str(source), str(port)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"start-zebra.sh failed: {out.stderr[-2000:]}")
    try:
        yield _env(out.stdout)
    finally:
        subprocess.run([str(peers / "stop-zebra.sh"), str(port)], capture_output=True, timeout=60)


@contextlib.contextmanager
def yaz_ztest() -> Iterator[str]:
    """Run YAZ's test target; yield host:port."""
    if not shutil.which("yaz-ztest"):
        raise RuntimeError("yaz-ztest not installed: run `make test` (apt-get install yaz)")
    port = free_port()
    proc = subprocess.Popen(["yaz-ztest", f"tcp:127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
