"""Lemma 1 of Tian (ICML 2020): theory derivations, numerics vs autograd, the built-in claims, wrong variants refuted."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from numerics._recursive_gradient import (
    autograd_backprop,
    autograd_mixing,
    autograd_weight_gradient,
    forward,
    gated_jacobians,
    no_flip_step,
    recursive_gradient,
    weight_update_samples,
)
from theory._recursive_gradient import derivation_recursive_gradient, derivation_weight_update, mixing_matrices
from verify import check
from verify.claims._recursive_gradient import CLAIMS, RECURSIVE_GRADIENT_AUTOGRAD, RECURSIVE_MIXING_PIECEWISE_CONSTANT

STUDENT, TEACHER = (2, 3, 2, 2), (2, 2, 3, 2)


def _nets(seed: int, student=STUDENT, teacher=TEACHER):
    g = torch.Generator().manual_seed(seed)
    draw = lambda widths: [torch.randn(a, b, generator=g, dtype=torch.float64) for a, b in zip(widths, widths[1:])]
    return draw(student), draw(teacher), g


@pytest.mark.parametrize("derivation", [derivation_recursive_gradient, derivation_weight_update])
def test_derivations_are_proven(derivation):
    assert derivation().proven


def test_derivation_other_widths():
    assert derivation_recursive_gradient(widths=(3, 2, 2), widths_star=(3, 1, 2)).proven


@pytest.mark.parametrize("seed", range(3))
def test_construction_matches_autograd_on_a_batch(seed):
    weights, weights_star, g = _nets(seed, (4, 5, 3, 4, 2), (4, 3, 4, 2, 2))
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    for mine, ref in zip(recursive_gradient(weights, weights_star, x)[1:], autograd_backprop(weights, weights_star, x)[1:]):
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-12)
    G = autograd_weight_gradient(weights, weights_star, x)
    for U, ref in zip(weight_update_samples(weights, weights_star, x)[1:], G[1:]):
        torch.testing.assert_close(U.sum(0), ref, rtol=1e-12, atol=1e-12)


def test_output_is_V_times_activation():
    """f_L = V_l f_l for every l (positive homogeneity), the identity behind f*_L = V*_l f*_l."""
    weights, _, g = _nets(0)
    x = torch.randn(16, 2, generator=g, dtype=torch.float64)
    h, f = forward(weights, x)
    V = gated_jacobians(weights, h)
    for l in range(1, len(weights) + 1):
        torch.testing.assert_close((V[l] @ f[l][:, :, None])[:, :, 0], f[-1], rtol=1e-12, atol=1e-12)


def test_mixing_matrices_jump_past_a_gate_flip():
    """Piecewise constant, not constant: past the first flip A_1 or B_1 changes (for some direction)."""
    weights, weights_star, g = _nets(1)
    jumped = 0
    for _ in range(20):
        x, delta = torch.randn(2, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
        before = autograd_mixing(weights, weights_star, x + no_flip_step(weights, weights_star, x, delta) * delta, 1)
        at_x = autograd_mixing(weights, weights_star, x, 1)
        assert all(torch.equal(a, b) for a, b in zip(before, at_x))
        t = no_flip_step(weights, weights_star, x, delta, fraction=1.5)
        if torch.isfinite(t):
            after = autograd_mixing(weights, weights_star, x + t * delta, 1)
            jumped += any(not torch.allclose(a, b) for a, b in zip(after, at_x))
    assert jumped > 0


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_fast(claim):
    r = check(dataclasses.replace(claim, examples=2, samples=min(claim.samples, 20_000)), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def _ungated(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    """Lemma 1 without D_l: wrong wherever a hidden gate is closed."""
    weights, weights_star = [W_1, W_2, W_3], [W_star_1, W_star_2, W_star_3]
    from theory._recursive_gradient import forward as sym_forward
    _, _, f = sym_forward(weights, x)
    _, _, f_star = sym_forward(weights_star, x)
    AB = mixing_matrices(weights, weights_star, x)
    return sp.Matrix.vstack(*[AB[l][0] * f_star[l] - AB[l][1] * f[l] for l in (1, 2, 3)])


def test_wrong_variant_without_gating_is_refuted():
    wrong = dataclasses.replace(RECURSIVE_GRADIENT_AUTOGRAD, name="lemma1-no-gating", closed_form=_ungated,
                                derivation=None, examples=5)
    assert check(wrong, seed=0).verdict == "refuted"


def test_mixing_compared_past_the_flip_is_refuted():
    """A_1, B_1 at x against x + t delta with t = 3 t_flip: the claim fails once gates may flip."""

    def moved_too_far(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x, delta):
        weights, weights_star = [W_1, W_2, W_3], [W_star_1, W_star_2, W_star_3]
        t = no_flip_step(weights, weights_star, x, delta, fraction=3.0)
        t = torch.where(torch.isfinite(t), t, torch.zeros_like(t))
        A, B = autograd_mixing(weights, weights_star, x + t * delta, 1)
        return torch.cat([A, B], dim=1)

    wrong = dataclasses.replace(RECURSIVE_MIXING_PIECEWISE_CONSTANT, name="mixing-past-flip", exact=moved_too_far, examples=10)
    assert check(wrong, seed=0).verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_as_shipped(claim, seed):
    r = check(claim, seed=seed)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
