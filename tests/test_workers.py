"""Worker processes do not outlive the process that started them (kill -9, the OOM killer)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("context", ["fork", "forkserver"])
def test_workers_end_when_their_owner_is_killed(tmp_path, context: str) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "owner.py"
    script.write_text(
        "import multiprocessing, os, signal, sys, time\n"
        "from unioncat.workers import pool\n"
        "def pid(_):\n"
        "    time.sleep(0.2)\n"
        "    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    workers = pool(2, mp_context=multiprocessing.get_context(sys.argv[1]))\n"
        "    print(' '.join(map(str, sorted(set(workers.map(pid, range(6)))))), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), context], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)  # orphans would hold stdout
    assert out.returncode == -9, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert pids and os.getpid() not in pids
    for _ in range(200):  # each watches its owner
        alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive, f"workers {alive} outlived their owner"
