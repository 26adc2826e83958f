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


def test_population_gradient_vanishes_at_the_teacher():
    w = _vector("w")
    assert population_gradient(w, w) == sp.zeros(D, 1)
    exact = np.array([1.0, 2.0, 2.0, 0.0])  # ||w|| = 3, w^T w / ||w||^2 == 1.0 exactly in float64
    np.testing.assert_array_equal(_numeric(population_gradient, exact, exact), np.zeros(D))


def test_population_loss_vanishes_at_the_teacher_and_is_the_expanded_square():
    w, w_star = _vector("w"), _vector("s")
    assert sp.simplify(population_loss(w, w)) == 0
    assert population_loss(w, w_star) == relu_kernel(w, w) / 2 - relu_kernel(w, w_star) + relu_kernel(w_star, w_star) / 2
    for a, b in _points(6, 5):
        assert _numeric(population_loss, a, b) >= 0.0


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


def test_closed_form_matches_printed_form_numerically():
    for w, w_star in _points(0):
        np.testing.assert_allclose(_numeric(population_gradient, w, w_star), _numeric(printed_population_gradient, w, w_star), rtol=1e-12, atol=1e-12 * np.linalg.norm(w_star))


def test_rotation_equivariance():
    rng = np.random.default_rng(1)
    for w, w_star in _points(2, 10):
        Q, _ = np.linalg.qr(rng.standard_normal((D, D)))  # (D, D) orthogonal
        for fn in (population_gradient, gating_kernel):
            np.testing.assert_allclose(_numeric(fn, Q @ w, Q @ w_star), Q @ _numeric(fn, w, w_star), rtol=1e-10, atol=1e-12 * np.linalg.norm(w_star))
        assert np.isclose(_numeric(relu_kernel, Q @ w, Q @ w_star), _numeric(relu_kernel, w, w_star), rtol=1e-12)


def test_positive_homogeneity():
    rng = np.random.default_rng(3)
    for w, w_star in _points(4, 10):
        a, b = np.exp(rng.uniform(-2.0, 2.0, size=2))
        g = _numeric(gating_kernel, w, w_star)
        np.testing.assert_allclose(_numeric(gating_kernel, a * w, w_star), g, rtol=1e-12)  # degree 0 in w
        np.testing.assert_allclose(_numeric(gating_kernel, w, b * w_star), b * g, rtol=1e-12)  # degree 1 in v
        np.testing.assert_allclose(_numeric(population_gradient, a * w, a * w_star), a * _numeric(population_gradient, w, w_star), rtol=1e-10, atol=1e-12 * a * np.linalg.norm(w_star))
        assert np.isclose(_numeric(relu_kernel, a * w, b * w_star), a * b * _numeric(relu_kernel, w, w_star), rtol=1e-12)


def test_network_gradient_reduces_to_one_node_and_scales_with_output_weights():
    for w, w_star in _points(5, 5):
        one = _numeric(network_population_gradient, w[None, :], w_star[None, :])
        np.testing.assert_allclose(one, _numeric(population_gradient, w, w_star), rtol=1e-12, atol=1e-14)
    W, W_star = sp.Matrix(2, 3, sp.symbols("W_0:6", real=True)), sp.Matrix(1, 3, sp.symbols("S_0:3", real=True))
    doubled = network_population_gradient(W, W_star, v=[2, 2], v_star=[2])
    assert (doubled - 4 * network_population_gradient(W, W_star)).applyfunc(sp.expand) == sp.zeros(2, 3)
