"""Every setting is documented, and the public entry points stay what they are."""
from __future__ import annotations

import re

import pytest

import unioncat.config
import unioncat.harvester
from unioncat.config.settings import SETTINGS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLE = (ROOT / "examples" / "unioncat.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.key for s in SETTINGS])
def test_setting_documented_in_readme_and_sample(setting) -> None:  # type: ignore[no-untyped-def]
    assert f"`{setting.key}`" in README, f"README lacks `{setting.key}`"
    assert re.search(rf"^#?\s*{setting.name}\s*=", SAMPLE, re.M), f"sample lacks {setting.name}"


def test_readme_gives_the_two_setup_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_exported_members() -> None:
    assert unioncat.config.__all__ == ["Config", "IndexConfig", "SETTINGS", "ServerConfig",
                                       "Setting", "SourceConfig", "StoreConfig", "load_config"]
    assert unioncat.harvester.__all__ == ["FileHarvester", "HARVESTERS", "Harvester", "OAIHarvester", "SRUHarvester",
                                          "Z3950Harvester",
                                          "expand_paths", "local_id_for"]


def test_the_first_configuration_in_the_readme_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from unioncat.config import load_config

    section = README.split("## A first configuration", 1)[1].split("Then `unioncat status`", 1)[0]
    block = "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))
    (tmp_path / "unioncat.toml").write_text(block, encoding="utf-8")
    cfg = load_config(str(tmp_path / "unioncat.toml"))
    assert [s.type for s in cfg.sources] == ["file", "oai", "sru", "z3950"]
