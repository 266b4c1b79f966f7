"""The lending rota: `unioncat holdings ID --for MEMBER` ranks who a reader of MEMBER borrows from."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from unioncat.cli import cli
from unioncat.config import load_config
from unioncat.holdings.rota import rota
from unioncat.models import now
from unioncat.store import open_store
from tests.support.demo_site import demo_site


def member(source: str, *statuses: str) -> dict[str, Any]:
    items = [{"status": s, "count": 1, "due_date": "2026-12-20" if s == "on_loan" else None} for s in statuses]
    return {"source": source, "name": f"Library {source}", "items": items, "call_numbers": ["X 1"]}


def site(tmp_path: Path, extra: dict[str, str]) -> Path:
    cfg = tmp_path / "u.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path}/s.db"\n[index]\npath = "{tmp_path}/i"\n'
                   + "".join(f'[[source]]\nid = "{m}"\nname = "Library {m}"\ntype = "file"\npath = "d"\n'
                             + extra.get(m, "") for m in ("HOME", "NEAR", "FAR", "BUSY", "REF", "SHUT")),
                   encoding="utf-8")
    return cfg


def test_on_shelf_first_then_fewer_copies_out_then_nearer(tmp_path: Path) -> None:
    cfg = load_config(str(site(tmp_path, {"HOME": "distances = { NEAR = 2, FAR = 30, BUSY = 1 }\n",
                                          "SHUT": "lends = false\n"})))
    with open_store(cfg.store) as store:
        stamp = now()
        store.db.executemany(  # BUSY has three copies out on loan across the consortium
            "INSERT INTO items(item_id, record_id, origin, source, status, updated) VALUES (?,?,?,?,?,?)",
            [(f"BUSY.{n}", f"BUSY.r{n}", f"BUSY.r{n}", "BUSY", "on_loan", stamp) for n in range(3)])
        members = [member("HOME", "available"), member("FAR", "available"), member("NEAR", "available"),
                   member("BUSY", "available"), member("REF", "not_for_loan", "lost"),
                   member("SHUT", "available"), member("NEAR", "on_loan")]
        ranked = rota(store, cfg, "HOME", members)
    assert [e["member"] for e in ranked] == ["NEAR", "FAR", "BUSY"]  # BUSY: 3 out; NEAR nearer than FAR
    near = ranked[0]
    assert (near["available"], near["loanable"], near["next_due"]) == (1, 2, "2026-12-20")
    assert ranked[2]["copies_out"] == 3 and "3 of its copies out" in ranked[2]["reason"]
    # the requester itself, a member that does not lend, and copies not for loan never count


def test_holdings_for_member_on_the_demo(tmp_path: Path) -> None:
    cfg = demo_site(tmp_path)
    out = CliRunner().invoke(cli, ["--config", str(cfg), "holdings", "CITY.00470353", "--cluster", "--for", "DIST",
                                   "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["for"] == "DIST" and [e["member"] for e in data["rota"]] == ["CITY", "UNIV"]
    assert data["rota"][0]["available"] == 1 and data["rota"][0]["rank"] == 1
    text = CliRunner().invoke(cli, ["--config", str(cfg), "holdings", "CITY.00470353", "--cluster", "--for", "DIST"])
    assert "Lending rota for a reader of DIST:" in text.stdout and "1. CITY" in text.stdout
    bad = CliRunner().invoke(cli, ["--config", str(cfg), "holdings", "CITY.00470353", "--for", "NOPE"])
    assert bad.exit_code == 2 and "NOPE" in bad.output
