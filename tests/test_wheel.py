"""`pip install .` (a wheel, not -e) gives a unioncat that runs the whole job.

The wheel left out dedup/data and holdings/data, so `unioncat dedup` died with
FileNotFoundError for anyone who followed the README's production install.  This
builds the wheel from a copy of the tree, installs it into a fresh venv (offline: the
dependencies come from the test venv's site-packages, read through a .pth file, which
does not run the test venv's editable-install hook), and runs import, dedup, index
and search on the demo consortium from a folder outside the tree.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT


def run(*args: str | Path, cwd: Path | None = None) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}{out.stderr[-2000:]}"
    return out.stdout


def test_the_wheel_runs_the_nightly_job(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "unioncat", tree / "unioncat", ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
        tmp_path / "dist", tree)
    wheel = next((tmp_path / "dist").glob("unioncat-*.whl"))

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)

    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples" / "demo", work, ignore=shutil.ignore_patterns("var"))
    where = run(py, "-c", "import unioncat; print(unioncat.__file__)", cwd=work)
    assert where.startswith(str(site)), where  # the wheel's unioncat, not the work tree's
    unioncat = venv / "bin" / "unioncat"
    cfg = ("--config", work / "unioncat.toml")
    imported = json.loads(run(unioncat, *cfg, "import", "--all", "--json", cwd=work))
    assert sum(i["new"] for i in imported["imports"]) > 2000
    dedup = json.loads(run(unioncat, *cfg, "dedup", "--json", cwd=work))
    assert dedup["clusters"] == 1476
    assert json.loads(run(unioncat, *cfg, "index", "--json", cwd=work))["total"] == 1476
    found = json.loads(run(unioncat, *cfg, "search", "連城訣", "--format", "json", cwd=work))
    assert found["total"] >= 1 and found["records"][0]["members"]
    held = json.loads(run(unioncat, *cfg, "holdings", "CITY.00470353", "--cluster", "--json", cwd=work))
    assert {m["source"] for m in held["members"]} >= {"CITY", "UNIV"}
    # The web catalogue's templates, stylesheet and message catalogues come from the wheel too.
    pages = run(py, "-c", "\n".join([
        "import sys, io",
        "from unioncat.config import load_config",
        "from unioncat.serve import create_app",
        "app = create_app(load_config('unioncat.toml'))",
        "def get(path, query):",
        "    seen = []",
        "    env = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path, 'QUERY_STRING': query, 'wsgi.url_scheme': 'http',",
        "           'HTTP_HOST': 'x', 'wsgi.input': io.BytesIO()}",
        "    body = b''.join(app(env, lambda s, h: seen.append(s)))",
        "    return seen[0], body.decode()",
        "status, body = get('/search', 'q=lian+cheng+jue&lang=zh-Hant')",
        "css, _ = get('/static/unioncat.css', '')",
        "print(status, css, '找到 1 種文獻' in body, 'unioncat.css' in body)",
    ]), cwd=work)
    assert pages.split() == ["200", "OK", "200", "OK", "True", "True"], pages
