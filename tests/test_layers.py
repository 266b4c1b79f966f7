"""The package's layers, read from the code's own imports: faces (SRU, Z39.50, and the web and
OAI-PMH faces to come) are thin layers over one serving layer and never import each other;
nothing below them imports a face; and the three imports that ran back up stay gone."""
from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "unioncat"
FACES = {"sru_server", "z3950_server", "web", "oai", "oai_server", "staff"}
LOWER = {"store", "index", "dedup", "holdings", "marc", "config", "serving", "harvester", "z3950", "loading",
         "harvesting", "models", "errors", "text", "cql", "identifiers", "xmlsafe", "reports"}
# (importer, imported): index and config sat above what they took from dedup, holdings and marc
FORBIDDEN = {("index", "dedup"), ("config", "holdings"), ("config", "marc")}


def part_of(module: str) -> str:
    """Return the top-level part of unioncat a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "unioncat" else ""


def imports() -> list[tuple[str, str, str]]:
    """Return (file, importer part, imported part) for every unioncat import, at any depth."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        importer = part_of(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "unioncat"]
            for name in names:
                target = part_of(name)
                if target and target != importer:
                    out.append((str(rel), importer, target))
    return out


def test_no_face_imports_another_and_nothing_below_imports_a_face() -> None:
    found = imports()
    assert len(found) > 100  # the walk sees the package
    face_to_face = [f for f in found if f[1] in FACES and f[2] in FACES]
    lower_to_face = [f for f in found if f[1] in LOWER and f[2] in FACES]
    assert not face_to_face, face_to_face
    assert not lower_to_face, lower_to_face


def test_the_imports_that_ran_back_up_are_gone() -> None:
    back_up = [f for f in imports() if (f[1], f[2]) in FORBIDDEN]
    assert not back_up, back_up


def test_the_faces_share_the_serving_layer() -> None:
    found = imports()
    for face in ("sru_server", "z3950_server", "web", "oai_server", "staff"):
        assert any(f[1] == face and f[2] == "serving" for f in found), face
