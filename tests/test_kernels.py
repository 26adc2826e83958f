"""NNGP kernels (seed 003): derivations proven, built-in claims as expected, wrong variants refuted, and the
finite-width empirical kernel of a deep ReLU network converging to the arc-cosine recursion like N^{-1/2}."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
import torch

from numerics._kernels import erf_kernel_at, erf_kernel_samples, nngp_relu_at, nngp_relu_samples, relu_network_kernel
from theory import _kernels as kt
from verify import Claim, Matrix, Real, Vector, check
from numerics._compile import lambdify_torch
from verify.claims import _kernels as claims


def test_arccos_step_derivation_is_proven():
    assert kt.derivation_arccos_step().proven


def test_erf_kernel_derivation_is_proven():
    assert kt.derivation_erf_kernel().proven


def test_diagonal_of_the_recursion_is_half_the_variance_plus_bias():
    K, sw, sb = sp.symbols("K sw sb", positive=True)
    assert sp.simplify(kt._diagonal_step()(K, sw, sb) - (sw * K / 2 + sb)) == 0


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.name)
def test_builtin_claim_comes_out_as_expected(claim):
    r = check(dataclasses.replace(claim, examples=3, derivation=None), seed=0)  # derivations: their own test
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_dropping_the_bias_is_refuted():
    def no_bias(x, x2, sigma_w2, sigma_b2):
        return kt.nngp_relu(x, x2, sigma_w2, 0, depth=1)

    wrong = dataclasses.replace(claims.NNGP_RELU_MC, name="nngp-relu-no-bias", closed_form=no_bias, derivation=None,
                                params={"x": Vector(3), "x2": Vector(3), "sigma_w2": Real(0.5, 3.0), "sigma_b2": Real(0.5, 1.0)})
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_erf_kernel_without_the_factor_two_is_refuted():
    def wrong_form(A, x, x2):
        s, c, t = kt._augmented_quadratics(A, x, x2)
        return 2 / sp.pi * sp.asin(c / sp.sqrt((1 + s) * (1 + t)))  # Williams' form with the 2s dropped

    claim = Claim(name="erf-kernel-no-twos", params={"A": Matrix(3, 3, norm=(0.5, 2.0)), "x": Vector(2), "x2": Vector(2)},
                  closed_form=wrong_form, monte_carlo=erf_kernel_samples, examples=3, samples=20_000)
    assert check(claim, seed=0, shrink=False).verdict == "refuted"


# --------------------------------------------------------------------------- finite width -> NNGP

X = torch.tensor([1.0, 0.5, -0.3], dtype=torch.float64)
X2 = torch.tensor([0.2, -1.0, 0.7], dtype=torch.float64)
SIGMA_W2, SIGMA_B2 = 2.0, 0.1


def _nngp_value(depth: int) -> float:
    x, x2 = sp.Matrix(sp.symbols("x0:3", real=True)), sp.Matrix(sp.symbols("y0:3", real=True))
    K = kt.nngp_relu(x, x2, sp.Float(SIGMA_W2), sp.Float(SIGMA_B2), depth)
    f = lambdify_torch([*x, *x2], [K])  # the engine's one lambdify: no formula retyped
    return float(f(*X, *X2)[0])


def _width_slope(depth: int, widths, nets: int) -> tuple[float, list[float]]:
    K = _nngp_value(depth)
    errors = []
    for N in widths:
        k = relu_network_kernel(X, X2, SIGMA_W2, SIGMA_B2, depth, N, nets, torch.Generator().manual_seed(1000 + N))
        errors.append(float((k - K).abs().mean()))  # mean over networks of |K_N - K|
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    return float(slope), errors


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_empirical_kernel_error_falls_like_inverse_sqrt_width(depth):
    """log-log slope of mean |K_N - K^L| against N in [-0.6, -0.4] (theory: -1/2, CLT over N units).

    The bias of K_N is O(1/N) (through the nonlinearity of the recursion), below the N^{-1/2} fluctuation
    at these widths; 300 networks per width leave a slope standard error of about 0.02.
    """
    slope, errors = _width_slope(depth, [16, 64, 256, 1024, 4096], nets=300)
    assert -0.6 <= slope <= -0.4, (slope, errors)


def test_width_slope_detects_a_wrong_kernel():
    """Against a kernel off by 5% the error plateaus at large N: the slope leaves the band."""
    K = _nngp_value(2) * 1.05
    widths = [256, 1024, 4096, 16384]
    errors = [float((relu_network_kernel(X, X2, SIGMA_W2, SIGMA_B2, 2, N, 100, torch.Generator().manual_seed(N)) - K).abs().mean())
              for N in widths]
    assert np.polyfit(np.log(widths), np.log(errors), 1)[0] > -0.4


def test_one_unit_estimator_draws_only_from_its_generator():
    a = nngp_relu_samples(X, X2, torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), 10, torch.Generator().manual_seed(3))
    b = nngp_relu_samples(X, X2, torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), 10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_generator_forms_are_the_input_forms_at_the_generators_draws():
    """One implementation: ``*_samples(n, generator)`` draws g ~ N(0, I) and calls ``*_at(g)``; bitwise equal."""
    sw, sb = torch.tensor(1.5, dtype=torch.float64), torch.tensor(0.4, dtype=torch.float64)
    g6 = torch.randn(200, 6, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    assert torch.equal(nngp_relu_samples(X, X2, sw, sb, 200, torch.Generator().manual_seed(8)), nngp_relu_at(X, X2, sw, sb, g6))
    A = torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x, x2 = X[:2], X2[:2]
    g3 = torch.randn(200, 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    assert torch.equal(erf_kernel_samples(A, x, x2, 200, torch.Generator().manual_seed(8)), erf_kernel_at(A, x, x2, g3))
    with pytest.raises(ValueError, match=r"g must be an \(n, 6\)"):
        nngp_relu_at(X, X2, sw, sb, g3)
    with pytest.raises(ValueError, match="n must be"):
        nngp_relu_samples(X, X2, sw, sb, 0, torch.Generator().manual_seed(8))


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.name)
def test_claims_declare_their_gaussian_draws(claim):
    (spec,) = claim.inputs.values()
    assert spec.dim == {"nngp-relu-mc": 6, "nngp-erf-mc": 3}[claim.name]


@pytest.mark.slow
def test_deep_width_slope_with_many_networks():
    slope, errors = _width_slope(4, [16, 64, 256, 1024, 4096, 8192], nets=1000)
    assert -0.55 <= slope <= -0.45, (slope, errors)
