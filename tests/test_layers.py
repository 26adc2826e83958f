"""The layers point down: verify (engine) -> numerics (torch) -> theory (SymPy), never up.

Checked on the source (every import statement, including ones inside functions), so a lazy import that
would only run on some path cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"theory": {"numerics", "verify"}, "numerics": {"verify"}}


def _imported(path: Path, root: Path = ROOT) -> set[tuple[int, str]]:
    package = path.relative_to(root).parts[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {(node.lineno, a.name.split(".")[0]) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            top = package if node.level else (node.module or "").split(".")[0]   # relative: inside its own package
            out.add((node.lineno, top))
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    upward = [f"{p.relative_to(ROOT)}:{line} imports {top}" for p in files for line, top in sorted(_imported(p))
              if top in FORBIDDEN[layer]]
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The checker itself: a numerics-like file with a lazy ``from verify...`` import is reported."""
    (tmp_path / "numerics").mkdir()
    p = tmp_path / "numerics" / "x.py"
    p.write_text("def f():\n    from verify._engine import check\n    from . import y\n")
    assert _imported(p, tmp_path) == {(2, "verify"), (3, "numerics")}


FAMILIES = sorted(p.stem[1:] for p in (ROOT / "verify" / "claims").glob("_*.py") if p.stem != "__init__")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_has_one_name_in_every_layer_and_each_module_links_the_others(family):
    """theory/_X, numerics/_X, verify/claims/_X exist; each docstring names the other two and the tests; the
    claims' family label is X (dashes for underscores): one hop from the equation to everything that checks it."""
    import importlib

    modules = {layer: ROOT / layer / f"_{family}.py" for layer in ("theory", "numerics", "verify/claims")}
    missing = [str(p.relative_to(ROOT)) for p in modules.values() if not p.is_file()]
    assert missing == []
    tests = sorted((ROOT / "tests").glob(f"test_{family}*.py"))
    assert tests
    for path in modules.values():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        absent = [m for m in (f"theory._{family}", f"numerics._{family}", f"verify.claims._{family}",
                              *(f"tests/{t.name}" for t in tests)) if m not in doc]
        assert absent == [], (str(path.relative_to(ROOT)), absent)
    claims = importlib.import_module(f"verify.claims._{family}")
    assert claims.FAMILY == family.replace("_", "-")
