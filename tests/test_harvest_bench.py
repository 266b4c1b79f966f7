"""50,000 LoC records harvested from each peer type with exact counts (slow)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_fifty_thousand_records_from_every_peer_type(shared_data: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "harvest_bench.py"), "--records",
                          "50000"], capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [line for line in out.stdout.splitlines()
            if "50,000" in line and not line.startswith("harvest_bench")]
    assert len(rows) == 4 and "COUNT MISMATCH" not in out.stdout
