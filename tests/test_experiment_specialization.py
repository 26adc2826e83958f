"""Tests of the ``student-specialization`` experiment (numerics/experiments/_specialization.py)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch

from numerics.experiments._specialization import (
    activation_correlation,
    hungarian_correlation,
    lshape_ratio,
    rank_correlation,
    time_to_threshold,
    unaligned_share,
)
from tests._draw_audit import run_audited
from tests._roundoff import assert_within, cosine_error, gamma, unit_roundoff
from verify._experiments import run_experiment
from tests._kill import SimulatedKill, killed_after

NAME = "student-specialization"


# --------------------------------------------------------------------------------------------- metric helpers
def _centring_angle(v: np.ndarray, dtype) -> float:
    """Bound on the angle between fl(v - fl(mean v)) and the exactly centred v_c, v of length N in ``dtype``.

    The mean (N - 1 additions, one division) is off by at most gamma_N mean|v|; each centred entry
    fl(v_i - m_hat) adds u |v_i - m_hat|. So ||error|| <= sqrt(N) gamma_N mean|v| (1 + u) + u ||v_c||,
    and the angle is at most asin of that over ||v_c||.
    """
    N, u = len(v), unit_roundoff(dtype)
    v = v.astype(np.float64)
    norm_c = float(np.linalg.norm(v - v.mean()))
    error = math.sqrt(N) * gamma(N, dtype) * float(np.abs(v).mean()) * (1 + u) + u * norm_c
    return math.asin(min(error / norm_c, 1.0))


@pytest.mark.roundoff
def test_activation_correlation_known_cases():
    g = torch.Generator().manual_seed(0)
    a = torch.relu(torch.randn(500, 3, generator=g))  # (N, 3) teacher activations, float32
    dead = torch.zeros(500, 1)
    s = torch.cat([2.0 * a[:, [1]] + 1.0, -a[:, [0]], dead, a[:, [2]]], dim=1)  # (N, 4) students
    C = activation_correlation(a, s)  # (3, 4)
    assert C.shape == (3, 4)
    f32, N = torch.float32, a.shape[0]
    an, sn = a.double().numpy(), s.double().numpy()
    theta = [_centring_angle(an[:, i], f32) for i in range(3)]  # (3,) teacher columns
    phi = [_centring_angle(sn[:, j], f32) for j in range(4) if j != 2]  # live student columns 0, 1, 3
    # the exact correlation of the copies is +-1 up to the rounding of fl(2 a + 1): e_i <= u |2 a_i + 1|,
    # an angle of at most asin(||e|| / ||2 a_c||); -a and a itself are exact copies
    affine = math.asin(unit_roundoff(f32) * float(np.linalg.norm(2 * an[:, 1] + 1)) / (2 * float(np.linalg.norm(an[:, 1] - an[:, 1].mean()))))
    # +-1 is the maximum of the cosine: angle errors enter as 1 - cos(total angle), evaluation round-off linearly
    for (i, j, jl, sign, extra) in ((1, 0, 0, 1.0, affine), (0, 1, 1, -1.0, 0.0), (2, 3, 2, 1.0, 0.0)):
        bound = cosine_error(N, f32) + 1 - math.cos(theta[i] + phi[jl] + extra)
        assert abs(C[i, j].item() - sign) <= bound, (i, j, C[i, j].item(), bound)
    assert torch.all(C[:, 2] == 0)  # a dead student correlates with nothing: exactly 0 by construction
    ref = np.corrcoef(an.T, sn[:, [0, 1, 3]].T)[:3, 3:]  # float64 reference at the same (float32) data
    # away from +-1 an angle error moves the cosine by at most the angle; plus both evaluations' round-off
    f64 = torch.float64
    bound = np.array([[cosine_error(N, f32) + cosine_error(N, f64) + theta[i] + phi[j]
                       + _centring_angle(an[:, i], f64) + _centring_angle(sn[:, [0, 1, 3][j]], f64)
                       for j in range(3)] for i in range(3)])
    assert_within(C[:, [0, 1, 3]].numpy(), ref, bound, "float32 correlation vs float64 corrcoef")


@pytest.mark.roundoff
def test_hungarian_correlation_prefers_total_over_greedy():
    # Greedy (teacher 0 takes its best student 0) would leave teacher 1 with 0.1: total 1.0.
    # The optimal matching gives teacher 0 student 1 (0.8) and teacher 1 student 0 (0.85): total 1.65.
    C = np.array([[0.9, 0.8, 0.0],
                  [0.85, 0.1, 0.0]])
    np.testing.assert_array_equal(hungarian_correlation(C), [0.8, 0.85])  # entries of C, copied: exact
    with pytest.raises(ValueError, match="n >= m"):
        hungarian_correlation(C.T)


@pytest.mark.roundoff
def test_time_to_threshold_and_statistics():
    steps = [0, 10, 20]
    values = [[0.1, 0.96, 0.2], [0.97, 0.5, 0.3], [0.99, 0.99, 0.4]]
    assert time_to_threshold(steps, values, 0.95) == [10.0, 0.0, math.inf]
    result = {"strength": [1.0, 0.5, 0.25], "time_to_threshold": [0.0, 10.0, None],
              "student_best_corr_final": [0.99, 0.98, 0.5, 0.2], "fanout_norm_final": [1.0, 3.0, 0.1, 0.3]}
    # Pearson correlation of the integer ranks (1, 2, 3), exactly centred: the cosine's round-off, n = 3
    assert rank_correlation(result) == pytest.approx(-1.0, rel=0, abs=cosine_error(3))  # stronger -> earlier; never ranked last
    # medians (0.1 + 0.3) / 2 and (1 + 3) / 2, then a quotient: 5 operations, the decimals 0.1, 0.3 rounded
    # (relative u on their sum) counted in; 0.2 / 2.0 itself: 3 (two literals, /)
    assert lshape_ratio(result, 0.95) == pytest.approx(0.2 / 2.0, rel=gamma(5) + gamma(3), abs=0)
    # 1 + 3 additions, 1 division, the decimals 0.1, 0.3 rounded (relative u on each sum): 7; 0.4 / 4.4: 3
    assert unaligned_share(result, 0.95) == pytest.approx(0.4 / 4.4, rel=gamma(7) + gamma(3), abs=0)
    assert lshape_ratio(dict(result, student_best_corr_final=[0.1] * 4), 0.95) == 1.0
    assert lshape_ratio(dict(result, student_best_corr_final=[0.99] * 4), 0.95) == 0.0


# --------------------------------------------------------------------------------------------- the runner
def _task_files(out, arm, seed):
    d = os.path.join(out, "tasks", arm, f"seed-{seed}")
    with open(os.path.join(d, "result.json"), encoding="utf-8") as fh:
        result = json.load(fh)["result"]
    with open(os.path.join(d, "metrics.jsonl"), "rb") as fh:
        metrics = fh.read()
    return result, metrics


def test_smoke_preset_writes_files_and_summary(tmp_path):
    out = str(tmp_path / "run")
    summary = run_audited(NAME, preset="smoke", scheduler="serial", progress=False, out=out)
    for arm in ("p1", "p2"):
        for seed in (0, 1):
            result, metrics = _task_files(out, arm, seed)
            lines = [json.loads(line) for line in metrics.decode().splitlines()]
            assert [row["step"] for row in lines] == list(range(0, 201, 40))
            assert len(lines[0]["best_corr"]) == 4 and len(lines[0]["fanout_norm"]) == 12
            assert len(result["time_to_threshold"]) == 4 and result["loss_initial"] > 0
            assert result["unaligned_output_relative"] >= 0
    names = {v["name"] for v in summary["verdicts"]}
    assert names == {f"{a}/{v}" for a in ("p1", "p2")
                     for v in ("strong-first", "l-shape", "loss-small", "unaligned-contribution")}
    kinds = {v["name"]: v["kind"] for v in summary["verdicts"]}
    assert {kinds[f"p1/{v}"] for v in ("strong-first", "l-shape")} == {"finding"}
    assert kinds["p1/loss-small"] == "sanity" and kinds["p1/unaligned-contribution"] == "reported"
    assert all(v["estimate"]["n"] == 2 for v in summary["verdicts"])
    assert set(summary["tables"]["recovered_teacher_nodes"]) == {"p1", "p2"}
    for name in ("summary.json", "summary.md", "config.json", "figures/correlation_vs_time.png",
                 "figures/l_shape.png"):
        assert os.path.exists(os.path.join(out, name)), name


def test_killed_and_resumed_run_is_identical(tmp_path):
    common = {"preset": "smoke", "scheduler": "serial", "progress": False, "overrides": {"decays": [1.0]}}
    straight = str(tmp_path / "straight")
    run_experiment(NAME, out=straight, **common)
    resumed = str(tmp_path / "resumed")
    with pytest.raises(SimulatedKill), killed_after(93):       # between checkpoints (every 20 steps)
        run_experiment(NAME, out=resumed, **common)
    assert not os.path.exists(os.path.join(resumed, "tasks", "p1", "seed-0", "result.json"))
    run_experiment(NAME, out=resumed, resume=True, **common)
    for seed in (0, 1):
        assert _task_files(resumed, "p1", seed) == _task_files(straight, "p1", seed)


# --------------------------------------------------------------------------------------------- the quick preset
@pytest.mark.slow
def test_quick_preset_verdicts_hold(tmp_path):
    out = str(tmp_path / "quick")
    summary = run_experiment(NAME, preset="quick", scheduler="serial", progress=False, out=out)
    failing = [(v["name"], v["status"], v["estimate"]) for v in summary["verdicts"]
               if v["asserted"] and v["status"] != "holds"]
    assert not failing, failing
    for figure in summary["figures"]:
        assert os.path.getsize(os.path.join(out, figure)) > 0
    assert len(summary["figures"]) == 2


def test_unaligned_contribution_disagrees_with_the_seed_only_where_its_interval_says_so():
    """The seed's "contributions of unspecialized nodes are zero": a disagreement, built from the run, exactly
    where the share of the fan-out norm held by unaligned students has its 95% interval above 5%."""
    from numerics.experiments import _specialization as sp

    config = dict(sp.PRESETS["quick"], decays=[1.0], seeds=3, m=2)

    def result(share):       # two aligned students of norm 1, one unaligned of norm share / (1 - share) * 2
        norm = 2 * share / (1 - share)
        return {"strength": [1.0, 0.5], "time_to_threshold": [100.0, 200.0], "time_to_threshold_matched": [100.0, 200.0],
                "loss_initial": 1.0, "loss_final": 1e-4, "eval_loss_final": 1e-4, "best_corr_final": [0.99, 0.98],
                "matched_corr_final": [0.99, 0.98], "student_best_corr_initial": [0.1, 0.2, 0.3],
                "fanout_norm_initial": [0.5, 0.5, 0.5], "student_best_corr_final": [0.99, 0.98, 0.3],
                "fanout_norm_final": [1.0, 1.0, norm], "unaligned_output_relative": 0.001}

    big = sp._summarize(config, {("p1", s): result(x) for s, x in enumerate((0.2, 0.25, 0.3))})
    (d,) = big["disagreements"]
    assert d.status == "contradicts" and "25% [" in d.ours and "cancel as a group" in d.ours
    small = sp._summarize(config, {("p1", s): result(x) for s, x in enumerate((0.01, 0.02, 0.03))})
    assert small["disagreements"] == []
