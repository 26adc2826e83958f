"""BatchNorm backward as a projection (seed 002, Theorem 5) and BYOL's detached variants (seed 000).

Theory: the SymPy proofs hold (m = 2, 3 here; 2..6 in the slow tier), the variant table SymPy derives is
the one worked out by hand, and the eps-gap has the derived size. Claims: every built-in claim comes out
as expected, and deliberately wrong variants are refuted.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from numerics._batchnorm import (backward_operator_grad, batchnorm_formula_grad, batchnorm_grad, normalization_grad,
                                 weighted_batchnorm_grad)
from theory import _batchnorm as bn
from tests._roundoff import assert_within, gamma, roundoff
from verify import check
from verify.claims import _batchnorm as claims

DERIVATIONS = [bn.derivation_theorem5, bn.derivation_eps_backward, bn.derivation_eps_decomposition,
               bn.derivation_idempotency_gap, bn.derivation_ioffe_szegedy]


# --------------------------------------------------------------------------- theory


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.__name__)
def test_derivation_is_proven_for_batch_of_two(derivation):
    result = derivation(2)
    assert result.proven, f"{result.statement}: difference {result.difference}"


def test_theorem5_is_proven_for_batch_of_three():
    assert bn.derivation_theorem5(3).proven


@pytest.mark.slow
@pytest.mark.parametrize("m", [3, 4, 5, 6])
@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.__name__)
def test_derivation_is_proven_for_batch_sizes_up_to_six(derivation, m):
    assert derivation(m).proven


def test_the_reducer_does_not_prove_a_false_identity():
    """Theorem 5 with eps > 0 is false: the proof machinery must leave a non-zero difference."""
    f, g, c1, eps = bn._symbols(2)
    d = bn.compare("false", bn.batchnorm_vjp(f, g, c1, eps), bn.theorem5_backward(f, g, c1, eps),
                   simplify=bn._sigma_reducer(bn.batch_variance(f) + eps))
    assert not d.proven
    wrong = bn.compare("as printed", bn.ioffe_szegedy_backward(f, g, c1, eps),
                       bn.ioffe_szegedy_backward(f, g, c1, eps, as_printed=True),
                       simplify=bn._sigma_reducer(bn.batch_variance(f) + eps))
    assert not wrong.proven


def test_variant_table_matches_the_hand_derivation():
    """(zero-mean, orthogonal to f_hat) per BYOL variant; only live centring keeps the mean at zero."""
    assert bn.variant_properties(4) == {
        "-": (False, False), "mu": (True, False), "sigma": (False, False), "mu,sigma": (True, True),
        "mu‡": (False, False), "sigma‡": (False, False), "mu‡,sigma": (False, True),
        "mu,sigma‡": (True, False), "mu‡,sigma‡": (False, False),
    }


def test_variant_claims_agree_with_the_derived_table():
    table = bn.variant_properties(4)
    for label, prop, expected in claims._VARIANT_CASES:
        holds = table[label][0 if prop == "zero-mean" else 1]
        assert holds == (expected == "verified"), (label, prop)


def _bn_magnitude(f, g, eps, ddof=0):
    """|J^T| |g| for x -> (x - mean x) / s, s = sqrt(var_ddof x + eps), per feature row: the backward formula
    (g - mean g - x_hat sum(g x_hat) / (m - ddof)) / s with every term replaced by its absolute value; (F, m)."""
    m = f.shape[1]
    s = torch.sqrt(f.var(dim=1, correction=ddof, keepdim=True) + eps)  # (F, 1)
    xh = (f - f.mean(1, keepdim=True)) / s  # (F, m)
    return (g.abs() + g.abs().mean(1, keepdim=True) + xh.abs() * (g * xh).abs().sum(1, keepdim=True) / (m - ddof)) / s


def _bn_ops(m: int) -> int:
    """Operations along the longest path of a BN forward + backward over a batch of m: at most 4 reductions
    (mean; variance, Welford's update being 5 operations an element; sum g; sum g x_hat), each at most 5m
    deep, and at most 20 elementwise operations (centre, scale, sqrt, products, subtractions)."""
    return 20 * m + 20


@pytest.mark.roundoff
def test_idempotency_gap_is_largest_where_variance_equals_eps():
    """|A^2 g - A g| along f_hat is lam (1 - lam) |P_fhat g|, maximal (1/4) at var = eps.

    Round-off, relative to the gap, with k = 2 _bn_ops(m) + 4 (A twice, times sigma, the subtraction):
    gamma_k times the sum of the relative condition numbers of the pieces -- the difference
    d = A^2 g - A g (magnitude |A|^2 |g| + |A| |g| over ||d||: it cancels), its norm (1), the projection
    <g, fh> (sum |g| |fh| over |<g, fh>|), fh's centring (||f| + mean|f||| / ||f - mean f||), and
    lam (1 - lam) ((1 + lam) / (1 - lam): 1 - lam cancels for eps >> var).
    """
    f = torch.tensor([[0.3, -0.1, 0.05, -0.25]], dtype=torch.float64)  # (1, 4)
    g = torch.tensor([[1.0, -2.0, 0.5, 0.3]], dtype=torch.float64)  # <g, f - mean f> != 0
    m = f.shape[1]
    var = float(f.var(unbiased=False))
    k = 2 * _bn_ops(m) + 4
    gaps, rel = {}, {}
    for eps in (var / 100, var, var * 100):
        d = backward_operator_grad(f, g, eps, times=2) - backward_operator_grad(f, g, eps)
        fh = (f - f.mean()) / (f - f.mean()).norm()
        gaps[eps] = float(d.norm() / (g @ fh.T).abs())  # |P_fhat g| = |<g, fh>| for unit fh
        sigma = torch.sqrt(f.var(unbiased=False) + eps)
        mag1 = sigma * _bn_magnitude(f, g, eps)  # |A| |g|
        mag2 = sigma * _bn_magnitude(f, mag1, eps)  # |A|^2 |g|
        lam = eps / (var + eps)
        cond = (float((mag1 + mag2).norm() / d.norm()) + 1 + float((g.abs() @ fh.abs().T) / (g @ fh.T).abs())
                + float((f.abs() + f.abs().mean()).norm() / (f - f.mean()).norm()) + (1 + lam) / (1 - lam))
        rel[eps] = gamma(k) * cond
    lam = {e: e / (var + e) for e in gaps}
    for e, gap in gaps.items():
        assert gap == pytest.approx(lam[e] * (1 - lam[e]), rel=rel[e], abs=0)
    assert gaps[var] == pytest.approx(0.25, rel=rel[var], abs=0) and max(gaps, key=gaps.get) == var


def test_bad_arguments_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match="rowwise"):
        bn.batchnorm(sp.Matrix([[1, 2]]), 1, 0)
    with pytest.raises(ValueError, match="one of"):
        bn.normalization_vjp(sp.Matrix(sp.symbols("a0:3")), sp.Matrix(sp.symbols("b0:3")), center="live", scale="none")
    with pytest.raises(ValueError, match="same shape"):
        batchnorm_grad(torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64), 1e-5)


@pytest.mark.roundoff
def test_estimators_agree_with_each_other():
    """BatchNorm1d with eps vs the written-out forward pass with the same eps; the (mu, sigma) variant
    vs the written-out pass with the unbiased std."""
    gen = torch.Generator().manual_seed(0)
    f, g = torch.randn(3, 6, generator=gen, dtype=torch.float64), torch.randn(3, 6, generator=gen, dtype=torch.float64)
    c1, c0 = torch.tensor(1.7, dtype=torch.float64), torch.tensor(-0.3, dtype=torch.float64)
    m = f.shape[1]
    # two computations of c1 J^T g, each within gamma_k c1 |J^T| |g| (k: the BN path, times c1)
    bound = 2 * roundoff(torch.float64, _bn_ops(m) + 1, c1.abs() * _bn_magnitude(f, g, 1e-3))
    assert_within(batchnorm_grad(f, g, 1e-3, c1, c0), batchnorm_formula_grad(f, g, c1, c0, 1e-3), bound, "BatchNorm1d vs formula")
    live = normalization_grad(f, g, center="batch", scale="batch")
    # each row of J^T g sums to 0 exactly; computed: the m entries' round-off plus the sum's, gamma_{m-1} sum|entries|
    entry = roundoff(torch.float64, _bn_ops(m), _bn_magnitude(f, g, 0.0, ddof=1))  # unbiased std, as the seed's x.std(0)
    bound = entry.sum(dim=1) + gamma(m - 1) * live.abs().sum(dim=1)  # (F,)
    assert_within(live.sum(dim=1), torch.zeros(f.shape[0], dtype=torch.float64), bound, "live-centred rows sum to 0")
    assert float(normalization_grad(f, g, center="detached", scale="none").sub(g).abs().max()) == 0.0


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.name)
def test_builtin_claim_comes_out_as_expected(claim):
    """Fast tier: 3 random examples besides the boundary ones, no shrinking, no derivation (each is proven by its
    own test here). Every claim as shipped runs in the README's main job (``theorycheck report``, exit 1 on an
    unexpected verdict) and in the slow tier."""
    r = check(dataclasses.replace(claim, examples=min(claim.examples, 3), derivation=None), seed=0, shrink=False)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
    assert r.error is None
    if claim.expected == "verified":
        assert r.statistic["value"] <= 1.0 and r.examples >= r.boundary_examples > 0
    else:
        assert r.counterexample is not None and r.counterexample["statistic"] > 1.0


def test_dropping_the_mean_term_is_refuted():
    """A backward pass that forgets -mean(g) 1 is caught by autograd."""

    def wrong(f, g, eps):
        return bn.rowwise(lambda fc, gc: bn.batchnorm_backward(fc, gc, 1, eps)
                          + sp.ones(fc.shape[0], 1) * bn.batch_mean(gc) / bn.batch_sigma(fc, eps), f, g)

    r = check(dataclasses.replace(claims.BATCHNORM_EPS, name="bn-no-mean-term", closed_form=wrong, derivation=None), seed=0)
    assert r.verdict == "refuted" and r.counterexample["shrunk"]


@pytest.mark.roundoff
def test_a_tiny_relative_error_is_refuted():
    """The exact test has float64 teeth: a factor 1 + 1e-9 on autograd is refuted."""

    def scaled(f, g, eps):
        return batchnorm_grad(f, g, eps) * (1 + 1e-9)

    r = check(dataclasses.replace(claims.BATCHNORM_EPS, name="bn-scaled", exact=scaled, derivation=None), seed=0, shrink=False)
    assert r.verdict == "refuted"


def test_mean_detached_would_pass_if_its_property_held():
    """Control: the zero-mean closed form against an estimator that *is* centred passes; so the refutation
    of byol-mean-detached-zero-mean is the property failing, not the construction."""
    claim = next(c for c in claims.BYOL_VARIANT_CLAIMS if c.name == "byol-mean-detached-zero-mean")

    def centred(f, g):
        return g - g.mean(dim=1, keepdim=True)  # (F, m) - (F, 1)

    r = check(dataclasses.replace(claim, name="control", exact=centred, expected="verified"), seed=0)
    assert r.verdict == "verified", r.counterexample


# --------------------------------------------------------------------------- BN in the reformulation (E_{z_alpha}-weighted)


def test_weighted_theorem5_is_proven_for_two_values():
    assert bn.derivation_weighted_theorem5(2).proven


@pytest.mark.slow
def test_weighted_theorem5_is_proven_for_three_values():
    assert bn.derivation_weighted_theorem5(3).proven


def test_weighted_gradient_is_centred_under_the_weights():
    """E_p[g_f] = 0 and E_p[(f - mu) g_f] = 0: what P^perp_{f,1} under <.,.>_p leaves (autograd)."""
    gen = torch.Generator().manual_seed(0)
    f, g = torch.randn(2, 4, generator=gen, dtype=torch.float64), torch.randn(2, 4, generator=gen, dtype=torch.float64)
    a = torch.randn(4, generator=gen, dtype=torch.float64)
    p = torch.softmax(a, dim=0)
    grad = weighted_batchnorm_grad(f, g, a, torch.tensor(1.5, dtype=torch.float64))
    centred = f - (p * f).sum(dim=1, keepdim=True)
    torch.testing.assert_close((p * grad).sum(dim=1), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close((p * centred * grad).sum(dim=1), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-12)


def test_uniform_statistics_in_the_weighted_backward_are_refuted():
    """Theorem 5 with the batch's uniform mean, variance and inner product in place of the E_{z_alpha}-weighted ones."""

    def uniform(a, f, g, c1):
        return bn.rowwise(bn.theorem5_backward, f, g, c1=c1)

    def one_percent(a, f, g, c1):
        return claims.weighted_closed_form(a, f, g, c1) * sp.Rational(101, 100)

    for wrong in (uniform, one_percent):
        slip = dataclasses.replace(claims.BATCHNORM_WEIGHTED_PROJECTION, name="bn-weighted-slip", closed_form=wrong,
                                   derivation=None, examples=3)
        assert check(slip, seed=0, shrink=False).verdict == "refuted", wrong.__name__
