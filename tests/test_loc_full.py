"""All 200,000 LoC records through `unioncat import`, twice (slow: run with -m slow)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_all_loc_records_import_exactly_then_are_unchanged(shared_data: Path, write_config,  # type: ignore[no-untyped-def]
                                                           run_cli) -> None:
    pattern = str(shared_data / "loc-booksall-2016" / "*.mrc.gz")
    cfg = write_config({"id": "LOC", "path": pattern}, extra="")
    first = json.loads(run_cli(cfg, "import", "LOC", "--json").stdout)["imports"][0]
    assert (first["read"], first["new"], first["rejected"], first["repeated"]) == (200000, 200000, 0, 0)
    second = json.loads(run_cli(cfg, "import", "LOC", "--json").stdout)["imports"][0]
    assert (second["unchanged"], second["new"], second["updated"]) == (200000, 0, 0)
    status = json.loads(run_cli(cfg, "status", "--json").stdout)
    assert status["sources"][0]["records"] == 200000
