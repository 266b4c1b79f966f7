"""Shared fixtures: fixture paths, the optional ../shared/data corpus, configs, the CLI."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from unioncat.cli import cli
from unioncat.errors import RecordError
from unioncat.marc.reader import MarcFile, MarcItem

TESTS = Path(__file__).parent
ROOT = TESTS.parent
MARC = TESTS / "data" / "marc"
SHARED_DATA = ROOT.parent / "shared" / "data"


def read_marc(path: Path, fmt: str = "marc21", encoding: str = "auto") -> tuple[list[MarcItem], list[RecordError]]:
    """Read a MARC file; return (records, per-record errors)."""
    ok: list[MarcItem] = []
    bad: list[RecordError] = []
    for item in MarcFile(str(path), fmt, encoding).items():
        if isinstance(item, RecordError):
            bad.append(item)
        else:
            ok.append(item)
    return ok, bad


@pytest.fixture
def marc_dir() -> Path:
    """Return the folder of small real MARC fixtures named after their case."""
    return MARC


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ../shared/data, or skip: the large corpus is not part of a clean clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared corpus sits beside the repository)")
    return SHARED_DATA


def toml_value(value: Any) -> str:
    """Render a Python value as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a unioncat.toml with a store in tmp_path and the given sources."""
    def write(*sources: dict[str, Any], extra: str = "") -> Path:
        lines = ["[store]", f'path = "{tmp_path / "store.db"}"', "batch_size = 50",
                 "[index]", f'path = "{tmp_path / "index"}"', extra]
        for src in sources:
            lines.append("[[source]]")
            full = {"name": f"Library {src['id']}", "type": "file", **src}
            if full["type"] == "file" and "path" not in full:  # a file source names its drop
                full["path"] = str(tmp_path / f"{src['id']}-drop")
            lines.extend(f"{k} = {toml_value(v)}" for k, v in full.items())
        path = tmp_path / "unioncat.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    return write


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Run the unioncat CLI in-process with a config file."""
    runner = CliRunner()

    def run(config: Path | None, *args: str) -> Result:
        argv = (["--config", str(config)] if config else []) + list(args)
        return runner.invoke(cli, argv, catch_exceptions=False, env={"UNIONCAT_CONFIG": None})
    return run


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNIONCAT_CONFIG", raising=False)
    os.environ.pop("UNIONCAT_CONFIG", None)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo consortium, run and with CITY's status feed loaded: one copy per test module."""
    from tests.support.demo_site import demo_site

    return demo_site(tmp_path_factory.mktemp("site"))
