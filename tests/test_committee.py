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
from tests._roundoff import FUNCTION_OPS, arc_error, assert_within, gamma, roundoff, sympy_ops, unit_roundoff
from verify import check
from verify._stats import critical_z
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


# Round-off bounds for the robust closed forms, prefactor * asin(x), x = N / (sqrt(D1) sqrt(D2)) (tests/_roundoff.py).
# Errors in N, D1, D2 (from evaluation and from forming C = W W^T in float64, |dC| <= gamma_d |W| |W|^T) give
# e_x <= e_N / sqrt(D1 D2) + |x| (e_D1 / (2 D1) + e_D2 / (2 D2) + gamma_4) (two sqrt, product, quotient);
# the clamp to [-1, 1] only moves x towards the true value; asin turns e_x into arc_error(x, e_x) (sqrt-
# conditioned at |x| = 1) and rounds within FUNCTION_OPS u; the prefactor and the product add their own.


def _i2_error(C: np.ndarray, dC: np.ndarray | float = 0.0) -> np.ndarray:
    """Bound on |robust I2 in float64 - I2(C)|, C (..., 2, 2) the exact covariance, dC a bound on the error of
    the float64 entries the code is given. I2 = (2/pi) asin(C12 / (sqrt(1 + C11) sqrt(1 + C22)))."""
    C, dC = np.asarray(C, dtype=np.float64), np.broadcast_to(np.asarray(dC, dtype=np.float64), np.shape(C))
    d1, d2, c12 = 1 + C[..., 0, 0], 1 + C[..., 1, 1], C[..., 0, 1]
    root = np.sqrt(d1) * np.sqrt(d2)  # not sqrt(d1 d2): C ~ 1e160 would overflow, as in the naive form
    x = c12 / root
    # D_i = 1 + C_ii: one addition (relative u) on top of the input error
    e_x = dC[..., 0, 1] / root + np.abs(x) * ((dC[..., 0, 0] + unit_roundoff() * d1) / (2 * d1)
                                                          + (dC[..., 1, 1] + unit_roundoff() * d2) / (2 * d2) + gamma(4))
    arc = np.vectorize(arc_error)(np.clip(x, -1, 1), e_x)
    value = 2 / np.pi * np.abs(np.arcsin(np.clip(x, -1, 1)))
    return 2 / np.pi * arc + value * gamma(FUNCTION_OPS + 2)  # asin's rounding; 2 * . / pi (pi rounded): 2


def _i4_error(W: np.ndarray) -> float:
    """Bound on |robust I4 in float64 at fl(W W^T) - I4(W W^T)|: Lambda0..2, Lambda4 are polynomials of degree
    <= 3 in C, so the input error moves each by at most gamma_{3d} (mag at |W| |W|^T), and its evaluation by
    gamma_{ops} mag; I4 = (4/pi^2) Lambda4^(-1/2) asin(Lambda0 / (sqrt(Lambda1) sqrt(Lambda2)))."""
    from numerics._compile import _magnitude

    d = W.shape[1]
    S = sp.Matrix(4, 4, lambda a, b: sp.Symbol(f"c{min(a, b)}{max(a, b)}"))
    lams = tc._lambdas(S)  # (Lambda4, Lambda0, Lambda1, Lambda2)
    Wx = sp.Matrix(4, d, lambda a, b: sp.Float(float(W[a, b]), 60))
    Wa = Wx.applyfunc(abs)
    exact, absolute = Wx * Wx.T, Wa * Wa.T
    at = lambda M: {S[a, b]: M[a, b] for a in range(4) for b in range(a, 4)}  # noqa: E731
    values = [float(sp.N(lam.xreplace(at(exact)), 50)) for lam in lams]
    errors = [gamma(sympy_ops(lam) + (3 if i else 2) * d) * float(sp.N(_magnitude(lam).xreplace(at(absolute)), 50))
              for i, lam in enumerate(lams)]
    (l4, l0, l1, l2), (e4, e0, e1, e2) = values, errors
    assert max(e4 / l4, e1 / l1, e2 / l2) < 1e-3, "first-order bound needs the Lambdas well resolved"
    x = l0 / math.sqrt(l1 * l2)
    e_x = e0 / math.sqrt(l1 * l2) + abs(x) * (e1 / (2 * l1) + e2 / (2 * l2) + gamma(4))
    prefactor = 4 / math.pi**2 / math.sqrt(l4)
    value = prefactor * abs(math.asin(max(-1.0, min(1.0, x))))
    return prefactor * arc_error(x, e_x) + value * (e4 / (2 * l4) + gamma(FUNCTION_OPS + 5))  # 4/pi^2, sqrt, /, *, asin


def _parallel_factor(rng, k, scale, tie):
    """k vectors in R^k (rows) with row tie[1] = c * row tie[0]: perfectly correlated fields."""
    W = rng.standard_normal((k, k)) * scale
    W[tie[1]] = W[tie[0]] * rng.uniform(0.2, 5.0) * rng.choice([-1.0, 1.0])
    return W


def _parallel_gram(rng, k, scale, tie):
    W = _parallel_factor(rng, k, scale, tie)
    return W @ W.T  # (k, k)


@pytest.mark.roundoff
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
        assert abs(float(robust[i]) - ref) <= _i4_error(Ws[i]), (i, float(robust[i]), ref, _i4_error(Ws[i]))


@pytest.mark.roundoff
def test_i2_naive_overflows_at_huge_scales_robust_does_not():
    """sqrt((1 + C11)(1 + C22)) overflows for C ~ 1e160; sqrt(1 + C11) sqrt(1 + C22) does not."""
    s = 1e160
    C = torch.tensor([[s, 0.5 * s], [0.5 * s, s]], dtype=F64)  # (2, 2), rho = 1/2
    assert float(nc.i2_value(C, naive=True)) == 0.0  # ratio = 0.5 s / inf
    # the exact I2 at this C has x = 0.5 s / (1 + s) = 0.5 - 0.5 / (1 + s): asin moves by <= that / sqrt(1 - 1/4);
    # the expected value is itself computed (asin, 2 / pi, product)
    exact_x = np.array([[1.0, 0.5], [0.5, 1.0]]) * s  # x is scale-free up to the +1's, which the bound holds at C
    bound = (float(_i2_error(exact_x)) + 2 / math.pi * 0.5 / (1 + s) / math.sqrt(0.75)
             + 2 / math.pi * math.asin(0.5) * gamma(FUNCTION_OPS + 2))
    assert float(nc.i2_value(C)) == pytest.approx(2 / math.pi * math.asin(0.5), rel=0, abs=bound)


@pytest.mark.roundoff
@pytest.mark.parametrize("scale", [1e-150, 1e-8, 1.0, 1e8, 1e140])
@pytest.mark.parametrize("rho", [-1.0, 1.0])
def test_i2_robust_is_finite_and_right_at_rho_one_for_every_scale(scale, rho):
    W = np.array([[0.6, 0.8], [0.6 * 0.7 * rho, 0.8 * 0.7 * rho]]) * scale  # rows parallel / anti-parallel
    got = float(nc.i2_value(torch.tensor(W @ W.T, dtype=F64)))
    assert math.isfinite(got)
    # near |I2| = 1, arcsin is sqrt-conditioned: float64 gets ~sqrt(u) ~ 1e-8 there, full precision elsewhere;
    # C = fl(W W^T) carries |dC| <= gamma_2 |W| |W|^T; the 50-digit reference is rounded once (u)
    ref = _reference(tc.i2, W)
    bound = float(_i2_error(W @ W.T, gamma(2) * np.abs(W) @ np.abs(W).T)) + unit_roundoff() * abs(ref)
    assert got == pytest.approx(ref, rel=0, abs=bound)


@pytest.mark.roundoff
def test_i2_naive_arcsin_leaves_its_domain_at_rho_one_and_large_scale():
    rng = np.random.default_rng(2)
    Ws = np.stack([_parallel_factor(rng, 2, 1e8, (0, 1)) for _ in range(400)])  # (400, 2, 2)
    Cs = torch.tensor(Ws @ Ws.transpose(0, 2, 1), dtype=F64)  # (400, 2, 2)
    assert torch.isnan(nc.i2_value(Cs, naive=True)).any()
    robust = nc.i2_value(Cs)
    assert torch.isfinite(robust).all()
    # exactly, |x| = ((1 + 1/C11)(1 + 1/C22))^(-1/2) >= 1 - delta, delta = (1/C11 + 1/C22) / 2, so
    # 1 - |I2| = (2/pi) acos|x| <= sqrt(2 delta) (Hoelder); plus the round-off of fl(W W^T) (gamma_2) and of I2
    G = np.abs(Ws) @ np.abs(Ws).transpose(0, 2, 1)
    C = Ws @ Ws.transpose(0, 2, 1)
    delta = (1 / C[:, 0, 0] + 1 / C[:, 1, 1]) / 2
    bound = np.sqrt(2 * delta) + _i2_error(C, gamma(2) * G)  # (400,)
    assert_within(robust.abs(), torch.ones_like(robust), bound, "(2/pi) asin(+-(1 - ~1e-16))")


def _naive_rho_cholesky(C: torch.Tensor) -> torch.Tensor:
    """The usual hand-written sampler: rho = C12 / sqrt(C11 C22), corner sqrt(C22) sqrt(1 - rho^2)."""
    rho = C[0, 1] / torch.sqrt(C[0, 0] * C[1, 1])
    return torch.stack([torch.stack([C[0, 0].sqrt(), torch.zeros((), dtype=C.dtype)]),
                        torch.stack([rho * C[1, 1].sqrt(), C[1, 1].sqrt() * torch.sqrt(1 - rho**2)])])  # (2, 2)


@pytest.mark.roundoff
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


def _error_bound(Q, R, T, dQ=0.0, dR=0.0, dT=0.0) -> float:
    """Bound on |float64 epsilon_g - epsilon_g(Q, R, T)|: epsilon_g = 1/2 sum_ik I2(Q) + 1/2 sum_nm I2(T) - sum_in I2(R),
    each I2 within _i2_error of its pair's 2 x 2 covariance, the sum of n = K^2 + M^2 + K M terms within gamma_n |terms|."""
    K, M = R.shape
    dQ, dR, dT = (np.broadcast_to(np.asarray(x, dtype=np.float64), np.shape(y)) for x, y in ((dQ, Q), (dR, R), (dT, T)))
    pairs = []  # (weight, C (2, 2), dC (2, 2))
    pair = lambda A, dA, B, dB, X, dX, i, k: (np.array([[A[i, i], X[i, k]], [X[i, k], B[k, k]]]),  # noqa: E731
                                             np.array([[dA[i, i], dX[i, k]], [dX[i, k], dB[k, k]]]))
    pairs += [(0.5, *pair(Q, dQ, Q, dQ, Q, dQ, i, k)) for i in range(K) for k in range(K)]
    pairs += [(0.5, *pair(T, dT, T, dT, T, dT, n, m)) for n in range(M) for m in range(M)]
    pairs += [(1.0, *pair(Q, dQ, T, dT, R, dR, i, n)) for i in range(K) for n in range(M)]
    terms = sum(w * 2 / math.pi * abs(math.asin(C[0, 1] / (math.sqrt(1 + C[0, 0]) * math.sqrt(1 + C[1, 1])))) for w, C, _ in pairs)
    return sum(w * float(_i2_error(C, dC)) for w, C, dC in pairs) + gamma(len(pairs)) * terms


@pytest.mark.roundoff
def test_generalization_error_value_matches_closed_form_and_is_zero_at_the_teacher():
    W = torch.tensor([[1.0, 0.5, -0.2], [0.3, -1.0, 2.0]], dtype=F64)
    Q, R, T = W @ W.T, W @ W.T, W @ W.T
    # exactly 0 at these (identical) float inputs: each I2 term within its bound, the signed sum of the
    # K^2 + M^2 + K M = 12 weighted terms within gamma_12 sum |c I2|
    assert abs(float(nc.generalization_error_value(Q, R, T))) <= _error_bound(Q.numpy(), Q.numpy(), Q.numpy())
    Ws = torch.tensor([[0.2, 1.0, 0.0], [1.0, 0.0, 1.0]], dtype=F64)
    got = float(nc.generalization_error_value(W @ W.T, W @ Ws.T, Ws @ Ws.T))
    expr = tc.generalization_error(sp.Matrix(W.tolist()), sp.Matrix(Ws.tolist()))
    A, B = W.abs().numpy(), Ws.abs().numpy()
    dQ, dR, dT = (gamma(3) * a @ b.T for a, b in ((A, A), (A, B), (B, B)))  # Gram matrices formed in float64, d = 3
    W_, Ws_ = W.numpy(), Ws.numpy()
    bound = _error_bound(W_ @ W_.T, W_ @ Ws_.T, Ws_ @ Ws_.T, dQ, dR, dT)
    ref = float(sp.N(expr, 30))
    assert got == pytest.approx(ref, rel=0, abs=bound + unit_roundoff() * abs(ref))


# --------------------------------------------------------------------------- engine-owned draws


def test_generator_forms_are_the_input_forms_at_the_generators_draws():
    """One implementation: ``*_samples(n, generator)`` draws the standard normals and calls ``*_at``; bitwise equal."""
    g = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    n = 300
    ls_u, ls_v, rho = (torch.tensor(v, dtype=F64) for v in (0.3, -1.2, 0.6))
    z = torch.randn(n, 2, generator=g(), dtype=F64)
    assert torch.equal(nc.i2_samples(ls_u, ls_v, rho, n, g(), kappa=0.5), nc.i2_at(ls_u, ls_v, rho, z, kappa=0.5))
    W = torch.randn(4, 3, generator=torch.Generator().manual_seed(5), dtype=F64)
    x = torch.randn(n, 3, generator=g(), dtype=F64)
    assert torch.equal(nc.i3_samples(W[0], W[1], W[2], n, g()), nc.i3_at(W[0], W[1], W[2], x))
    assert torch.equal(nc.i4_samples(W[0], W[1], W[2], W[3], n, g()), nc.i4_at(W[0], W[1], W[2], W[3], x))
    assert torch.equal(nc.generalization_error_samples(W[:2], W[2:], n, g()), nc.generalization_error_at(W[:2], W[2:], x))
    with pytest.raises(ValueError, match=r"z must be an \(n, 2\)"):
        nc.i2_at(ls_u, ls_v, rho, x)
    with pytest.raises(ValueError, match=r"x must be an \(n, 3\)"):
        nc.i3_at(W[0], W[1], W[2], z)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_declare_their_gaussian_draws(claim):
    (spec,) = claim.inputs.values()
    assert spec.dim == (2 if "i2" in claim.name else 4 if "i4" in claim.name else 3)


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_come_out_as_expected_fast(claim):
    r = check(dataclasses.replace(claim, examples=1, samples=min(claim.samples, 20_000), derivation=None), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_wrong_i2_is_refuted():
    """The sign-function / linear mix-up (2/pi) arcsin(rho), without the +1's, is caught."""
    def wrong(log_s_u, log_s_v, rho):
        return 2 / sp.pi * sp.asin(rho)

    r = check(dataclasses.replace(COMMITTEE_I2_MC, closed_form=wrong, derivation=None, examples=1, samples=20_000), seed=0,
              shrink=False)
    assert r.verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_with_more_samples(claim):
    r = check(dataclasses.replace(claim, samples=4 * claim.samples), seed=7)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_saad_solla_field_matches_monte_carlo_increments():
    """dQ/dalpha = 2 eta <delta lambda> + eta^2 <delta^2>, dR/dalpha = eta <delta nu> (K = M = 1), the averages by
    Monte Carlo over (lambda, nu) ~ N(0, [[Q, R], [R, T]]); z at false-failure rate 1e-6 (both components) times the SE."""
    from numerics._committee import _compiled_field, erf_g, erf_g_prime

    Q, R, T, eta = 0.7, 0.3, 1.0, 0.8
    C = torch.tensor([[Q, R], [R, T]], dtype=torch.float64)
    z = torch.randn(1_000_000, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    lam, nu = (z @ torch.linalg.cholesky(C).T).unbind(1)
    delta = erf_g_prime(lam) * (erf_g(nu) - erf_g(lam))
    samples = torch.stack([2 * eta * delta * lam + eta**2 * delta**2, eta * delta * nu])  # (dQ, dR) per sample
    n = samples.shape[1]
    mean, se = samples.mean(1), samples.std(1) / math.sqrt(n)
    field = _compiled_field(1, 1)(*(torch.tensor(v, dtype=torch.float64) for v in (Q, R, T, eta)))
    # two-sided z-test at false-failure rate 1e-6 for the two components jointly (n = 1e6: the CLT holds), seed
    # fixed; plus the float64 round-off of the mean of n samples (gamma_n mean|X|), far below one SE
    z = critical_z(1e-6, 2)
    assert_within(field, mean, z * se + roundoff(torch.float64, n, samples.abs().mean(1)), "Saad-Solla field vs Monte Carlo")
