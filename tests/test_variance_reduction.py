"""Engine-owned draws and variance reduction (``verify/_draws.py``): antithetic pairs, Hermite control variates
fitted on a separate pilot batch, randomized QMC, user-returned controls, and sample sizing from the pilot.

Rate assertions compare refutation counts of correct claims over fixed seeds with a binomial law, each a two-sided
test at level 1e-4 (its stated false-failure rate); seeds are fixed, so every outcome is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from scipy import stats

from verify import Claim, Matrix, Real, Vector, check
from verify._draws import Gaussian, hermite_controls
from verify._errors import ClaimDefinitionError

DESIGNS = ["none", "auto", ("antithetic",), ("control_variates",), ("rqmc",), ("rqmc", "control_variates")]


def _relu_mean_claim(vr="auto", *, factor=1, rate=1e-6, samples=1 << 16, examples=0, resolve=None, name="relu-mean"):
    """E[relu(w.x)] = |w| / sqrt(2 pi), x ~ N(0, I_3); ``factor`` != 1 makes the closed form wrong by that factor."""
    return Claim(name=name, params={"w": Vector(3, norm=(0.5, 2.0))}, inputs={"x": Gaussian(3)},
                 closed_form=lambda w: factor * sp.sqrt((w.T * w)[0]) / sp.sqrt(2 * sp.pi),
                 monte_carlo=lambda w, x: torch.relu(x @ w), variance_reduction=vr, false_refutation_rate=rate,
                 samples=samples, examples=examples, resolve=resolve, min_samples=1024)


def _binomial_bounds(trials: int, p: float, level: float = 1e-4) -> tuple[int, int]:
    return int(stats.binom.ppf(level / 2, trials, p)), int(stats.binom.isf(level / 2, trials, p))


def test_hermite_controls_have_mean_zero_and_unit_variance():
    z = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    c = hermite_controls(z, 2)
    assert c.shape == (200_000, 3 + 3 + 3)
    se = 1 / math.sqrt(z.shape[0])
    assert c.mean(0).abs().max() < 6 * se * 2         # 6 SE at variance <= 2 (the squares' sample variance)
    np.testing.assert_allclose(c.var(0).numpy(), 1.0, atol=0.05)
    assert hermite_controls(z, 2, even_only=True).shape == (200_000, 6)


@pytest.mark.parametrize("vr", DESIGNS, ids=str)
def test_correct_claim_is_verified_under_every_design(vr):
    r = check(_relu_mean_claim(vr, examples=3), seed=0)
    assert r.verdict == "verified", (r.error, r.statistic)


def test_variance_reduction_cuts_the_standard_error():
    """At the same draws, antithetic + control variates and RQMC give a smaller detectable discrepancy than plain MC
    (relu(a): the pair mean is |a|/2, and the quadratic controls absorb most of it)."""
    plain = check(_relu_mean_claim("none"), seed=0).detectable_discrepancy
    auto = check(_relu_mean_claim("auto"), seed=0).detectable_discrepancy
    rqmc = check(_relu_mean_claim(("rqmc", "control_variates")), seed=0).detectable_discrepancy
    assert auto < plain / 2 and rqmc < plain / 2, (plain, auto, rqmc)


@pytest.mark.parametrize("vr", [pytest.param(v, marks=[] if v == "auto" else [pytest.mark.slow]) for v in DESIGNS], ids=str)
def test_false_refutation_rate_is_as_stated_under_every_design(vr):
    """A correct claim at a loose stated rate (20%) is refuted at about that rate or less, for each design."""
    trials, rate = 100, 0.2
    refuted = sum(check(_relu_mean_claim(vr, rate=rate, samples=1 << 12 if "rqmc" not in vr else 1 << 14),
                        seed=s, shrink=False).verdict == "refuted" for s in range(trials))
    _, hi = _binomial_bounds(trials, rate)
    assert refuted <= hi, (refuted, hi)


def _many_kernels_claim(vr, rate):
    """40 components E[relu(a_i.x)] = |a_i| / sqrt(2 pi): at a claim rate of 0.2 each component test runs at
    0.2 / (40 x boundary examples), about 1e-3 two-sided -- the tails a small stated rate relies on."""
    return Claim(name="many-kernels", params={"A": Matrix(40, 3, norm=(0.5, 2.0))}, inputs={"x": Gaussian(3)},
                 closed_form=lambda A: sp.Matrix([sp.sqrt(sum(A[i, j] ** 2 for j in range(3))) / sp.sqrt(2 * sp.pi)
                                                  for i in range(40)]),
                 monte_carlo=lambda A, x: torch.relu(x @ A.T), variance_reduction=vr, false_refutation_rate=rate,
                 samples=1 << 16, examples=0)


@pytest.mark.slow
@pytest.mark.parametrize("vr", ["auto", ("rqmc", "control_variates"), ("antithetic", "control_variates")], ids=str)
def test_false_refutation_rate_holds_at_a_small_per_test_level(vr):
    trials, rate = 100, 0.2
    refuted = sum(check(_many_kernels_claim(vr, rate), seed=s, shrink=False).verdict == "refuted" for s in range(trials))
    _, hi = _binomial_bounds(trials, rate)
    assert refuted <= hi, (refuted, hi)


@pytest.mark.parametrize("vr", ["auto", ("rqmc", "control_variates")], ids=str)
def test_a_one_percent_slip_is_caught_where_plain_sampling_misses_it(vr):
    """factor 1.01 in the closed form: refuted on every seed with variance reduction at 2^14 draws; plain Monte
    Carlo at the same draws detects only about 5% relative (the reason variance reduction exists)."""
    assert all(check(_relu_mean_claim(vr, factor=1.01), seed=s, shrink=False).verdict == "refuted" for s in range(5))
    plain = check(_relu_mean_claim("none", factor=1.01), seed=0)
    assert plain.verdict == "verified" and plain.detectable_relative > 0.02


def test_pilot_batch_is_never_pooled_into_the_test():
    """The control-variate coefficients come from a batch drawn with its own seed: none of its draws is tested."""
    seen = []

    def estimator(w, x):
        seen.append(x.clone())
        return torch.relu(x @ w)

    claim = Claim(name="pilot", params={"w": Vector(3)}, inputs={"x": Gaussian(3)}, monte_carlo=estimator,
                  closed_form=lambda w: sp.sqrt((w.T * w)[0]) / sp.sqrt(2 * sp.pi), examples=0, samples=4096)
    assert check(claim, seed=0).verdict == "verified"
    pilot, rest = seen[0], torch.cat(seen[1:])             # the first call is the first example's pilot batch
    matches = (pilot[:64, None, :] == rest[None, :, :]).all(-1)
    assert not matches.any()


def test_user_returned_controls_are_fitted_and_reduce_variance():
    """monte_carlo may return (values, controls) with controls of known mean 0 (here x itself and x^2 - 1)."""

    def closed_form(mu):
        return sp.exp(mu + sp.Rational(1, 2))            # E[exp(mu + Z)]

    def plain(mu, n, generator):
        z = torch.randn(n, generator=generator, dtype=mu.dtype)
        return torch.exp(mu + z)

    def with_controls(mu, n, generator):
        z = torch.randn(n, generator=generator, dtype=mu.dtype)
        return torch.exp(mu + z), torch.stack([z, z * z - 1], dim=1)

    a = check(Claim(name="a", params={"mu": Real(0, 1)}, closed_form=closed_form, monte_carlo=plain, examples=0, samples=20000))
    b = check(Claim(name="b", params={"mu": Real(0, 1)}, closed_form=closed_form, monte_carlo=with_controls, examples=0, samples=20000))
    assert a.verdict == b.verdict == "verified"
    assert b.detectable_discrepancy < a.detectable_discrepancy / 2


def test_resolve_sizes_each_example_from_the_pilot():
    """resolve=0.002: the engine draws what the pilot says is needed (<= the cap) and reaches the resolution."""
    r = check(_relu_mean_claim("auto", resolve=0.002, samples=1 << 20, examples=2), seed=0)
    assert r.verdict == "verified"
    assert r.detectable_relative <= 0.002 * 1.2        # sized from the pilot's SD: reached up to its sampling error
    assert r.samples_per_example["max"] < (1 << 20)     # fewer than the cap were needed
    capped = check(_relu_mean_claim("none", resolve=1e-4, samples=1 << 13), seed=0)
    assert capped.samples_per_example["max"] == 1 << 13 and capped.detectable_relative > 1e-4  # the cap binds: reported


@pytest.mark.parametrize("kw, match", [
    ({"variance_reduction": "antithetic", "inputs": None}, "needs engine-owned draws"),
    ({"variance_reduction": ("antithetic", "rqmc")}, "not both"),
    ({"variance_reduction": "sobol"}, "not one of"),
    ({"inputs": {"x": 3}}, "Gaussian"),
    ({"inputs": {"w": Gaussian(3)}}, "also a parameter"),
    ({"resolve": 1.5}, "resolve must be"),
])
def test_bad_variance_reduction_specs_say_what_and_how_to_fix(kw, match):
    base = dict(name="bad", params={"w": Vector(3)}, inputs={"x": Gaussian(3)}, closed_form=lambda w: w[0],
                monte_carlo=lambda w, x: x @ w)
    base.update(kw)
    if base.get("inputs") is None:
        base["monte_carlo"] = lambda w, n, generator: torch.randn(n, generator=generator, dtype=w.dtype)
    with pytest.raises(ClaimDefinitionError, match=match):
        Claim(**base)
    with pytest.raises(ClaimDefinitionError, match="integer >= 1"):
        Gaussian(0)


def _smooth_claim(*, constant: bool, resolve=None, samples=1 << 17, name="smooth"):
    """E[cos(a x0) cos(a x1)] = exp(-a^2) (x ~ N(0, I_2)): smooth and even, where RQMC beats plain sampling;
    ``constant`` adds a component that is exactly 1 at every draw."""
    def closed_form(a):
        v = sp.exp(-a**2)
        return sp.Matrix([v, 1]) if constant else v

    def estimator(a, x):
        v = torch.cos(a * x[:, 0]) * torch.cos(a * x[:, 1])
        return torch.stack([v, torch.ones_like(v)], dim=1) if constant else v

    return Claim(name=name, params={"a": Real(0.3, 1.0)}, inputs={"x": Gaussian(2)}, closed_form=closed_form,
                 monte_carlo=estimator, examples=2, samples=samples, resolve=resolve, min_samples=4096)


def test_auto_weighs_the_se_zero_allowance_of_a_constant_component():
    """A component that is the same at every draw is decided by the SE = 0 allowance ln(m / alpha) / units x its size:
    with RQMC's 64 replicates that is ~30%; "auto" must see that and keep a design whose units are the draws."""
    smooth = check(_smooth_claim(constant=False), seed=0)
    assert smooth.variance_reduction["designs"].get("rqmc"), smooth.variance_reduction   # RQMC pays on this integrand
    both = check(_smooth_claim(constant=True), seed=0)
    assert both.verdict == "verified"
    assert "rqmc" not in both.variance_reduction["designs"], both.variance_reduction
    assert both.detectable_relative < 0.01, both.detectable_relative


def test_resolve_with_no_variance_in_the_pilot_stops_at_what_the_se_zero_allowance_needs():
    """Samples all equal: the SE = 0 allowance ln(m / alpha) / n x (B + |v|) reaches resolve x |v| at
    n = ln(m / alpha) x 2 / resolve draws, far below the cap."""
    claim = Claim(name="const", params={"a": Real(1.0, 2.0)}, inputs={"x": Gaussian(2)}, closed_form=lambda a: a,
                  monte_carlo=lambda a, x: a.expand(x.shape[0]).clone(), examples=2, samples=1 << 20,
                  resolve=0.01, min_samples=1024)
    r = check(claim, seed=0)
    assert r.verdict == "verified"
    assert r.detectable_relative <= 0.01 * 1.01, r.detectable_relative
    # m <= 100 tests: ln(100 / 1e-6) x 2 / 0.01 = 3700 draws; the cap is 2^20
    assert r.samples_per_example["max"] <= 2 * 3700, r.samples_per_example


def test_auto_does_not_pay_for_rqmc_when_plain_draws_resolve_with_fewer():
    """RQMC never runs fewer than 64 x 1024 draws; where a few thousand plain draws reach resolve=, it is not chosen."""
    r = check(_smooth_claim(constant=False, resolve=0.05), seed=0)
    assert r.verdict == "verified" and r.detectable_relative <= 0.05 * 1.2
    assert "rqmc" not in r.variance_reduction["designs"], r.variance_reduction
    assert r.samples_per_example["max"] < 64 * 1024, r.samples_per_example


def _rare_event_claim(factor=1):
    """E[x0 + 1(x0 > t)] = Q(t), x ~ N(0, I_2). Linear in its degree-1 control except on the event x0 > t: at t = 5
    (probability 2.9e-7) no draw of 2^16 hits it, the control-variate residuals agree to round-off (SE ~ 1e-19),
    and the mean misses Q(5) = 2.9e-7 -- a rare event the SE cannot see."""
    t = sp.Symbol("t")
    return Claim(name="rare-event", params={"t": Real(1.0, 5.0)}, inputs={"x": Gaussian(2)},
                 closed_form=lambda t: factor * sp.erfc(t / sp.sqrt(2)) / 2,
                 monte_carlo=lambda t, x: x[:, 0] + (x[:, 0] > t).to(x.dtype),
                 variance_reduction=("control_variates",), samples=1 << 16, examples=6)


def test_standard_error_within_round_off_is_decided_by_the_rare_event_allowance():
    """A component whose units agree to within their round-off carries no variance information: it is decided like
    SE = 0 (``_stats.no_variance``), not by a z statistic on a round-off SE -- which refuted this correct claim."""
    r = check(_rare_event_claim(), seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)
    wrong = check(_rare_event_claim(factor=1.1), seed=0)
    assert wrong.verdict == "refuted", wrong.detectable_relative
    assert wrong.counterexample["params"]["t"] < 4, wrong.counterexample   # refuted where draws see the event
