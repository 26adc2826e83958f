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

from tests.conftest import normal_claim
from verify import check
from verify._stats import Moments, critical_z, edgeworth_widening


def test_critical_z_matches_normal_quantiles():
    assert critical_z(0.05, 1) == pytest.approx(1.959964, abs=1e-6)
    # Bonferroni: 10 tests at 0.05 jointly = each at 0.005
    assert critical_z(0.05, 10) == pytest.approx(stats.norm.isf(0.0025), rel=1e-12)
    assert critical_z(1e-6, 400) > critical_z(1e-6, 4) > critical_z(1e-3, 4)
    with pytest.raises(ValueError):
        critical_z(0.0, 3)


def test_edgeworth_widening_vanishes_without_skew_and_shrinks_with_n():
    z = critical_z(1e-6, 100)
    assert float(edgeworth_widening(z, torch.tensor(0.0), 1000)) == 0.0
    w1 = float(edgeworth_widening(z, torch.tensor(2.0), 10_000))
    w2 = float(edgeworth_widening(z, torch.tensor(2.0), 40_000))
    assert w1 == pytest.approx(2 * w2)


@pytest.mark.parametrize("splits", [[1000], [1, 999], [333, 333, 334], [2, 7, 500, 491]])
def test_streaming_moments_equal_direct_computation(splits):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1000, 3, generator=g, dtype=torch.float64).exp() * torch.tensor([1.0, 1e-3, 1e3], dtype=torch.float64)
    m = Moments()
    for part in torch.split(x, splits):
        m.update(part)
    xn = x.numpy()
    np.testing.assert_allclose(m.mean.numpy(), xn.mean(0), rtol=1e-13)
    np.testing.assert_allclose(m.std_error.numpy(), xn.std(0, ddof=1) / math.sqrt(1000), rtol=1e-12)
    np.testing.assert_allclose(m.skewness.numpy(), stats.skew(xn, axis=0), rtol=1e-10)
    assert m.n == 1000 and m.batches == len(splits)


def _binomial_bounds(trials: int, p: float, level: float = 1e-4) -> tuple[int, int]:
    return int(stats.binom.ppf(level / 2, trials, p)), int(stats.binom.isf(level / 2, trials, p))


def test_false_refutation_rate_is_as_stated():
    """A correct claim at a loose stated rate (20%) is refuted at about that rate, not more."""
    trials, rate = 150, 0.2
    refuted = sum(check(normal_claim(rate=rate), seed=s).verdict == "refuted" for s in range(trials))
    tests = check(normal_claim(rate=rate)).tests            # boundary examples x 1 component
    p = 1 - (1 - rate / tests) ** tests                      # exact for independent normal tests
    lo, hi = _binomial_bounds(trials, p)
    assert lo <= refuted <= hi, (refuted, lo, hi, p)


def test_skewed_estimator_keeps_the_rate():
    """Centred exponential samples (skewness 2): the Edgeworth widening keeps the rate at or below alpha."""
    trials, rate = 150, 0.2
    refuted = sum(check(normal_claim(rate=rate, skew=True, samples=400), seed=s).verdict == "refuted" for s in range(trials))
    _, hi = _binomial_bounds(trials, rate)
    assert refuted <= hi


def test_power_at_the_reported_detectable_discrepancy():
    """A claim wrong at one example by exactly the reported detectable discrepancy is caught ~90% of runs."""
    correct = check(normal_claim(rate=0.05))
    delta = correct.detectable_discrepancy
    trials = 150
    caught = sum(check(normal_claim(rate=0.05, shift=delta, shift_at=1.0), seed=s).verdict == "refuted"
                 for s in range(trials))
    lo, hi = _binomial_bounds(trials, 0.9)
    assert lo <= caught <= hi, (caught, lo, hi)


def test_large_discrepancy_is_always_refuted_and_tiny_never():
    assert check(normal_claim(shift=0.5)).verdict == "refuted"          # 0.5 = 32 SE at n = 4000
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
    assert check(dataclasses.replace(tiny, sample_bound=None)).verdict == "refuted"
    large = dataclasses.replace(tiny, closed_form=lambda mu: (1 + mu) / 2)
    assert check(large).verdict == "refuted"
