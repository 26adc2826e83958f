"""Claims on every core (verify/_schedule.py): a local Dask cluster gives the serial run's results and output,
the time budget and the torch-state isolation hold on its worker threads, progress only on a terminal."""

from __future__ import annotations

import io
import json
import re
import sys
import textwrap
import time

import pytest
import torch

from verify._cli import main
from verify._schedule import PARALLEL_MIN_CLAIMS, claim_result

# on one pytest-xdist worker with tests/test_experiments.py: their local clusters fork their workers from one
# forkserver (started once per process, it imports torch and SymPy)
pytestmark = pytest.mark.xdist_group("local_clusters")

# fast built-in claims (about 0.1-1.5 s each): exact and Monte Carlo, verified and an expected refutation
BUILTIN = ["simsiam-stopgrad-l2", "kd-gradient-one-hot", "committee-i3-mc", "simsiam-em-eta-as-printed",
           "simsiam-channel-variance-collapsed"]

HEADER = """
import time
import sympy as sp
import torch
from verify import Claim, Real, Vector
"""

SYNTHETIC = """
MEAN = Claim(name="mean", params={"mu": Real(0.0, 1.0)}, closed_form=lambda mu: mu,
             monte_carlo=lambda mu, n, generator: mu + torch.randn(n, generator=generator, dtype=mu.dtype),
             examples=3, samples=2000)
CONSTANT_OFF = Claim(name="constant-off-by-one", params={"mu": Real(0.0, 1.0)}, closed_form=lambda mu: mu,
                     monte_carlo=lambda mu, n, generator: (mu + 1).expand(n), examples=2, samples=100)
def _grad(w):
    w = w.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((w * w).sum(), w)
    return g
SQUARE = Claim(name="grad-of-square", params={"w": Vector(3)}, closed_form=lambda w: 2 * w, exact=_grad)
BROKEN = Claim(name="raises", params={"mu": Real(0.0, 1.0)}, closed_form=lambda mu: mu,
               exact=lambda mu: mu.undefined_attribute)
"""


def _file(tmp_path, body, name):
    p = tmp_path / name
    p.write_text(HEADER + textwrap.dedent(body))
    return str(p)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _untimed(obj):
    """The results document without its timings and the command line (which names the scheduler)."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if k not in ("seconds", "date", "command")}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _untimed_lines(out: str) -> list[str]:
    return [re.sub(r"\d+\.\d+ ?s\b", "T", line) for line in out.splitlines()]


def _serial_and_local(capsys, tmp_path, *argv):
    runs = {}
    for scheduler in ("serial", "local"):
        extra = ["--scheduler", "serial"] if scheduler == "serial" else ["--workers", "2"]  # local is the default
        path = tmp_path / f"{scheduler}.json"
        start = time.perf_counter()
        code, out, err = _run(capsys, *argv, *extra, "--json", str(path))
        runs[scheduler] = (code, out, err, json.loads(path.read_text()), time.perf_counter() - start)
    return runs["serial"], runs["local"]


def test_local_cluster_gives_the_serial_results_for_builtin_claims(capsys, tmp_path):
    assert len(BUILTIN) < PARALLEL_MIN_CLAIMS      # --workers 2 is what puts them on the cluster
    serial, local = _serial_and_local(capsys, tmp_path, "run", *BUILTIN)
    assert serial[0] == local[0] == 0, serial[1] + local[1] + local[2]
    assert [c["name"] for c in local[3]["claims"]] == BUILTIN                    # the claims' order, not completion's
    assert _untimed(local[3]) == _untimed(serial[3])
    assert _untimed_lines(local[1]) == _untimed_lines(serial[1])
    assert local[3]["summary"] == {"verified": 4, "refuted": 1, "error": 0, "unexpected": 0, "mutants_survived": 0}


def test_local_cluster_gives_the_serial_results_for_a_derivation_file(capsys, tmp_path):
    path = _file(tmp_path, SYNTHETIC, "synthetic.py")
    serial, local = _serial_and_local(capsys, tmp_path, "validate", path)
    assert serial[0] == local[0] == 2, serial[1] + local[1] + local[2]   # "raises" is an error
    doc = local[3]
    assert [(c["name"], c["verdict"]) for c in doc["claims"]] == [
        ("mean", "verified"), ("constant-off-by-one", "refuted"), ("grad-of-square", "verified"), ("raises", "error")]
    assert doc["claims"][1]["statistic"]["value"] == "inf"       # written as the string; a float in the parent
    assert "undefined_attribute" in doc["claims"][3]["error"] and doc["claims"][3]["source"] == path
    assert _untimed(doc) == _untimed(serial[3])
    assert _untimed_lines(local[1]) == _untimed_lines(serial[1])
    assert f"reproduce: theorycheck validate {path} --claim constant-off-by-one" in local[1]


def test_claim_results_round_trip_through_json():
    from verify._results import ClaimResult

    r = ClaimResult(name="nan", method="monte_carlo", verdict="refuted", statistic={"name": "max_abs_z", "value": float("inf"),
                    "threshold": 5.0}, counterexample={"label": "typical", "std_error": [0.0, float("nan")],
                    "closed_form": [-float("inf")]}, warnings=["nan"], seconds=1.5)
    back = claim_result(r.to_json())
    assert back.to_json() == r.to_json()
    assert back.statistic["value"] == float("inf") and back.counterexample["closed_form"] == [-float("inf")]
    assert back.counterexample["std_error"][1] != back.counterexample["std_error"][1]   # nan
    assert back.name == "nan" and back.warnings == ["nan"]                              # text stays text


HANGS = """
def spin(mu):
    while True:
        pass
def doze(mu):
    while True:
        time.sleep(0.05)
SPIN = Claim(name="spins", params={"mu": Real(0, 1)}, closed_form=spin,
             monte_carlo=lambda mu, n, generator: mu + torch.randn(n, generator=generator, dtype=mu.dtype))
DOZE = Claim(name="dozes", params={"mu": Real(0, 1)}, closed_form=lambda mu: mu,
             monte_carlo=lambda mu, n, generator: doze(mu))
"""

# Every claim asserts the baseline state when it starts, then changes it: with 4 such claims on 2 workers one
# worker checks at least two, so state leaking from a claim to the next on a worker would make one an error.
RUDE = """
def closed_form(w):
    assert torch.is_grad_enabled(), "grad mode leaked from an earlier claim"
    assert torch.get_default_dtype() == torch.float32, "default dtype leaked from an earlier claim"
    assert torch.get_num_threads() == 1, "not on one thread"
    torch.set_grad_enabled(False)
    torch.set_default_dtype(torch.float64)
    return 2 * w
def exact(w):
    with torch.enable_grad():
        w = w.clone().requires_grad_(True)
        (g,) = torch.autograd.grad((w * w).sum(), w)
    return g
""" + "".join(f'C{i} = Claim(name="rude-{i}", params={{"w": Vector(3)}}, closed_form=closed_form, exact=exact, '
              f'examples=3)\n'
              for i in range(4))


def test_time_budget_and_torch_state_isolation_hold_on_worker_threads(capsys, tmp_path):
    """One cluster for both (a cluster costs 10-40 s here): hanging claims are stopped on the workers' threads
    by the budget, and no claim's change of torch's global state reaches another claim on its worker."""
    hangs, rude = _file(tmp_path, HANGS, "hangs.py"), _file(tmp_path, RUDE, "rude.py")
    start = time.perf_counter()
    code, out, err = _run(capsys, "validate", hangs, rude, "--time-budget", "4", "--scheduler", "local", "--workers", "2",
                          "--json", str(tmp_path / "r.json"))
    assert time.perf_counter() - start < 150, "the run did not stop the hanging claims"
    assert code == 2, out + err
    claims = {c["name"]: c for c in json.loads((tmp_path / "r.json").read_text())["claims"]}
    assert list(claims) == ["spins", "dozes", "rude-0", "rude-1", "rude-2", "rude-3"]
    for name, step in (("spins", "closed_form"), ("dozes", "monte_carlo at example typical")):
        c = claims[name]
        assert c["verdict"] == "error" and c["error"].startswith(f"stopped in {step}: the claim exceeded its time budget of 4 s"), c
        assert c["seconds"] < 10, c["seconds"]
    lines = out.splitlines()
    assert lines[0].startswith("error") and hangs in lines[0] and "'spins'" in lines[0] and "--time-budget" in lines[0]
    for i in range(4):
        c = claims[f"rude-{i}"]
        assert c["verdict"] == "verified", c["error"]
        assert len(c["warnings"]) == 1 and "grad enabled: True -> False" in c["warnings"][0] and "default dtype" in c["warnings"][0]
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32     # nor this process's


@pytest.mark.parametrize("argv, cluster", [
    (["a", "b", "c"], ("local", 3)),                                  # enough claims for a cluster
    (["a", "b"], None),                                               # too few: a cluster would not pay
    (["a", "b", "--workers", "2"], ("local", 2)),                     # unless --workers asks for one
    (["a", "--workers", "2"], None),                                  # one claim
    (["a", "b", "c", "--workers", "1"], None),                        # one worker
    (["a", "b", "c", "--scheduler", "serial", "--workers", "2"], None),
    (["a", "--scheduler", "tcp://127.0.0.1:8786"], ("tcp://127.0.0.1:8786", 1)),   # an address always gets the tasks
])
def test_which_runs_start_a_cluster(capsys, monkeypatch, argv, cluster):
    import verify._schedule as schedule

    names = {"a": "simsiam-stopgrad-l2", "b": "simsiam-channel-variance-collapsed", "c": "committee-i3-mc"}
    started = []

    def on_dask(claims, tasks, scheduler, workers, bar, emit):   # the cluster's stand-in: record, run here
        started.append((scheduler, workers))
        return schedule._in_process(claims, tasks, None, None, bar, emit)

    monkeypatch.setattr(schedule, "PARALLEL_MIN_CLAIMS", 3)
    monkeypatch.setattr(schedule, "_on_dask", on_dask)
    monkeypatch.setattr(schedule.os, "cpu_count", lambda: 4)
    code, out, _ = _run(capsys, "run", *[names.get(a, a) for a in argv])
    assert code == 0, out
    assert started == ([cluster] if cluster else [])


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    code, out, err = _run(capsys, "run", "simsiam-stopgrad-l2", "committee-i3-mc", "--scheduler", "serial")
    assert code == 0 and err == ""                                     # not a terminal: quiet
    assert [l.split()[:2] for l in out.splitlines()[:2]] == [["verified", "simsiam-stopgrad-l2"], ["verified", "committee-i3-mc"]]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["run", "simsiam-stopgrad-l2", "committee-i3-mc", "--scheduler", "serial"])
    monkeypatch.undo()
    drawn = terminal.getvalue()
    assert code == 0 and "claims:" in drawn and "0/2" in drawn and "1/2" in drawn and "2/2" in drawn, drawn
    assert re.search(r"\[\d\d:\d\d<", drawn), drawn                    # elapsed < remaining
    assert "simsiam-stopgrad-l2" in drawn                              # what runs now
    assert "\r" not in capsys.readouterr().out                         # result lines stay clean on stdout
