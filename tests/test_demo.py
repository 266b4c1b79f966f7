"""The bundled demo consortium imports with exact counts (what `make demo` runs)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import ROOT


def test_demo_consortium_imports(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    demo = tmp_path / "demo"
    shutil.copytree(ROOT / "examples" / "demo", demo, ignore=shutil.ignore_patterns("var"))
    cfg = demo / "unioncat.toml"
    result = run_cli(cfg, "import", "--all", "--json")
    assert result.exit_code == 0, result.output
    got = {s["source_id"]: (s["read"], s["new"], s["rejected"]) for s in json.loads(result.stdout)["imports"]}
    assert got == {"CITY": (1200, 1200, 0), "DIST": (650, 650, 0), "VILL": (100, 100, 0),
                   "UNIV": (310, 310, 0)}
    univ = json.loads(run_cli(cfg, "show", "UNIV.ENU00000001", "--format", "json").stdout)
    assert univ["charset"] == "gb18030"
    vill = json.loads(run_cli(cfg, "status", "--json").stdout)
    assert [s["records"] for s in vill["sources"]] == [1200, 650, 100, 310]
