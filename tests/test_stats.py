"""The statistics: thresholds, streaming moments, and the engine's error rates on claims of known truth.

The rate tests run a synthetic claim over many seeds and compare the refutation count with a binomial
law. Each such assertion is a two-sided test at level 1e-4 (its stated false-failure rate); the seeds
are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import stats

from tests._roundoff import FUNCTION_OPS, assert_within, gamma, unit_roundoff
from tests.conftest import normal_claim
from verify import check
from verify._stats import Moments, critical_z, edgeworth_widening


@pytest.mark.roundoff
def test_critical_z_matches_normal_quantiles():
    assert critical_z(0.05, 1) == pytest.approx(1.959964, abs=0.5e-6 + 2 * unit_roundoff())  # the 6-decimal literal: half a unit
    # Bonferroni: 10 tests at 0.05 jointly = each at 0.005; two quantile functions (ndtri, isf), each counted as a
    # function, and p = 0.05 / 20 rounded (the quantile's relative condition p / (phi(z) z) ~ 0.1 < 1 here)
    assert critical_z(0.05, 10) == pytest.approx(stats.norm.isf(0.0025), rel=2 * gamma(FUNCTION_OPS + 2), abs=0)
    assert critical_z(1e-6, 400) > critical_z(1e-6, 4) > critical_z(1e-3, 4)
    with pytest.raises(ValueError):
        critical_z(0.0, 3)


@pytest.mark.roundoff
def test_edgeworth_widening_vanishes_without_skew_and_shrinks_with_n():
    z = critical_z(1e-6, 100)
    assert float(edgeworth_widening(z, torch.tensor(0.0), 1000)) == 0.0
    w1 = float(edgeworth_widening(z, torch.tensor(2.0), 10_000))
    w2 = float(edgeworth_widening(z, torch.tensor(2.0), 40_000))
    assert w1 == pytest.approx(2 * w2, rel=2 * gamma(6, torch.float32), abs=0)  # ~5 float32 operations each, sqrt(n) exact


def _moment_errors(x: np.ndarray, splits: list[int]):
    """Bounds on the float64 mean, standard error and skewness of x (n, k) computed in batches ``splits`` (Chan,
    Golub & LeVeque / Pebay merges; one batch = the direct two-pass formulas).

    mean: within delta = gamma_{n + 2B + 2} mean|x| (any summation order; a merge adds 2 operations).
    M2 = sum (x - m_hat)^2 = M2_exact + n (m_hat - m)^2, so e_M2 <= gamma_k (M2 + merge terms) + n delta^2;
    M3 likewise, sum (x - m_hat)^3 = M3 - 3 (m_hat - m) M2 - n (m_hat - m)^3: e_M3 <= gamma_k (sum |x - m|^3
    + merge terms) + 3 delta M2 + n delta^3, k = n + 2B + 8; the merge terms (d^2 na nb / n, d^3 na nb |na - nb| / n^2,
    3 |d| (na m2b + nb m2a) / n) are evaluated on the data. SE = sqrt(M2 / (n - 1) / n): e_M2 / (2 M2) + gamma_4
    relative; skewness = (M3 / n) / (M2 / n)^(3/2): e_M3 / n / v^(3/2) + |skew| (3/2 e_M2 / M2 + gamma_5).
    """
    n, B = len(x), len(splits)
    k = n + 2 * B + 8
    delta = gamma(n + 2 * B + 2) * np.abs(x).mean(0)
    m = x.mean(0)
    M2, S3, M3 = ((x - m) ** 2).sum(0), (np.abs(x - m) ** 3).sum(0), ((x - m) ** 3).sum(0)
    merge2 = merge3 = np.zeros(x.shape[1])
    start, na, mean_a, m2a = 0, 0, None, None
    for size in splits:
        part = x[start:start + size]
        start += size
        mb, m2b = part.mean(0), ((part - part.mean(0)) ** 2).sum(0)
        if na:
            nn, d = na + size, np.abs(mb - mean_a)
            merge2 = merge2 + d**2 * na * size / nn
            merge3 = merge3 + d**3 * na * size * abs(na - size) / nn**2 + 3 * d * (na * m2b + size * m2a) / nn
            mean_a, m2a = (na * mean_a + size * mb) / nn, m2a + m2b + d**2 * na * size / nn
            na = nn
        else:
            na, mean_a, m2a = size, mb, m2b
    e2 = gamma(k) * (M2 + merge2) + n * delta**2
    e3 = gamma(k) * (S3 + merge3) + 3 * delta * M2 + n * delta**3
    skew = (M3 / n) / (M2 / n) ** 1.5
    return delta, np.sqrt(M2 / (n - 1) / n) * (e2 / (2 * M2) + gamma(4)), e3 / n / (M2 / n) ** 1.5 + np.abs(skew) * (1.5 * e2 / M2 + gamma(5))


@pytest.mark.roundoff
@pytest.mark.parametrize("splits", [[1000], [1, 999], [333, 333, 334], [2, 7, 500, 491]])
def test_streaming_moments_equal_direct_computation(splits):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1000, 3, generator=g, dtype=torch.float64).exp() * torch.tensor([1.0, 1e-3, 1e3], dtype=torch.float64)
    m = Moments()
    for part in torch.split(x, splits):
        m.update(part)
    xn = x.numpy()
    mean_s, se_s, skew_s = _moment_errors(xn, splits)  # streaming merges
    mean_d, se_d, skew_d = _moment_errors(xn, [len(xn)])  # numpy / scipy, one pass
    assert_within(m.mean.numpy(), xn.mean(0), mean_s + mean_d, "mean")
    assert_within(m.std_error.numpy(), xn.std(0, ddof=1) / math.sqrt(1000), se_s + se_d, "std error")
    assert_within(m.skewness.numpy(), stats.skew(xn, axis=0), skew_s + skew_d, "skewness")
    assert m.n == 1000 and m.batches == len(splits)


def _binomial_bounds(trials: int, p: float, level: float = 1e-4) -> tuple[int, int]:
    return int(stats.binom.ppf(level / 2, trials, p)), int(stats.binom.isf(level / 2, trials, p))


def test_false_refutation_rate_is_as_stated():
    """A correct claim at a loose stated rate (20%) is refuted at about that rate, not more."""
    trials, rate = 150, 0.2
    refuted = sum(check(normal_claim(rate=rate), seed=s, shrink=False).verdict == "refuted" for s in range(trials))
    tests = check(normal_claim(rate=rate)).tests            # boundary examples x 1 component
    p = 1 - (1 - rate / tests) ** tests                      # exact for independent normal tests
    lo, hi = _binomial_bounds(trials, p)
    assert lo <= refuted <= hi, (refuted, lo, hi, p)


def test_skewed_estimator_keeps_the_rate():
    """Centred exponential samples (skewness 2): the Edgeworth widening keeps the rate at or below alpha."""
    trials, rate = 150, 0.2
    refuted = sum(check(normal_claim(rate=rate, skew=True, samples=400), seed=s, shrink=False).verdict == "refuted" for s in range(trials))
    _, hi = _binomial_bounds(trials, rate)
    assert refuted <= hi


def test_power_at_the_reported_detectable_discrepancy():
    """A claim wrong at one example by exactly the reported detectable discrepancy is caught ~90% of runs."""
    correct = check(normal_claim(rate=0.05))
    delta = correct.detectable_discrepancy
    trials = 150
    caught = sum(check(normal_claim(rate=0.05, shift=delta, shift_at=1.0), seed=s, shrink=False).verdict == "refuted"
                 for s in range(trials))
    lo, hi = _binomial_bounds(trials, 0.9)
    assert lo <= caught <= hi, (caught, lo, hi)


def test_large_discrepancy_is_always_refuted_and_tiny_never():
    assert check(normal_claim(shift=0.5), shrink=False).verdict == "refuted"          # 0.5 = 32 SE at n = 4000
    assert check(normal_claim(shift=1e-4)).verdict == "verified"        # 0.006 SE


def test_an_estimator_constant_over_all_samples_is_judged_by_the_rare_event_bound():
    """SE = 0 (every sample equal): a tiny discrepancy is within what an unseen rare event could add --
    on the scale of what the estimator can take (a declared sample_bound, or the largest |sample| seen),
    not on the closed form's; a large one is still refuted."""
    import sympy as sp

    def constant(mu, n, generator):
        torch.randn(1, generator=generator, dtype=mu.dtype)            # draws from the generator
        return torch.zeros(n, dtype=mu.dtype, device=mu.device)

    # terms of size ~1 that cancel to ~1e-12 (as the network gradient's do in a thin wedge)
    tiny = dataclasses.replace(normal_claim(samples=1000), monte_carlo=constant, sample_bound=1.0,
                               closed_form=lambda mu: sp.sin(mu) ** 2 + sp.cos(mu) ** 2 - 1 + sp.Rational(1, 10**12) * (1 + mu))
    assert check(tiny).verdict == "verified"
    # the same estimator, no declared bound: every sample ever seen is 0, so nothing can hide a 1e-12
    assert check(dataclasses.replace(tiny, sample_bound=None), shrink=False).verdict == "refuted"
    large = dataclasses.replace(tiny, closed_form=lambda mu: (1 + mu) / 2)
    assert check(large, shrink=False).verdict == "refuted"


def test_decisions_live_in_stats_and_say_why():
    """_stats.decide_monte_carlo / decide_exact: the engine's per-component verdicts as pure functions."""
    from verify._stats import decide_exact, decide_monte_carlo

    mean, se = np.array([1.0, 0.0, 0.0]), np.array([0.1, 0.0, 0.0])
    ref = np.array([1.5, 0.0, 1e-3])              # 5 SE off; equal; a deterministic 0 against 1e-3
    d = decide_monte_carlo(mean, se, ref, threshold=np.full(3, 4.0), power=1.28, allowed=np.zeros(3),
                           bound=np.full(3, 2.0), p_rare=1e-4, size=1.0)
    np.testing.assert_allclose(d.excess[0], 5.0)
    assert d.excess[1] == 0.0 and d.excess[2] == np.inf        # SE = 0: outside p_rare (B + |v|) = 2e-4
    assert d.failed
    np.testing.assert_allclose(d.detectable, [(4.0 + 1.28) * 0.1, 2e-4, 2e-4])
    loose = decide_monte_carlo(mean, se, ref, threshold=np.full(3, 6.0), power=1.28, allowed=np.zeros(3),
                               bound=np.full(3, 20.0), p_rare=1e-4, size=1.0)
    assert not loose.failed                                    # 5 SE < 6; 1e-3 within 1e-4 x 20 = 2e-3
    assert decide_exact(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-15]), np.array([1e-15, 0.0]), 2.0).excess.tolist() == [0.0, np.inf]
    assert decide_exact(np.array([1.0]), np.array([1.0]), np.array([1e-15]), 0.0).relative is None


def test_a_closed_form_that_vanishes_against_its_samples_has_no_relative_figure():
    """I2 at rho = 1e-40: terms ~1e-47 against O(1) samples. Its relative figure (~1e44) would say nothing (no
    Monte Carlo budget resolves it), so it is reported in absolute terms only, like a closed form of exactly 0;
    the verdict is the same either way. Terms of 1e-20 against samples of 1e-20 (tiny variances) keep theirs."""
    from verify._stats import VANISHING, decide_monte_carlo

    mean, se, ref = np.array([1e-3]), np.array([1e-3]), np.array([1e-47])
    kw = dict(threshold=np.full(1, 4.0), power=1.28, allowed=np.zeros(1), bound=np.ones(1), p_rare=1e-4)
    plain = decide_monte_carlo(mean, se, ref, size=1e-47, **kw)
    vanishing = decide_monte_carlo(mean, se, ref, size=1e-47, sample_max=np.ones(1), **kw)
    assert plain.relative > 1e40 and vanishing.relative is None
    assert (plain.excess == vanishing.excess).all() and (plain.detectable == vanishing.detectable).all()
    at_edge = decide_monte_carlo(mean, se, ref, size=2 * VANISHING, sample_max=np.ones(1), **kw)
    np.testing.assert_allclose(at_edge.relative, 5.28e-3 / (2 * VANISHING))
    tiny = decide_monte_carlo(mean * 1e-20, se * 1e-20, ref, size=1e-20, sample_max=np.full(1, 3e-20), **kw)
    np.testing.assert_allclose(tiny.relative, 5.28e-3)


def test_the_engine_counts_examples_resolved_in_absolute_terms_only():
    """Closed form mu: mu = 0 (the low boundary; hypothesis may draw 0 too) has no relative figure, the others do. Closed form 1e-50 mu against
    N(1e-50 mu, 1) samples: no example has one (terms vanish against the samples), the verdict is unchanged."""
    import sympy as sp

    plain = check(normal_claim(examples=3))
    assert plain.verdict == "verified" and 1 <= plain.absolute_examples < plain.examples
    assert plain.detectable_relative is not None

    def shifted(mu, n, generator):
        return 1e-50 * mu + torch.randn(n, generator=generator, dtype=mu.dtype, device=mu.device)

    tiny = check(dataclasses.replace(normal_claim(examples=3), closed_form=lambda mu: sp.Float(1e-50) * mu,
                                     monte_carlo=shifted))
    assert tiny.verdict == "verified" and tiny.detectable_relative is None
    assert tiny.absolute_examples == tiny.examples >= 3


@pytest.mark.parametrize("pairs", [False, True])
@pytest.mark.parametrize("with_controls", [False, True])
def test_factored_terms_sum_is_the_per_unit_sum(pairs, with_controls):
    """The engine's batch sum of |terms| (taken without forming the per-unit array) is the per-unit array's sum,
    to the round-off of the two summation orders: 2 gamma_(draws + q + 2) x the sum."""
    from verify._engine import _Terms

    g = torch.Generator().manual_seed(3)
    y = torch.randn(1000, 5, generator=g, dtype=torch.float64)
    units = 500 if pairs else 1000
    c = torch.randn(units, 3, generator=g, dtype=torch.float64) if with_controls else None
    beta = torch.randn(3, 5, generator=g, dtype=torch.float64) if with_controls else None
    t = _Terms(y.abs(), pairs, c, beta)
    per_unit = t.per_unit()
    assert per_unit.shape == (units, 5)
    expected = per_unit.sum(0)
    tol = 2 * gamma(1000 + 3 + 2) * expected
    assert ((t.total() - expected).abs() <= tol).all()
    if pairs and not with_controls:      # a pair's |terms|: the mean of its two draws' |y|
        assert torch.equal(per_unit, 0.5 * (y[:500].abs() + y[500:].abs()))


def test_moments_abs_max_only_when_asked_for():
    x = torch.tensor([[1.0, -3.0], [2.0, 0.5]], dtype=torch.float64)
    m = Moments()
    m.update(x, x.abs().sum(0))
    m.update(x, x.abs().sum(0))
    assert m.abs_max is None and torch.equal(m.abs_sum, 2 * x.abs().sum(0))
    d = Moments()
    d.update(x)
    assert torch.equal(d.abs_max, torch.tensor([2.0, 3.0], dtype=torch.float64))
