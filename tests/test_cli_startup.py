"""`theorycheck --help`, every subcommand's --help, usage errors and `list` answer without importing torch,
SymPy, NumPy, numerics or the engine; `list` reads claims/catalogue.json, which must match the claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "sympy", "numpy", "scipy", "hypothesis", "numerics", "theory", "distributed", "tqdm",
         "verify._engine", "verify._loader", "verify._torchstate", "verify._params", "verify._claim", "verify.claims")

# Runs the command line in a fresh interpreter, then reports (on stderr's last line) the exit code and which
# heavy modules got imported.
PROBE = f"""
import json, sys
from verify._cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}), file=sys.stderr)
"""


def _probe(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    *err, last = proc.stderr.splitlines()
    report = json.loads(last)
    return report["code"], report["heavy"], proc.stdout, err


@pytest.mark.parametrize("argv", [["--help"], ["list", "--help"], ["run", "--help"], ["report", "--help"],
                                  ["experiment", "--help"], ["validate", "--help"]], ids=" ".join)
def test_help_imports_nothing_heavy(argv):
    code, heavy, out, err = _probe(*argv)
    assert code == 0 and heavy == [], (heavy, err)
    assert out.startswith("usage: theorycheck")
    if argv[0] in ("run", "report", "validate"):
        assert "--scheduler" in out and "--workers" in out and "--time-budget" in out


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--seed", "-3"], "--seed '-3': must be a non-negative integer"),
    (["run", "--workers", "0"], "--workers '0': must be a positive integer"),
    (["validate", "--time-budget", "0", "x.py"], "--time-budget '0': must be a positive number"),
    (["validate"], "the following arguments are required: FILE"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_are_one_line_and_import_nothing_heavy(argv, fragment):
    code, heavy, out, err = _probe(*argv)
    assert code == 2 and heavy == [], (heavy, err)
    assert len(err) == 1 and err[0].startswith("theorycheck: error:") and fragment in err[0], err
    assert out == ""


def _expected_list() -> str:
    """What `theorycheck list` printed when it imported the claims (its format before the catalogue)."""
    from verify.claims import builtin_claims

    claims = builtin_claims()
    width = max(len(n) for n in claims)
    return "".join(f"{name:<{width}}  {c.method:<11}  {c.reference}{' [expected: refuted]' if c.expected == 'refuted' else ''}\n"
                   for name, c in claims.items())


def test_list_imports_nothing_heavy_and_shows_the_builtin_claims():
    code, heavy, out, err = _probe("list")
    assert code == 0 and heavy == [], (heavy, err)
    assert out == _expected_list()
    assert "[expected: refuted]" in out


def test_catalogue_is_up_to_date(tmp_path):
    from verify._cli import CATALOGUE, catalogue, write_catalogue
    from verify.claims import builtin_claims

    assert CATALOGUE.is_file(), f"{CATALOGUE} is missing: run .venv/bin/python -m verify._cli --write-catalogue"
    stale = json.loads(CATALOGUE.read_text(encoding="utf-8")) != catalogue(builtin_claims())
    assert not stale, ("verify/claims/catalogue.json is stale (a built-in claim was added, removed or changed): "
                       "run .venv/bin/python -m verify._cli --write-catalogue")
    written = write_catalogue(tmp_path / "catalogue.json")
    assert json.loads(written.read_text(encoding="utf-8")) == json.loads(CATALOGUE.read_text(encoding="utf-8"))
    fields = {"name", "family", "method", "reference", "expected", "statement"}
    assert all(set(e) == fields for e in json.loads(written.read_text())["claims"])


def test_write_catalogue_command(tmp_path):
    """The documented command regenerates the file (run here on a copy of the package, not the source tree)."""
    import shutil

    shutil.copytree(ROOT / "verify", tmp_path / "verify", ignore=shutil.ignore_patterns("__pycache__", "catalogue.json"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "verify._cli", "--write-catalogue"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = tmp_path / "verify" / "claims" / "catalogue.json"
    assert proc.stdout.strip() == f"wrote {written}"
    assert json.loads(written.read_text()) == json.loads((ROOT / "verify" / "claims" / "catalogue.json").read_text())


def test_list_without_the_catalogue_asks_the_claims(capsys, monkeypatch, tmp_path):
    import verify._cli as cli

    monkeypatch.setattr(cli, "CATALOGUE", tmp_path / "missing.json")
    assert cli.main(["list"]) == 0
    assert capsys.readouterr().out == _expected_list()


def test_import_verify_is_cheap_and_keeps_its_names():
    """In a fresh process, ``import verify`` loads neither torch nor SymPy and lists every public name; the names
    themselves resolve lazily (checked here, where torch is loaded anyway, instead of in the fresh process)."""
    code = ("import sys, verify; assert 'torch' not in sys.modules and 'sympy' not in sys.modules, sorted(sys.modules); "
            "names = set(dir(verify)); assert set(verify.__all__) <= names, set(verify.__all__) - names; "
            "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, sorted(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    import verify
    from verify import (SCHEMA, Claim, ClaimDefinitionError, ClaimResult, DerivationFileError, Matrix,  # noqa: F401
                        ParameterSpecError, ParamSpec, Real, Sweep, TheorycheckError, UsageError, Vector, check,
                        load_claims)
    from verify._claim import Claim as C
    assert Claim is C and verify.check.__module__ == "verify._engine"
    assert SCHEMA == "theorycheck.results/1"
    assert all(getattr(verify, name) is not None for name in verify.__all__)
    with pytest.raises(AttributeError):
        verify.no_such_name


def test_the_parsers_time_budget_is_the_engines():
    from verify import _cli, _engine, _schedule

    assert _cli.TIME_BUDGET == _engine.TIME_BUDGET
    assert _cli.PARALLEL_MIN_CLAIMS is _schedule.PARALLEL_MIN_CLAIMS
