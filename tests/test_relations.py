"""relation="<=" / ">=": bounds tested one-sided at the stated false-refutation rate, and refuted with the violation.

The rate tests run a synthetic claim over many seeds at a loose stated rate (20%) and compare the refutation count
with binomial bounds at level 1e-4 (so each such assertion fails by chance with probability <= 1e-4)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import sympy as sp
import torch
from scipy import stats

from verify import Claim, ClaimDefinitionError, Gaussian, Real, Vector, check, norm
from verify._cli import _details
from verify._stats import critical_z

from tests.conftest import normal_claim

TRIALS, RATE = 150, 0.2


def _bounds(p: float, level: float = 1e-4) -> tuple[int, int]:
    return int(stats.binom.ppf(level / 2, TRIALS, p)), int(stats.binom.isf(level / 2, TRIALS, p))


def _refuted(claim) -> int:
    return sum(check(claim, seed=s, shrink=False).verdict == "refuted" for s in range(TRIALS))


@pytest.mark.parametrize("relation", ["<=", ">="])
def test_a_bound_that_holds_with_equality_is_refuted_at_the_stated_rate(relation):
    """Equality is the hardest case for a correct bound: one tail refutes, at alpha / m per test (one-sided)."""
    claim = replace(normal_claim(rate=RATE), relation=relation)
    tests = check(claim).tests
    p = 1 - (1 - RATE / tests) ** tests            # exact for independent one-sided normal tests
    lo, hi = _bounds(p)
    assert lo <= _refuted(claim) <= hi
    # the critical value is one-sided (z at alpha / m), widened only by the samples' small skewness (n = 4000)
    z1, z2 = critical_z(RATE, tests, 1), critical_z(RATE, tests, 2)
    assert z1 <= check(claim).statistic["threshold"] < z1 + 0.1 < z2


def test_a_bound_with_room_is_never_refuted_and_the_wrong_side_is_caught_at_its_detectable_size():
    inside = replace(normal_claim(rate=RATE, shift=-0.5), relation="<=")        # estimand = mu - 0.5 <= mu
    assert _refuted(inside) == 0
    correct = replace(normal_claim(rate=0.05), relation="<=")
    delta = check(correct).detectable_discrepancy
    wrong = replace(normal_claim(rate=0.05, shift=delta, shift_at=1.0), relation="<=")   # past the bound by delta
    lo, hi = _bounds(0.9)
    assert lo <= _refuted(wrong) <= hi
    # the same shift the other way is inside a "<=" bound and outside a ">=" one
    assert _refuted(replace(normal_claim(rate=0.05, shift=-delta, shift_at=1.0), relation="<=")) <= _bounds(0.05)[1]


def _abs_projection(factor: float, relation: str) -> Claim:
    """E|w.x| = sqrt(2/pi) |w| for x ~ N(0, I): <= |w| holds (Jensen), <= 0.7 |w| does not (0.798 > 0.7)."""
    return Claim(name="abs-projection", params={"w": Vector(3)}, inputs={"x": Gaussian(3)}, relation=relation,
                 closed_form=lambda w: factor * norm(w), monte_carlo=lambda w, x: (x @ w).abs(), examples=10,
                 samples=20_000)


def test_jensen_bounds_verified_and_a_false_one_refuted_with_its_violation():
    assert check(_abs_projection(1.0, "<="), seed=2).verdict == "verified"
    assert check(_abs_projection(0.79, ">="), seed=2).verdict == "verified"
    res = check(_abs_projection(0.7, "<="), seed=2)
    assert res.verdict == "refuted" and res.relation == "<="
    cx = res.counterexample
    j = cx["component"]
    assert cx["violation"] == pytest.approx(cx["estimate"][j] - cx["closed_form"][j]) and cx["violation"] > 0
    assert cx["violation"] == pytest.approx((math.sqrt(2 / math.pi) - 0.7) * sum(v * v for v in cx["params"]["w"]) ** 0.5,
                                            rel=0.05)
    text = "\n".join(_details(res))
    assert "claimed estimand <= closed form; violated by" in text
    assert check(_abs_projection(0.81, ">="), seed=2).verdict == "refuted"


def test_exact_bounds_compare_within_round_off():
    def claim(closed_form, estimator, relation):
        return Claim(name="exact-bound", params={"a": Real(0.0, 2.0)}, closed_form=closed_form, exact=estimator,
                     relation=relation, examples=20)

    # sin(a) <= 1 everywhere; a^2 <= a only on [0, 1]; a^2 >= a only on [1, 2] and at 0
    assert check(claim(lambda a: sp.Integer(1), lambda a: torch.sin(a), "<=")).verdict == "verified"
    assert check(claim(lambda a: a, lambda a: a * a, "==")).verdict == "refuted"
    res = check(claim(lambda a: a, lambda a: a * a, "<="))
    assert res.verdict == "refuted"
    cx = res.counterexample
    assert cx["params"]["a"] > 1 and cx["violation"] == pytest.approx(cx["params"]["a"] ** 2 - cx["params"]["a"])
    # equality at a = 1 and a = 0 is within round-off, not a violation
    tight = claim(lambda a: a, lambda a: torch.where(a >= 1, a * a, a), ">=")
    assert check(tight).verdict == "verified"


def test_an_unknown_relation_is_one_clear_error():
    with pytest.raises(ClaimDefinitionError, match=r"relation must be one of \('==', '<=', '>='\).*got '<'"):
        replace(normal_claim(), relation="<")


def test_mutation_certificate_of_a_bound_kills_tightened_mutants_and_marks_looser_ones_implied():
    """E|w.x| <= |w|: doubling the bound is implied by it (not a defect); halving it or negating it is caught."""
    from verify._mutants import certify

    cert = certify(_abs_projection(1.0, "<="), check, limit=6)
    fates = {m["mutation"]: ("killed" if m["killed"] else "implied" if m.get("implied") else "survived")
             for m in cert["mutants"]}
    assert fates["double the whole closed form"] == "implied"
    assert fates["negate the whole closed form"] == "killed"
    assert cert["survived"] == 0 and cert["implied"] >= 1
    # the same mutants of an equality: doubling is a defect the check kills, nothing is implied
    eq = certify(_abs_projection(math.sqrt(2 / math.pi), "=="), check, limit=6)
    assert eq["implied"] == 0 and eq["survived"] == 0
