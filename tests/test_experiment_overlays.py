"""overlay-theorem4 and overlay-population-flow: smoke runs, exact kill/resume, the helpers against references."""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import _covariance_operator as nco
from numerics import population_gradient_samples
from numerics.experiments import _overlays as ov
from tests._draw_audit import run_audited
from tests._roundoff import assert_within, roundoff, sympy_ops, unit_roundoff
from tests.test_population_gradient_properties import _float64_bound
from verify._experiments import run_experiment
from verify._stats import critical_z
from tests._kill import SimulatedKill, killed_after

F64 = torch.float64
NAMES = ("overlay-theorem4", "overlay-population-flow")


def _tasks(out) -> list[str]:
    root = os.path.join(out, "tasks")
    return sorted(os.path.join(root, arm, s) for arm in os.listdir(root) for s in os.listdir(os.path.join(root, arm)))


# --------------------------------------------------------------------------------------------- runs
@pytest.mark.parametrize("name", NAMES)
def test_smoke_run_writes_files_and_summary(tmp_path, name):
    doc = run_audited(name, preset="smoke", scheduler="serial", progress=False, out=str(tmp_path))
    for f in ("config.json", "summary.json", "summary.md"):
        assert os.path.exists(tmp_path / f)
    tasks = _tasks(str(tmp_path))
    assert len(tasks) == doc["tasks"] == 4 * (2 if name == "overlay-theorem4" else 1)
    for task in tasks:
        assert os.path.getsize(os.path.join(task, "metrics.jsonl")) > 0
        with open(os.path.join(task, "result.json")) as fh:
            result = json.load(fh)["result"]
        assert np.isfinite(result["gap"]) and result["gap"] > 0
    assert doc["figures"] and all(os.path.exists(tmp_path / f) for f in doc["figures"])
    assert {v["status"] for v in doc["verdicts"]} <= {"holds", "fails", "inconclusive"}
    assert all(v["estimate"]["n"] == 2 for v in doc["verdicts"])
    assert "gap_by_arm" in doc["tables"] and len(doc["tables"]["slopes"]) > 0


@pytest.mark.parametrize("name, overrides, kill", [
    ("overlay-theorem4", {"methods": ["sgd"], "steps": {"sgd": [20, 10]}}, 7),  # killed inside the first task
    ("overlay-population-flow", {"Ns": [64, 32]}, 37),
])
def test_kill_and_resume_reproduces_the_uninterrupted_run(tmp_path, name, overrides, kill):
    kw = dict(preset="smoke", seeds=1, overrides=overrides, scheduler="serial", progress=False)
    run_experiment(name, out=str(tmp_path / "ref"), **kw)
    with pytest.raises(SimulatedKill), killed_after(kill):
        run_experiment(name, out=str(tmp_path / "run"), **kw)
    run_experiment(name, out=str(tmp_path / "run"), resume=True, **kw)
    ref, run = _tasks(str(tmp_path / "ref")), _tasks(str(tmp_path / "run"))
    assert [os.path.relpath(t, tmp_path / "ref") for t in ref] == [os.path.relpath(t, tmp_path / "run") for t in run]
    for a, b in zip(ref, run):
        with open(os.path.join(a, "result.json")) as fa, open(os.path.join(b, "result.json")) as fb:
            assert json.load(fa)["result"] == json.load(fb)["result"]
        with open(os.path.join(a, "metrics.jsonl"), "rb") as fa, open(os.path.join(b, "metrics.jsonl"), "rb") as fb:
            assert fa.read() == fb.read()


# --------------------------------------------------------------------------------------------- Theorem 4 helpers
def _theta(seed: int) -> torch.Tensor:
    return torch.randn(6, generator=torch.Generator().manual_seed(seed), dtype=F64)


# Round-off of the enumerated 1/2 L_simp and its gradient (tests/_roundoff.py). f(x) = sum_j w2_j relu(w1_j^T x_j)
# has magnitude F(x) = sum_j |w2_j| |w1_j|^T |x_j| and derivatives d f / d w2_j <= |w1_j|^T |x_j|, d f / d w1_j <= |w2_j| |x_j|
# (G(x), per theta component). Each pair term (f_a - f_b)^2 / 2 is <= 2 Fmax^2 and its gradient <= 4 Fmax Gmax; the
# loss (pos - neg) / 2 averages at most 36^2 = 1296 pairs: f in 5 operations, the pair and its square or derivative 3,
# the means 1296 (+ the backward pass through f, 5).
_PAIRS = 36**2
_LOSS_OPS = _PAIRS + 2 * 5 + 3 + 4


def _theorem4_magnitudes(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
    """(Fmax, Gmax (6,)) over the 36 enumerated points, theta ordered (w2_0, w2_1, w1_0, w1_1)."""
    X = ov.theorem4_points().reshape(-1, 2, 2).abs()  # (36, unit, 2)
    w2, w1 = theta[:2].abs(), theta[2:].reshape(2, 2).abs()
    h = (X * w1).sum(-1)  # (36, 2): |w1_j|^T |x_j|
    F = (h * w2).sum(-1).max()
    G = torch.cat([h.amax(0), (w2[:, None] * X).amax(0).reshape(-1)])  # (6,)
    return float(F), G


@functools.cache
def _field_magnitude():
    """theta -> the theorem-4 field with every term's absolute value (the engine's _magnitude), and its operation count."""
    from theory._covariance_operator import theorem4_field
    from numerics._compile import _magnitude, lambdify_torch

    sym = sp.Matrix(sp.symbols("s_0:6", real=True))
    field = list(theorem4_field(sym[2:4, :], sym[4:6, :], sym[0:2, :]))
    mag = lambdify_torch(list(sym), [_magnitude(e) for e in field])
    return (lambda th: mag(*torch.as_tensor(th, dtype=F64)).abs()), sympy_ops(field)


@pytest.mark.roundoff
@pytest.mark.parametrize("seed", range(4))
def test_network_gradient_is_theorem4_field(seed):
    """-grad of the enumerated 1/2 L_simp through LocalSSLNet = the autograd reference = the lambdified field."""
    theta = _theta(seed)
    net = ov.LocalSSLNet(theta[None, :])
    ov.half_simclr_loss(net, ov.theorem4_points()).sum().backward()
    flow = -torch.cat([net.w2.grad[0], net.w1.grad[0].reshape(-1)])  # (6,)
    F, G = _theorem4_magnitudes(theta)
    autograd = roundoff(F64, _LOSS_OPS, 4 * F * G)  # (6,) each autograd computation
    assert_within(flow, nco.theorem4_flow(theta[2:4], theta[4:6], theta[:2]), 2 * autograd, "LocalSSLNet vs nco flow")
    mag, ops = _field_magnitude()
    assert_within(flow, nco.theorem4_rhs()(theta.numpy()), autograd + roundoff(F64, ops, mag(theta)), "flow vs SymPy field")


@pytest.mark.roundoff
def test_sampled_loss_averaged_over_every_tuple_is_the_enumerated_loss():
    thetas = torch.stack([_theta(0), _theta(1)])  # two replicas: (2, 6)
    net, X = ov.LocalSSLNet(thetas), ov.theorem4_points()
    grids = torch.meshgrid(*(torch.arange(k) for k in (4, 9, 9, 4, 9)), indexing="ij")
    every = torch.stack([g.reshape(-1) for g in grids])[:, None, :].expand(5, 2, -1)  # (5, R=2, 11664)
    # the sampled form averages B = 11664 tuples (each a positive and a negative pair term), the enumerated 1296 pairs
    mags = torch.tensor([2 * _theorem4_magnitudes(th)[0] ** 2 for th in thetas], dtype=F64)  # (R,) sum |terms|
    bound = roundoff(F64, every.shape[-1] + _LOSS_OPS, mags) + roundoff(F64, _LOSS_OPS, mags)
    assert_within(ov.half_simclr_loss(net, X, every), ov.half_simclr_loss(net, X), bound, "sampled over every tuple vs enumerated")


def test_theorem4_ode_matches_a_plain_solver_where_no_gate_flips_and_conserves_q():
    from scipy.integrate import solve_ivp

    theta0 = torch.tensor([1.0, 0.8, 1.0, 0.5, 0.6, 1.0], dtype=F64)  # no gate flip on [0, 1]
    ode = nco.theorem4_ode(theta0, 1.0, 10.0, 4, rtol=1e-10, atol=1e-12)  # the experiment's tolerances
    assert ode["reason"] == "horizon" and ode["T"] == 1.0 and ode["crossings"] == 0
    plain = solve_ivp(lambda _, y: nco.theorem4_rhs()(y), (0.0, 1.0), theta0.numpy(), method="DOP853", rtol=1e-12, atol=1e-14)
    # not round-off: two DOP853 solutions (local error tolerances rtol 1e-10 / atol 1e-12 here, 1e-12 / 1e-14 in the
    # plain run); the global error is not bounded by the tolerances alone (it grows with the step count and the
    # field's Lipschitz constant, here ~1 on [0, 1]); 100 x the looser local tolerance leaves room for ~100 steps
    np.testing.assert_allclose(ode["theta"][-1], plain.y[:, -1], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ov.conserved(ode["theta"]), ov.conserved(theta0.numpy())[None].repeat(5, 0), atol=1e-10)


@pytest.mark.roundoff
def test_conserved_is_the_theorys_first_integral():
    from theory._covariance_operator import conserved_quantity

    theta = _theta(3).numpy()
    expected = [float(conserved_quantity(sp.Matrix(theta[2 + 2 * j: 4 + 2 * j]), theta[j])) for j in range(2)]
    # Q_j = w2_j^2 - |w1_j|^2 (3 squares, 2 additions) twice, in different order: on the magnitude w2_j^2 + |w1_j|^2
    mag = np.array([theta[j] ** 2 + np.sum(theta[2 + 2 * j: 4 + 2 * j] ** 2) for j in range(2)])
    assert_within(ov.conserved(theta), np.array(expected), 2 * roundoff(F64, 5, mag), "conserved vs theory")


@pytest.mark.roundoff
def test_theorem4_ode_stops_at_a_sliding_gate_boundary():
    """theta0 = 1.0 * randn(6) of seed 4: the flow runs into w1_0^T x = 0 from both sides (Filippov sliding)."""
    ode = nco.theorem4_ode(_theta(4), 30.0, 10.0, 4, rtol=1e-10, atol=1e-12)
    assert ode["reason"] == "sliding" and 1.0 < ode["T"] < 30.0
    y = ode["theta"][-1]
    xs = nco.theorem4_data()[0].reshape(-1, 2).numpy()  # (6, 2) unit 0's inputs
    pre = xs @ y[2:4]
    # it ended on a gate boundary: the terminal event fires where |w1_0^T x| = delta, the code's offset
    # 1e-9 max(1, |w1_0|) |x|; the event time is located to 4 eps t (brentq), moving w1_0^T x by |rate| 4 eps T
    rate = np.abs(xs @ nco.theorem4_rhs()(y)[2:4])  # (6,)
    delta = 1e-9 * max(1.0, float(np.linalg.norm(y[2:4]))) * np.linalg.norm(xs, axis=1)
    assert np.any(np.abs(pre) <= delta * (1 + 4 * unit_roundoff()) + rate * 8 * unit_roundoff() * ode["T"]), (pre, delta)


# --------------------------------------------------------------------------------------------- population flow helpers
@pytest.mark.roundoff
def test_population_field_is_minus_the_population_gradient():
    d = 4
    rhs = ov._population_rhs(d)
    w_star = np.array([1.0, 0.0, 0.0, 0.0])
    # theta = 0: -(w - w*)/2, within the float64 bound of the closed form (acos conditioning included; the
    # derivation is tests/test_population_gradient_properties.py's, same closed form, d = 4)
    w = 0.5 * w_star
    assert_within(rhs(w, w_star), 0.25 * w_star, _float64_bound(w, w_star), "field at theta = 0")
    assert np.all(np.isfinite(rhs(w_star * (1 + 1e-15), w_star)))  # parallel vectors: round-off guarded
    w = np.array([0.3, -0.4, 0.1, 0.2])
    g = population_gradient_samples(torch.tensor(w), torch.tensor(w_star), 400_000, torch.Generator().manual_seed(0))
    mean, se = g.mean(0).numpy(), g.std(0).numpy() / np.sqrt(g.shape[0])
    # z-test at false-failure rate 1e-6 over the d components jointly (fixed seed), plus the field's float64 bound
    # and the round-off of the sample mean (gamma_n mean |x|)
    n = g.shape[0]
    bound = critical_z(1e-6, d) * se + _float64_bound(w, w_star) + roundoff(F64, n, g.abs().mean(0).numpy())
    assert_within(-rhs(w, w_star), mean, bound, "field vs Monte Carlo")


def test_population_flow_converges_to_the_teacher():
    w_star = np.array([1.0, 0.0, 0.0])
    path = ov.population_flow(np.array([-0.02, 0.03, 0.01]), w_star, np.linspace(0.0, 12.0, 5))  # angle > 90 deg
    # dynamics, not round-off: near w* the flow contracts at rate >= 1/2 (the Hessian's smallest eigenvalue), so by
    # t = 12 the distance is ~e^{-6} ~ 2.5e-3 of its size after the escape from the wide angle; 1e-2 allows that escape
    assert np.linalg.norm(path[-1] - w_star) < 1e-2
    assert np.all(np.diff(np.linalg.norm(path - w_star, axis=1))[1:] < 0)


def test_sup_of_a_diverged_run_is_nan():
    assert np.isnan(ov._sup([{"gap": 0.1}, {"gap": "nan"}], "gap"))
    assert ov._sup([{"gap": 0.1}, {"gap": 0.3}], "gap") == 0.3


# --------------------------------------------------------------------------------------------- quick preset
# Known at quick scale (docs/experiments.md): SGD's drift exponent is not pinned at the quick preset's coarse steps
# (near the finite-time blow-up a few replicas run ahead), so that preset reports it instead of asserting it.
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_quick_preset_verdicts_hold(tmp_path, name):
    from verify._experiments import run_failures

    doc = run_experiment(name, preset="quick", scheduler="serial", progress=False, out=str(tmp_path))
    assert run_failures(doc) == [], run_failures(doc)       # every finding and sanity check holds (Holm, power)
    reported = {v["name"] for v in doc["verdicts"] if v["kind"] == "reported"}
    if name == "overlay-theorem4":
        assert reported == {"sgd-conservation-order-lower", "sgd-conservation-order-upper"}
    assert len(doc["figures"]) == 2 and all(os.path.exists(tmp_path / f) for f in doc["figures"])


