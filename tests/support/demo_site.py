"""The demo consortium run into a temporary folder (store, dedup, index, one status feed)."""
from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from unioncat.cli import cli

ROOT = Path(__file__).resolve().parent.parent.parent


def demo_site(root: Path, engine: str = "tantivy", feed: bool = True) -> Path:
    """Copy examples/demo to root, run it, load CITY's status feed; return the config path."""
    shutil.copytree(ROOT / "examples" / "demo", root / "demo", ignore=shutil.ignore_patterns("var"))
    cfg = root / "demo" / "unioncat.toml"
    text = cfg.read_text(encoding="utf-8").replace(
        'path = "var/index"', f'path = "var/index"\nengine = "{engine}"')
    cfg.write_text(text + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(cfg), "run", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if feed:
        status = ROOT / "examples" / "demo" / "data" / "city-status.csv"
        result = runner.invoke(cli, ["--config", str(cfg), "availability", "load", "CITY", str(status)])
        assert result.exit_code == 0, result.output
    return cfg
