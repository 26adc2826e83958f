"""The pytest plugin collects Claims from derivation files; verify.strategies for users' own tests."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from tests._roundoff import gamma
from tests.test_engine_budget_and_state import _autograd_file, _file
from verify import Vector
from verify.strategies import matrices, parameters, reals, vectors

EXAMPLE = (Path(__file__).parent / "data" / "my_derivation.py").read_text()


def _pytest(paths: list[Path], *extra: str) -> subprocess.CompletedProcess:
    registered = any(ep.value == "verify.pytest_plugin" for ep in metadata.entry_points(group="pytest11"))
    plugin = [] if registered else ["-p", "verify.pytest_plugin"]
    root = Path(__file__).resolve().parent.parent
    root_dir = paths[0].parent
    return subprocess.run([sys.executable, "-m", "pytest", *map(str, paths), "-q", "-p", "no:cacheprovider", "--rootdir", str(root_dir),
                           "-c", "/dev/null", *plugin, *extra], capture_output=True, text=True, timeout=600,
                          cwd=root_dir, env={**__import__("os").environ, "PYTHONPATH": str(root)})


def test_correct_claim_passes_wrong_claim_fails_and_files_are_isolated(tmp_path):
    """One pytest session (a subprocess importing torch costs seconds) collects four derivation files: one that
    disables grad at import (reported, and undone before the next file), an autograd claim after it (which needs
    grad), a correct claim and a wrong one (failed, with its shrunk counterexample and the seed)."""
    _file(tmp_path, """
        torch.set_grad_enabled(False)
        CLAIM = Claim(name="rude-mean", params={"mu": Real(0, 1)}, closed_form=lambda mu: mu,
                      monte_carlo=lambda mu, n, generator: mu + torch.randn(n, generator=generator, dtype=mu.dtype),
                      examples=2, samples=2000)
    """, name="a_rude.py")
    after = Path(_autograd_file(tmp_path, "b_after"))
    right, wrong = tmp_path / "my_derivations.py", tmp_path / "wrong_derivations.py"
    right.write_text(EXAMPLE)
    wrong.write_text(EXAMPLE.replace("(theta * w_star", "((sp.pi - theta) * w_star"))
    assert wrong.read_text() != EXAMPLE
    proc = _pytest([tmp_path / "a_rude.py", after, right, wrong], "--theorycheck-seed", "3", "-rA")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 3 passed" in proc.stdout, proc.stdout
    lines = proc.stdout.splitlines()
    for passed in ("a_rude.py", "b_after.py", "my_derivations.py"):
        assert any(l.startswith(f"PASSED {passed}::") for l in lines), proc.stdout
    assert any(l.startswith("FAILED wrong_derivations.py::") for l in lines), proc.stdout
    assert "counterexample (shrunk)" in proc.stdout and "--seed 3" in proc.stdout
    assert "a_rude.py: the file changed torch's global state at import (grad enabled: True -> False)" in proc.stdout


@pytest.mark.roundoff
@settings(max_examples=30, deadline=None)
@given(w=vectors(dim=3, norm=(0.5, 2.0)), W=matrices(rows=2, cols=3), c=reals(low=-1.0, high=1.0),
       p=parameters({"a": Vector(2), "b": Vector(2)}))
def test_strategies_draw_what_they_say(w, W, c, p):
    tol = gamma(2 * 3 + 4)  # direction (norm, division), scaling, the test's norm: d = 3
    assert w.shape == (3,) and 0.5 * (1 - tol) <= np.linalg.norm(w) <= 2.0 * (1 + tol)
    assert W.shape == (2, 3) and isinstance(c, float) and -1.0 <= c <= 1.0
    assert set(p) == {"a", "b"} and p["a"].shape == (2,)
