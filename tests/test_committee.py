"""Soft committee machines (seed 000; Saad & Solla 1995): the I2 and epsilon_g derivations, robustness of
the closed forms at rho = +-1 and at tiny / huge scales, and the built-in claims (wrong variants refuted)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import _committee as nc
from theory import _committee as tc
from verify import check
from verify.claims._committee import CLAIMS, COMMITTEE_I2_MC

F64 = torch.float64


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("kappa", [tc.KAPPA, sp.Rational(1, 2), tc.kappa], ids=["1/sqrt2", "1/2", "symbolic"])
def test_i2_derivation_is_proven(kappa):
    r = tc.derivation_i2(kappa)
    assert r.proven, r.difference


def test_derived_price_integrand_is_the_determinant_form():
    C = sp.Matrix([[tc.C11, tc.C12], [tc.C12, tc.C22]])
    expected = 4 * tc.kappa**2 / (sp.pi * sp.sqrt((sp.eye(2) + 2 * tc.kappa**2 * C).det()))
    assert sp.simplify(tc.derived_price_integrand() - expected) == 0


@pytest.mark.parametrize("K,M", [(2, 2), (1, 3)])
def test_generalization_error_derivation_is_proven(K, M):
    assert tc.derivation_generalization_error(K, M).proven


def test_a_wrong_printed_form_is_not_proven():
    """I2 without the +1's (the linear-network / sign-function mix-up) must leave a non-zero difference."""
    C = sp.Matrix([[tc.C11, tc.C12], [tc.C12, tc.C22]])
    wrong = 2 / sp.pi * sp.asin(tc.C12 / sp.sqrt(tc.C11 * tc.C22))
    r = tc.compare("wrong", sp.diff(wrong, tc.C12), tc.derived_price_integrand().subs(tc.kappa, tc.KAPPA))
    assert not r.proven


# --------------------------------------------------------------------------- robustness at the edges


def _reference(expr_fn, W: np.ndarray) -> float:
    """The closed form at 50 digits at C = W W^T, the Gram matrix formed exactly from the float64 factor W."""
    S = sp.Matrix(W.shape[0], W.shape[1], lambda a, b: sp.Float(float(W[a, b]), 60))
    return float(sp.N(expr_fn(S * S.T), 50))


def _parallel_factor(rng, k, scale, tie):
    """k vectors in R^k (rows) with row tie[1] = c * row tie[0]: perfectly correlated fields."""
    W = rng.standard_normal((k, k)) * scale
    W[tie[1]] = W[tie[0]] * rng.uniform(0.2, 5.0) * rng.choice([-1.0, 1.0])
    return W


def _parallel_gram(rng, k, scale, tie):
    W = _parallel_factor(rng, k, scale, tie)
    return W @ W.T  # (k, k)


def test_i4_naive_arcsin_leaves_its_domain_where_robust_does_not():
    """w, z perfectly correlated at scale 1e8: Lambda0 / sqrt(Lambda1 Lambda2) = +-(1 - ~1e-16); float64 rounds past 1."""
    rng = np.random.default_rng(0)
    Ws = np.stack([_parallel_factor(rng, 4, 1e8, (2, 3)) for _ in range(400)])  # (400, 4, 4)
    Cs = torch.tensor(Ws @ Ws.transpose(0, 2, 1), dtype=F64)  # (400, 4, 4)
    naive, robust = nc.i4_value(Cs, naive=True), nc.i4_value(Cs)
    assert torch.isnan(naive).any(), "expected some naive evaluations to hit asin(1 + 2^-52)"
    assert torch.isfinite(robust).all()
    for i in range(0, 400, 40):
        ref = _reference(tc.i4, Ws[i])
        assert abs(float(robust[i]) - ref) <= 1e-6 * abs(ref)  # asin near 1 is sqrt-conditioned: ~1e-8 relative


def test_i2_naive_overflows_at_huge_scales_robust_does_not():
    """sqrt((1 + C11)(1 + C22)) overflows for C ~ 1e160; sqrt(1 + C11) sqrt(1 + C22) does not."""
    s = 1e160
    C = torch.tensor([[s, 0.5 * s], [0.5 * s, s]], dtype=F64)  # (2, 2), rho = 1/2
    assert float(nc.i2_value(C, naive=True)) == 0.0  # ratio = 0.5 s / inf
    assert float(nc.i2_value(C)) == pytest.approx(2 / math.pi * math.asin(0.5), rel=1e-14)


@pytest.mark.parametrize("scale", [1e-150, 1e-8, 1.0, 1e8, 1e140])
@pytest.mark.parametrize("rho", [-1.0, 1.0])
def test_i2_robust_is_finite_and_right_at_rho_one_for_every_scale(scale, rho):
    W = np.array([[0.6, 0.8], [0.6 * 0.7 * rho, 0.8 * 0.7 * rho]]) * scale  # rows parallel / anti-parallel
    got = float(nc.i2_value(torch.tensor(W @ W.T, dtype=F64)))
    assert math.isfinite(got)
    # near |I2| = 1, arcsin is sqrt-conditioned: float64 gets ~sqrt(u) ~ 1e-8 there, full precision elsewhere
    assert got == pytest.approx(_reference(tc.i2, W), rel=1e-7, abs=1e-300)


def test_i2_naive_arcsin_leaves_its_domain_at_rho_one_and_large_scale():
    rng = np.random.default_rng(2)
    Cs = torch.tensor(np.stack([_parallel_gram(rng, 2, 1e8, (0, 1)) for _ in range(400)]), dtype=F64)  # (400, 2, 2)
    assert torch.isnan(nc.i2_value(Cs, naive=True)).any()
    robust = nc.i2_value(Cs)
    assert torch.isfinite(robust).all()
    assert torch.allclose(robust.abs(), torch.full_like(robust, 1.0), atol=1e-7)  # (2/pi) asin(+-(1 - ~1e-16))


def _naive_rho_cholesky(C: torch.Tensor) -> torch.Tensor:
    """The usual hand-written sampler: rho = C12 / sqrt(C11 C22), corner sqrt(C22) sqrt(1 - rho^2)."""
    rho = C[0, 1] / torch.sqrt(C[0, 0] * C[1, 1])
    return torch.stack([torch.stack([C[0, 0].sqrt(), torch.zeros((), dtype=C.dtype)]),
                        torch.stack([rho * C[1, 1].sqrt(), C[1, 1].sqrt() * torch.sqrt(1 - rho**2)])])  # (2, 2)


def test_naive_sampler_fails_where_the_exact_factor_does_not():
    rng = np.random.default_rng(1)
    bad = 0
    for _ in range(200):  # parallel weight vectors: rho computed from the Gram matrix can exceed 1
        W = rng.standard_normal((1, 3))
        W = np.concatenate([W, W * rng.uniform(0.2, 5.0)])  # (2, 3), rows parallel
        bad += int(torch.isnan(_naive_rho_cholesky(torch.tensor(W @ W.T, dtype=F64))).any())
    tiny = torch.tensor([[1e-170, 5e-171], [5e-171, 1e-170]], dtype=F64)  # C11 C22 underflows to 0
    assert torch.isnan(_naive_rho_cholesky(tiny)).any()
    assert bad > 0
    for rho in (-1.0, 1.0):
        L = nc.i2_cholesky(torch.tensor(-390.0, dtype=F64), torch.tensor(-391.0, dtype=F64), torch.tensor(rho, dtype=F64))
        assert torch.isfinite(L).all() and float(L[1, 1]) == 0.0


def test_generalization_error_value_matches_closed_form_and_is_zero_at_the_teacher():
    W = torch.tensor([[1.0, 0.5, -0.2], [0.3, -1.0, 2.0]], dtype=F64)
    Q, R, T = W @ W.T, W @ W.T, W @ W.T
    assert abs(float(nc.generalization_error_value(Q, R, T))) < 1e-14  # student = teacher, rho = 1 on the diagonal
    Ws = torch.tensor([[0.2, 1.0, 0.0], [1.0, 0.0, 1.0]], dtype=F64)
    got = float(nc.generalization_error_value(W @ W.T, W @ Ws.T, Ws @ Ws.T))
    expr = tc.generalization_error(sp.Matrix(W.tolist()), sp.Matrix(Ws.tolist()))
    assert got == pytest.approx(float(sp.N(expr, 30)), rel=1e-13)


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_come_out_as_expected_fast(claim):
    r = check(dataclasses.replace(claim, examples=1, samples=min(claim.samples, 20_000)), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_wrong_i2_is_refuted():
    """The sign-function / linear mix-up (2/pi) arcsin(rho), without the +1's, is caught."""
    def wrong(log_s_u, log_s_v, rho):
        return 2 / sp.pi * sp.asin(rho)

    r = check(dataclasses.replace(COMMITTEE_I2_MC, closed_form=wrong, derivation=None, examples=1, samples=20_000), seed=0)
    assert r.verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_with_more_samples(claim):
    r = check(dataclasses.replace(claim, samples=4 * claim.samples), seed=7)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_saad_solla_field_matches_monte_carlo_increments():
    """dQ/dalpha = 2 eta <delta lambda> + eta^2 <delta^2>, dR/dalpha = eta <delta nu> (K = M = 1), the averages by
    Monte Carlo over (lambda, nu) ~ N(0, [[Q, R], [R, T]]); 5 standard errors (false-failure rate ~1e-6 each)."""
    from numerics._committee import _compiled_field, erf_g, erf_g_prime

    Q, R, T, eta = 0.7, 0.3, 1.0, 0.8
    C = torch.tensor([[Q, R], [R, T]], dtype=torch.float64)
    z = torch.randn(1_000_000, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    lam, nu = (z @ torch.linalg.cholesky(C).T).unbind(1)
    delta = erf_g_prime(lam) * (erf_g(nu) - erf_g(lam))
    samples = torch.stack([2 * eta * delta * lam + eta**2 * delta**2, eta * delta * nu])  # (dQ, dR) per sample
    mean, se = samples.mean(1), samples.std(1) / 1000.0
    field = _compiled_field(1, 1)(*(torch.tensor(v, dtype=torch.float64) for v in (Q, R, T, eta)))
    assert torch.all((field - mean).abs() < 5 * se), (field, mean, se)
