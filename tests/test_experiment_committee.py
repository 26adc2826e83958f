"""overlay-committee-ode's plateau-and-escape window (numerics/experiments/_committee_ode.py; Saad & Solla 1995):
the specialisation measure, the escape-time detector, the ODE's symmetric fixed point and its escape, and a tiny
run of the escape arms (files, verdict names, kill and resume)."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

from numerics._committee import generalization_error_value, saad_solla_ode
from numerics.experiments._committee_ode import (PRESETS, _arms, _ode_through_escape, escape_time, specialisation,
                                                 symmetric_plateau)
from tests._kill import SimulatedKill, killed_after
from verify._experiments import run_experiment

NAME = "overlay-committee-ode"
F64 = torch.float64
I2 = torch.eye(2, dtype=F64)
# a tiny escape run: K = M = 2 (the smoke preset has K = M = 1, hence no escape arms), N = 32, 2 replicas, 1 seed
TINY = {"K": 2, "M": 2, "escape_Ns": [32], "escape_replicas": 2}


# --------------------------------------------------------------------------------------------- the measure
def test_specialisation_is_one_for_the_teacher_up_to_a_permutation_and_scale():
    for R in (I2, torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=F64)):
        assert specialisation(I2, R, I2).item() == pytest.approx(1.0, abs=1e-15)
        # students of norm 3 along the teachers: cosines are 1, whatever the norm
        assert specialisation(9 * I2, 3 * R, I2).item() == pytest.approx(1.0, abs=1e-15)


def test_specialisation_is_zero_on_the_symmetric_plateau_and_negative_for_a_shared_teacher():
    p = symmetric_plateau(0.5)
    Q = torch.tensor([[p["q"], p["c"]], [p["c"], p["q"]]], dtype=F64)
    assert specialisation(Q, torch.full((2, 2), p["r"], dtype=F64), I2).item() == pytest.approx(0.0, abs=1e-15)
    shared = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)  # both students on teacher 0
    assert specialisation(torch.ones(2, 2, dtype=F64), shared, I2).item() == pytest.approx(-1.0)
    anti = -I2  # students anti-aligned with the teachers: g is odd, the committee sign cannot undo it
    assert specialisation(I2, anti, I2).item() == pytest.approx(-1.0)


def test_specialisation_of_a_partly_specialised_student_and_batches():
    # cosines c = [[0.9, 0.3], [0.2, 0.8]]: identity matching: min(0.9, 0.8) - max(0.3, 0.2) = 0.5
    R = torch.tensor([[0.9, 0.3], [0.2, 0.8]], dtype=F64)
    assert specialisation(I2, R, I2).item() == pytest.approx(0.5)
    batch = torch.stack([R, R.flip(1), I2])  # (3, 2, 2): the swapped columns are the same student, permuted
    got = specialisation(I2.expand(3, 2, 2), batch, I2)
    assert got.shape == (3,) and got.tolist() == pytest.approx([0.5, 0.5, 1.0])


def test_specialisation_needs_as_many_students_as_teachers():
    with pytest.raises(ValueError, match="K = M"):
        specialisation(I2, torch.ones(2, 3, dtype=F64), torch.eye(3, dtype=F64))


# --------------------------------------------------------------------------------------------- the detector
def test_escape_time_interpolates_the_first_crossing():
    alphas = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert escape_time(alphas, [0.0, 0.2, 0.4, 0.8, 0.3], 0.5) == pytest.approx(2.25)  # first crossing, not the last
    assert escape_time(alphas, [0.6, 0.2, 0.4, 0.8, 0.9], 0.5) == 0.0  # already there at the start
    assert escape_time(alphas, [0.0, 0.1, 0.2, 0.3, 0.4], 0.5) is None  # never
    assert escape_time(alphas, [0.0, 0.1, 0.2, 0.3, 0.5], 0.5) == 4.0  # reaching it counts
    with pytest.raises(ValueError, match="same non-empty length"):
        escape_time(alphas, [0.0], 0.5)


# --------------------------------------------------------------------------------------------- the ODE
def test_symmetric_plateau_is_a_fixed_point_the_symmetric_ode_reaches():
    p = symmetric_plateau(0.5)
    assert p["residual"] < 1e-12 and 0.01 < p["eg"] < 0.02  # Saad & Solla: eps ~ 0.015 on the K = M = 2 plateau
    Q0, R0 = 0.25 * I2, torch.full((2, 2), 0.01, dtype=F64)  # a perfectly symmetric start never leaves the subspace
    Q, R = saad_solla_ode(Q0, R0, I2, 0.5, torch.tensor([0.0, 100.0, 150.0], dtype=F64), substeps=300)
    assert specialisation(Q[-1], R[-1], I2).item() == pytest.approx(0.0, abs=1e-12)
    # the approach along the symmetric subspace is slow (rate ~ 0.005 per unit alpha): at alpha = 100, 150 the
    # plateau's eps is within 1% of the fixed point's and still falling towards it
    eg = generalization_error_value(Q, R, I2).tolist()
    assert 0 < eg[2] - p["eg"] < eg[1] - p["eg"] < 0.01 * p["eg"], (eg, p["eg"])


def _asymmetric_start(delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The plateau's fixed point with R tilted towards the identity by delta (the unstable direction)."""
    p = symmetric_plateau(0.5)
    Q = torch.tensor([[p["q"], p["c"]], [p["c"], p["q"]]], dtype=F64)
    return Q, torch.full((2, 2), p["r"], dtype=F64) + delta * torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=F64)


def test_the_ode_escapes_from_a_tilted_plateau_in_a_time_linear_in_log_of_the_tilt():
    """From the fixed point plus an asymmetry delta the escape takes ~ log(1 / delta) / lambda (the plateau's
    unstable eigenvalue lambda): halving log delta's step changes alpha_esc by equal amounts. This is the log N law
    (the start's asymmetry is ~ N^-1/2)."""
    times = []
    for delta in (1e-2, 1e-3, 1e-4):
        alphas, Q, R, spec, esc, end = _ode_through_escape(*_asymmetric_start(delta), I2, 0.5, 1.0, 0.5, 1.2, 300.0)
        assert esc is not None and end == math.ceil(1.2 * esc) and alphas[-1] == end
        assert spec[-1] > 0.5 and generalization_error_value(Q[-1], R[-1], I2).item() < symmetric_plateau(0.5)["eg"]
        times.append(esc)
    first, second = times[1] - times[0], times[2] - times[1]
    assert first > 10 and second == pytest.approx(first, rel=0.05), times


def test_ode_through_escape_stops_at_the_cap_without_an_escape():
    Q0, R0 = 0.25 * I2, torch.full((2, 2), 0.01, dtype=F64)  # symmetric: no escape, ever
    alphas, Q, R, spec, esc, end = _ode_through_escape(Q0, R0, I2, 0.5, 2.0, 0.5, 2.0, 20.0)
    assert esc is None and end == 20.0 and len(alphas) == Q.shape[0] == R.shape[0] == len(spec) == 11


# --------------------------------------------------------------------------------------------- the arms and a run
def test_escape_arms_only_with_a_permutation_symmetry():
    quick = dict(PRESETS["quick"])
    assert [a["name"] for a in _arms(quick)][-2:] == ["escape-N128", "escape-N256"]
    assert all(a["window"] == "gap" for a in _arms(dict(quick, K=1, M=1)))  # the smoke preset: K = M = 1
    assert all(a["window"] == "gap" for a in _arms(dict(quick, K=2, M=3)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    doc = run_experiment(NAME, preset="smoke", out=str(out), scheduler="serial", progress=False, seeds=1, overrides=TINY)
    return out, doc


def test_a_tiny_escape_run_writes_its_results_verdicts_and_figure(tiny):
    out, doc = tiny
    names = {v["name"]: v["kind"] for v in doc["verdicts"]}
    assert names == {"gap-shrinks": "finding", "gap-rate": "finding", "sgd-plateau": "finding",
                     "sgd-specialises": "finding", "sgd-escapes": "finding", "escape-time": "finding",
                     "window-covers-escape": "sanity"}
    result = json.load(open(out / "tasks" / "escape-N32" / "seed-0" / "result.json"))["result"]
    assert result["alpha_esc_ode"] is not None and result["alpha_end"] >= 2 * result["alpha_esc_ode"]
    assert len(result["alpha_esc_sgd"]) == len(result["spec_end"]) == 2  # the smoke preset's replicas
    assert len(result["alphas"]) == len(result["eg_ode"]) == len(result["eg_sgd"]) == len(result["spec_sgd"])
    assert "committee_escape.png" in [os.path.basename(f) for f in doc["figures"]]


def test_a_killed_escape_run_resumes_to_the_uninterrupted_result(tiny, tmp_path):
    ref, _ = tiny
    out = str(tmp_path / "run")
    with pytest.raises(SimulatedKill), killed_after(96 + 700):  # past the gap arms (32 + 64 steps), inside the escape
        run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, seeds=1, overrides=TINY)
    run_experiment(NAME, preset="smoke", out=out, scheduler="serial", progress=False, seeds=1, overrides=TINY,
                   resume=True)
    for arm in ("N64", "N128", "escape-N32"):
        task = os.path.join("tasks", arm, "seed-0")
        assert open(os.path.join(out, task, "metrics.jsonl"), "rb").read() == open(ref / task / "metrics.jsonl", "rb").read()
        assert json.load(open(os.path.join(out, task, "result.json")))["result"] == \
            json.load(open(ref / task / "result.json"))["result"]
