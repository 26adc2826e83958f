"""theory._population_gradient: the SymPy derivation is proven, fast, and its closed forms behave.

Seed 000_111be25265ff9c8a.txt (Tian, ICML 2017). Numeric checks evaluate the returned SymPy objects
through ``sp.lambdify`` at seeded random points, as the engine does.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp

from theory import _population_gradient as pg
from theory import (
    compare,
    derivation_kernel,
    derivation_loss_gradient,
    derivation_loss_kernel,
    derivation_population_gradient,
    gating_kernel,
    network_population_gradient,
    population_gradient,
    printed_population_gradient,
    relu_kernel,
)
from theory._population_gradient import derivation_gradient_limits, population_loss
from tests._roundoff import gamma, unit_roundoff
from tests.test_population_gradient_properties import _acos_error, _compiled, _lipschitz, _orthogonal

D = 4


def _vector(name: str, d: int = D) -> sp.Matrix:
    return sp.Matrix(d, 1, sp.symbols(f"{name}_0:{d}", real=True))


@functools.cache
def _lambdified(fn, *shapes):
    """fn applied to symbolic matrices of the given shapes, lambdified over all their entries."""
    args = [sp.Matrix(r, c, sp.symbols(f"a{i}_0:{r * c}", real=True)) for i, (r, c) in enumerate(shapes)]
    out = fn(*args)
    return sp.lambdify([x for a in args for x in a], out, "numpy")


def _numeric(fn, *arrays: np.ndarray) -> np.ndarray:
    """Evaluate the SymPy closed form fn at float arrays: (d,) -> column vector, (K, d) -> matrix."""
    shapes = tuple((a.shape[0], 1) if a.ndim == 1 else a.shape for a in arrays)
    f = _lambdified(fn, *shapes)
    return np.asarray(f(*[x for a in arrays for x in a.ravel()]), dtype=np.float64).squeeze()


# Round-off bounds (the derivation is tests/test_population_gradient_properties.py's): a float64 evaluation of a
# closed form of (w, w*) is within 2 gamma_N ||mag|| plus the acos step, theta's error times the form's slope
# in theta -- ||w*|| / pi for the gradient and the gating kernel, ||w|| ||w*|| / 2 for the ReLU kernel and the
# loss (|d/dtheta (sin t + (pi - t) cos t)| = (pi - t) sin t <= 2, times ||w|| ||w*|| / (2 pi)). Input errors
# dw, dw* move the gradient and the gating kernel by at most the properties file's _lipschitz(w, w*, dw, dw*)
# (g(w, v): ||v|| / ||w|| (1/2 + 1/pi) ||dw|| + 1.2 ||dv||, inside it), the ReLU kernel by ||w*|| dw + ||w|| dw*
# (+ dw dw*): d||w|| <= dw, and |dtheta| <= (pi/2) dw / ||w|| times the slope above.
_KERNELS = ("relu_kernel", "population_loss")


@functools.cache
def _as_w_w_star(fn):
    """fn(w, v) with its parameters named (w, w_star), as the engine's compile_closed_form calls it by keyword."""
    def named(w, w_star):
        return fn(w, w_star)
    named.__name__ = fn.__name__
    return named


def _bound(fn, w, w_star) -> float:
    compiled = _compiled(_as_w_w_star(fn))
    mag = compiled.evaluate({"w": w, "w_star": w_star})[1]
    slope = (np.linalg.norm(w) * np.linalg.norm(w_star) / 2 if fn.__name__ in _KERNELS else np.linalg.norm(w_star) / np.pi)
    return float(2 * gamma(compiled.ops) * np.linalg.norm(mag) + slope * _acos_error(w, w_star))


def _moved(fn, w, w_star, dw: float, dw_star: float) -> float:
    if fn.__name__ in _KERNELS:
        return float(np.linalg.norm(w_star) * dw + np.linalg.norm(w) * dw_star + dw * dw_star)
    return float(_lipschitz(w, w_star, dw, dw_star))


def _points(seed: int, count: int = 20):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        scale = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=2))
        yield rng.standard_normal(D) * scale[0], rng.standard_normal(D) * scale[1]


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("derivation", [derivation_kernel, derivation_loss_kernel, derivation_population_gradient, derivation_loss_gradient,
                                        derivation_gradient_limits])
def test_derivation_is_proven(derivation):
    result = derivation()
    assert result.proven, f"{result.statement}: difference {result.difference}"
    assert result.to_json()["proven"] is True


def test_derived_coefficients_are_the_known_ones():
    c_w, c_v, k = pg._derived()
    th, nw, nv = pg.theta, pg.norm_w, pg.norm_v
    assert sp.simplify(c_w - nv * sp.sin(th) / (2 * sp.pi)) == 0
    assert sp.simplify(c_v - nv * (sp.pi - th) / (2 * sp.pi)) == 0
    assert sp.simplify(k - nw * nv * (sp.sin(th) + (sp.pi - th) * sp.cos(th)) / (2 * sp.pi)) == 0


def test_gating_kernel_of_w_with_itself_is_half_w():
    w = _vector("w")
    assert gating_kernel(w, w) == w / 2  # structural: theta = acos(1) = 0 without any simplify call


def test_relu_kernel_of_w_with_itself_is_half_squared_norm():
    w = _vector("w")
    assert sp.simplify(relu_kernel(w, w) - (w.T * w)[0] / 2) == 0


@pytest.mark.roundoff
def test_population_gradient_vanishes_at_the_teacher():
    w = _vector("w")
    assert population_gradient(w, w) == sp.zeros(D, 1)
    exact = np.array([1.0, 2.0, 2.0, 0.0])  # ||w|| = 3, w^T w / ||w||^2 == 1.0 exactly in float64
    np.testing.assert_array_equal(_numeric(population_gradient, exact, exact), np.zeros(D))


@pytest.mark.roundoff
def test_population_loss_vanishes_at_the_teacher_and_is_the_expanded_square():
    w, w_star = _vector("w"), _vector("s")
    assert sp.simplify(population_loss(w, w)) == 0
    assert population_loss(w, w_star) == relu_kernel(w, w) / 2 - relu_kernel(w, w_star) + relu_kernel(w_star, w_star) / 2
    for a, b in _points(6, 5):
        assert _numeric(population_loss, a, b) >= -_bound(population_loss, a, b)  # J >= 0 exactly


def test_gradient_limits_are_the_degenerate_values():
    at_0, at_pi = pg.population_gradient_limits()
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    assert sp.simplify(at_0 - sp.Matrix([(pg.norm_w - norm_ws) / 2, 0])) == sp.zeros(2, 1)  # w* || w
    assert sp.simplify(at_pi - sp.Matrix([pg.norm_w / 2, 0])) == sp.zeros(2, 1)  # w* || -w: g(w, w*) = 0


def test_sign_flipped_printed_form_is_not_proven():
    derived = derivation_population_gradient().derived
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    th, nw = pg.theta, pg.norm_w
    w, w_star = sp.Matrix([nw, 0]), sp.Matrix([norm_ws * sp.cos(th), norm_ws * sp.sin(th)])
    flipped = (w - w_star) / 2 + (th * w_star + norm_ws / nw * sp.sin(th) * w) / (2 * sp.pi)  # + instead of -
    assert not compare("sign-flipped printed form", derived, flipped).proven


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="d x 1"):
        gating_kernel(sp.Matrix([[1, 2]]), _vector("v", 2))
    with pytest.raises(ValueError, match="same dimension"):
        gating_kernel(_vector("w", 3), _vector("v", 4))
    with pytest.raises(ValueError, match="2 hidden units"):
        network_population_gradient(sp.ones(2, D), sp.ones(1, D), v=[1, 2, 3])


# --------------------------------------------------------------------------- numeric


@pytest.mark.roundoff
def test_closed_form_matches_printed_form_numerically():
    for w, w_star in _points(0):
        gap = np.linalg.norm(_numeric(population_gradient, w, w_star) - _numeric(printed_population_gradient, w, w_star))
        assert gap <= _bound(population_gradient, w, w_star) + _bound(printed_population_gradient, w, w_star)


@pytest.mark.roundoff
def test_rotation_equivariance():
    rng = np.random.default_rng(1)
    for w, w_star in _points(2, 10):
        Q, defect = _orthogonal(rng.standard_normal((D, D)))  # (D, D) orthogonal to working precision
        # Q is within defect of an exactly orthogonal Q0; fl(Q w) within gamma_D sqrt(D) ||w|| of Q w: inputs move by
        # delta ||w||, delta = gamma_D sqrt(D) + defect; the product Q g by (delta + (sqrt(D) + 1) u) ||g||
        delta = gamma(D) * np.sqrt(D) + defect
        nw, ns = np.linalg.norm(w), np.linalg.norm(w_star)
        for fn in (population_gradient, gating_kernel):
            g = _numeric(fn, w, w_star)
            tol = (_bound(fn, Q @ w, Q @ w_star) + (1 + defect) * _bound(fn, w, w_star) + _moved(fn, w, w_star, delta * nw, delta * ns)
                   + (delta + (np.sqrt(D) + 2) * unit_roundoff()) * np.linalg.norm(g))
            assert np.linalg.norm(_numeric(fn, Q @ w, Q @ w_star) - Q @ g) <= tol, fn.__name__
        tol = _bound(relu_kernel, Q @ w, Q @ w_star) + _bound(relu_kernel, w, w_star) + _moved(relu_kernel, w, w_star, delta * nw, delta * ns)
        assert abs(_numeric(relu_kernel, Q @ w, Q @ w_star) - _numeric(relu_kernel, w, w_star)) <= tol


@pytest.mark.roundoff
def test_positive_homogeneity():
    rng = np.random.default_rng(3)
    u = unit_roundoff()
    for w, w_star in _points(4, 10):
        a, b = np.exp(rng.uniform(-2.0, 2.0, size=2))
        nw, ns = np.linalg.norm(w), np.linalg.norm(w_star)
        # scaled inputs are rounded (relative u), the scaled outputs once or twice (u, 2u)
        g = _numeric(gating_kernel, w, w_star)
        gk = lambda x, y: _bound(gating_kernel, x, y)  # noqa: E731
        tol = gk(a * w, w_star) + gk(w, w_star) + _moved(gating_kernel, a * w, w_star, u * a * nw, 0.0)
        assert np.linalg.norm(_numeric(gating_kernel, a * w, w_star) - g) <= tol  # degree 0 in w
        tol = gk(w, b * w_star) + b * gk(w, w_star) + _moved(gating_kernel, w, b * w_star, 0.0, u * b * ns) + u * b * np.linalg.norm(g)
        assert np.linalg.norm(_numeric(gating_kernel, w, b * w_star) - b * g) <= tol  # degree 1 in v
        G = _numeric(population_gradient, w, w_star)
        tol = (_bound(population_gradient, a * w, a * w_star) + a * _bound(population_gradient, w, w_star)
               + _moved(population_gradient, a * w, a * w_star, u * a * nw, u * a * ns) + u * a * np.linalg.norm(G))
        assert np.linalg.norm(_numeric(population_gradient, a * w, a * w_star) - a * G) <= tol
        k = _numeric(relu_kernel, w, w_star)
        tol = (_bound(relu_kernel, a * w, b * w_star) + a * b * _bound(relu_kernel, w, w_star)
               + _moved(relu_kernel, a * w, b * w_star, u * a * nw, u * b * ns) + 2 * u * a * b * abs(k))
        assert abs(_numeric(relu_kernel, a * w, b * w_star) - a * b * k) <= tol


@functools.cache
def _network_compiled():
    from numerics._compile import compile_closed_form
    from verify._params import Matrix

    compiled, _ = compile_closed_form(lambda W, W_star: network_population_gradient(W, W_star), ["W", "W_star"],
                                      [Matrix(1, D), Matrix(1, D)])
    return compiled


@pytest.mark.roundoff
def test_network_gradient_reduces_to_one_node_and_scales_with_output_weights():
    for w, w_star in _points(5, 5):
        one = _numeric(network_population_gradient, w[None, :], w_star[None, :])
        # the network form at K = M = 1 (its own operation count and magnitude) and the one-node form
        net = _network_compiled()
        mag = net.evaluate({"W": w[None, :], "W_star": w_star[None, :]})[1]
        tol = (2 * gamma(net.ops) * np.linalg.norm(mag) + np.linalg.norm(w_star) / np.pi * _acos_error(w, w_star)
               + _bound(population_gradient, w, w_star))
        assert np.linalg.norm(one - _numeric(population_gradient, w, w_star)) <= tol
    W, W_star = sp.Matrix(2, 3, sp.symbols("W_0:6", real=True)), sp.Matrix(1, 3, sp.symbols("S_0:3", real=True))
    doubled = network_population_gradient(W, W_star, v=[2, 2], v_star=[2])
    assert (doubled - 4 * network_population_gradient(W, W_star)).applyfunc(sp.expand) == sp.zeros(2, 3)
