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


# The README's sections for librarians, by their first line and the line they run up to; the
# Simplified Chinese edition (docs/README.zh-Hans.md) must carry the same commands and settings.
LIBRARIAN_SECTIONS = [("## Set up", "## A first configuration"), ("## A first configuration", "## Using it"),
                      ("## Running nightly", "## Benchmarks"), ("### The web catalogue", "| | phone"),
                      ("### Serving SRU", "* **Versions**"), ("### Serving Z39.50", "* **Init**")]
ZH = (ROOT / "docs" / "README.zh-Hans.md").read_text(encoding="utf-8")


def code_lines(text: str) -> list[str]:
    """Return the lines of the indented code blocks, comments and spacing left out."""
    out = []
    for line in text.splitlines():
        if line.startswith("    ") and line.strip():
            out.append(" ".join(re.sub(r"\s+#\s.*$", "", line).split()))
    return out


def inline_code(text: str) -> set[str]:
    return {" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)}


@pytest.mark.parametrize("start, end", LIBRARIAN_SECTIONS, ids=[s for s, _ in LIBRARIAN_SECTIONS])
def test_the_chinese_readme_keeps_step_with_the_english_one(start: str, end: str) -> None:
    section = README.split(start, 1)[1].split(end, 1)[0]
    zh_code, zh_inline = set(code_lines(ZH)), inline_code(" ".join(ZH.split()))
    missing_code = [line for line in code_lines(section) if line not in zh_code]
    missing_inline = sorted(inline_code(" ".join(section.split())) - zh_inline)
    assert not missing_code, f"docs/README.zh-Hans.md lacks these command lines of {start!r}: {missing_code}"
    assert not missing_inline, f"docs/README.zh-Hans.md lacks these names of {start!r}: {missing_inline}"


def test_the_chinese_readme_is_chinese_and_linked() -> None:
    assert "docs/README.zh-Hans.md" in README
    han = sum(1 for c in ZH if "\u4e00" <= c <= "\u9fff")
    assert han > 2000, han
