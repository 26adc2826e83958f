"""Built-in claims: the recursive gradient rule of deep ReLU teacher-student nets (seed 000, Tian ICML 2020, Lemma 1).

Family ``recursive-gradient``: derivation ``theory._recursive_gradient`` (the paper's equation, derived) ·
estimators ``numerics._recursive_gradient`` · claims ``verify.claims._recursive_gradient`` · tests ``tests/test_recursive_gradient.py``.

Closed forms come from ``theory._recursive_gradient`` (Lemma 1's construction in SymPy, gates as
1(h > 0) = (sign h + sign^2 h)/2 of the parameters), estimators from ``numerics._recursive_gradient`` (autograd,
never the construction). Sizes: student widths d -> 3 -> 2 -> C = 2, teacher d -> 2 -> 3 -> 2, the input width
d drawn per example in 2..4 (``x = Vector(dim=(2, 4))``, ``W_1``, ``W*_1`` have ``rows="x"``), so A_1, A_2 are
rectangular and the output layer is linear; weights in the paper's orientation (W_l is n_{l-1} x n_l, each row
drawn like a vector). The hidden widths stay fixed: a matrix's size can share only a Vector's dimension, and no
Vector has a hidden width. The derivations (``derivation_recursive_gradient``, ``derivation_weight_update``) are
SymPy proofs at the fixed widths 2-3-2-2 / 2-2-3-2; the exact checks extend them to d = 3, 4. For the Monte Carlo
claim a two-layer net (d = 3, student width n_1 drawn in 1..3 with ``W`` of ``rows="v"``, teacher m_1 = 2, so
fewer, as many and more student than teacher units; scalar output) whose population gradient Tian (ICML 2017)
gives in closed form; its input x ~ N(0, I_3) is engine-owned (``inputs={"x": Gaussian(3)}``), so the engine
reduces the variance.
"""

from __future__ import annotations

import sympy as sp
import torch

from numerics._recursive_gradient import (
    autograd_backprop,
    autograd_mixing,
    autograd_weight_gradient,
    no_flip_step,
    two_layer_weight_update_at,
)
from theory._population_gradient import network_population_gradient, relu_kernel
from theory._recursive_gradient import (
    derivation_recursive_gradient,
    derivation_weight_update,
    mixing_matrices,
    recursive_gradient,
    weight_update,
)
from verify._claim import Claim
from verify._draws import Gaussian
from verify._params import Matrix, Vector

__all__ = [
    "CLAIMS",
    "RECURSIVE_GRADIENT_AUTOGRAD",
    "RECURSIVE_MIXING_PIECEWISE_CONSTANT",
    "RECURSIVE_WEIGHT_UPDATE_AUTOGRAD",
    "RECURSIVE_WEIGHT_UPDATE_MC",
]

FAMILY = "recursive-gradient"
REFERENCE = "seed 000_111be25265ff9c8a.txt (Tian, ICML 2020, 'Lemma1: Recursive Gradient Rule', ~line 225)"
EXAMPLES = 10  # deterministic exact claims: 10 draws + the boundary examples

INPUT_WIDTHS = (2, 4)  # the input width n_0 = d, drawn per example (docs/every-dimension.md)
PARAMS = {
    "W_1": Matrix(rows="x", cols=3), "W_2": Matrix(3, 2), "W_3": Matrix(2, 2),
    "W_star_1": Matrix(rows="x", cols=2), "W_star_2": Matrix(2, 3), "W_star_3": Matrix(3, 2),
    "x": Vector(dim=INPUT_WIDTHS),
}
HIDDEN_WIDTHS = (1, 3)  # the Monte Carlo claim's student width n_1, drawn per example (the teacher's m_1 = 2)

# typed (all three): layer recursions (V_l, D_l), a piecewise-constancy property and an expectation, not one closed form
LEMMA = (
    r"\mathbf{g}_l(\mathbf{x}) = D_l(\mathbf{x})\left[A_l(\mathbf{x})\mathbf{f}^*_l(\mathbf{x})"
    r" - B_l(\mathbf{x})\mathbf{f}_l(\mathbf{x})\right],\quad A_l = V_l^\top V^*_l,\ B_l = V_l^\top V_l,"
    r"\ V_{l-1} = V_l D_l W_l^\top,\ V_L = I"
)
PIECEWISE = (
    r"[A_1 \mid B_1](\mathbf{x} + t\boldsymbol{\delta}) = [A_1 \mid B_1](\mathbf{x})"
    r"\ \text{whenever no gate flips on } [\mathbf{x}, \mathbf{x} + t\boldsymbol{\delta}]"
)
UPDATE = r"\dot W_l = \mathbb{E}_{\mathbf{x}}\left[\mathbf{f}_{l-1}(\mathbf{x})\,\mathbf{g}_l^\top(\mathbf{x})\right] = -\partial J / \partial W_l"


def _nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3):
    return [W_1, W_2, W_3], [W_star_1, W_star_2, W_star_3]


def _stacked_gradient(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    """[g_1; g_2; g_3] from Lemma 1 (7 x 1)."""
    g = recursive_gradient(*_nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3), x)
    return sp.Matrix.vstack(*g[1:])


def _autograd_gradient(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    g = autograd_backprop(*_nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3), x[None, :])
    return torch.cat([g_l[0] for g_l in g[1:]])  # (3,) + (2,) + (2,) -> (7,)


def _mixing_at_x(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    """[A_1 | B_1] with the gates at x (3 x 5); delta does not enter (the claim's closed form is not called with it)."""
    A, B = mixing_matrices(*_nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3), x)[1]
    return sp.Matrix.hstack(A, B)


def _autograd_mixing_moved(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x, delta):
    """[A_1 | B_1] by autograd Jacobians at x + t delta, t = min(1, half the distance to the first gate flip)."""
    weights, weights_star = _nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3)
    t = no_flip_step(weights, weights_star, x, delta)
    A, B = autograd_mixing(weights, weights_star, x + t * delta, 1)
    return torch.cat([A, B], dim=1)  # (3, 2) | (3, 3) -> (3, 5)


def _stacked_update(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    """[vec(f_0 g_1^T); vec(f_1 g_2^T); vec(f_2 g_3^T)] (6 + 6 + 4 = 16 x 1), row-major."""
    u = weight_update(*_nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3), x)
    return sp.Matrix([e for U in u[1:] for e in U])


def _autograd_update(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3, x):
    G = autograd_weight_gradient(*_nets(W_1, W_2, W_3, W_star_1, W_star_2, W_star_3), x[None, :])
    return torch.cat([G_l.reshape(-1) for G_l in G[1:]])  # (2, 3), (3, 2), (2, 2) -> (16,)


def two_layer_weight_update(W, W_star, v, v_star):
    """[vec(W_1'); W_2'] for x ~ N(0, I), W_1 = W^T (d x K), W_2 = v (K x 1): Tian 2017 and ReLU kernels.

    W_1' = -(E[grad_W J])^T = -network_population_gradient(W, W*, v, v*)^T and
    W_2'[j] = E[f_1j (f*_2 - f_2)] = sum_k v*_k k(w_j, w*_k) - sum_j' v_j' k(w_j, w_j'), w_j = row j of W.
    """
    W1 = -network_population_gradient(W, W_star, v=v, v_star=v_star).T  # (K x d) -> (d x K)
    rows, rows_star = [W[j, :].T for j in range(W.shape[0])], [W_star[k, :].T for k in range(W_star.shape[0])]
    W2 = [sum(vk * relu_kernel(w, ws) for vk, ws in zip(v_star, rows_star))
          - sum(vj * relu_kernel(w, wj) for vj, wj in zip(v, rows)) for w in rows]
    return sp.Matrix(list(W1) + W2)


RECURSIVE_GRADIENT_AUTOGRAD = Claim(
    name="recursive-gradient-autograd",
    params=PARAMS,
    closed_form=_stacked_gradient,
    exact=_autograd_gradient,
    derivation=derivation_recursive_gradient,
    statement=LEMMA,
    reference=REFERENCE,
    family=FAMILY,
    examples=EXAMPLES,
    notes="[g_1; g_2; g_3] from the construction (gates Heaviside(h_l) at x) vs -dJ_x/dh_l by autograd; "
          "3-layer student d-3-2-2, teacher d-2-3-2, input width d in 2..4, linear output.",
)

RECURSIVE_MIXING_PIECEWISE_CONSTANT = Claim(
    name="recursive-gradient-piecewise-constant",
    params={**PARAMS, "delta": Vector(dim="x")},
    closed_form=_mixing_at_x,
    exact=_autograd_mixing_moved,
    statement=PIECEWISE,
    reference=REFERENCE,
    family=FAMILY,
    examples=EXAMPLES,
    notes="Closed form: A_1 = V_1^T V*_1, B_1 = V_1^T V_1 with the gates at x. Estimator: V_1, V*_1 as autograd "
          "Jacobians d f_L / d f_1 at x + t delta, t = min(1, t_flip / 2), t_flip the exact first gate flip along "
          "delta (both nets), so the step is as large as it can be without leaving the region.",
)

RECURSIVE_WEIGHT_UPDATE_AUTOGRAD = Claim(
    name="recursive-gradient-weight-update-autograd",
    params=PARAMS,
    closed_form=_stacked_update,
    exact=_autograd_update,
    derivation=derivation_weight_update,
    statement=UPDATE,
    reference=REFERENCE,
    family=FAMILY,
    examples=EXAMPLES,
    notes="Per sample: f_{l-1} g_l^T (g_l from Lemma 1) vs -dJ_x/dW_l by autograd, all three layers flattened.",
)

RECURSIVE_WEIGHT_UPDATE_MC = Claim(
    name="recursive-gradient-weight-update-mc",
    params={"W": Matrix(rows="v", cols=3), "W_star": Matrix(2, 3), "v": Vector(dim=HIDDEN_WIDTHS), "v_star": Vector(2)},
    closed_form=two_layer_weight_update,
    monte_carlo=two_layer_weight_update_at,
    inputs={"x": Gaussian(3)},
    statement=UPDATE + r",\ \mathbf{x} \sim \mathcal{N}(0, I)",
    reference=REFERENCE + "; closed form of the expectation: Tian, ICML 2017 (seed 000, 'Close-form Population Gradient')",
    family=FAMILY,
    examples=5,
    variance_reduction=("antithetic", "control_variates"),
    resolve=0.008,
    samples=262_144,
    min_samples=8192,
    notes="Two-layer net d = 3, student width n_1 in 1..3, teacher m_1 = 2, scalar linear output; W_1 = W^T, W_2 = v (rows of W = hidden units). "
          "x ~ N(0, I_3) engine-owned: antithetic pairs and the degree-2 Hermite controls, each example sized to "
          "resolve 0.8% of the terms. "
          "Per-sample f_{l-1} g_l^T with g_l from Lemma 1's construction; their mean is compared with -E[grad J] "
          "derived by SymPy (population-gradient family).",
)

CLAIMS = (
    RECURSIVE_GRADIENT_AUTOGRAD,
    RECURSIVE_MIXING_PIECEWISE_CONSTANT,
    RECURSIVE_WEIGHT_UPDATE_AUTOGRAD,
    RECURSIVE_WEIGHT_UPDATE_MC,
)
