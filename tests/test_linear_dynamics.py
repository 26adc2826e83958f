"""Linear-model dynamics (seed 003_fa032fc7f3085293.txt; Saxe et al. 2014, Ali et al. 2019, Soudry et al. 2018):
derivations, convergence orders as measured slopes with stated bands, the findings, and the built-in claims
(wrong variants refuted)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings, strategies as st

from numerics import _linear_dynamics as nl
from theory import _linear_dynamics as tl
from verify import check
from verify._claim import Claim
from verify.claims import _linear_dynamics as cl

F64 = torch.float64
FAST = [tl.derivation_mode_field, tl.derivation_mode_strength, tl.derivation_mode_gd_map, tl.derivation_half_time,
        tl.derivation_gd_filter, tl.derivation_flow_filter, tl.derivation_min_norm_limit, tl.derivation_ridge_ratio,
        tl.derivation_exp_loss_trajectory, tl.derivation_margin_offset]


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("derivation", FAST, ids=lambda d: d.__name__)
def test_derivations_are_proven(derivation):
    r = derivation()
    assert r.proven, (r.statement, r.difference)


@pytest.mark.slow
def test_dsolve_gives_saxe_solution():
    r = tl.derivation_mode_strength_dsolve()
    assert r.proven, r.difference


def test_wrong_printed_forms_are_not_proven():
    s, a0, tau, t = tl.s, tl.a0, tl.tau, tl.t
    e = sp.exp(s * t / tau)  # forgets the factor 2 of the balanced case
    wrong = s * e / (e - 1 + s / a0)
    assert not tl.compare("rate s/tau", sp.diff(wrong, t), tl.mode_field().subs(tl.a, wrong), simplify=sp.cancel).proven
    assert not tl.compare("ridge filter", tl.flow_filter(), tl.ridge_filter(tl.lam, 1 / tl.t)).proven


def test_ordering_threshold_and_ratio_maximum():
    condition, r_star = tl.ordering_threshold()
    assert abs(r_star - 4.5911) < 1e-4
    r = sp.Symbol("r", positive=True)
    assert condition.subs(r, 4) > 0 and condition.subs(r, 6) < 0  # t_1/2 increases in s below r*, decreases above
    _, x_star, ratio_max = tl.ridge_ratio_maximum()
    assert abs(x_star - 1.79328) < 1e-5 and abs(ratio_max - 1.298426) < 1e-6
    assert abs(ratio_max - (1 + x_star) ** 2 / (1 + x_star + x_star**2)) < 1e-12
    assert ratio_max <= 1.2985  # Ali et al.'s constant is an upper bound


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 1e3))
def test_flow_over_ridge_ratio_is_in_range(xv):
    ratio = float(tl.ridge_ratio().subs(tl.x, xv))
    assert 1.0 - 1e-12 <= ratio <= tl.ridge_ratio_maximum()[2] + 1e-12


def test_measured_flow_over_ridge_ratio_peaks_at_x_star():
    """Gradient flow (expm) over ridge (solve) along one eigendirection, as a function of x = lambda t."""
    _, x_star, ratio_max = tl.ridge_ratio_maximum()
    X = torch.tensor(np.array(tl.design(1, 1), dtype=np.float64))  # lambda = 1 on both directions
    u0, v0 = (torch.tensor(np.array(M[:, 0], dtype=np.float64)).reshape(-1) for M in (tl.U_FRAME, tl.V_FRAME))
    xs = np.linspace(0.05, 6.0, 120)
    ratios = np.array([float(v0 @ nl.gradient_flow_least_squares(X, u0, x) / (v0 @ nl.ridge_solution(X, u0, 1 / x))) for x in xs])
    assert ratios.min() >= 1.0 and ratios.max() <= ratio_max + 1e-12
    assert abs(xs[ratios.argmax()] - x_star) < 0.06


# --------------------------------------------------------------------------- deep linear: GD -> a(t), orders


def _gd_modes(s, a0, eta, t_end):
    U, R = (torch.tensor(np.array(M, dtype=np.float64)) for M in (tl.U_FRAME, tl.R_FRAME))
    steps = round(t_end / eta)
    P = nl.deep_linear_gd(math.sqrt(a0) * R.T, math.sqrt(a0) * U, U @ torch.diag(s) @ R.T, eta, steps, every=steps)
    return torch.diagonal(U.T @ P[-1] @ R)  # (2,)


def test_gd_converges_to_saxe_solution_with_order_one():
    """|GD(t = 2) - a(2)| vs eta: log-log slope 1 +- 0.1 (Euler's global order); a wrong a(t) does not converge."""
    s, a0, t_end = torch.tensor([1.0, 2.5], dtype=F64), 0.05, 2.0
    exact = torch.tensor([float(tl.mode_strength(sp.Float(v), a0, 1, t_end)) for v in s.tolist()], dtype=F64)
    etas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = [float((_gd_modes(s, a0, eta, t_end) - exact).abs().max()) for eta in etas]
    slope = np.polyfit(np.log(etas), np.log(errors), 1)[0]
    assert 0.9 < slope < 1.1, (slope, errors)
    wrong = exact * 1.01  # a 1 % error in the closed form: the gap levels off instead of closing
    assert float((_gd_modes(s, a0, 0.0025, t_end) - wrong).abs().max()) > 0.005


def test_gd_gradient_matches_autograd():
    g = torch.Generator().manual_seed(0)
    W1, W2, S = (torch.randn(*shape, generator=g, dtype=F64) for shape in ((3, 4), (2, 3), (2, 4)))
    W1a, W2a = W1.clone().requires_grad_(True), W2.clone().requires_grad_(True)
    loss = ((S - W2a @ W1a) ** 2).sum() / 2
    loss.backward()
    g1, g2 = nl.deep_linear_gradient(W1, W2, S)
    torch.testing.assert_close(g1, W1a.grad, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(g2, W2a.grad, rtol=1e-13, atol=1e-13)


def test_half_times_from_gd_match_theory():
    """Interpolated crossing times from GD (eta = 0.001) are within 2 % of tau ln(s/a0 - 1)/(2s)."""
    s, a0, eta = torch.tensor([1.0, 2.5], dtype=F64), 0.45, 0.001
    U, R = (torch.tensor(np.array(M, dtype=np.float64)) for M in (tl.U_FRAME, tl.R_FRAME))
    P = nl.deep_linear_gd(math.sqrt(a0) * R.T, math.sqrt(a0) * U, U @ torch.diag(s) @ R.T, eta, 600, every=1)
    measured = nl.half_crossing_times(torch.diagonal(U.T @ P @ R, dim1=-2, dim2=-1), s / 2, eta)
    theory = [float(tl.half_time(v, a0, 1)) for v in (1.0, 2.5)]
    assert theory[0] < theory[1]  # the plan's example: s = 1 at 0.10 tau, s = 2.5 at 0.30 tau
    assert abs(theory[0] - 0.0999) < 1e-3 and abs(theory[1] - 0.3034) < 1e-3
    np.testing.assert_allclose(measured.numpy(), theory, rtol=0.02)


# --------------------------------------------------------------------------- implicit bias


def test_gd_leaves_the_null_space_part_of_w0():
    """From w0, GD converges to X^+ y + (I - X^+ X) w0 (why the min-norm claim needs w0 = 0)."""
    X = torch.tensor(np.array(tl.design(1.5, 0.7), dtype=np.float64))  # (2, 3)
    y, w0 = torch.tensor([0.3, -1.2], dtype=F64), torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    w = nl.least_squares_gd(X, y, 1 / 1.5**2, 2000, w0)
    pinv = torch.linalg.pinv(X)  # (3, 2)
    torch.testing.assert_close(w, pinv @ y + (torch.eye(3, dtype=F64) - pinv @ X) @ w0, rtol=1e-12, atol=1e-12)


def test_flow_exponential_is_float64_exact():
    """The flow's exponential (mpmath, 30 digits, rounded once) matches a 40-digit reference to float64 rounding."""
    import mpmath
    X = torch.tensor(np.array(tl.design(1.25, 1.25), dtype=np.float64))
    y = torch.tensor([1.0, 0.0], dtype=F64)
    w = nl.gradient_flow_least_squares(X, y, 2.5)
    with mpmath.workdps(40):
        A, b = mpmath.matrix((X.T @ X).tolist()), mpmath.matrix((X.T @ y).tolist())
        M = mpmath.zeros(4, 4)
        for i in range(3):
            M[i, 3] = b[i]
            for j in range(3):
                M[i, j] = -A[i, j]
        ref = [float(mpmath.expm(2.5 * M)[i, 3]) for i in range(3)]
    np.testing.assert_array_max_ulp(w.numpy(), np.array(ref), maxulp=4)  # t M is rounded to float64 first


# --------------------------------------------------------------------------- logistic -> max margin


X_LOG = np.array([[1.0, 1.0], [1.0, -2.0]])  # rows x_n, both labelled +1


def test_logistic_direction_error_falls_like_one_over_log_t():
    """Gradient flow (log-time ODE): log-log slope of the direction error vs 1/log t is 1 +- 0.05 for log t in
    [50, 1000], and log t * error -> ln 2/3 (within 1 % at log t = 1000)."""
    u = np.geomspace(50.0, 1000.0, 12)
    err = nl.direction_error(nl.logistic_flow_log_time(X_LOG, u), np.array([1.0, 0.0]))
    slope = np.polyfit(np.log(1 / u), np.log(err), 1)[0]
    assert 0.95 < slope < 1.05, slope
    constant = float(tl.direction_error_constant(1, 2))
    assert abs(constant - math.log(2) / 3) < 1e-15
    assert abs(u[-1] * err[-1] / constant - 1) < 0.01
    assert abs(u[-1] * err[-1] / 0.3 - 1) > 0.2  # a wrong constant is told apart


def test_logistic_gd_follows_w_hat_log_t_plus_w_tilde():
    """Constant-step GD (eta = 1, t = k): w_k - w_hat log k -> w_tilde (Soudry Thm 3), to 2e-3 at k = 2e4."""
    w_hat, _, w_tilde = (np.array(m, dtype=np.float64).reshape(-1) for m in tl.max_margin(1, 2))
    ks = [2000, 20000]
    w = nl.logistic_gd(X_LOG, 1.0, ks)
    gaps = [np.abs(w[i] - w_hat * math.log(k) - w_tilde).max() for i, k in enumerate(ks)]
    assert gaps[1] < 2e-3 and gaps[1] < gaps[0], gaps


def test_symmetric_data_is_degenerate():
    """p = q: w_tilde is parallel to w_hat, so the direction error falls faster than 1/log t (constant 0)."""
    _, _, w_tilde = tl.max_margin(2, 2)
    assert w_tilde[1] == 0 and tl.direction_error_constant(2, 2) == 0


# --------------------------------------------------------------------------- built-in claims


@pytest.mark.parametrize("claim", cl.CLAIMS, ids=lambda c: c.name)
def test_builtin_claims_fast(claim):
    r = check(dataclasses.replace(claim, examples=3), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_wrong_variants_are_refuted():
    wrong_rate = dataclasses.replace(cl.MODE_STRENGTH_ODE, name="saxe-rate-wrong", examples=3,
                                     closed_form=lambda s, a0, tau, t: cl._mode_field_at_a_of_t(s, a0, tau, t) * 2 / 2.0001)
    assert check(wrong_rate, seed=0).verdict == "refuted"
    one_step_short = dataclasses.replace(cl.GD_ITERATE, name="gd-one-step-short", examples=3,
                                         closed_form=lambda sigma1, sigma2, y, eta: tl.gd_iterate(sigma1, sigma2, y, eta, cl.GD_STEPS - 1))
    assert check(one_step_short, seed=0).verdict == "refuted"
    wrong_offset = dataclasses.replace(cl.EXP_LOSS_TRAJECTORY, name="margin-rate-wrong", examples=3, trajectory=None,
                                       closed_form=lambda p, q, t: cl._margin_rate(p, q, t) * (1 + 1 / t))
    assert check(wrong_offset, seed=0).verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("claim", cl.CLAIMS, ids=lambda c: c.name)
def test_builtin_claims_as_shipped(claim, seed):
    r = check(claim, seed=seed)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
