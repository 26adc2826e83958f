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
from verify._experiments import run_experiment

NAME = "student-specialization"


# --------------------------------------------------------------------------------------------- metric helpers
def test_activation_correlation_known_cases():
    g = torch.Generator().manual_seed(0)
    a = torch.relu(torch.randn(500, 3, generator=g))  # (N, 3) teacher activations
    dead = torch.zeros(500, 1)
    s = torch.cat([2.0 * a[:, [1]] + 1.0, -a[:, [0]], dead, a[:, [2]]], dim=1)  # (N, 4) students
    C = activation_correlation(a, s)  # (3, 4)
    assert C.shape == (3, 4)
    assert C[1, 0].item() == pytest.approx(1.0, abs=1e-6)  # positive affine copy
    assert C[0, 1].item() == pytest.approx(-1.0, abs=1e-6)  # negated copy
    assert torch.all(C[:, 2] == 0)  # a dead student correlates with nothing
    assert C[2, 3].item() == pytest.approx(1.0, abs=1e-6)
    ref = np.corrcoef(a.T.numpy(), s[:, [0, 1, 3]].T.numpy())[:3, 3:]  # numpy reference, live columns
    np.testing.assert_allclose(C[:, [0, 1, 3]].numpy(), ref, atol=1e-5)


def test_hungarian_correlation_prefers_total_over_greedy():
    # Greedy (teacher 0 takes its best student 0) would leave teacher 1 with 0.1: total 1.0.
    # The optimal matching gives teacher 0 student 1 (0.8) and teacher 1 student 0 (0.85): total 1.65.
    C = np.array([[0.9, 0.8, 0.0],
                  [0.85, 0.1, 0.0]])
    np.testing.assert_allclose(hungarian_correlation(C), [0.8, 0.85])
    with pytest.raises(ValueError, match="n >= m"):
        hungarian_correlation(C.T)


def test_time_to_threshold_and_statistics():
    steps = [0, 10, 20]
    values = [[0.1, 0.96, 0.2], [0.97, 0.5, 0.3], [0.99, 0.99, 0.4]]
    assert time_to_threshold(steps, values, 0.95) == [10.0, 0.0, math.inf]
    result = {"strength": [1.0, 0.5, 0.25], "time_to_threshold": [0.0, 10.0, None],
              "student_best_corr_final": [0.99, 0.98, 0.5, 0.2], "fanout_norm_final": [1.0, 3.0, 0.1, 0.3]}
    assert rank_correlation(result) == pytest.approx(-1.0)  # stronger -> earlier; never ranked last
    assert lshape_ratio(result, 0.95) == pytest.approx(0.2 / 2.0)  # medians 0.2 / 2.0
    assert unaligned_share(result, 0.95) == pytest.approx(0.4 / 4.4)
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
    summary = run_experiment(NAME, preset="smoke", scheduler="serial", progress=False, out=out)
    for arm in ("p1", "p2"):
        for seed in (0, 1):
            result, metrics = _task_files(out, arm, seed)
            lines = [json.loads(line) for line in metrics.decode().splitlines()]
            assert [row["step"] for row in lines] == list(range(0, 201, 40))
            assert len(lines[0]["best_corr"]) == 4 and len(lines[0]["fanout_norm"]) == 12
            assert len(result["time_to_threshold"]) == 4 and result["loss_initial"] > 0
            assert result["unaligned_output_relative"] >= 0
    names = {v["name"] for v in summary["verdicts"]}
    assert names == {f"{a}/{v}" for a in ("p1", "p2") for v in ("strong-first", "l-shape", "loss-small")}
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
    with pytest.raises(BaseException) as info:
        run_experiment(NAME, out=resumed, stop_after=93, **common)  # between checkpoints (every 20 steps)
    assert type(info.value).__name__ == "_SimulatedKill"
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
