"""benchmarks/bench_experiments.py: whole tasks are timed, cut-off ones projected from their steps, bad input is one line.

Timings are not asserted (speed is measured by the script, not by tests); what is asserted is the bookkeeping.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from tests._roundoff import gamma

# the expensive fixture runs once: pytest-xdist keeps this module on one worker (--dist loadgroup), and it is
# session-scoped since a module-scoped one is rebuilt whenever the worker runs another module's tests in between
pytestmark = pytest.mark.xdist_group("test_bench_experiments")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def bench():
    spec = importlib.util.spec_from_file_location("bench_experiments", os.path.join(ROOT, "benchmarks", "bench_experiments.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_finished_and_cut_off_tasks(bench, tmp_path):
    from verify._experiments import _config, get_experiment

    name = "overlay-committee-ode"
    config = _config(get_experiment(name), "smoke", None, None)   # the smallest task that runs to its end
    arm = get_experiment(name).arms(config)[0]
    whole = bench.time_task(name, arm, config, "cpu", 1e9, str(tmp_path / "whole"))
    assert whole["finished"] and whole["task_seconds"] == whole["elapsed_seconds"]
    assert os.path.exists(tmp_path / "whole" / "result.json")

    cut = bench.time_task(name, arm, config, "cpu", 1e-9, str(tmp_path / "cut"))  # stopped after one step
    assert not cut["finished"] and cut["steps_done"] == 1 and "lower bound" in cut["note"]
    assert not os.path.exists(tmp_path / "cut" / "result.json")  # a stopped task leaves no result behind
    assert cut["steps_total"] == whole["steps_total"] == int(round(config["alpha_max"] * arm["N"]))
    # task_seconds = round(setup + per * total, 3) and setup_seconds = round(setup, 3): two roundings to 3 decimals
    # (half a unit, 0.5e-3, each), plus the float64 round-off of a product and a sum (gamma_3 |terms|)
    terms = cut["setup_seconds"] + cut["seconds_per_step"] * cut["steps_total"]
    assert cut["task_seconds"] == pytest.approx(terms, rel=0, abs=2 * 0.5e-3 + gamma(3) * (terms + cut["task_seconds"]))


def test_main_writes_json_and_projects_the_preset(bench, tmp_path, capsys):
    out = tmp_path / "b.json"
    assert bench.main(["overlay-population-flow", "--preset", "quick", "--budget", "0.3", "--workers", "2",
                       "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "theorycheck.bench-experiments/1" and doc["device"] == "cpu"
    (exp,) = doc["experiments"]
    assert exp["arms"] == len(exp["rows"]) == 4 and exp["tasks"] == 4 * exp["seeds"]
    total = sum(r["task_seconds"] for r in exp["rows"]) * exp["seeds"]
    # the script's own expression, in the same order, rounded to 1 decimal: half a unit (0.05) plus the float64
    # representation of the decimal and the division by 2 workers (exact), at most gamma_2 |total|
    slack = gamma(2) * total
    assert exp["one_worker_seconds"] == pytest.approx(total, rel=0, abs=0.05 + slack)
    assert exp["wall_seconds_estimate"] == pytest.approx(total / 2, rel=0, abs=0.05 + slack)
    assert exp["all_measured"] == all(r["finished"] for r in exp["rows"])
    assert "overlay-population-flow (quick, 24 tasks)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [(["nope"], "unknown experiment 'nope'"),
                                          (["--budget", "0"], "--budget must be > 0"),
                                          (["--device", "tpu"], "--device 'tpu': unknown device")])
def test_bad_input_is_one_line_exit_2(bench, tmp_path, capsys, argv, needle):
    assert bench.main(argv + ["--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not os.path.exists(tmp_path / "x.json")
