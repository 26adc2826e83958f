"""The command line: exit codes, one-line errors naming file, claim and problem, JSON, replay."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from verify._cli import main

DATA = Path(__file__).parent / "data"
EXAMPLE = (DATA / "my_derivation.py").read_text()


def _file(tmp_path, text, name="derivation.py"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_issue_example_validates_alike_here_and_in_a_fresh_process(capsys, tmp_path):
    """``python -m verify`` in a fresh process writes its JSON atomically, and this process gives the same results
    for the same seed (timings apart): a run depends on its seed, not on the process it ran in."""
    fresh = tmp_path / "nested" / "fresh.json"
    proc = subprocess.run([sys.executable, "-m", "verify", "validate", str(DATA / "my_derivation.py"), "--json", str(fresh)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in fresh.parent.iterdir()] == ["fresh.json"]   # no temporary left behind
    code, out, _ = _run(capsys, "validate", str(DATA / "my_derivation.py"), "--json", str(tmp_path / "r.json"))
    assert code == 0, out
    docs = [json.loads(p.read_text())["claims"][0] for p in (fresh, tmp_path / "r.json")]
    for c in docs:
        c.pop("seconds")
    assert docs[0] == docs[1]
    assert out.startswith("verified") and "tian-population-gradient" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == "theorycheck.results/1"
    c = doc["claims"][0]
    for key in ("name", "verdict", "method", "examples", "samples", "statistic", "false_refutation_rate",
                "detectable_discrepancy", "counterexample", "error", "seconds", "tests", "source"):
        assert key in c, key
    assert c["verdict"] == "verified" and c["false_refutation_rate"] == 1e-6 and c["counterexample"] is None
    assert c["statistic"]["value"] < c["statistic"]["threshold"]
    for key in ("seed", "device", "dtype", "versions", "date", "seconds"):
        assert key in doc
    assert doc["versions"]["torch"].startswith("2.")


def test_pi_minus_theta_is_refuted_with_a_replayable_shrunk_counterexample(capsys, tmp_path):
    path = _file(tmp_path, EXAMPLE.replace("(theta * w_star", "((sp.pi - theta) * w_star"), "wrong.py")
    code, out, _ = _run(capsys, "validate", path, "--json", str(tmp_path / "r.json"))
    assert code == 1, out
    assert out.startswith("refuted") and "counterexample (shrunk)" in out and "reproduce:" in out
    cex = json.loads((tmp_path / "r.json").read_text())["claims"][0]["counterexample"]
    assert cex["shrunk"] and float(cex["statistic"]) > cex["threshold"]   # "inf" where the SE is exactly 0
    # the shrunk example is simple: axis-aligned unit vectors
    for v in cex["params"].values():
        assert sorted(abs(x) for x in v) == [0.0, 0.0, 0.0, 1.0]
    # the printed command reproduces the refutation
    argv = shlex.split(cex["command"])[1:]
    code, out, _ = _run(capsys, *argv)
    assert code == 1 and "1 refuted" in out


BAD_FILES = {
    "syntax": ("def f(:\n    pass\n", "syntax error"),
    "import": ("import no_such_module_xyz\n", "import failed: ModuleNotFoundError"),
    "no-claim": ("x = 1\n", "no Claim defined at top level"),
    "both": (EXAMPLE.replace("monte_carlo=monte_carlo,", "monte_carlo=monte_carlo, exact=monte_carlo,"), "both monte_carlo= and exact= given"),
    "neither": (EXAMPLE.replace("monte_carlo=monte_carlo,", ""), "neither monte_carlo= nor exact= given"),
    "bad-real": (EXAMPLE.replace('Vector(4), "w_star"', 'Vector(4), "c": Real(3, 1), "w_star"'), "Real(3, 1): low must be < high"),
    "vector0": (EXAMPLE.replace('"w": Vector(4)', '"w": Vector(0)'), "dim must be an integer >= 1"),
    "signature": (EXAMPLE.replace("def closed_form(w, w_star):", "def closed_form(w, v):"), "closed_form(w, v) cannot be called"),
    "missing-field": (EXAMPLE.replace("    closed_form=closed_form,\n", ""), "Claim(...) is missing closed_form"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_exit_2_with_one_line(capsys, tmp_path, kind):
    text, fragment = BAD_FILES[kind]
    path = _file(tmp_path, text, f"{kind}.py")
    code, out, err = _run(capsys, "validate", path)
    assert code == 2
    lines = [l for l in (out + err).splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert path in lines[0] and fragment in lines[0], lines[0]
    assert "Traceback" not in out + err


CLAIM_ERRORS = {
    "closed-form-raises": (EXAMPLE.replace("nw, ns =", "raise ValueError('not derived yet'); nw, ns ="), "closed_form raised ValueError: not derived yet"),
    "wrong-shape": (EXAMPLE.replace("[:, None] * x ", "[:, None] * x[:, :3]"), "returned shape (1024, 3)"),
    "wrong-dtype": (EXAMPLE.replace("[:, None] * x ", "[:, None].float() * x.float() "), "returned dtype torch.float32"),
    "nan": (EXAMPLE.replace("return (r *", "return torch.nan * (r *"), "non-finite value"),
    "ignores-generator": (EXAMPLE.replace("generator=generator, ", ""), "not reproducible"),
    "estimator-raises": (EXAMPLE.replace("r = torch.relu", "r = torch.relux"), "monte_carlo raised AttributeError"),
    "wrong-device": (EXAMPLE.replace("[:, None] * x ", "[:, None].to('meta') * x.to('meta') "), "returned a tensor on meta"),
    "non-sympy": (EXAMPLE.replace("return (w - w_star) / 2", "return 'w' or (w - w_star) / 2"), "closed_form returned str"),
}


@pytest.mark.parametrize("kind", sorted(CLAIM_ERRORS))
def test_claim_errors_exit_2_naming_file_claim_and_problem(capsys, tmp_path, kind):
    text, fragment = CLAIM_ERRORS[kind]
    path = _file(tmp_path, text, f"{kind}.py")
    code, out, err = _run(capsys, "validate", path)
    assert code == 2, out + err
    line = out.splitlines()[0]
    assert line.startswith("error") and path in line and "'tian-population-gradient'" in line and fragment in line, line
    assert "verified" not in line


@pytest.mark.parametrize("argv, fragment", [
    (["run", "no-such-claim"], "unknown claim 'no-such-claim'"),
    (["run", "--device", "tpu"], "tpu"),
    (["run", "--seed", "-3"], "--seed '-3': must be a non-negative integer"),
    (["validate", "missing.py"], "missing.py: no such file"),
    (["run", "population-gradient-mc", "--replay", "{nope"], "--replay '{nope': not valid JSON"),
    (["run", "population-gradient-mc", "--replay", '{"w": [1, 0, 0, 0]}'], "has parameters ['w', 'w_star']"),
    (["run", "--replay", "{}"], "--replay needs exactly one claim"),
])
def test_usage_errors_exit_2(capsys, argv, fragment):
    try:
        code, out, err = _run(capsys, *argv)
    except SystemExit as exc:  # argparse errors
        code, err = exc.code, capsys.readouterr().err
        out = ""
    assert code == 2
    assert fragment in out + err, out + err
    assert len((out + err).strip().splitlines()) == 1


def test_list_shows_builtin_claims_with_references(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    assert "population-gradient-mc" in out and "seed 000" in out


def test_slow_estimator_is_stopped_by_the_time_budget(capsys, tmp_path):
    slow = EXAMPLE.replace("    x = torch.randn(", "    import time; time.sleep(30)\n    x = torch.randn(")
    path = _file(tmp_path, slow, "slow.py")
    code, out, err = _run(capsys, "validate", path, "--time-budget", "1")
    assert code == 2
    line = out.splitlines()[0]
    assert path in line and "'tian-population-gradient'" in line and "time budget of 1 s" in line and "--time-budget" in line


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--workers", "0"], "--workers '0': must be a positive integer, e.g. --workers 5"),
    (["validate", str(DATA / "my_derivation.py"), "--workers", "two"], "--workers 'two': must be a positive integer"),
    (["validate", str(DATA / "my_derivation.py"), "--scheduler", "nowhere"], "--scheduler 'nowhere': cannot connect"),
    (["report", "simsiam-stopgrad-l2", "--scheduler", "nowhere"], "--scheduler 'nowhere': cannot connect"),
])
def test_scheduling_usage_errors_exit_2_in_one_line(capsys, tmp_path, argv, fragment):
    if argv[0] == "report":
        argv = argv + ["--out", str(tmp_path / "rep")]
    try:
        code, out, err = _run(capsys, *argv)
    except SystemExit as exc:  # argparse errors
        code, err = exc.code, capsys.readouterr().err
        out = ""
    assert code == 2
    assert fragment in out + err, out + err
    assert len((out + err).strip().splitlines()) == 1, out + err


def test_run_help_documents_the_scheduling_rule(capsys):
    from verify._schedule import PARALLEL_MIN_CLAIMS
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"in this process for fewer than {PARALLEL_MIN_CLAIMS} claims unless --workers is given" in text
    assert "local (default)" in text and "serial (no Dask)" in text and "single-threaded worker processes" in text


_SMALL = """import sympy as sp
from verify import Claim, Vector

CLAIM = Claim(name="{name}", params={{"w": Vector(3)}}, closed_form=lambda w: {factor} * w, exact=lambda w: 2 * w,
              examples=5)
"""


def test_validate_a_directory_checks_every_derivation_file_below_it(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    _file(tmp_path, _SMALL.format(name="doubling", factor=2), "a.py")
    _file(tmp_path / "sub", _SMALL.format(name="doubling-slip", factor="sp.Rational(201, 100)"), "b.py")
    _file(tmp_path, "HELPER = 1\n", "helpers.py")
    _file(tmp_path / ".hidden", "raise SystemExit('never imported')\n", "c.py")
    code, out, err = _run(capsys, "validate", str(tmp_path))
    assert code == 1, (out, err)                                  # one refuted claim
    assert "verified" in out and "doubling " in out and "refuted" in out and "doubling-slip" in out
    assert "helpers.py: defines no Claim; skipped" in err and "never imported" not in out + err


def test_validate_a_directory_without_claims_is_one_error_line(capsys, tmp_path):
    _file(tmp_path, "HELPER = 1\n", "helpers.py")
    code, _, err = _run(capsys, "validate", str(tmp_path))
    assert code == 2 and f"no Claim defined in {tmp_path}" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "validate", str(tmp_path / "empty"))
    assert code != 0 and "no .py files below it" in err


def test_result_line_shows_the_draws_each_example_got():
    """A resolve-sized claim's line gives the range of draws per example, not the cap alone."""
    from verify._cli import _line
    from verify._results import ClaimResult

    r = ClaimResult(name="c", method="monte_carlo", verdict="verified", expected="verified", samples=300_000,
                    examples=75, statistic={"name": "max_abs_z", "value": 2.8, "threshold": 5.96})
    r.samples_per_example = {"min": 16384, "median": 16384, "max": 300000}
    assert "75 examples x 16384-300000 samples" in _line(r)
    r.samples_per_example = {"min": 20000, "median": 20000, "max": 20000}
    assert "75 examples x 20000 samples" in _line(r)
    r.samples_per_example = None
    assert "75 examples x 300000 samples" in _line(r)
