"""`unioncat serve` refuses what it cannot do in one line, never a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

UNIONCAT = str(Path(sys.executable).parent / "unioncat")


def serve(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([UNIONCAT, "--config", str(cfg), "serve", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("face", ["sru", "z3950"])
def test_a_busy_port_is_one_line_and_exit_1(write_config, face: str) -> None:  # type: ignore[no-untyped-def]
    """A 40-line traceback before."""
    cfg = write_config({"id": "A"})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        args = ("--port", str(port)) if face == "sru" else ("--no-sru", "--z3950-port", str(port))
        out = serve(cfg, *args)
    lines = [line for line in out.stderr.splitlines() if not line.startswith("unioncat: SRU at")
             and not line.startswith("unioncat: Z39.50 at")]
    assert out.returncode == 1 and "Traceback" not in out.stderr
    name = "SRU" if face == "sru" else "Z39.50"
    assert lines == [f"unioncat: error: cannot serve {name} on 127.0.0.1:{port}: the port is in use "
                     "(another unioncat serve, or another server)"]


@pytest.mark.parametrize("option", ["--port", "--z3950-port"])
def test_a_port_out_of_range_is_refused(write_config, option: str) -> None:  # type: ignore[no-untyped-def]
    """`--port 99999` listened on 34463 (99999 mod 65536)."""
    out = serve(write_config({"id": "A"}), option, "99999")
    assert out.returncode == 2 and "99999 is not in the range 1<=x<=65535" in out.stderr
