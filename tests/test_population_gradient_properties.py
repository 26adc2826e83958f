"""Properties of Tian's closed-form population gradient (seed 000_111be25265ff9c8a.txt, ICML 2017).

Hypothesis draws parameters from the engine's own strategies (``Vector(...).strategy()``) and the
closed form is evaluated through the engine's one lambdify wrapper, ``compile_closed_form``: in float64
(``evaluate_f64``) and at 50 digits rounded once to float64 (``evaluate``, the engine's reference).

Tolerances come from float64 round-off, u = 2^-53, never from a chosen atol:

* 50-digit reference at float64 inputs: the only errors are the rounding of the inputs (relative delta
  per vector) and of the result (u per component). The exact gradient G(w, w*) = w/2 - [(pi - theta) w*
  + ||w*|| sin(theta) w/||w||] / (2 pi) is Lipschitz: the angle moves by at most (pi/2)|dw|/||w|| when w
  moves by dw, so to first order ||dG|| <= (1/2 + 0.82 ||w*||/||w||) ||dw|| + 1.16 ||dw*||, which we bound
  by ``lipschitz`` = (1 + ||w*||/||w||) ||dw|| + 2 ||dw*||.
* float64 evaluation: Higham's 2 gamma_N |terms| (what the engine uses for exact claims) plus the one
  ill-conditioned step, acos. The cosine c it takes carries an absolute error of at most
  gamma_{3d+6} (dot product and two norms); acos turns an error e in its argument into at most
  min(e / sqrt(1 - c_max^2), (pi/sqrt 2) sqrt(e)) in the angle (mean value theorem; Hoelder bound at
  c = +-1: acos(1 - e) <= (pi/sqrt 2) sqrt(e)), and the gradient moves by ||w*||/pi per radian
  (||dG/dtheta|| = ||w* - ||w*|| cos(theta) w/||w|| || / (2 pi) <= ||w*|| / pi). Near theta = 0 or pi
  this gives about 1e-7 ||w*||: float64's acos cannot do better, which is why the engine compares
  against the 50-digit value.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import _population_gradient as pg
from verify import check
from numerics._compile import UNIT_ROUNDOFF as U
from numerics._compile import compile_closed_form, gamma
from verify._params import Matrix, Real, Vector
from verify.claims import _population_gradient as claims

D = 4
WIDE = (1e-6, 1e6)
PROPERTY = settings(max_examples=20, deadline=None, derandomize=True)
NEW_CLAIMS = [claims.GATING_KERNEL_MC, claims.RELU_KERNEL_MC, claims.POPULATION_LOSS_MC,
              claims.NETWORK_WEIGHTED_GRADIENT_MC, claims.NETWORK_WEIGHTED_GRADIENT_AUTOGRAD]


# --------------------------------------------------------------------------- evaluation and bounds


@functools.cache
def _compiled(fn):
    compiled, _ = compile_closed_form(fn, ["w", "w_star"], [Vector(D, norm=WIDE), Vector(D, norm=WIDE)])
    return compiled


def _reference(w, w_star, fn=pg.population_gradient) -> np.ndarray:
    """50-digit value at the float64 inputs, rounded once to float64; shape (d,)."""
    return _compiled(fn).evaluate({"w": w, "w_star": w_star})[0]


def _float64(w, w_star, fn=pg.population_gradient) -> np.ndarray:
    return _compiled(fn).evaluate_f64({"w": w, "w_star": w_star})[0]


def _lipschitz(w, w_star, dw: float, dw_star: float) -> float:
    """First-order bound on ||G(w + dw, w* + dw*) - G(w, w*)|| for ||dw|| <= dw, ||dw*|| <= dw_star."""
    return (1 + np.linalg.norm(w_star) / np.linalg.norm(w)) * dw + 2 * dw_star


def _acos_error(w, w_star) -> float:
    """Bound on |theta_float64 - theta| (see the module docstring)."""
    e = gamma(3 * D + 6)
    c_max = min(abs(float(w @ w_star)) / (np.linalg.norm(w) * np.linalg.norm(w_star)) + e, 1.0)
    holder = math.pi / math.sqrt(2) * math.sqrt(e)
    first_order = e / math.sqrt(1 - c_max**2) if c_max < 1 else math.inf
    return min(holder, first_order) + 2 * U * math.pi  # + acos's own rounding (2 ulp of theta <= pi)


def _float64_bound(w, w_star, fn=pg.population_gradient) -> float:
    """||float64 value - exact value|| <= 2 gamma_N || |terms| || + (||w*||/pi) |theta error|."""
    compiled = _compiled(fn)  # cached per closed form
    magnitude = compiled.evaluate({"w": w, "w_star": w_star})[1]
    return 2 * gamma(compiled.ops) * np.linalg.norm(magnitude) + np.linalg.norm(w_star) / math.pi * _acos_error(w, w_star)


def _orthogonal(q: np.ndarray) -> tuple[np.ndarray, float]:
    """Q from a QR factorization and its measured orthogonality defect ||Q^T Q - I||_2."""
    Q, _ = np.linalg.qr(q)  # (d, d), Householder: orthogonal to working precision even if q is singular
    return Q, float(np.linalg.norm(Q.T @ Q - np.eye(D), 2))


vectors = Vector(D).strategy()
wide_vectors = Vector(D, norm=WIDE).strategy()
log_scales = Real(math.log(1e-3), math.log(1e3)).strategy().map(lambda t: float(np.exp(t)))


# --------------------------------------------------------------------------- property checks
# Each returns (error, tolerance); the property holds when error <= tolerance. The wrong-variant tests
# at the end run the same checks on deliberately wrong closed forms and see them fail.


def rotation_gap(w, w_star, q, fn=pg.population_gradient) -> tuple[float, float]:
    """||G(Qw, Qw*) - Q G(w, w*)||.

    Inputs: fl(Qw) is within gamma_d sqrt(d) ||w|| of Qw, and Q within e_Q = ||Q^T Q - I|| of an exactly
    orthogonal Q0 (polar factor), so within delta ||w|| of Q0 w, delta = gamma_d sqrt(d) + e_Q. Output:
    fl(Q g) is within (delta + (sqrt(d) + 1) u) ||g|| of Q0 g.
    """
    Q, defect = _orthogonal(q)
    g = _reference(w, w_star, fn)
    delta = gamma(D) * math.sqrt(D) + defect
    error = np.linalg.norm(_reference(Q @ w, Q @ w_star, fn) - Q @ g)  # (d, d) @ (d,) -> (d,)
    tol = _lipschitz(w, w_star, delta * np.linalg.norm(w), delta * np.linalg.norm(w_star)) + (delta + (math.sqrt(D) + 2) * U) * np.linalg.norm(g)
    return error, tol


def homogeneity_gap(w, w_star, a, fn=pg.population_gradient) -> tuple[float, float]:
    """||G(a w, a w*) - a G(w, w*)||: inputs rounded with relative error u, outputs twice (reference, product)."""
    g = a * _reference(w, w_star, fn)
    error = np.linalg.norm(_reference(a * w, a * w_star, fn) - g)
    tol = _lipschitz(a * w, a * w_star, U * a * np.linalg.norm(w), U * a * np.linalg.norm(w_star)) + 3 * U * np.linalg.norm(g)
    return error, tol


def teacher_gap(w, fn=pg.population_gradient) -> tuple[float, float]:
    """||G(w, w)|| at 50 digits: exactly zero, so at most one ulp of ||w||."""
    return np.linalg.norm(_reference(w, w.copy(), fn)), U * np.linalg.norm(w)


# --------------------------------------------------------------------------- properties


@pytest.mark.roundoff
@PROPERTY
@given(w=vectors, w_star=vectors, q=Matrix(D, D).strategy())
def test_rotation_equivariance(w, w_star, q):
    error, tol = rotation_gap(w, w_star, q)
    assert error <= tol, (error, tol)


@pytest.mark.roundoff
@PROPERTY
@given(w=vectors, w_star=vectors, a=log_scales)
def test_positive_homogeneity(w, w_star, a):
    error, tol = homogeneity_gap(w, w_star, a)
    assert error <= tol, (error, tol)


@pytest.mark.roundoff
@PROPERTY
@given(w=wide_vectors)
def test_zero_gradient_at_the_teacher(w):
    error, tol = teacher_gap(w)
    assert error <= tol, (error, tol)
    # float64 is not exactly zero: cos(theta) = 1 - O(u) makes theta = O(sqrt u); the bound allows for it
    assert np.linalg.norm(_float64(w, w.copy())) <= _float64_bound(w, w)


def test_sympy_limits_at_both_ends():
    at_0, at_pi = pg.population_gradient_limits()
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    assert sp.simplify(at_0 - sp.Matrix([(pg.norm_w - norm_ws) / 2, 0])) == sp.zeros(2, 1)
    assert sp.simplify(at_pi - sp.Matrix([pg.norm_w / 2, 0])) == sp.zeros(2, 1)
    assert all(e.is_finite for e in (*at_0, *at_pi))


@functools.cache
def _compiled_limits():
    """The SymPy limits (2 x 2: columns theta -> 0, pi) compiled as a closed form of the two norms."""
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    limits = sp.Matrix.hstack(*pg.population_gradient_limits())

    def closed_form(a, b):
        return limits.xreplace({pg.norm_w: a, norm_ws: b})

    compiled, _ = compile_closed_form(closed_form, ["a", "b"], [Real(*WIDE), Real(*WIDE)])
    return compiled


@pytest.mark.roundoff
@PROPERTY
@given(w=wide_vectors, direction=vectors, w_star=wide_vectors, end=st.sampled_from([0, 1]))
def test_float64_near_both_ends_agrees_with_the_limit(w, direction, w_star, end):
    """theta = 1e-8 and pi - 1e-8: float64 closed form vs the SymPy limit, within the stated bound.

    |G(theta) - limit| <= (1/2 + (2 + pi)/(2 pi)) ||w*|| 1e-8 in plane coordinates (||dG/dtheta|| there),
    plus the float64 bound, plus the rounding of the embedding (w* built from u1, u2 with relative error
    4u) through the Lipschitz bound, plus one rounding of each limit value.
    """
    u1 = w / np.linalg.norm(w)
    e2 = direction - (direction @ u1) * u1  # (d,): Gram-Schmidt against u1
    if np.linalg.norm(e2) < 1e-3 * np.linalg.norm(direction):
        return  # direction (nearly) parallel to w: no plane to rotate in
    u2 = e2 / np.linalg.norm(e2)
    gap = 1e-8
    theta = gap if end == 0 else math.pi - gap
    ns = float(np.linalg.norm(w_star))
    ws = ns * (math.cos(theta) * u1 + math.sin(theta) * u2)  # (d,) at angle theta from w
    limits = _compiled_limits().evaluate_f64({"a": np.linalg.norm(w), "b": ns})[0].reshape(2, 2)  # (2, 2)
    expected = limits[0, end] * u1 + limits[1, end] * u2  # (d,)
    value = _float64(w, ws)
    assert np.isfinite(value).all()
    slope = (0.5 + (2 + math.pi) / (2 * math.pi)) * ns
    tol = (slope * gap + _float64_bound(w, ws) + _lipschitz(w, ws, 4 * U * np.linalg.norm(w), 4 * U * ns)
           + 2 * U * np.abs(limits[:, end]).sum())
    assert np.linalg.norm(value - expected) <= tol, (value, expected, tol)


@pytest.mark.roundoff
@PROPERTY
@given(w=vectors, w_star=vectors, scale=st.sampled_from([1e-6, 1e6]), ratio=st.sampled_from([1e-6, 1.0, 1e6]))
def test_tiny_and_huge_norms_are_finite_and_homogeneous(w, w_star, scale, ratio):
    """Norms 1e-6 and 1e6 (and w* up to 1e12 times w): finite in float64, within the float64 bound of the
    50-digit value, and G(a w, a w*) = a G(w, w*) to round-off."""
    w_star = w_star * ratio / np.linalg.norm(w_star) * np.linalg.norm(w)  # ||w*|| = ratio ||w||
    big, big_star = scale * w, scale * w_star
    value = _float64(big, big_star)
    assert np.isfinite(value).all()
    assert np.linalg.norm(value - _reference(big, big_star)) <= _float64_bound(big, big_star)
    error, tol = homogeneity_gap(w, w_star, scale)
    assert error <= tol, (error, tol)


# --------------------------------------------------------------------------- the checks can fail


def _wrong_angle(w, w_star):
    """theta replaced by pi - theta in the printed form: rotation-equivariant and homogeneous, not zero at w*."""
    nw, ns = sp.sqrt((w.T * w)[0]), sp.sqrt((w_star.T * w_star)[0])
    th = sp.pi - sp.acos((w.T * w_star)[0] / (nw * ns))
    return (w - w_star) / 2 + (th * w_star - ns / nw * sp.sin(th) * w) / (2 * sp.pi)


def _wrong_scaling(w, w_star):
    """||w*|| / ||w|| replaced by ||w*||: zero at w* only for ||w|| = 1, and not homogeneous."""
    ns = sp.sqrt((w_star.T * w_star)[0])
    return pg.population_gradient(w, w_star) + (ns / sp.sqrt((w.T * w)[0]) - ns) * w / 7


def _wrong_axis(w, w_star):
    """A fixed axis e1 leaks in: homogeneous, zero nowhere special, not rotation-equivariant."""
    return pg.population_gradient(w, w_star) + sp.Matrix([1] + [0] * (w.shape[0] - 1)) * (w.T * w_star)[0] / sp.sqrt((w.T * w)[0]) / 5


@pytest.mark.roundoff
def test_wrong_variants_fail_the_property_checks():
    rng = np.random.default_rng(0)
    w, w_star = rng.standard_normal(D) * 2.0, rng.standard_normal(D) * 0.5
    q = rng.standard_normal((D, D))
    error, tol = teacher_gap(w, _wrong_angle)
    assert error > 1e6 * tol
    error, tol = homogeneity_gap(w, w_star, 3.0, _wrong_scaling)
    assert error > 1e6 * tol
    error, tol = rotation_gap(w, w_star, q, _wrong_axis)
    assert error > 1e6 * tol
    for check_ in (lambda fn: rotation_gap(w, w_star, q, fn), lambda fn: homogeneity_gap(w, w_star, 3.0, fn),
                   lambda fn: teacher_gap(w, fn)):  # and the correct closed form passes all three there
        error, tol = check_(pg.population_gradient)
        assert error <= tol


# --------------------------------------------------------------------------- the new built-in claims


def _gating_reflected(w, v):
    """(pi - theta) replaced by theta in g(w, v): wrong except where theta = pi/2."""
    nw, nv = sp.sqrt((w.T * w)[0]), sp.sqrt((v.T * v)[0])
    th = sp.acos((w.T * v)[0] / (nw * nv))
    return (th * v + nv * sp.sin(th) * w / nw) / (2 * sp.pi)


def _loss_without_teacher_energy(w, w_star):
    """The population loss missing 1/2 k(w*, w*): right gradient, wrong loss."""
    return pg.relu_kernel(w, w) / 2 - pg.relu_kernel(w, w_star)


def _weighted_network_ignoring_v(W, W_star, v, v_star):
    """Output weights dropped (all ones): right only when v, v* happen to be all ones."""
    return pg.network_population_gradient(W, W_star)


@pytest.mark.parametrize("claim, wrong", [
    (claims.GATING_KERNEL_MC, _gating_reflected),
    (claims.POPULATION_LOSS_MC, _loss_without_teacher_energy),
    (claims.NETWORK_WEIGHTED_GRADIENT_MC, _weighted_network_ignoring_v),
], ids=lambda x: getattr(x, "name", getattr(x, "__name__", "")))
def test_wrong_closed_forms_are_refuted(claim, wrong):
    """One typical example (``replay``: no boundary sweep, no shrinking), 20k samples, at d = 4 where the claim
    draws d: refuted."""
    from verify._mutants import pinned
    from verify._params import size_ranges

    bad = dataclasses.replace(claim, name=f"wrong-{claim.name}", closed_form=wrong, derivation=None, samples=20_000)
    at4, _ = pinned(claim, {k: 4 for k in size_ranges(claim.params)})
    typical = {name: spec.typical(i) for i, (name, spec) in enumerate(at4.params.items())}
    r = check(bad, seed=0, replay=typical, shrink=False)
    assert r.verdict == "refuted", r.error


def test_weighted_network_closed_form_takes_its_parameters_by_name():
    c = claims.NETWORK_WEIGHTED_GRADIENT_MC
    assert list(c.params) == ["W", "W_star", "v", "v_star"]
    W, W_star = sp.Matrix(3, 2, sp.symbols("W_0:6", real=True)), sp.Matrix(2, 2, sp.symbols("S_0:4", real=True))
    ones = c.closed_form(W=W, W_star=W_star, v=sp.ones(3, 1), v_star=sp.ones(2, 1))
    assert ones == pg.network_population_gradient(W, W_star)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("claim", NEW_CLAIMS, ids=lambda c: c.name)
def test_new_claims_verified_with_a_million_samples(claim, seed):
    """1e6 samples (resolution sqrt(10) finer than shipped), 10 random examples on top of the boundary ones."""
    r = check(dataclasses.replace(claim, samples=1_000_000, examples=10), seed=seed)
    assert r.verdict == "verified", (claim.name, seed, r.error, r.counterexample)
    assert r.detectable_relative < 0.03
