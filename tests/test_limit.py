"""Asymptotic orders: ``Claim(limit=Limit(...))`` (verify/_limit.py, _stats.order_decision, _engine._Checker._ladder).

Each test can fail: a correct order is verified, an order one too high is refuted with the measured order in the
counterexample, a pessimistic order is reported (not refuted), a difference that is 0 within its error is never a
refutation, every rung counts in the divisor, the lower-order mutant is killed, and the decision rule keeps its
stated false-refutation rate on simulated ladders.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

from verify import Claim, ClaimDefinitionError, Gaussian, Int, Limit, Real, check
from verify._stats import critical_z, order_decision


def _euler(order: int, **kw) -> Claim:
    """(1 + 1/T)^T - e = -e / (2T) + O(T^-2): order 1."""
    return Claim(name=f"euler-{order}", params={"T": Real(4.0, 32.0)}, closed_form=lambda T: sp.E,
                 exact=lambda T: (1 + 1 / T) ** T, limit=Limit("T", to=sp.oo, order=order), examples=8, **kw)


def test_a_correct_order_is_verified_and_its_measured_order_reported():
    r = check(_euler(1))
    assert r.verdict == "verified", r.error
    assert r.statistic["name"] == "max_order_deficit_over_tolerance"
    o = r.order
    assert o["stated"] == 1 and o["statement"] == "O(T^-1) as T -> oo"
    assert 0.95 < o["measured_min"] <= o["measured_max"] < 1.05     # the local order of -e/(2T) + O(T^-2) near 1
    assert o["examples_measured"] == r.examples


def test_an_order_one_too_high_is_refuted_with_the_ladder_in_the_counterexample():
    r = check(_euler(2))
    assert r.verdict == "refuted"
    c = r.counterexample
    o = c["order"]
    assert o["stated"] == 2 and abs(o["measured"] - 1) < 0.05 and o["upper"] < 1.5
    assert len(o["rungs"]) == 6 and o["rungs"][1] == 2 * o["rungs"][0]          # the geometric ladder
    a, b = o["pair"]
    assert b == 5 and a == 4                                                    # the two deepest resolved rungs
    assert c["statistic"] > c["threshold"] == 1.0


def test_an_order_toward_zero_and_a_pessimistic_order_is_reported_not_refuted():
    central = lambda x, h: (torch.sin(x + h) - torch.sin(x - h)) / (2 * h)      # noqa: E731  O(h^2)
    for order in (2, 1):
        claim = Claim(name=f"central-{order}", params={"x": Real(0.5, 2.0), "h": Real(0.02, 0.3)},
                      closed_form=lambda x, h: sp.cos(x), exact=central, limit=Limit("h", to=0, order=order), examples=6)
        r = check(claim)
        assert r.verdict == "verified", r.error
        assert abs(r.order["measured_min"] - 2) < 0.05                           # measured 2 whatever was stated
    forward = Claim(name="forward-2", params={"x": Real(0.5, 2.0), "h": Real(0.02, 0.3)}, closed_form=lambda x, h: sp.cos(x),
                    exact=lambda x, h: (torch.sin(x + h) - torch.sin(x)) / h, limit=Limit("h", to=0, order=2), examples=6)
    assert check(forward).verdict == "refuted"                                   # the forward difference is O(h)


def test_an_integer_parameter_toward_infinity():
    """sum_{k <= T} 1/k^2 = pi^2/6 - 1/T + 1/(2 T^2) + O(T^-3): against pi^2/6 - 1/T the order is 2."""
    def partial_sum(T):
        k = torch.arange(1, int(T) + 1, dtype=T.dtype, device=T.device)
        return (1 / k ** 2).flip(0).sum()          # smallest terms first
    for order, verdict in ((2, "verified"), (3, "refuted")):
        claim = Claim(name=f"basel-{order}", params={"T": Int(4, 20)}, closed_form=lambda T: sp.pi ** 2 / 6 - 1 / T,
                      exact=partial_sum, limit=Limit("T", to=sp.oo, order=order), examples=5)
        r = check(claim)
        assert r.verdict == verdict, (order, r.error, r.order)
        assert all(float(x).is_integer() for x in (r.counterexample or {}).get("order", {}).get("rungs", []))


def test_a_difference_zero_within_its_error_is_never_a_refutation():
    claim = Claim(name="exact-identity", params={"T": Real(2.0, 9.0)}, closed_form=lambda T: (T + 1) ** 2 - T ** 2,
                  exact=lambda T: 2 * T + 1, limit=Limit("T", to=sp.oo, order=5), examples=5)
    r = check(claim)
    assert r.verdict == "verified" and r.order["measured_min"] is None
    assert r.order["examples_within_error"] == r.examples


def test_every_rung_counts_in_the_divisor():
    r = check(_euler(1))
    planned = r.boundary_examples + 8
    assert r.tests == planned * 1 * 6


def test_a_monte_carlo_order():
    """E[cos(Z / sqrt(T))] = exp(-1/(2T)) = 1 - 1/(2T) + 1/(8T^2) - ...: against 1 - 1/(2T) the order is 2."""
    def claim(order):
        return Claim(name=f"cos-{order}", params={"T": Real(2.0, 8.0)}, closed_form=lambda T: 1 - 1 / (2 * T),
                     monte_carlo=lambda T, z: torch.cos(z[:, 0] / torch.sqrt(T)), inputs={"z": Gaussian(1)},
                     limit=Limit("T", to=sp.oo, order=order, rungs=5), examples=3, samples=100_000)
    r = check(claim(2), seed=1)
    assert r.verdict == "verified", r.error
    assert r.counterexample is None and abs(r.order["measured_min"] - 2) < 0.3
    assert check(claim(3), seed=1).verdict == "refuted"


def test_the_lower_order_mutant_is_killed():
    from verify._mutants import certify

    cert = certify(_euler(1), check)
    lower = [m for m in cert["mutants"] if m["operator"] == "lower-order"]
    assert len(lower) == 1 and lower[0]["killed"], cert
    assert cert["survived"] == 0


@pytest.mark.parametrize("kw, match", [
    (dict(limit=Limit("S", to=sp.oo, order=1)), "not a parameter"),
    (dict(limit=Limit("T", to=0, order=1), params={"T": Real(0.0, 1.0)}), "contains the limit"),
    (dict(limit=Limit("T", to=sp.oo, order=1), params={"T": Real(-1.0, 1.0)}), "positive range"),
    (dict(limit=Limit("T", to=0, order=1), params={"T": Int(1, 5)}), "Int parameter"),
    (dict(limit=Limit("T", to=sp.oo, order=1), relation="<="), 'relation "=="'),
    (dict(limit="T"), "must be a Limit"),
])
def test_bad_limits_say_what_and_how_to_fix(kw, match):
    base = dict(name="bad", params={"T": Real(1.0, 2.0)}, closed_form=lambda T: T, exact=lambda T: T)
    with pytest.raises(ClaimDefinitionError, match=match):
        Claim(**{**base, **kw})


@pytest.mark.parametrize("kw, match", [(dict(order=0), "order"), (dict(rungs=2), "rungs"), (dict(ratio=1.0), "ratio"),
                                       (dict(to="x"), "to must be"), (dict(tolerance=-1), "tolerance")])
def test_bad_limit_specs(kw, match):
    with pytest.raises(ClaimDefinitionError, match=match):
        Limit("T", **kw)


def test_order_decision_on_exact_power_laws():
    dist = 1.0 / (4.0 * 2.0 ** np.arange(6))
    diff = np.stack([3 * dist ** 2, -dist ** 1, np.zeros(6)], axis=1)              # orders 2, 1, and no difference
    w = np.full_like(diff, 1e-14)
    od = order_decision(dist, diff, w, order=2, tolerance=0.5)
    assert np.allclose(od.measured[:2], [2, 1]) and math.isnan(od.measured[2])
    assert list(od.excess > od.threshold) == [False, True, False]                  # order 1 < 2 - 0.5; zero: never
    assert not od.resolved[:, 2].any() and od.pair[2].tolist() == [-1, -1]
    # the deepest rungs unresolved: the order comes from the deepest two that are
    w2 = w.copy()
    w2[4:, 0] = 1.0
    od2 = order_decision(dist, diff, w2, order=2, tolerance=0.5)
    assert od2.pair[0].tolist() == [2, 3] and abs(od2.measured[0] - 2) < 1e-9


def test_order_decision_keeps_its_false_refutation_rate():
    """Simulated Monte Carlo ladders of a correct order-2 claim, noise sd s per rung, half-widths at the Bonferroni
    critical value for rate alpha = 0.05 over R rungs: refuted in at most alpha of 4000 runs (the one-sided binomial
    99.9% upper limit of 0.05 at n = 4000 is 0.0608: a correct rule fails this test with probability < 0.001)."""
    rng = np.random.default_rng(7)
    rungs, alpha, runs = 6, 0.05, 4000
    z = critical_z(alpha, rungs, 2)
    dist = 1.0 / (2.0 * 2.0 ** np.arange(rungs))
    true = (dist ** 2)[:, None]
    s = np.full((rungs, 1), 2e-3)                   # the deeper rungs drown in the noise: both kinds of rung occur
    refuted = 0
    for _ in range(runs):
        noisy = true + s * rng.standard_normal((rungs, 1))
        od = order_decision(dist, noisy, z * s, order=2.0, tolerance=1e-9)    # no pre-asymptotic allowance needed
        refuted += od.failed
    assert refuted / runs <= 0.0608, refuted
