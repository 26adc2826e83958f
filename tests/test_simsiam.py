"""SimSiam facts (seed 001; Chen & He 2021): stop-gradient symmetry, the M-step minimizer, the collapse
metric's 1/sqrt(d); derivations, estimators against autograd / closed forms, and the built-in claims."""

from __future__ import annotations

import dataclasses
import math

import pytest
import sympy as sp
import torch

from numerics import _simsiam as ns
from theory import _simsiam as ts
from tests._roundoff import assert_within, roundoff
from verify import check
from verify._stats import critical_z
from verify.claims._simsiam import CLAIMS, SIMSIAM_EM_MINIMIZER, SIMSIAM_STOPGRAD_COSINE

F64 = torch.float64


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("distance", ["cosine", "l2"])
@pytest.mark.parametrize("d", [2, 3])
def test_stop_gradient_derivation_is_proven(distance, d):
    assert ts.derivation_stop_gradient(distance, d).proven


def test_stop_gradient_with_predictor_is_not_half_gradient():
    """With h(z) = A z the symmetry argument fails: SymPy leaves a non-zero difference."""
    z1, z2 = sp.Matrix(sp.symbols("a0:2", real=True)), sp.Matrix(sp.symbols("b0:2", real=True))
    A = sp.Matrix([[1, 2], [0, 1]])
    diff = (ts.stop_gradient_gradient(z1, z2, "l2", A) - ts.predictor_half_gradient(z1, z2, A, "l2")).applyfunc(sp.expand)
    assert any(e != 0 for e in diff)


def test_one_sided_stop_gradient_is_not_the_full_gradient():
    """The 1/2 matters: without it the two sides differ by a factor 2 (l2, any z1 != z2)."""
    z1, z2 = sp.Matrix(sp.symbols("a0:2", real=True)), sp.Matrix(sp.symbols("b0:2", real=True))
    full = 2 * ts.half_gradient(z1, z2, "l2")
    assert (ts.stop_gradient_gradient(z1, z2, "l2") - full).applyfunc(sp.expand) != sp.zeros(4, 1)


@pytest.mark.parametrize("K,d", [(2, 1), (3, 2)])
def test_em_minimizer_derivation_is_proven(K, d):
    assert ts.derivation_em_minimizer(K, d).proven


def test_channel_moments_and_std():
    d = sp.Symbol("d", positive=True)
    first, second = ts.normalized_channel_moments()
    assert first == 0 and sp.simplify(second - 1 / d) == 0
    assert ts.derivation_channel_std().proven


# --------------------------------------------------------------------------- numerics


def _distance_gradient_error(z1, z2, distance) -> torch.Tensor:
    """Bound on each autograd gradient (w.r.t. (z1, z2), (2d,)) of D(z1, z2) or its stop-gradient halves.

    l2: +-(z1 - z2) times 2 and 1/2: gamma_4 (|z1| + |z2|). cosine: d/da (-a.b / (|a||b|)) = -(b / (|a||b|) -
    (a.b) a / (|a|^3 |b|)), whose terms have magnitude (|b| / |b| + |a| / |a|) / |a| (sum |a_i b_i| <= |a||b|); a dot
    product and two norms of d terms, the powers, products and quotients: gamma_{3d + 12}.
    """
    d = z1.shape[0]
    if distance == "l2":
        return roundoff(F64, 4, torch.cat([z1.abs() + z2.abs()] * 2))
    n1, n2 = z1.norm(), z2.norm()
    return roundoff(F64, 3 * d + 12, torch.cat([(z2.abs() / n2 + z1.abs() / n1) / n1, (z1.abs() / n1 + z2.abs() / n2) / n2]))


@pytest.mark.roundoff
def test_stop_gradient_autograd_matches_removing_it_and_halving():
    g = torch.Generator().manual_seed(0)
    for distance, D in (("cosine", ns.negative_cosine), ("l2", ns.squared_l2)):
        z1, z2 = torch.randn(5, generator=g, dtype=F64), torch.randn(5, generator=g, dtype=F64)
        a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        full = torch.cat(torch.autograd.grad(D(a, b), (a, b)))  # (10,)
        assert_within(ns.stop_gradient_gradient(z1, z2, distance), full / 2, 2 * _distance_gradient_error(z1, z2, distance), distance)


@pytest.mark.roundoff
def test_stop_gradient_really_stops_the_gradient():
    """Without .detach() the same expression gives the full gradient (twice the stop-gradient one)."""
    z1 = torch.tensor([1.0, 2.0, -1.0], dtype=F64, requires_grad=True)
    z2 = torch.tensor([0.5, -1.0, 3.0], dtype=F64, requires_grad=True)
    loss = ns.squared_l2(z1, z2) / 2 + ns.squared_l2(z2, z1) / 2
    live = torch.cat(torch.autograd.grad(loss, (z1, z2)))
    # both 2 (z1 - z2) (and its negative): gamma_4 (|z1| + |z2|) each, the doubling exact
    assert_within(live, 2 * ns.stop_gradient_gradient(z1, z2, "l2"), 4 * _distance_gradient_error(z1.detach(), z2.detach(), "l2"), "live l2")


@pytest.mark.roundoff
def test_em_newton_minimizer_is_a_minimum():
    g = torch.Generator().manual_seed(1)
    X, v = torch.randn(4, 3, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    eta = ns.em_newton_minimizer(X, v)
    p = v**2 / (v**2).sum()
    # both are sum_k p_k f_k (f = tanh X, p computed identically): the Newton step's numerator 2 sum p f (K + 1),
    # its exactly diagonal Hessian 2 sum p (K + 1) and the division (LU of a diagonal matrix: 1); the direct sum (K)
    K = X.shape[0]
    bound = roundoff(F64, 3 * K + 4, (p[:, None] * torch.tanh(X).abs()).sum(0))
    assert_within(eta, (p[:, None] * torch.tanh(X)).sum(0), bound, "Newton step vs weighted mean")  # (K, 1) * (K, d) -> (d,)
    loss = lambda e: (p * ((torch.tanh(X) - e) ** 2).sum(-1)).sum()  # noqa: E731
    for _ in range(5):
        assert loss(eta) < loss(eta + 1e-3 * torch.randn(3, generator=g, dtype=F64))


@pytest.mark.roundoff
def test_collapsed_outputs_have_zero_channel_std_and_gaussian_ones_do_not():
    g = torch.Generator().manual_seed(2)
    c = torch.tensor([3.0, -1.0, 0.5, 2.0], dtype=F64)
    assert float(ns.collapsed_channel_variance_samples(c, 100, g).abs().max()) == 0.0
    samples = ns.channel_variance_samples(torch.tensor(1.0, dtype=F64), 40_000, g, d=8)  # (n, 8) unbiased estimates
    var, n = samples.mean(0), samples.shape[0]
    # statistical: a two-sided z-test at false-failure rate 1e-6 over the 8 channels (fixed seed), SE from the
    # samples, plus the mean's round-off (gamma_n mean |x|)
    bound = critical_z(1e-6, 8) * samples.std(0) / math.sqrt(n) + roundoff(F64, n, samples.abs().mean(0))
    assert_within(var, torch.full_like(var, 1 / 8), bound, "channel variance 1/d")


def test_estimators_draw_only_from_their_generator():
    s = torch.tensor(2.0, dtype=F64)
    a = ns.channel_variance_samples(s, 10, torch.Generator().manual_seed(3), d=4)
    torch.manual_seed(123)
    b = ns.channel_variance_samples(s, 10, torch.Generator().manual_seed(3), d=4)
    assert torch.equal(a, b)


def test_generator_forms_are_the_input_forms_at_the_generators_draws():
    """One implementation: ``*_samples(n, generator)`` draws a, b ~ N(0, I_d) (2n rows, a first) and calls ``*_at``."""
    n, s = 50, torch.tensor(2.0, dtype=F64)
    e = torch.randn(2 * n, 4, generator=torch.Generator().manual_seed(3), dtype=F64)
    assert torch.equal(ns.channel_variance_samples(s, n, torch.Generator().manual_seed(3), d=4), ns.channel_variance_at(s, e[:n], e[n:]))
    A = torch.randn(4, 4, generator=torch.Generator().manual_seed(6), dtype=F64)
    assert torch.equal(ns.anisotropic_channel_variance_samples(A, n, torch.Generator().manual_seed(3)),
                       ns.anisotropic_channel_variance_at(A, e[:n], e[n:]))
    with pytest.raises(ValueError, match="of one shape"):
        ns.channel_variance_at(s, e[:n], e[: n - 1])
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        ns.anisotropic_channel_variance_at(A, e[:n, :3], e[n:, :3])


def test_channel_variance_controls_have_mean_zero():
    """a_i^2 - 1, b_i^2 - 1, a_i b_i have mean 0 exactly for standard normal a, b: a two-sided z-test at
    false-failure rate 1e-6 over the 3d columns (fixed seed, SE from the samples, plus the mean's round-off)."""
    n, d = 40_000, 16
    g = torch.Generator().manual_seed(11)
    a, b = torch.randn(n, d, generator=g, dtype=F64), torch.randn(n, d, generator=g, dtype=F64)
    c = ns.channel_variance_controls(a, b)
    assert c.shape == (n, 3 * d)
    bound = critical_z(1e-6, 3 * d) * c.std(0) / math.sqrt(n) + roundoff(F64, n, c.abs().mean(0))
    assert_within(c.mean(0), torch.zeros(3 * d, dtype=F64), bound, "Hermite controls' means")


def test_variance_claims_with_many_channels_return_their_controls():
    """Above MAX_QUADRATIC_DIM inputs (2d > 12) the claim's estimator returns (values, controls); below, values only."""
    from verify._draws import MAX_QUADRATIC_DIM
    s = torch.tensor(1.0, dtype=F64)
    g = torch.Generator().manual_seed(1)
    for c in CLAIMS:
        if not c.name.startswith("simsiam-channel-variance-d"):
            continue
        d = c.inputs["a"].dim
        a, b = torch.randn(8, d, generator=g, dtype=F64), torch.randn(8, d, generator=g, dtype=F64)
        out = c.monte_carlo(sigma=s, a=a, b=b)
        if 2 * d <= MAX_QUADRATIC_DIM:
            assert isinstance(out, torch.Tensor) and out.shape == (8, d)
        else:
            values, controls = out
            assert values.shape == (8, d) and torch.equal(controls, ns.channel_variance_controls(a, b))


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_claims_come_out_as_expected_fast(claim):
    r = check(dataclasses.replace(claim, examples=2, samples=min(claim.samples, 10_000), derivation=None), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


def test_wrong_stop_gradient_factor_is_refuted():
    """Dropping the 1/2 (stop-gradient = full gradient) is refuted exactly."""
    def wrong(z1, z2):
        return 2 * ts.half_gradient(z1, z2, "cosine")

    r = check(dataclasses.replace(SIMSIAM_STOPGRAD_COSINE, closed_form=wrong, derivation=None, examples=2), seed=0,
              shrink=False)
    assert r.verdict == "refuted"


def test_wrong_em_minimizer_is_refuted():
    """The unweighted mean of F(T_k(x)) (ignoring the augmentation probabilities) is refuted."""
    def wrong(X, v):
        return ts.em_minimizer(X.applyfunc(sp.tanh), sp.ones(X.rows, 1))

    r = check(dataclasses.replace(SIMSIAM_EM_MINIMIZER, closed_form=wrong, derivation=None, examples=2), seed=0,
              shrink=False)
    assert r.verdict == "refuted"


@pytest.mark.slow
@pytest.mark.parametrize("distance", ["cosine", "l2"])
@pytest.mark.parametrize("d", [4, 6])
def test_stop_gradient_derivation_for_larger_d(distance, d):
    assert ts.derivation_stop_gradient(distance, d).proven


# --------------------------------------------------------------------------- the optimal predictor

from verify._claim import declared  # noqa: E402
from verify.claims import _simsiam as cs  # noqa: E402


@pytest.mark.parametrize("M,K,d", [(1, 2, 1), (2, 2, 2), (2, 3, 2)])
def test_optimal_predictor_derivation_is_proven(M, K, d):
    assert ts.derivation_optimal_predictor(M, K, d).proven


def test_predictor_loss_decomposition_is_proven():
    assert ts.derivation_predictor_loss(3, 2).proven


def test_shared_view_optimum_is_the_posterior_mixture():
    """Where images a and b share their first view, SymPy's optimum there is (p_a0 mu_a + p_b0 mu_b) / (p_a0 + p_b0)."""
    F, p, optimum = ts._generic_predictor_optimum(2, 2, 1, cs.SHARED)
    normalised = {p[0, 1]: 1 - p[0, 0], p[1, 1]: 1 - p[1, 0]}
    mu = [ts.augmentation_mean(F[2 * m:2 * m + 2, :], p.row(m))[0] for m in range(2)]
    mixture = (p[0, 0] * mu[0] + p[1, 0] * mu[1]) / (p[0, 0] + p[1, 0])
    assert sp.cancel((optimum[0, 0] - mixture).xreplace(normalised)) == 0
    assert sp.cancel((optimum[2, 0] - mixture).xreplace(normalised)) == 0
    assert sp.cancel((optimum[0, 0] - mu[0]).xreplace(normalised)) != 0


@pytest.mark.roundoff
def test_newton_predictor_is_the_weighted_mean_of_the_detached_targets():
    g = torch.Generator().manual_seed(4)
    X, V = torch.randn(2, 3, 2, generator=g, dtype=F64), torch.randn(2, 3, generator=g, dtype=F64)
    W1, W2 = torch.randn(3, 2, generator=g, dtype=F64), torch.randn(3, 3, generator=g, dtype=F64)
    H = ns.optimal_predictor(X, V, W1, W2)  # (6, 3)
    f, p = ns.encoder(X, W1, W2), torch.softmax(V, 1)  # (2, 3, 3), (2, 3)
    mean = (p[:, :, None] * f).sum(1)  # (2, 3)
    # the Newton step solves a block-diagonal system whose blocks are 2 p_mk I / M: a handful of operations on
    # sums of K products (K + 12), on the scale of the weighted mean of |f|
    bound = roundoff(F64, 3 * 3 + 12, (p[:, :, None] * f.abs()).sum(1)).repeat_interleave(3, 0)
    assert_within(H, mean.repeat_interleave(3, 0), bound, "Newton predictor vs E_T f(T(x))")


def _predictor_slip(claim, factor):
    form = declared(claim.closed_form)
    return dataclasses.replace(claim, name=claim.name + "-slip", derivation=None, examples=5,
                               closed_form=lambda **kw: factor * form(**kw))


@pytest.mark.parametrize("claim,factor", [(cs.SIMSIAM_OPTIMAL_PREDICTOR, 1.01), (cs.SIMSIAM_PREDICTOR_LOSS, 1.01),
                                          (cs.SIMSIAM_PREDICTOR_MEAN_IS_OPTIMAL, 1.01)], ids=lambda v: getattr(v, "name", str(v)))
def test_a_predictor_slip_is_refuted(claim, factor):
    assert check(_predictor_slip(claim, factor), seed=0, shrink=False).verdict == "refuted"


def test_the_unweighted_augmentation_mean_is_refuted():
    """h(z_1) = (1/K) sum_k f(T_k(x)) (the augmentation probabilities dropped) is refuted."""
    def unweighted(X_a, X_b, v_a, v_b, W1, W2):
        return cs._per_view_mean()(X_a, X_b, 0 * v_a, 0 * v_b, W1, W2)

    wrong = dataclasses.replace(cs.SIMSIAM_OPTIMAL_PREDICTOR, closed_form=unweighted, derivation=None, examples=3)
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"
