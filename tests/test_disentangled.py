"""Reformulation and disentangled representations (seed 002, Theorems 2, 8, 9): derivations, the counterexamples' hypotheses, claims, slips."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch
from sympy import kronecker_product

from numerics._disentangled import entangled_child, joint_forward, joint_weight_update
from theory import _disentangled as td
from verify import check
from verify.claims import _disentangled as cd

DERIVATIONS = [td.derivation_reformulation, td.derivation_forward, td.derivation_null_direction, td.derivation_weight_update,
               td.derivation_update_off_blocks]


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.__name__)
def test_derivations_are_proven(derivation):
    result = derivation()
    assert result.proven, f"{result.statement}: difference {result.difference}"


def test_forward_derivation_needs_row_stochastic_transitions():
    """With P^2's rows free (not summing to 1) the factor-wise form is not the matrix form: the proof uses it."""
    P1 = td._stochastic("P1", td.M_ALPHA[0], td.M_BETA[0])
    P2 = td._free("P2", td.M_ALPHA[1], td.M_BETA[1])
    F1, F2 = td._free("F1", td.M_BETA[0], td.N_BETA[0]), td._free("F2", td.M_BETA[1], td.N_BETA[1])
    W1, W2 = td._free("W1", td.N_BETA[0], td.N_ALPHA[0]), td._free("W2", td.N_BETA[1], td.N_ALPHA[1])
    derived = td.matrix_forward(kronecker_product(P1, P2), td.disentangled(F1, F2), td.separated(W1, W2), gate=td._gate)
    printed = td.factorwise_forward(P1, P2, F1, F2, W1, W2, gate=td._gate)
    assert not td.compare("P2 free", derived, printed, simplify=sp.expand).proven


def test_uncentred_off_blocks_are_not_zero():
    off = td.derivation_update_off_blocks().printed
    assert off[0, td.N_ALPHA[0]] != 0 and off[td.N_BETA[0], 0] != 0   # the off-diagonal blocks
    assert off[0, 0] == 0 and off[td.N_BETA[0], td.N_ALPHA[0]] == 0     # the diagonal blocks


def test_disentangled_part_fixes_exactly_the_disentangled_matrices():
    A1, A2 = sp.Matrix([[1], [2]]), sp.Matrix([[3, 4], [5, 6], [7, 9]])
    F = td.disentangled(A1, A2)
    assert td.disentangled_part(F, td.M_ALPHA, td.N_ALPHA) == F
    E = sp.Matrix(F)
    E[0, 0] += 1   # one entry of a group-1 column: now it depends on z^2 too
    assert td.disentangled_part(E, td.M_ALPHA, td.N_ALPHA) != E


def _draw(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    shapes = {"L1": (2, 3), "L2": (3, 2), "F1": (3, 2), "F2": (2, 2), "W1": (2, 1), "W2": (2, 2), "c": (4,), "v": (2,)}
    return {k: torch.randn(*s, generator=g, dtype=torch.float64) for k, s in shapes.items()}


@pytest.mark.parametrize("seed", range(3))
def test_entangled_child_leaves_the_parent_unchanged(seed):
    """The as-printed counterexample meets Theorem 8's hypothesis: F_alpha is the disentangled child's F_alpha."""
    x = _draw(seed)
    child = entangled_child(x["L1"], x["F1"], x["F2"], x["c"], x["v"])
    args = [x[k] for k in ("L1", "L2", "F1", "F2", "W1", "W2")]
    torch.testing.assert_close(joint_forward(*args, F_beta=child), joint_forward(*args), rtol=0, atol=1e-13)
    disentangled = entangled_child(x["L1"], x["F1"], x["F2"], torch.zeros_like(x["c"]), x["v"])
    assert (child - disentangled).abs().max() > 1e-3


@pytest.mark.parametrize("claim", cd.CLAIMS, ids=lambda c: c.name)
def test_claims_fast(claim):
    r = check(dataclasses.replace(claim, examples=3, derivation=None), seed=0, shrink=False)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def _refuted(claim, closed_form) -> bool:
    wrong = dataclasses.replace(claim, name=f"{claim.name}-slip", closed_form=closed_form, derivation=None,
                                expected="verified", examples=5)
    return check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_forward_slips_are_refuted():
    def one_percent(L1, L2, F1, F2, W1, W2):   # group 1 off by 1 %
        P1, P2, F1, F2 = cd._factors(L1, L2, F1, F2)
        return td.disentangled(1.01 * td.relu(P1 * F1 * W1), td.relu(P2 * F2 * W2))

    def factors_swapped(L1, L2, F1, F2, W1, W2):   # group 1 repeated in the wrong Kronecker slot
        P1, P2, F1, F2 = cd._factors(L1, L2, F1, F2)
        A1, A2 = td.relu(P1 * F1 * W1), td.relu(P2 * F2 * W2)
        return sp.Matrix.hstack(kronecker_product(sp.ones(3, 1), A1), kronecker_product(A2, sp.ones(2, 1)))

    def ungated(L1, L2, F1, F2, W1, W2):   # the gate dropped
        P1, P2, F1, F2 = cd._factors(L1, L2, F1, F2)
        return td.disentangled(P1 * F1 * W1, P2 * F2 * W2)

    for slip in (one_percent, factors_swapped, ungated):
        assert _refuted(cd.DISENTANGLED_FORWARD, slip), slip.__name__


def test_weight_update_slips_are_refuted():
    def uniform_prior(a1, a2, L1, L2, F1, F2, G1, G2):   # Lambda dropped: E_{z_alpha} as an unweighted mean
        P1, P2, F1, F2 = cd._factors(L1, L2, F1, F2)
        u1, u2 = sp.ones(2, 1) / 2, sp.ones(3, 1) / 3
        return td.factorwise_weight_update(P1, P2, F1, F2, u1, u2, td.centred(G1, u1), td.centred(G2, u2))

    def one_percent(a1, a2, L1, L2, F1, F2, G1, G2):
        return cd._update_centred(a1, a2, L1, L2, F1, F2, G1, G2) * sp.Rational(101, 100)

    for slip in (uniform_prior, one_percent):
        assert _refuted(cd.DISENTANGLED_WEIGHT_UPDATE, slip), slip.__name__


def test_as_printed_update_differs_only_off_the_diagonal_blocks():
    x = _draw(0)
    g = torch.Generator().manual_seed(1)
    a1, a2 = torch.randn(2, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    G1, G2 = torch.randn(2, 1, generator=g, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64)
    dW = joint_weight_update(a1, a2, x["L1"], x["L2"], x["F1"], x["F2"], G1, G2)   # (4, 3)
    syms = {n: sp.Matrix(*T.reshape(T.shape[0], -1).shape, [sp.Float(float(t), 30) for t in T.reshape(-1)])
            for n, T in {"a1": a1[:, None], "a2": a2[:, None], "L1": x["L1"], "L2": x["L2"], "F1": x["F1"],
                         "F2": x["F2"], "G1": G1, "G2": G2}.items()}
    closed = torch.tensor(sp.matrix2numpy(cd._update_as_printed(**syms).evalf(20), dtype=float))
    diff = (dW - closed).abs()
    assert diff[:2, :1].max() < 1e-12 and diff[2:, 1:].max() < 1e-12   # the diagonal blocks agree
    assert diff[:2, 1:].min() > 1e-6 and diff[2:, :1].min() > 1e-6      # the off-diagonal ones do not


def test_reformulation_slips_are_refuted():
    def one_percent(L, Theta, phi, w):
        return td.reformulation_kept(L, Theta, phi, w) * sp.Rational(101, 100)

    def ungated(L, Theta, phi, w):   # the parent's gate dropped: the linear network's value
        P_ab, Q = td.row_softmax(L), td._bit_table(Theta)
        return td._reformulation(P_ab, Q, [1] * 4, phi, w)[1]

    for slip in (one_percent, ungated):
        assert _refuted(cd.REFORMULATION, slip), slip.__name__


def test_printed_reformulation_holds_where_the_gate_is_fixed():
    """Control: with the gate open at every x (phi, w >= 0 and phi > 0) the printed form is exact."""
    L, Theta = sp.Matrix([[0.3, -1, 0.5], [1.2, 0.1, -0.4]]), sp.Matrix([[1, -2], [0.5, 0.3], [-1, 2]])
    phi, w = sp.Matrix([[0.5, 2], [1, 0.25]]), sp.Matrix([0.7, 1.1])
    gap = td.reformulation_printed(L, Theta, phi, w) - td.reformulation_kept(L, Theta, phi, w)
    assert max(abs(float(e)) for e in gap) < 1e-12
    phi = sp.Matrix([[1, 0], [1, 0]])   # gate 1(x_0 = 0): correlated with f_0
    gap = td.reformulation_printed(L, Theta, phi, sp.Matrix([1, 0])) - td.reformulation_kept(L, Theta, phi, sp.Matrix([1, 0]))
    assert min(abs(float(e)) for e in gap) > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("claim", cd.CLAIMS, ids=lambda c: c.name)
def test_claims_as_shipped(claim, seed):
    r = check(claim, seed=seed)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
