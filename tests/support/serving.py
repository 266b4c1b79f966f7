"""Run a real `unioncat serve` on a free port for a test module."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.peers import free_port


@contextmanager
def unioncat_serve(config: Path, path: str = "/sru") -> Iterator[str]:
    """Start `unioncat serve` for ``config``, wait until ``path`` answers, yield that URL
    (the server's output goes to serve.log beside the config)."""
    port = free_port()
    log = (config.parent / "serve.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "unioncat"), "--config", str(config), "serve",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{path}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
