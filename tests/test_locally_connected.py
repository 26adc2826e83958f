"""Locally connected ReLU net (seed 002, Tian 2018): recursions vs autograd, Theorem 1 vs enumeration, wrong variants."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from numerics._locally_connected import dense_weights, enumerated_marginalized_gradient
from theory._locally_connected import (
    CHILDREN,
    derivation_backward,
    derivation_marginalized_recursion,
    derivation_weight_update,
    field,
    forward_backward,
    marginalized_gradient,
    parents,
)
from verify import check
from verify.claims._locally_connected import (
    CLAIMS,
    LOCALLY_CONNECTED_FORWARD_BACKWARD,
    LOCALLY_CONNECTED_MARGINALIZED_GRADIENT,
)


@pytest.mark.parametrize("derivation", [derivation_backward, derivation_weight_update, derivation_marginalized_recursion])
def test_derivations_are_proven(derivation):
    assert derivation().proven


def test_topology():
    assert [field(2, j) for j in range(2)] == [(0, 1, 2), (1, 2, 3)]
    assert field(3, 0) == (0, 1, 2, 3)
    assert parents(1, 1) == [(0, 1), (1, 0)]   # middle layer-1 node feeds both layer-2 nodes
    D = dense_weights([torch.ones(3, 2), torch.ones(2, 2), torch.ones(1, 2)])
    assert [tuple(d.shape) for d in D] == [(3, 4), (2, 3), (1, 2)] and int(D[0].sum()) == 6


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_fast(claim):
    r = check(dataclasses.replace(claim, examples=2, derivation=None), seed=0)  # derivations: their own test
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_backward_without_gate_is_refuted():
    def ungated(W_1, W_2, W_3, x, y):
        f, g, _ = forward_backward(W_1, W_2, W_3, x, y)
        w2 = W_2
        # g_k = sum_j w_jk g_j, the gate f'_k dropped at layer 1
        g1 = [sum(w2[j, a] * g[2][j] for j, a in parents(1, k)) for k in range(3)]
        return sp.Matrix([e for l in (1, 2, 3) for e in f[l]] + g1 + list(g[2]) + list(g[3]))

    wrong = dataclasses.replace(LOCALLY_CONNECTED_FORWARD_BACKWARD, name="lc-ungated", closed_form=ungated,
                                derivation=None, examples=5)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_marginalized_recursion_with_unconditional_expectation_is_refuted():
    """Replacing E_{x_{j,-k}|x_k} by an expectation that ignores x_k (the unconditional mean) is wrong."""

    def unconditional(W_1, W_2, W_3, a, Theta, c):
        from theory._locally_connected import mixture_marginal

        def marginal(coords, bits):   # P(x_j = gamma) / P(x_k = beta) replaced by P(x_j = gamma) / 1 where coords is x_k
            return sp.S.One if len(coords) < 4 and coords in [field(1, k) for k in range(3)] else mixture_marginal(a, Theta, coords, bits)

        return marginalized_gradient(W_1, W_2, W_3, a, Theta, c, marginal=marginal)

    wrong = dataclasses.replace(LOCALLY_CONNECTED_MARGINALIZED_GRADIENT, name="lc-unconditional",
                                closed_form=unconditional, derivation=None, examples=3)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_enumeration_is_a_conditional_mean():
    """The brute-force table has one finite value per (node, receptive-field value): 3 x 4 + 2 x 8 = 28."""
    g = torch.Generator().manual_seed(0)
    W = [torch.randn(len(ch), 2, generator=g, dtype=torch.float64) for ch in CHILDREN]
    a, Theta, c = (torch.randn(3, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64),
                   torch.randn(3, generator=g, dtype=torch.float64))
    table = enumerated_marginalized_gradient(*W, a, Theta, c)
    assert table.shape == (28,) and torch.isfinite(table).all()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_as_shipped(claim, seed):
    r = check(claim, seed=seed)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
