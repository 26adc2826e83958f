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
    two_layer_weight_update_at,
    two_layer_weight_update_samples,
    weight_update_samples,
)
from theory._recursive_gradient import derivation_recursive_gradient, derivation_weight_update, mixing_matrices
from tests._roundoff import assert_within, roundoff
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


# Round-off (tests/_roundoff.py): the nets are products of weights and 0/1 gates, so every quantity is within gamma_k
# of the same product on the absolute-value nets (|W|, |x|, every gate 1): f_abs = forward(|W|, |x|), V_abs = the
# gated Jacobians there. k: the forward and the Jacobian chains (sum of the widths, a gate each), A or B (C terms),
# their product with f (n_l terms), 4 elementwise.
def _abs_parts(weights, x):
    Wa = [W.abs() for W in weights]
    h, f = forward(Wa, x.abs())  # all h > 0: every gate open
    return f, gated_jacobians(Wa, h)


def _ops(weights, weights_star) -> int:
    chain = max(sum(W.shape[0] + 1 for W in ws) for ws in (weights, weights_star))
    return 2 * chain + weights[-1].shape[1] + max(W.shape[1] for W in weights) + 4


def _lemma1_magnitudes(weights, weights_star, x) -> list:
    """[None, M_1, ..., M_L] (n, n_l): |V_l|^T (|V*_l| |f*_l| + |V_l| |f_l|), the construction's |terms| (A f* - B f
    cancels); autograd's D_l V_l^T (f*_L - f_L) has the smaller |V_l|^T (|f*_L| + |f_L|)."""
    (f, V), (fs, Vs) = _abs_parts(weights, x), _abs_parts(weights_star, x)
    return [None] + [(V[l].transpose(1, 2) @ (Vs[l] @ fs[l][:, :, None] + V[l] @ f[l][:, :, None]))[:, :, 0]
                     for l in range(1, len(weights) + 1)]


@pytest.mark.roundoff
@pytest.mark.parametrize("seed", range(3))
def test_construction_matches_autograd_on_a_batch(seed):
    weights, weights_star, g = _nets(seed, (4, 5, 3, 4, 2), (4, 3, 4, 2, 2))
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    k, M = _ops(weights, weights_star), _lemma1_magnitudes(weights, weights_star, x)
    for l, (mine, ref) in enumerate(zip(recursive_gradient(weights, weights_star, x)[1:], autograd_backprop(weights, weights_star, x)[1:]), 1):
        assert_within(mine, ref, 2 * roundoff(torch.float64, k, M[l]), f"g_{l}")
    G = autograd_weight_gradient(weights, weights_star, x)
    f_abs, _ = _abs_parts(weights, x)
    n = x.shape[0]
    for l, (U, ref) in enumerate(zip(weight_update_samples(weights, weights_star, x)[1:], G[1:]), 1):
        # f_{l-1} g_l^T per sample (1 product), summed over the n samples: gamma_{k + n + 1} sum_n |f| M
        mag = (f_abs[l - 1][:, :, None] * M[l][:, None, :]).sum(0)
        assert_within(U.sum(0), ref, 2 * roundoff(torch.float64, k + n + 1, mag), f"dJ/dW_{l}")


@pytest.mark.roundoff
def test_output_is_V_times_activation():
    """f_L = V_l f_l for every l (positive homogeneity), the identity behind f*_L = V*_l f*_l."""
    weights, _, g = _nets(0)
    x = torch.randn(16, 2, generator=g, dtype=torch.float64)
    h, f = forward(weights, x)
    V = gated_jacobians(weights, h)
    f_abs, _ = _abs_parts(weights, x)  # |V_l| |f_l| <= f_L of the absolute-value net
    k = _ops(weights, weights)
    for l in range(1, len(weights) + 1):
        assert_within((V[l] @ f[l][:, :, None])[:, :, 0], f[-1], 2 * roundoff(torch.float64, k, f_abs[-1]), f"V_{l} f_{l}")


@pytest.mark.roundoff
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
            # A_1, B_1 are products of the weights and the 0/1 gates only: the same gates give bit-identical
            # matrices (asserted above), so any difference at all is a jump
            jumped += any(not torch.equal(a, b) for a, b in zip(after, at_x))
    assert jumped > 0


def test_generator_form_is_the_input_form_at_the_generators_draws():
    """One implementation: ``two_layer_weight_update_samples`` draws x ~ N(0, I_d) and calls ``_at(x)``; bitwise equal."""
    g = torch.Generator().manual_seed(5)
    W, W_star, v, v_star = (torch.randn(*s, generator=g, dtype=torch.float64) for s in ((2, 3), (2, 3), (2,), (2,)))
    x = torch.randn(100, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    drawn = two_layer_weight_update_samples(W, W_star, v, v_star, 100, torch.Generator().manual_seed(6))
    assert torch.equal(drawn, two_layer_weight_update_at(W, W_star, v, v_star, x))
    assert drawn.shape == (100, 3 * 2 + 2)
    with pytest.raises(ValueError, match=r"x must be an \(n, 3\)"):
        two_layer_weight_update_at(W, W_star, v, v_star, x[:, :2])


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_fast(claim):
    r = check(dataclasses.replace(claim, examples=2, samples=min(claim.samples, 20_000), derivation=None), seed=0)
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
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_mixing_compared_past_the_flip_is_refuted():
    """A_1, B_1 at x against x + t delta with t = 3 t_flip: the claim fails once gates may flip."""

    def moved_too_far(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x, delta):
        weights, weights_star = [W_1, W_2, W_3], [W_star_1, W_star_2, W_star_3]
        t = no_flip_step(weights, weights_star, x, delta, fraction=3.0)
        t = torch.where(torch.isfinite(t), t, torch.zeros_like(t))
        A, B = autograd_mixing(weights, weights_star, x + t * delta, 1)
        return torch.cat([A, B], dim=1)

    wrong = dataclasses.replace(RECURSIVE_MIXING_PIECEWISE_CONSTANT, name="mixing-past-flip", exact=moved_too_far, examples=10)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_as_shipped(claim, seed):
    r = check(claim, seed=seed)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_lemma1_claims_run_over_several_widths_both_ends_checked():
    """The exact claims draw the input width d in 2..4 (W_1, W*_1 and delta share x's); the Monte Carlo claim draws
    the student width n_1 in 1..3 against 2 teacher units. The boundary set runs at the smallest and largest."""
    from verify._examples import boundary_examples

    for claim in CLAIMS[:3]:
        shapes = {(len(p["x"]), p["W_1"].shape, p["W_star_1"].shape) for _, p in boundary_examples(claim.params)}
        assert shapes == {(2, (2, 3), (2, 2)), (4, (4, 3), (4, 2))}, claim.name
    mc = CLAIMS[3]
    shapes = {(len(p["v"]), p["W"].shape, p["W_star"].shape) for _, p in boundary_examples(mc.params)}
    assert shapes == {(1, (1, 3), (2, 3)), (3, (3, 3), (2, 3))}
