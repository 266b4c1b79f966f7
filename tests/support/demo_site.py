"""The demo consortium run into a temporary folder (store, dedup, index, one status feed)."""
from __future__ import annotations

import shutil
import sqlite3
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


def assert_harvested_completely(site: Path, harvested_store: Path, source: str = "UNION") -> None:
    """Check a harvest of our own server: every master record once, every item back via 852."""
    with sqlite3.connect(harvested_store) as db:
        ids = {r[0] for r in db.execute("SELECT local_id FROM records WHERE source=? AND deleted=0", (source,))}
        items = db.execute("SELECT count(*) FROM items WHERE source=?", (source,)).fetchone()[0]
    with sqlite3.connect(site.parent / "var" / "store.db") as db:
        expected = {r[0] for r in db.execute("SELECT DISTINCT master_id FROM clusters")}
        all_items = db.execute("SELECT count(*) FROM items i JOIN records r ON r.id = i.record_id"
                               " WHERE r.deleted = 0").fetchone()[0]
    assert ids == expected and len(ids) == 1476
    assert items == all_items  # every member's copies came back through the 852 fields
