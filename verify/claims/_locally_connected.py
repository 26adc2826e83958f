"""Built-in claims: forward/backward identities and the marginalized gradient of a locally connected ReLU net.

Family ``locally-connected``: derivation ``theory._locally_connected`` (the paper's equation, derived) ·
estimators ``numerics._locally_connected`` · claims ``verify.claims._locally_connected`` · tests ``tests/test_locally_connected.py``.

Seed ``002_d1776dabe51410e6.txt`` (Tian, arXiv:1809.10829). Closed forms come from
``theory._locally_connected`` (the node-wise recursions in SymPy), estimators from
``numerics._locally_connected`` (dense masked layers, ``torch.relu`` and autograd; for Theorem 1,
brute-force enumeration of the 48 (class, input) pairs). All claims are ``exact=``. Network: 4 inputs,
3 + 2 ReLU nodes with receptive fields of 2 children, one linear top node.
"""

from __future__ import annotations

import sympy as sp

from numerics._locally_connected import (
    autograd_forward_backward,
    autograd_weight_update,
    enumerated_marginalized_gradient,
)
from theory._locally_connected import (
    derivation_backward,
    derivation_marginalized_recursion,
    derivation_weight_update,
    forward_backward,
    marginalized_gradient,
)
from verify._claim import Claim
from verify._params import Matrix, Real, Vector

__all__ = [
    "CLAIMS",
    "LOCALLY_CONNECTED_FORWARD_BACKWARD",
    "LOCALLY_CONNECTED_MARGINALIZED_GRADIENT",
    "LOCALLY_CONNECTED_WEIGHT_UPDATE",
]

FAMILY = "locally-connected"
REFERENCE = "seed 002_d1776dabe51410e6.txt (Tian, arXiv:1809.10829): 'Forward and Backward Propagation in Student Network'"
EXAMPLES = 10  # deterministic exact claims: 10 draws + the boundary examples
WEIGHTS = {"W_1": Matrix(3, 2), "W_2": Matrix(2, 2), "W_3": Matrix(1, 2)}

# typed (all three): recursions over a net's parents/children and conditional expectations, not one closed form
FORWARD_BACKWARD = (
    r"f_j(\mathbf{x}) = f'_j(\mathbf{x}) \sum_{k \in \mathrm{ch}(j)} w_{jk} f_k(\mathbf{x}),\quad"
    r" g_k(\mathbf{x}) = f'_k(\mathbf{x}) \sum_{j \in \mathrm{pa}(k)} w_{jk} g_j(\mathbf{x})"
)
UPDATE = r"\Delta w_{jk} = \mathbb{E}_{\mathbf{x}}\left[f_k(\mathbf{x})\, g_j(\mathbf{x})\right]"
THEOREM1 = (
    r"g_j(\mathbf{x}_k) = \mathbb{E}_{\mathbf{x}_{j,-k}|\mathbf{x}_k}\left[g_j(\mathbf{x}_j)\right],\quad"
    r" g_k(\mathbf{x}_k) = f'_k(\mathbf{x}_k) \sum_{j \in \mathrm{pa}(k)} w_{jk}\,"
    r"\mathbb{E}_{\mathbf{x}_{j,-k}|\mathbf{x}_k}\left[g_j(\mathbf{x}_j)\right]"
)


def _forward_backward(W_1, W_2, W_3, x, y):
    """[f_1 (3); f_2 (2); f_3 (1); g_1 (3); g_2 (2); g_3 (1)] by the node-wise recursions (12 x 1)."""
    f, g, _ = forward_backward(W_1, W_2, W_3, x, y)
    return sp.Matrix([e for l in (1, 2, 3) for e in f[l]] + [e for l in (1, 2, 3) for e in g[l]])


def _weight_update(W_1, W_2, W_3, X, Y):
    """(1/N) sum_n f_k(x_n) g_j(x_n) for every weight, rows of X the inputs (12 x 1)."""
    N = X.shape[0]
    total = sp.zeros(12, 1)
    for n in range(N):
        _, _, updates = forward_backward(W_1, W_2, W_3, X[n, :], Y[n])
        total += sp.Matrix([e for U in updates for e in U])
    return total / N


def _theorem1(W_1, W_2, W_3, a, Theta, c):
    return marginalized_gradient(W_1, W_2, W_3, a, Theta, c)


LOCALLY_CONNECTED_FORWARD_BACKWARD = Claim(
    name="locally-connected-forward-backward",
    params={**WEIGHTS, "x": Vector(4), "y": Real(-3.0, 3.0)},
    closed_form=_forward_backward,
    exact=autograd_forward_backward,
    derivation=derivation_backward,
    statement=FORWARD_BACKWARD,
    reference=REFERENCE,
    family=FAMILY,
    examples=3 * EXAMPLES,  # a term behind two ReLU gates matters at ~1/4 of the draws: 10 miss it with p = 0.06
    notes="Closed form: the node-wise recursions (f'_j = 1(h_j > 0), top node linear, g_top = y - f_top). "
          "Estimator: dense masked layers with torch.relu, g = -dl/dh by autograd, l = 1/2 (f_top - y)^2. "
          "30 draws: with 10, the mutation certificate found survivors (the term W_1_2_1*x_3 of component 11 "
          "dropped or halved: it reaches the output only where two ReLU gates are open), which 30 draws kill.",
)

LOCALLY_CONNECTED_WEIGHT_UPDATE = Claim(
    name="locally-connected-weight-update",
    params={**WEIGHTS, "X": Matrix(3, 4), "Y": Vector(3)},
    closed_form=_weight_update,
    exact=autograd_weight_update,
    derivation=derivation_weight_update,
    statement=UPDATE,
    reference=REFERENCE,
    family=FAMILY,
    examples=3 * EXAMPLES,  # 10 draws let a mutant survive the slow tier's certificate; 30 kill it
    notes="E_x over a data set of N = 3 inputs (rows of X) with targets Y: mean of f_k g_j vs -d/dw of the mean "
          "loss by autograd, all 12 weights. 30 draws: with 10, the mutation certificate found a survivor "
          "(the term W_1_0_1*X_2_1 of component 11 halved), which 30 draws kill.",
)

LOCALLY_CONNECTED_MARGINALIZED_GRADIENT = Claim(
    name="locally-connected-marginalized-gradient",
    params={**WEIGHTS, "a": Vector(3, norm=(0.1, 3.0)), "Theta": Matrix(3, 4, norm=(0.5, 4.0)), "c": Vector(3)},
    closed_form=_theorem1,
    exact=enumerated_marginalized_gradient,
    derivation=derivation_marginalized_recursion,
    statement=THEOREM1,
    reference="seed 002_d1776dabe51410e6.txt (Tian, arXiv:1809.10829): 'Marginalized gradient', "
              "'Theorem 1 (Recursive Property of marginalized gradient)'",
    family=FAMILY,
    examples=3,
    notes="Class z ~ softmax(a), bits b_i | z ~ Bernoulli(sigmoid(Theta_zi)), x = 2b - 1, label c_z. Closed form: "
          "marginalized back-propagation top-down through receptive-field marginals (28 values g_k(x_k)). "
          "Estimator: E[g_k(x) | x_k] by enumerating the 48 (z, x) pairs, per-pair g by autograd.",
)

CLAIMS = (
    LOCALLY_CONNECTED_FORWARD_BACKWARD,
    LOCALLY_CONNECTED_WEIGHT_UPDATE,
    LOCALLY_CONNECTED_MARGINALIZED_GRADIENT,
)
