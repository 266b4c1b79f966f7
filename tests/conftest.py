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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The store back end a test runs against: a module whose tests are store behaviour says
    ``pytestmark = pytest.mark.usefixtures("store_backend")`` and each runs on both (a test
    about one back end only parametrizes ``store_backend`` itself)."""
    return str(request.param)


@pytest.fixture
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., str]:
    """Return where a test's store of a name is: a file in tmp_path (SQLite), or a fresh empty
    database of the tests' throwaway PostgreSQL cluster (the same one for the same name)."""
    backend = request.getfixturevalue("store_backend") if "store_backend" in request.fixturenames else "sqlite"
    made: dict[str, str] = {}

    def at(name: str = "store.db") -> str:
        if backend != "postgresql":
            return str(tmp_path / name)
        if name not in made:
            from tests.postgres import cluster

            made[name] = cluster().database()
        return made[name]
    return at


@pytest.fixture
def write_config(tmp_path: Path, store_at: Callable[..., str]) -> Callable[..., Path]:
    """Write a unioncat.toml with a store in tmp_path (or the test's PostgreSQL database) and the
    given sources."""
    def write(*sources: dict[str, Any], extra: str = "") -> Path:
        location = store_at()
        url = f'url = "{location}"' if location.startswith("postgresql://") else ""
        lines = ["[store]", f'path = "{tmp_path / "store.db"}"', url, "batch_size = 50",
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
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo consortium, run and with CITY's status feed loaded: one copy per test module
    (per store back end, in a module that names ``STORE_BACKENDS``)."""
    from tests.support.demo_site import demo_site

    backend = getattr(request, "param", "sqlite")
    url = ""
    if backend == "postgresql":
        from tests.postgres import cluster

        url = cluster().database()
    return demo_site(tmp_path_factory.mktemp("site"), store_url=url)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module with ``STORE_BACKENDS = ("sqlite", "postgresql")`` runs its demo-site tests on each."""
    backends = getattr(metafunc.module, "STORE_BACKENDS", None)
    only = metafunc.definition.get_closest_marker("store_backends")  # a test about some back ends only
    if only is not None:
        backends = only.args
    if backends and "site" in metafunc.fixturenames:
        metafunc.parametrize("site", backends, indirect=True, scope="module")
