"""The optimization family (seed 003_fa032fc7f3085293.txt; Karimi et al. 2016, Kunin et al. 2021): the derivations
are proven, autograd agrees with the SymPy gradients, each built-in claim comes out as expected at its own seed,
and a 1% slip (or a sign) of each is refuted."""

from __future__ import annotations

import dataclasses

import numpy as np

import pytest
import sympy as sp
import torch

from numerics import _optimization as no
from theory import _optimization as to
from verify import check
from verify.claims import _optimization as cl

F64 = torch.float64
DERIVATIONS = [to.derivation_pl_rate, to.derivation_pl_step, to.derivation_pl_constant, to.derivation_rescale_flow,
               to.derivation_rescale_step]


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.__name__)
def test_derivations_are_proven(derivation):
    r = derivation()
    assert r.proven, (r.statement, r.difference)


def test_the_seed_constant_rate_is_not_the_derived_one():
    """(1 - alpha/L)^t with alpha = 2 mu differs from the derived (1 - mu/L)^t at t = 1 (the finding)."""
    mu, L, t, e0 = to._pl_symbols()
    assert sp.simplify(to.pl_rate_seed_constant(2 * mu, L, 1, e0) - to.pl_rate(mu, L, 1, e0)) != 0


def test_the_printed_condition_presumes_a_zero_minimum():
    """||grad f||^2 >= alpha f fails at the minimiser of f + c, c > 0, for every alpha > 0: the seed's f is f - f*."""
    lam, x = sp.Matrix([1, 2]), sp.Matrix([0, 0])
    f = to.quadratic(x, lam) + sp.Rational(1, 10)
    grad = sp.Matrix([0, 0])  # the gradient of f + c at its minimiser x = 0
    assert (grad.T * grad)[0] < to.seed_pl_bound(sp.Rational(1, 100), f)


# --------------------------------------------------------------------------- numerics against theory


def test_autograd_rates_are_the_sympy_rates():
    g = torch.Generator().manual_seed(3)
    W1, W2, X, Y = (torch.randn(*s, generator=g, dtype=F64) for s in ((3, 2), (2, 3), (3, 2), (3, 2)))
    into, out = no.unit_norm_rates(W1, W2, X, Y)
    symbols = [sp.Matrix(*t.shape, sp.symbols(f"{name}_0:{t.numel()}", real=True)) for name, t in
               zip(("W1", "W2", "X", "Y"), (W1, W2, X, Y))]
    values = {s: float(v) for S, t in zip(symbols, (W1, W2, X, Y)) for s, v in zip(S, t.reshape(-1).tolist())}
    sym = [r.subs(values) for r in to.unit_norm_rates(*symbols)]
    torch.testing.assert_close(into, torch.tensor([float(v) for v in sym[0]], dtype=F64), rtol=1e-12, atol=0)
    torch.testing.assert_close(out, torch.tensor([float(v) for v in sym[1]], dtype=F64), rtol=1e-12, atol=0)


def test_gradient_descent_on_the_quadratic_contracts_each_component_by_its_square():
    lam, x0 = torch.tensor([0.5, 1.0, 2.0], dtype=F64), torch.tensor([1.0, -1.0, 0.5], dtype=F64)
    L = lam.max()
    gap = no.gradient_descent_gap(x0, lam, L, torch.tensor(3.0, dtype=F64))
    expected = 0.5 * (lam * (1 - lam / L) ** 6 * x0**2).sum()  # (1 - lam/L)^(2t) per component, f* = 0
    torch.testing.assert_close(gap, expected, rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- the built-in claims

SEEDS = {"pl-rate": 31, "pl-rate-seed-constant": 32, "pl-condition": 33, "rescale-conservation-flow": 34,
         "rescale-conservation-step": 35, "gunasekar-flow-path": 36, "gunasekar-flow-limit": 37,
         "gunasekar-min-nuclear-norm-gap": 38, "gunasekar-min-nuclear-norm-any-init": 39,
         "gunasekar-nuclear-norm-order": 40, "gunasekar-nuclear-norm-order-2": 41}


def test_the_order_claims_measure_order_one_where_y1_equals_y2_and_two_elsewhere():
    """Gunasekar's alpha -> 0 rate: uniform order 1 (y_1 = y_2: g ~ alpha sqrt(y)), order 2 at distinct y."""
    r = check(cl.GUNASEKAR_ORDER, seed=0)
    assert r.verdict == "verified"
    assert abs(r.order["measured_min"] - 1) < 0.05 and abs(r.order["measured_max"] - 2) < 0.05
    cx = check(cl.GUNASEKAR_ORDER_2, seed=0).counterexample
    assert cx["params"]["y1"] == cx["params"]["y2"] and abs(cx["order"]["measured"] - 1) < 0.05


@pytest.mark.parametrize("claim", cl.CLAIMS, ids=lambda c: c.name)
def test_builtin_claim_comes_out_as_expected_at_its_own_seed(claim):
    r = check(claim, seed=SEEDS[claim.name])
    assert r.verdict == claim.expected, (r.error, r.counterexample)
    if claim.expected == "verified":
        assert r.statistic["value"] < r.statistic["threshold"]


def test_the_seed_constant_rate_is_refuted_away_from_a_negative_base():
    """Refuted also where 1 - alpha/L > 0 (mu < L/2): not only by a sign change of (1 - 2 mu/L)^t."""
    claim = dataclasses.replace(cl.PL_RATE_SEED_CONSTANT, params={**cl.PL, "mu": cl.Real(0.05, 0.45)}, examples=5)
    assert check(claim, seed=0, shrink=False).verdict == "refuted"


def _slipped(claim, factor):
    form = claim.closed_form
    return dataclasses.replace(claim, name=claim.name + "-slip", derivation=None, examples=5,
                               closed_form=lambda **kw: factor * form(**kw))


@pytest.mark.parametrize("claim, factor", [
    (cl.PL_RATE, 0.99),          # a 1% tighter rate: refuted at t = 0, where the bound holds with equality
    (cl.PL_CONDITION, 1.01),     # a 1% larger alpha: refuted along the mu eigenvector
    (cl.RESCALE_FLOW, 1.01),
    (cl.RESCALE_STEP, 1.01),
    (cl.RESCALE_FLOW, -1.0),     # the sign: d/dt ||w_1i||^2 = -d/dt ||w_2i||^2
], ids=lambda v: getattr(v, "name", str(v)))
def test_a_slip_is_refuted(claim, factor):
    assert check(_slipped(claim, factor), seed=0, shrink=False).verdict == "refuted"


def test_the_flow_law_read_as_exact_for_gradient_descent_is_refuted():
    """Q_i(theta - eta g) = Q_i(theta): the conservation law of the flow does not hold for a discrete step."""
    def conserved(W1, W2, X, Y, eta):
        return sp.Matrix([(W1[i, :] * W1[i, :].T)[0] - (W2[:, i].T * W2[:, i])[0] for i in range(W1.rows)])

    wrong = dataclasses.replace(cl.RESCALE_STEP, name="gd-conserves", derivation=None, examples=3, closed_form=conserved)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


# --------------------------------------------------------------------------- implicit bias (Gunasekar et al. 2017)

GUNASEKAR = [to.derivation_flow_curve, to.derivation_flow_invariant, to.derivation_flow_limit, to.derivation_gap_bound]


@pytest.mark.parametrize("derivation", GUNASEKAR, ids=lambda d: d.__name__)
def test_gunasekar_derivations_are_proven(derivation):
    r = derivation()
    assert r.proven, (r.statement, r.difference)


@pytest.mark.parametrize("claim, factor", [
    (cl.GUNASEKAR_FLOW, 1.01),
    (cl.GUNASEKAR_FLOW, -1.0),   # ascent instead of descent
    (cl.GUNASEKAR_LIMIT, 1.01),
    (cl.GUNASEKAR_GAP, 0.99),    # a 1% tighter bound: refuted at y_1 = y_2, small alpha (tight to alpha^2 / 2)
], ids=lambda v: getattr(v, "name", str(v)))
def test_a_gunasekar_slip_is_refuted(claim, factor):
    assert check(_slipped(claim, factor), seed=0, shrink=False).verdict == "refuted"


def test_the_limit_with_the_larger_root_is_refuted():
    """x_3 from the other root of the quadratic (x_1, x_2 < 0: not PSD) is refuted."""
    def other_root(alpha, y1, y2):
        x = to.flow_limit_eigenvalues(alpha, y1, y2)
        S = y1 + y2 + alpha**2
        x3 = S - x[2]  # the two roots sum to S
        return to.Q_FRAME * sp.diag(y1 - x3, y2 - x3, x3) * to.Q_FRAME.T

    wrong = dataclasses.replace(cl.GUNASEKAR_LIMIT, name="other-root", derivation=None, examples=3, closed_form=other_root)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_the_gradient_flow_itself_reaches_the_closed_form_limit():
    """scipy's DOP853 on the full 3 x 3 factor from alpha I, to t = 400, lands on SymPy's X_inf (tolerance: the
    integrator's rtol 1e-12 over the path, and the remaining exponentially small distance to the limit)."""
    alpha, y1, y2 = sp.Rational(3, 10), 1, sp.Rational(3, 2)
    like = torch.zeros((), dtype=F64)
    A, _, _ = cl._data(like)
    U = no.gradient_flow_factor(float(alpha) * torch.eye(3, dtype=F64), A, torch.tensor([1.0, 1.5], dtype=F64), 400.0)
    expected = torch.tensor(np.array(to.flow_limit(alpha, y1, y2).evalf(30), dtype=np.float64), dtype=F64)
    torch.testing.assert_close(U @ U.T, expected, rtol=0, atol=1e-8)


def test_gradient_descent_approaches_the_flow_limit_as_the_step_shrinks():
    """GD's limit is not the flow's (its steps break the conserved x_1 x_2 / x_3), but the gap shrinks with eta."""
    alpha, y = 0.3, torch.tensor([1.0, 1.5], dtype=F64)
    A, _, _ = cl._data(y)
    expected = torch.tensor(np.array(to.flow_limit(sp.Rational(3, 10), 1, sp.Rational(3, 2)).evalf(30), dtype=np.float64), dtype=F64)
    gaps = []
    for eta in (0.04, 0.02):
        U = no.gradient_descent_factor(alpha * torch.eye(3, dtype=F64), A, y, eta, int(120 / eta))
        gaps.append(float((U @ U.T - expected).abs().max()))
    assert gaps[1] < 0.7 * gaps[0] and gaps[0] < 0.05, gaps
