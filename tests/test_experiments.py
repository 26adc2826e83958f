"""The experiment framework: files, resume after a kill, Dask equals serial, verdict statistics, CLI errors.

Runs the cheapest experiment (``overlay-committee-ode``, preset ``smoke``); each experiment's own behaviour is
tested in ``tests/test_experiment_<name>.py``.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from numerics._experiment import Run, Verdict, _dump, _load_into, mean_ci, read_metrics, spearman
from tests._draw_audit import DrawAudit, run_audited
from tests._roundoff import FUNCTION_OPS, cosine_error, gamma, unit_roundoff
from verify._cli import main
from verify._errors import UsageError
from verify._experiments import execute_task, experiment_names, run_experiment
from verify._stats import decide_interval
from tests._kill import SimulatedKill, killed_after

# the expensive fixture runs once: pytest-xdist keeps this module on one worker (--dist loadgroup), and it is
# session-scoped since a module-scoped one is rebuilt whenever the worker runs another module's tests in between.
# The group is shared with tests/test_schedule.py, so that the local Dask clusters of both fork from one forkserver
pytestmark = pytest.mark.xdist_group("local_clusters")

NAME = "overlay-committee-ode"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _task_files(out) -> dict[str, bytes]:
    """metrics.jsonl and the 'result' of every task, keyed by relative path."""
    files = {}
    for dirpath, _, names in os.walk(os.path.join(out, "tasks")):
        for n in names:
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, out)
            if n == "metrics.jsonl":
                files[rel] = open(path, "rb").read()
            elif n == "result.json":
                files[rel] = json.dumps(json.load(open(path))["result"], sort_keys=True).encode()
    return files


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    doc = run_audited(NAME, preset="smoke", out=str(out), scheduler="serial", progress=False)
    return out, doc


def test_run_writes_config_metrics_checkpoints_summary_and_figures(uninterrupted):
    out, doc = uninterrupted
    config = json.load(open(out / "config.json"))
    assert config["schema"] == "theorycheck.experiment/1" and config["preset"] == "smoke"
    assert [a["name"] for a in config["arms"]] == ["N64", "N128"]
    for arm in ("N64", "N128"):
        for seed in (0, 1):
            task = out / "tasks" / arm / f"seed-{seed}"
            lines = read_metrics(str(task))
            assert lines and all(line["schema"] == "theorycheck.metrics/1" for line in lines)
            assert [line["step"] for line in lines] == sorted(line["step"] for line in lines)
            assert (task / "checkpoint-sgd.pt").exists() and (task / "result.json").exists()
    summary = json.load(open(out / "summary.json"))
    assert summary["schema"] == "theorycheck.experiment-summary/2" and summary["tasks"] == 4
    assert {v["name"] for v in summary["verdicts"]} == {"gap-shrinks", "gap-rate"}
    assert all(v["status"] in ("holds", "fails", "inconclusive") for v in summary["verdicts"])
    assert all((out / f).exists() for f in summary["figures"]) and summary["figures"]
    assert "| verdict | status |" in (out / "summary.md").read_text()


@pytest.mark.parametrize("stop_after", [1, 40, 95])
def test_killed_run_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, stop_after):
    """A kill at any step (before the first checkpoint, between checkpoints, after the last) then --resume gives
    byte-identical metrics.jsonl and identical results."""
    ref_out, _ = uninterrupted
    out = str(tmp_path / "run")
    with pytest.raises(SimulatedKill), killed_after(stop_after):
        run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False)
    assert not os.path.exists(os.path.join(out, "summary.json"))
    run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, resume=True)
    assert _task_files(out) == _task_files(str(ref_out))


def test_resume_refuses_a_different_configuration(uninterrupted, tmp_path):
    out = str(tmp_path / "run")
    run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, seeds=1)
    with pytest.raises(UsageError, match="--resume: config differs"):
        run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, seeds=2, resume=True)
    with pytest.raises(UsageError, match="no earlier run"):
        run_experiment(NAME, preset="smoke", out=str(tmp_path / "none"), resume=True, progress=False)


def test_out_that_is_not_an_experiment_directory_is_left_alone(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not an experiment directory"):
        run_experiment(NAME, preset="smoke", out=str(tmp_path), scheduler="serial", progress=False)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_two_worker_dask_cluster_gives_the_serial_results(uninterrupted, tmp_path):
    ref_out, ref = uninterrupted
    out = str(tmp_path / "dask")
    doc = run_experiment(NAME, preset="smoke", out=out, scheduler="local", workers=2, progress=False)
    assert _task_files(out) == _task_files(str(ref_out))
    assert doc["verdicts"] == ref["verdicts"] and doc["tables"] == ref["tables"]


def test_local_cluster_workers_keep_glibcs_malloc_thresholds():
    """Dask's default MALLOC_TRIM_THRESHOLD_=65536 made every large tensor an mmap/munmap per step (2.3x slower)."""
    from distributed import Client

    from verify._experiments import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    assert list(env.values()) == [{"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}]
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ  # nor set in this process by the nanny


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path, capsys):
    code = main(["experiment", NAME, "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--scheduler 'tcp://127.0.0.1:9': cannot connect" in err[0]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    """On a terminal: tqdm's bar with the tasks done, elapsed time and estimate; to a log: nothing."""
    run_experiment(NAME, preset="smoke", out=str(tmp_path / "log"), scheduler="serial", seeds=1)
    assert capsys.readouterr().err == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_experiment(NAME, preset="smoke", out=str(tmp_path / "tty"), scheduler="serial", seeds=1)
    last = terminal.getvalue().split("\r")[-1]
    assert last.startswith("overlay-committee-ode (smoke, 2 tasks, 2 to run): 100%|"), last
    assert "2.0/2 tasks [" in last and "<00:00]" in last, last


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


def test_list_and_bad_input(capsys):
    assert main(["experiment", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == experiment_names() and len(listed) == 6
    for argv, needle in [(["experiment", "nope"], "unknown experiment 'nope'"),
                         (["experiment"], "give an experiment NAME or --list"),
                         (["experiment", NAME, "--seeds", "0"], "--seeds '0': must be a positive integer"),
                         (["experiment", NAME, "--workers", "x"], "--workers 'x': must be a positive integer"),
                         (["experiment", NAME, "--preset", "huge"], "invalid choice: 'huge'"),
                         (["experiment", NAME, "--device", "tpu"], "--device 'tpu': unknown device")]:
        assert _exit_code(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err


# --------------------------------------------------------------------------------------------- statistics
def _t_quantile(p: float, nu: int) -> float:
    """Student-t quantile at 40 digits (mpmath: the CDF through the regularised incomplete beta), rounded once.
    (A hand-typed t_{0.975, 3} = 3.182446305284263 was wrong in its 13th digit: 3.18244630528370843...)"""
    import mpmath

    with mpmath.workdps(40):
        cdf = lambda t: 1 - mpmath.betainc(nu / 2, mpmath.mpf(1) / 2, 0, nu / (nu + t**2), regularized=True) / 2  # noqa: E731
        return float(mpmath.findroot(lambda t: cdf(t) - mpmath.mpf(p), 3.0))


@pytest.mark.roundoff
def test_mean_ci_is_the_student_t_interval():
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = _t_quantile(0.5 + 0.95 / 2, 3) * math.sqrt(5 / 3) / 2  # t_{0.975, 3} * s / sqrt(n), at mean_ci's float64 p
    # half twice: scipy's t quantile (counted as a function, FUNCTION_OPS) or the 40-digit one rounded (u), the std
    # and sqrt(n) (sqrt, divisions: 5), the products; the mean 2.5 is exact; then +- (u of the result)
    tol = 2 * gamma(FUNCTION_OPS + 8) * half
    assert ci["mean"] == 2.5  # (1 + 2 + 3 + 4) / 4: exact
    assert ci["lo"] == pytest.approx(2.5 - half, rel=0, abs=tol + unit_roundoff() * (2.5 - half))
    assert ci["hi"] == pytest.approx(2.5 + half, rel=0, abs=tol + unit_roundoff() * (2.5 + half))
    assert math.isnan(mean_ci([1.0, float("nan")])["lo"])  # a NaN is reported, not dropped


def test_verdict_status_follows_the_interval():
    est = lambda lo, hi: {"mean": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 5, "level": 0.95}  # noqa: E731
    assert decide_interval(est(-3, -1), 0.0, "below") == "holds"
    assert decide_interval(est(1, 3), 0.0, "below") == "fails"
    assert decide_interval(est(-1, 1), 0.0, "below") == "inconclusive"
    assert decide_interval(est(1, 3), 0.0, "above") == "holds"
    assert decide_interval(est(math.nan, math.nan), 0.0, "above") == "fails"


@pytest.mark.roundoff
def test_spearman_ranks_never_last():
    # the Pearson correlation of the integer ranks (exactly centred), n = 3: the cosine's round-off
    assert spearman([3, 2, 1], [1.0, 2.0, math.inf]) == pytest.approx(-1.0, rel=0, abs=cosine_error(3))
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0


def test_state_round_trip_restores_modules_optimizers_generators_in_place(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(5)
    state = {"model": model, "opt": opt, "gen": gen, "x": torch.zeros(2), "n": 3, "hist": [1.0]}
    model(torch.ones(3)).sum().backward()
    opt.step()
    saved = _dump(state)
    expected = torch.randn(4, generator=gen)
    fresh_model = torch.nn.Linear(3, 2)
    fresh = {"model": fresh_model, "opt": torch.optim.SGD(fresh_model.parameters(), lr=0.1, momentum=0.9),
             "gen": torch.Generator().manual_seed(0), "x": torch.ones(2), "n": 0, "hist": []}
    x_before = fresh["x"]
    _load_into(fresh, saved)
    assert torch.equal(fresh_model.weight, model.weight) and fresh["x"] is x_before and torch.equal(x_before, torch.zeros(2))
    assert fresh["n"] == 3 and fresh["hist"] == [1.0]
    assert torch.equal(torch.randn(4, generator=fresh["gen"]), expected)
    assert fresh["opt"].state_dict()["state"][0]["momentum_buffer"].shape == (2, 3)


def test_run_steps_truncates_metrics_logged_after_the_checkpoint(tmp_path):
    run = Run(experiment="t", arm={"name": "a"}, seed=0, config={}, directory=str(tmp_path), device="cpu")
    state = {"x": torch.zeros(1)}
    for step in run.steps("p", 4, state, checkpoint_every=2):
        run.log(step, value=step)
        state["x"] += 1
        if step == 2:
            break  # "killed" after logging step 2, before its checkpoint at 4
    again = Run(experiment="t", arm={"name": "a"}, seed=0, config={}, directory=str(tmp_path), device="cpu")
    state = {"x": torch.zeros(1)}
    assert [s for s in again.steps("p", 4, state, checkpoint_every=2)] == [2, 3]
    assert state["x"].item() == 2 and [r["step"] for r in read_metrics(str(tmp_path))] == [0, 1]


# --------------------------------------------------------------------------------------------- a real kill
@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    """SIGKILL a CLI-equivalent run in a subprocess once its first checkpoints exist, resume, compare."""
    script = ("import sys; from tests import _smoke; _smoke.install(); from verify._experiments import run_experiment; "
              "run_experiment('overlay-committee-ode', preset='smoke', out=sys.argv[1], scheduler='serial', "
              "progress=False, overrides={'Ns': [2048], 'alpha_max': 3.0}, resume=len(sys.argv) > 2)")
    env = dict(os.environ, PYTHONPATH=ROOT)
    killed, whole = str(tmp_path / "killed"), str(tmp_path / "whole")
    proc = subprocess.Popen([sys.executable, "-c", script, killed], env=env)
    ckpt = os.path.join(killed, "tasks", "N2048", "seed-0", "metrics.jsonl")
    deadline = time.time() + 300
    while time.time() < deadline and not (os.path.exists(ckpt) and len(open(ckpt).readlines()) >= 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(killed, "summary.json")), "the run finished before the kill"
    subprocess.run([sys.executable, "-c", script, killed, "resume"], env=env, check=True)
    subprocess.run([sys.executable, "-c", script, whole], env=env, check=True)
    assert _task_files(killed) == _task_files(whole)


@pytest.mark.slow
def test_committee_ode_quick_preset_gap_shrinks_like_inverse_sqrt_n_and_sgd_escapes_the_plateau(tmp_path):
    """Saad-Solla's ODE vs online SGD: the gap's log-log slope in N is decided inside (-0.75, -0.25); through
    the plateau SGD specialises and escapes when the ODE from its own start does (every finding and sanity check)."""
    doc = run_experiment(NAME, preset="quick", out=str(tmp_path / "q"), scheduler="local", workers=2, progress=False)
    status = {v["name"]: v["status"] for v in doc["verdicts"] if v["kind"] != "reported"}
    assert status == {name: "holds" for name in ("gap-shrinks", "gap-rate", "sgd-plateau", "sgd-specialises",
                                                 "sgd-escapes", "escape-time", "window-covers-escape")}, doc["verdicts"]
    assert all((tmp_path / "q" / f).exists() for f in doc["figures"])


def _two_phase_task(directory) -> list[float]:
    """Phase 'a', a line logged between phases, phase 'b', a line logged after: the shape of a multi-phase task."""
    run = Run(experiment="t", arm={"name": "x"}, seed=3, config={}, directory=str(directory), device="cpu")
    state = {"w": torch.zeros(2), "g": run.generator}
    for step in run.steps("a", 6, state, checkpoint_every=2):
        state["w"] += torch.randn(2, generator=state["g"])
        run.log(step, phase="a", w=state["w"].sum())
    run.log(6, phase="between", w=state["w"].sum())
    for step in run.steps("b", 5, state, checkpoint_every=2):
        state["w"] *= 0.5
        run.log(step, phase="b", w=state["w"].sum())
    run.log(5, phase="after", w=state["w"].sum())
    return state["w"].tolist()


@pytest.mark.parametrize("kill_at", range(1, 12))
def test_multi_phase_resume_keeps_every_phase_and_logs_nothing_twice(tmp_path, kill_at):
    reference = _two_phase_task(tmp_path / "ref")
    with pytest.raises(SimulatedKill), killed_after(kill_at):
        _two_phase_task(tmp_path / "run")
    assert _two_phase_task(tmp_path / "run") == reference
    assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == (tmp_path / "ref" / "metrics.jsonl").read_bytes()
    assert [r["phase"] for r in read_metrics(str(tmp_path / "ref"))] == ["a"] * 6 + ["between"] + ["b"] * 5 + ["after"]


# --------------------------------------------------------------------------------------------- the GPU path, on the CPU
def test_audit_catches_an_in_place_draw_into_a_parameter():
    layer = nn.Linear(2, 3)
    with DrawAudit() as audit, torch.no_grad():
        layer.weight.uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
        torch.randn(3, generator=torch.Generator(), device="cpu")
        torch.randn(3, generator=torch.Generator()).to("cpu")  # the rule: draw, then move
    assert len(audit.bad) == 2, audit.bad


def test_every_experiment_has_a_smoke_test_under_the_draw_audit():
    """Each experiment's smoke run makes no draw that would refuse its CPU generator on a GPU (a born-again
    student's re-initialisation did: ``uniform_`` into CUDA parameters): its own smoke test runs through
    ``run_audited``, which asserts no bad draw. Here: that no experiment lacks one."""
    here = os.path.dirname(os.path.abspath(__file__))
    audited = set()
    for name in os.listdir(here):
        if name.startswith("test_experiment") and name.endswith(".py"):
            text = open(os.path.join(here, name), encoding="utf-8").read()
            if re.search(r"=\s*run_audited\(", text):     # a run through it (not this line's pattern)
                audited.update(n for n in experiment_names() if f'"{n}"' in text or f"'{n}'" in text)
    assert audited == set(experiment_names()), set(experiment_names()) - audited


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_a_worker_without_cuda_says_so_in_one_line(tmp_path):
    """A Dask worker gets the device the client resolved; one without CUDA must say so, not fail deep inside."""
    spec = {"experiment": NAME, "arm": {"name": "N64", "N": 64}, "seed": 0, "config": {}, "device": "cuda",
            "directory": str(tmp_path / "t")}
    with pytest.raises(UsageError, match="no CUDA device in this worker"):
        execute_task(spec)
    assert not os.path.exists(tmp_path / "t" / "result.json")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_runs_and_resumes_on_cuda(tmp_path, name):
    """On a GPU machine: each smoke preset runs with --device cuda, and a killed run resumes to completion (the
    same random numbers as on the CPU; the arithmetic, and so the last bits, may differ)."""
    whole = run_experiment(name, preset="smoke", seeds=1, device="cuda", out=str(tmp_path / "whole"),
                           scheduler="serial", progress=False)
    assert whole["device"] == "cuda" and whole["tasks"] >= 1
    out = str(tmp_path / "killed")
    with pytest.raises(SimulatedKill), killed_after(3):
        run_experiment(name, preset="smoke", seeds=1, device="cuda", out=out, scheduler="serial", progress=False)
    resumed = run_experiment(name, preset="smoke", seeds=1, device="cuda", out=out, scheduler="serial",
                             progress=False, resume=True)
    assert [v["name"] for v in resumed["verdicts"]] == [v["name"] for v in whole["verdicts"]]


class _NotATensor:
    """A class a checkpoint must not be able to make the loader instantiate."""


def test_resume_refuses_a_checkpoint_holding_other_objects(tmp_path, capsys, monkeypatch):
    """Checkpoints are loaded with weights_only=True: unpickling runs no code. One that holds another object (a
    file from elsewhere, or tampered with) is refused in one line (exit 2) saying what to do."""
    out = str(tmp_path / "x")
    with pytest.raises(SimulatedKill), killed_after(1):
        run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False)
    found = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f.startswith("checkpoint-") and f.endswith(".pt")]
    assert found
    for path in found:
        torch.save({"step": 0, "metrics_bytes": 0, "state": _NotATensor()}, path)
    from numerics._experiment import CheckpointError

    with pytest.raises(CheckpointError, match="cannot be loaded as tensors and state dicts .*delete it") as refused:
        run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, resume=True)
    # the command line says it in one line, exit 2 (the smoke preset is the tests' own, so the CLI is given the error)
    import verify._experiments as experiments

    def resume(*args, **kwargs):
        raise refused.value

    monkeypatch.setattr(experiments, "run_experiment", resume)
    code = main(["experiment", NAME, "--out", out, "--scheduler", "serial", "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot be loaded as tensors and state dicts" in err[-1], err


def test_run_seeds_are_named_streams_and_appending_one_moves_none(tmp_path):
    """Run.seeds: a stream's seed depends on the task seed and its position only (so an experiment can add a stream
    without moving the others), and the names must be distinct."""
    def seeds(directory, *names):
        return Run(experiment="t", arm={"name": "x"}, seed=5, config={}, directory=str(directory), device="cpu").seeds(*names)

    a = seeds(tmp_path / "a", "data", "init")
    b = seeds(tmp_path / "b", "data", "init", "reinit")
    assert a == {k: b[k] for k in a} and len(set(b.values())) == 3
    assert all(0 <= v < 2**62 for v in b.values())
    with pytest.raises(ValueError, match="distinct stream names"):
        seeds(tmp_path / "c", "data", "data")
