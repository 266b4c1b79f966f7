"""The demo consortium run into a temporary folder (store, dedup, index, one status feed)."""
from __future__ import annotations

import shutil
from pathlib import Path

from contextlib import contextmanager
from typing import Iterator

from click.testing import CliRunner

from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent.parent


def demo_site(root: Path, engine: str = "tantivy", feed: bool = True, store_url: str = "") -> Path:
    """Copy examples/demo to root, run it, load CITY's status feed; return the config path.
    With ``store_url``, the store is that PostgreSQL database rather than the SQLite file."""
    shutil.copytree(ROOT / "examples" / "demo", root / "demo", ignore=shutil.ignore_patterns("var"))
    cfg = root / "demo" / "unioncat.toml"
    text = cfg.read_text(encoding="utf-8").replace(
        'path = "var/index"', f'path = "var/index"\nengine = "{engine}"')
    if store_url:
        text = text.replace("[store]\n", f'[store]\nurl = "{store_url}"\n', 1)
    cfg.write_text(text + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(cfg), "run", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if feed:
        status = ROOT / "examples" / "demo" / "data" / "city-status.csv"
        result = runner.invoke(cli, ["--config", str(cfg), "availability", "load", "CITY", str(status)])
        assert result.exit_code == 0, result.output
    return cfg


@contextmanager
def site_store(site: Path) -> Iterator[Store]:
    """The demo site's store (SQLite or PostgreSQL, as its config says), for a test to look into."""
    with open_store(load_config(str(site)).store) as store:
        yield store


def assert_harvested_completely(site: Path, harvested_store: Path, source: str = "UNION") -> None:
    """Check a harvest of our own server: every master record once, every item back via 852."""
    with open_store(str(harvested_store), readonly=True) as harvested:
        ids = {r[0] for r in harvested.db.execute("SELECT local_id FROM records WHERE source=? AND deleted=0",
                                                  (source,))}
        items = harvested.item_counts(source)["items"]
    with site_store(site) as store:
        expected = set(store.all_masters())
        all_items = store.db.execute("SELECT count(*) FROM items i JOIN records r ON r.id = i.record_id"
                                     " WHERE r.deleted = 0").fetchone()[0]
    assert ids == expected and len(ids) == 1476
    assert items == all_items  # every member's copies came back through the 852 fields
