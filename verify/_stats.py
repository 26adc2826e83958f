"""The error model: how a Monte Carlo verdict can be wrong, and the bounds the engine puts on it.

A claim says E[X] = c for every parameter value, where X is the estimator's per-sample output and c the
closed form. The engine draws n samples at each of E examples and tests every one of the K components
of the mean. Two things can go wrong:

* **False refutation** -- the claim is correct but a sample mean lands far from c by chance. Each of the
  m = E * K component tests is a two-sided z-test at level alpha / m (Bonferroni), so by the union bound
  a correct claim is refuted with probability at most alpha (``false_refutation_rate``, default 1e-6),
  however the components are correlated. The z statistic is studentized with the sample standard error
  and is normal only asymptotically; the leading-order error of that approximation is the skewness term
  of the Edgeworth expansion of the studentized mean (Hall 1992, eq. 2.52): P(T <= x) = Phi(x) +
  n^{-1/2} gamma (2 x^2 + 1) phi(x) / 6 + O(1/n). The critical value is widened by exactly that term,
  |gamma| n^{-1/2} (2 z^2 + 1) / 6, using the measured skewness gamma of each component. Heavier
  departures (infinite variance) are outside the model: the estimator must have finite variance.
* **Bounds** (``relation="<="`` / ``">="``) -- only one tail refutes: the statistic is the signed ``violation``
  (mean - c for "<=", c - mean for ">=") less the allowances, over SE, counted where positive, against the
  one-sided critical value at alpha / m (``critical_z(..., sides=1)``), widened the same way. By the same union
  bound a bound that holds -- with equality, the hardest case, or with room -- is refuted w.p. <= alpha.
* **False verification** -- the claim is wrong but the discrepancy is too small to see with n samples.
  The run reports the *detectable discrepancy*: the difference |E[X] - c| that a test would catch with
  probability 0.9, (z_crit + z_0.9) * SE + r. A discrepancy below it can pass; a larger one is caught
  with probability >= 0.9 per test.

Float64 round-off r is added to the allowed difference so that exactly-zero standard errors (an
estimator that is deterministic at some example, such as w = w*) do not turn round-off into a
refutation: r = gamma_N * |c|_mag (closed-form evaluation, see ``_compile.py``) + gamma_k * mean|X|
(summation of the samples, k = log2(n) + number of batches).

**Deterministic components (SE = 0, or SE within round-off).** When all n samples of a component equal the
same v, the sample variance says nothing, and a z statistic would be infinite for any difference. The same
holds when the units differ only by their rounding: a standard error no larger than the allowance r for the
mean's own float64 error (``no_variance``) measures round-off, not the estimator's law. This is what a
control-variate design gives where the estimator is exactly linear in its controls except on a rare event
(the ReLU gradient at W = W* rotated by 1e-5: the sign-disagreement wedge has probability 4e-6, no sample
hits it, the residuals are 1e-17 apart, and the z-test on that SE refuted the correct mean 7e-11 away, the
wedge's share). Such a component is treated exactly as SE = 0. What can still be said:
an event of probability p >= ln(m / alpha) / n (``rare_event_probability``) is missed by all n samples
with probability at most alpha / m, so with that probability the estimator's law puts mass < p outside
the value v, and its mean is within p (B + |v|) of v, where B bounds |X| near the example (X the averaged
unit: a control-variate residual Y - C beta, a pair mean). The allowance is that much, on the scale of what *the
estimator* can take: B is the claim's ``sample_bound`` when it declares one (a sample of the estimator above it is
an error; under control variates, whose unit is a residual Y - C beta the bound does not cover, the larger of the
bound and the largest |unit| seen), otherwise the largest |unit| of that component seen over all the claim's examples (the residual, not the
magnitude |Y| + |C| |beta| of its terms, which bounds only its round-off). Since that maximum is known only when every example has run, an example that
fails only through such components is *pending* -- neither shrunk nor counted -- and is decided at the
end with the final maximum (``_engine._Checker.finalize``); its counterexample, if it still fails, is
unshrunk. **Assumption:** without a declared bound, the samples' size near a deterministic example is no
larger than the largest one seen over the claim's examples; an estimator that is 0 with probability
1 - 1e-9 and 1e12 otherwise can be wrongly accepted there. An estimator that never once differs from its
value anywhere gives B = |v|: nothing then hides a discrepancy, so a closed form of 1e-9 against samples
that are all 0 is refuted unless ``sample_bound`` is declared. ``--replay`` sees one example only, so
there B comes from that example alone.

**The 50-digit reference's own error.** The reference is the closed form evaluated at 50 significant
digits from the float64 parameters. That is not exact where the closed form is ill-conditioned:
acos(x.y / (|x||y|)) at x = y sees its argument as 1 - 2.7e-51 (the 50-digit rounding of the norms) and
returns 7e-26 instead of 0 -- larger than any float64 round-off bound of a closed form that small. So
before an example is refuted, the closed form is evaluated again at 100 digits, which becomes the
reference, and |v_50 - v_100| is added to the allowance. **Assumption:** doubling the digits at least
halves the evaluation error (err_100 <= err_50 / 2; true for any closed form whose error is Hoelder in its
inputs' rounding -- acos near 1 halves the *exponent*). Then err_50 <= |v_50 - v_100| + err_50 / 2, so
err_100 <= err_50 / 2 <= |v_50 - v_100|. Irrational constants are folded to 30 digits before printing
(``_compile._constants_to_floats``): an error of 1e-30 relative, far inside gamma_N |c|_mag.

Exact claims (``exact=``) have no chance component: the closed form and the estimate are two float64
computations of one quantity, each within gamma_N * ||c|_mag||_inf of the truth, so they are compared
with the bound 2 gamma_N ||c|_mag||_inf (normwise; ``statistic`` = max |difference| / bound, refuted
above 1). That bound ignores conditioning: float64's acos of a cosine one ulp below 1 is 1.5e-8 off, not
1e-16. So an example that would fail is re-checked with the reference's error bound above and with
2 ||e||_inf added, e the closed form's first-order float64 forward-error bound with conditioning
(``_compile.forward_error``: every node's rounding, amplified by the derivatives above it; Hoelder caps
where the derivative is unbounded, acos / asin at +-1, sqrt at 0). **Assumption:** the estimator is a
float64 computation of the same quantity no worse conditioned than the closed form's own evaluation, and
library functions are correct to 2 ulp (torch's elementary functions are; its special functions such as
polygamma, 3e-10 relative, and the Bessel functions are not: an exact claim through them needs care).

**Variance reduction** (``_draws.py``) changes what a "sample" is, never the test: the z-test above runs on
iid *units* with the claimed mean, so its false-refutation bound holds as stated for each design:

* plain draws: a unit is one estimator value Y.
* antithetic pairs: a unit is (Y(z) + Y(-z)) / 2; pairs are iid and have mean E[Y] (z and -z are both
  N(0, I)), so the mean, SE and skewness are taken over the n / 2 pair means; the rare-event bound uses n / 2.
* control variates: a unit is Y - C beta with E[C] = 0 known exactly (Hermite polynomials of the
  engine-owned inputs, or controls the estimator returns). beta is fitted on a *pilot* batch drawn with its
  own seed and never pooled into the test, so beta is independent of the tested units and E[Y - C beta] =
  E[Y] exactly; fitting beta on the tested samples themselves would bias the mean by O(q / n) and make the
  SE optimistic. The summation error bound counts the q + 1 extra operations of the dot product, on the
  magnitude |Y| + |C| |beta|.
* RQMC: a unit is the mean over one independently scrambled Sobol net; the R = 64 replicate means are iid
  and unbiased; the critical value is Student-t with R - 1 degrees of freedom at alpha / (2 m), widened by the
  replicate means' skewness as above. **Assumption:** the replicate means are normal to that order (a CLT
  within each replicate of >= 1024 points under "auto"). The rare-event bound for SE = 0 uses R: where a component
  shows no variance in the pilot, RQMC's predicted discrepancy is ln(m / alpha) / R of its size (about 30%),
  so "auto" does not choose RQMC there.
* the pilot batch also chooses the design and, with ``resolve=``, the number of draws. For each design it
  predicts the relative detectable discrepancy at a number of draws (``predicted_relative``: the variance
  term, and where the pilot shows no variance the SE = 0 allowance: relative, at most ln(m / alpha) / units,
  whatever the sample bound B, which for RQMC stays at R units however many points it runs) and the fewest draws that reach ``resolve`` (``draws_needed``, within
  [min_samples, samples]). "auto" takes, with ``resolve``, the design that reaches it with the fewest draws
  (RQMC never goes below 64 x 1024); without, the smallest predicted discrepancy at ``samples``. Both are
  functions of the pilot alone, independent of the tested units, so the test is valid conditionally on them,
  hence unconditionally. RQMC is sized as if its variance per draw fell no faster than plain Monte Carlo's
  from the pilot's 1024 points (conservative for the integrands RQMC helps).

**Asymptotic orders** (``Claim(limit=Limit("T", to=sp.oo, order=p))``: estimand - closed form = O(T^-p)). At
each example the engine evaluates a geometric ladder of R rungs toward the limit (``_limit.Limit``); every rung's
difference d_j (per component) gets a two-sided interval |d_j| +- w_j: w_j is the Monte Carlo half-width
(critical z or t at alpha / (2 m), widened by the skewness as above, times the SE, plus the round-off and
rare-event allowances) or, for ``exact=``, the round-off bound times 2^10 (``_engine.LADDER_CONDITIONING``:
near a limit the estimator is a worse-conditioned computation than the closed form -- T^2 times a gradient that
vanishes like 1/T, a difference quotient over h -- so its rounding grows toward the limit; **assumption:** by at most
2^10 over the closed form's 2 gamma_N |terms| bound on the ladder, e.g. T up to 1000 x the rounding's scale).
m counts every rung: m = E x R x K, so with
probability >= 1 - alpha every interval of every rung of every example holds the true difference at once. A rung
is *resolved* where |d_j| > w_j (the difference is not 0 within its error). From the two deepest resolved rungs a
(shallower) and b, at distances delta_a > delta_b from the limit (1 / T, or |h - a|), the measured order is
p_hat = ln(|d_a| / |d_b|) / ln(delta_a / delta_b) and its upper confidence bound
p_up = ln((|d_a| + w_a) / (|d_b| - w_b)) / ln(delta_a / delta_b), which bounds the true local order between a and b
whenever both intervals hold. The claim is refuted where p_up < p - tolerance (``order_decision``). **Assumption:**
the ladder reaches the asymptotic regime -- between its deepest resolved rungs the true local order is at least
p - tolerance (``Limit.tolerance``, default 0.5; pre-asymptotic terms make a correct O(T^-3) look like order
3 - 1/(T - 1)). Under it a correct claim is refuted with probability <= alpha; without it (a ladder that stops
before the asymptotic regime) nothing is guaranteed. Fewer than two resolved rungs (the difference is 0 within its
error, or vanishes below it after one rung) is never a refutation; an order above p (a pessimistic statement) is
reported (``order`` in the results), never refuted. A refutation needs the difference resolved at two rungs with
intervals narrow enough: an order deficit of one (a lower-order mutant) is caught where w is well below |d| at the
deepest two rungs.

The run's ``statistic`` is the largest value over every example evaluated (shrinking included), with the
threshold of the example and component where it is attained; a refutation's counterexample carries its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtri
from scipy.stats import nct
from scipy.stats import t as student_t

from numerics._compile import gamma

__all__ = ["decide_interval", "interval_se", "interval_pvalue", "decide_verdicts", "seeds_for_power", "holds_power", "joint_miss", "EXPERIMENT_ALPHA", "JOINT_POWER", "violation", "critical_z", "critical_t", "power_quantile", "edgeworth_widening", "Moments", "Z_POWER", "summation_ops",
           "rare_event_probability", "no_variance", "VANISHING", "predicted_relative", "draws_needed",
           "Decision", "decide_monte_carlo", "decide_moments", "decide_exact", "mc_threshold", "OrderDecision",
           "order_decision"]

Z_POWER = float(-ndtri(0.1))  # 1.2816: one-sided z of power 0.9

# An example's closed form *vanishes* where its terms are below VANISHING x the largest |sample| seen there
# (e.g. I2 at rho = 1e-40 with O(1) samples: terms ~1e-47). A relative resolution r there would take about
# (4 / (VANISHING r))^2 = 1.6e15 draws at r = 10%, beyond any Monte Carlo budget, so such an example is decided
# and reported in absolute terms only (relative None), exactly like one whose closed form is 0. The verdict does
# not depend on this constant: only the reported relative figure does.
VANISHING = 1e-6


def critical_z(rate: float, tests: int, sides: int = 2) -> float:
    """Critical z so that ``tests`` independent-or-not tests jointly refute w.p. <= rate: two-sided (|z|, an
    equality) or one-sided (``sides=1``, a bound ``relation="<="`` / ``">="``: only one tail refutes)."""
    if not (0.0 < rate < 1.0) or tests < 1 or sides not in (1, 2):
        raise ValueError(f"critical_z(rate={rate!r}, tests={tests!r}, sides={sides!r}): need 0 < rate < 1, tests >= 1, sides 1 or 2")
    return float(-ndtri(rate / (sides * tests)))


def critical_t(rate: float, tests: int, df: int, sides: int = 2) -> float:
    """Critical t with ``df`` degrees of freedom at rate / tests (Bonferroni), for RQMC replicates; sides as
    ``critical_z``."""
    if not (0.0 < rate < 1.0) or tests < 1 or df < 1 or sides not in (1, 2):
        raise ValueError(f"critical_t(rate={rate!r}, tests={tests!r}, df={df!r}, sides={sides!r}): need 0 < rate < 1, "
                         "tests >= 1, df >= 1, sides 1 or 2")
    return float(student_t.isf(rate / (sides * tests), df))


def violation(estimate: np.ndarray, reference: np.ndarray, relation: str = "==") -> np.ndarray:
    """How far the estimate is on the wrong side of the closed form: |estimate - reference| for an equality,
    estimate - reference for ``"<="`` (estimand <= closed form), reference - estimate for ``">="``; <= 0 where a
    bound holds."""
    d = np.asarray(estimate) - np.asarray(reference)
    if relation == "==":
        return np.abs(d)
    if relation == "<=":
        return d
    if relation == ">=":
        return -d
    raise ValueError(f"relation {relation!r}: use '==', '<=' or '>='")


def power_quantile(df: int | None) -> float:
    """The one-sided quantile of power 0.9: normal (df None) or Student-t with df degrees of freedom."""
    return Z_POWER if df is None else float(student_t.isf(0.1, df))


def predicted_relative(var, size: float, draws: int, units: int, critical: float, power: float,
                       tests_over_rate: float) -> float:
    """The detectable discrepancy a test will have relative to the sizes involved, predicted from a pilot batch
    (largest over components; the engine reports ``relative`` on the same definition).

    var: (k,) residual variance per draw (a unit's variance x draws per unit), so the mean's variance is var / draws;
    size: the closed form's size (its |terms|; 0: the discrepancy is absolute). A component with var = 0 will be
    decided by the SE = 0 allowance p (B + |v|), p = rare_event_probability(tests / rate, units), reported relative
    to max(size, B + |v|): at most p, whatever B (the largest |sample| over the claim's examples, unknown here).
    """
    var = np.asarray(var, dtype=np.float64)
    if var.size == 0:
        return 0.0
    spread = (critical + power) * np.sqrt(var / draws) / (size if size > 0 else 1.0)
    return float(np.max(np.where(var > 0, spread, rare_event_probability(tests_over_rate, units))))


def draws_needed(var, size: float, resolve: float, critical: float, power: float, tests_over_rate: float,
                 per_unit: int | None) -> float:
    """The fewest draws at which ``predicted_relative`` reaches ``resolve`` (math.inf where size is 0, or where a
    component with var = 0 cannot reach it: per_unit None, a design whose units do not grow with the draws).

    The pilot that gives var is never pooled into the test, so a sample size chosen from it is independent of
    the tested units and the test stays valid at that size.
    """
    var = np.asarray(var, dtype=np.float64)
    if not size > 0:
        return math.inf
    if var.size == 0:
        return 0.0
    spread = (critical + power) ** 2 * var / (resolve * size) ** 2
    if (var == 0).any():
        if per_unit is None:
            return math.inf
        spread = np.where(var > 0, spread, math.log(tests_over_rate) / resolve * per_unit)
    return float(np.max(spread))


@dataclass
class Decision:
    """One example's verdict per component: refuted where ``excess > threshold``.

    excess: Monte Carlo, max(|mean - reference| - allowed, 0) / SE (inf where the component has no variance,
    ``no_variance``, and the difference exceeds the allowance); exact, |estimate - reference| / bound. detectable:
    the discrepancy caught with probability 0.9 (Monte Carlo) or the bound (exact). relative: the largest detectable discrepancy relative to the sizes
    involved (None where no size is known).
    """

    excess: np.ndarray
    threshold: np.ndarray
    detectable: np.ndarray
    relative: float | None
    deterministic: np.ndarray | None = None     # Monte Carlo: the components decided without variance (``no_variance``)

    @property
    def failed(self) -> bool:
        return bool((self.excess > self.threshold).any())


def mc_threshold(critical: float, skewness: torch.Tensor, n: int) -> np.ndarray:
    """The critical value of each component's test, widened by its units' measured skewness (Edgeworth)."""
    return critical + edgeworth_widening(critical, skewness, n).cpu().numpy()


def no_variance(se, roundoff):
    """The components whose standard error carries no information about the estimator's variance: SE = 0, or
    SE no larger than ``roundoff`` (the allowance for the mean's own float64 error), so the units agree to
    within their rounding. They are decided by the rare-event allowance, never by a z statistic."""
    return np.asarray(se) <= np.asarray(roundoff)


def decide_monte_carlo(mean: np.ndarray, se: np.ndarray, reference: np.ndarray, *, threshold: np.ndarray, power: float,
                       allowed: np.ndarray, bound: np.ndarray, p_rare: float, size: float,
                       sample_max: np.ndarray | None = None, relation: str = "==") -> Decision:
    """The z- (or t-) test of every component, with the round-off and reference-error allowance ``allowed``.

    A component whose units are all equal (SE = 0), or equal to within the round-off allowance (``no_variance``),
    carries no variance information: it is also allowed p_rare x (B + |v|), B = ``bound`` on |a sample| (see the
    module docstring), and its z statistic is not used. Relative discrepancies are on the closed form's size, and
    where every sample was equal on max(size, B + |v|): there the closed form may vanish (acos(1) = 0), making
    "relative to the closed form" meaningless. A component whose closed form vanishes against its samples
    (size < VANISHING x ``sample_max``, the largest |sample| at this example) has no relative figure.
    relation: "==" tests |mean - reference|; a bound tests the signed ``violation`` against a one-sided critical
    value (the caller's ``threshold``), and a mean on the right side of the bound never counts against it.
    """
    deterministic = no_variance(se, allowed)
    allowed = allowed + np.where(deterministic, p_rare * (bound + np.abs(mean)), 0.0)
    slack = np.maximum(violation(mean, reference, relation) - allowed, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(slack == 0, 0.0, np.where(deterministic, np.inf, slack / se))
    detectable = (threshold + power) * se + allowed
    vanishes = np.zeros_like(deterministic) if sample_max is None else size < VANISHING * np.asarray(sample_max)
    scale = np.where(deterministic, np.maximum(size, bound + np.abs(mean)), np.where(vanishes, 0.0, size))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, detectable / scale, np.nan)
    return Decision(excess, threshold, detectable, float(np.nanmax(rel)) if np.isfinite(rel).any() else None,
                    deterministic)


def decide_moments(m: "Moments", reference: np.ndarray, *, critical: float, power: float, allowed: np.ndarray,
                   bound: np.ndarray, tests_over_rate: float, size: float, relation: str = "==") -> Decision:
    """One Monte Carlo example decided from its units' moments: the whole rule in one call.

    The threshold is ``critical`` (z at rate / (2 tests), or Student-t for RQMC replicates) widened by the units'
    measured skewness (``mc_threshold``); components with no variance get the rare-event allowance at the
    moments' unit count (``rare_event_probability``); then ``decide_monte_carlo``. The returned Decision holds the
    threshold, the verdict (``failed``) and the detectable discrepancy. ``bound``: B, the bound on |a sample| for
    the SE = 0 allowance (the declared ``sample_bound`` or the largest |unit| seen over the claim's examples).
    """
    return decide_monte_carlo(m.mean.cpu().numpy(), m.std_error.cpu().numpy(), reference,
                              threshold=mc_threshold(critical, m.skewness, m.n), power=power, allowed=allowed,
                              bound=bound, p_rare=rare_event_probability(tests_over_rate, m.n), size=size,
                              sample_max=m.value_max.cpu().numpy(), relation=relation)


def decide_exact(estimate: np.ndarray, reference: np.ndarray, bound: np.ndarray, size: float,
                 relation: str = "==") -> Decision:
    """|estimate - reference| (a bound: the signed ``violation``) against the float64 error bound (normwise;
    refuted above 1): a bound holds where the estimate is within round-off of its right side."""
    diff = np.maximum(violation(estimate, reference, relation), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(diff == 0, 0.0, np.where(bound > 0, diff / bound, np.inf))
    return Decision(excess, np.ones_like(excess), bound, float(np.max(bound)) / size if size > 0 else None)


@dataclass
class OrderDecision:
    """An asymptotic-order test at one example (module docstring, "Asymptotic orders"), per component.

    measured: p_hat from the two deepest resolved rungs (nan with fewer than two); upper: its upper confidence bound
    (inf where unbounded or unmeasured); pair: (a, b) rung indices used, or (-1, -1); resolved: (R, K) mask;
    excess: max(p - upper, 0) / tolerance, the order deficit in units of the tolerance: refuted above the threshold 1,
    i.e. where upper < p - tolerance.
    """

    measured: np.ndarray
    upper: np.ndarray
    pair: np.ndarray            # (K, 2)
    resolved: np.ndarray        # (R, K)
    excess: np.ndarray
    threshold: np.ndarray

    @property
    def failed(self) -> bool:
        return bool((self.excess > self.threshold).any())


def order_decision(distance: np.ndarray, diff: np.ndarray, halfwidth: np.ndarray, order: float,
                   tolerance: float) -> OrderDecision:
    """Measure and test the order of ``diff`` (R rungs x K components) in ``distance`` (R,), decreasing toward the
    limit, each |diff| known to within ``halfwidth`` (R x K). Refuted where the measured order's upper confidence
    bound lies below ``order - tolerance`` (``excess = (order - upper) / tolerance`` above the threshold 1)."""
    distance = np.asarray(distance, dtype=np.float64)
    a_abs = np.abs(np.asarray(diff, dtype=np.float64))
    w = np.asarray(halfwidth, dtype=np.float64)
    rungs, k = a_abs.shape
    resolved = a_abs > w
    measured = np.full(k, np.nan)
    upper = np.full(k, np.inf)
    pair = np.full((k, 2), -1, dtype=np.int64)
    for c in range(k):
        idx = np.flatnonzero(resolved[:, c])
        if idx.size < 2:
            continue
        a, b = int(idx[-2]), int(idx[-1])
        span = math.log(distance[a] / distance[b])
        pair[c] = (a, b)
        measured[c] = math.log(a_abs[a, c] / a_abs[b, c]) / span
        upper[c] = math.log((a_abs[a, c] + w[a, c]) / (a_abs[b, c] - w[b, c])) / span
    with np.errstate(invalid="ignore"):
        excess = np.where(np.isfinite(upper), np.maximum(order - upper, 0.0) / tolerance, 0.0)
    return OrderDecision(measured, upper, pair, resolved, excess, np.ones(k))


def edgeworth_widening(z: float, skewness: torch.Tensor, n: int) -> torch.Tensor:
    """First-order Edgeworth correction to the critical value of a studentized mean."""
    return skewness.abs() / math.sqrt(n) * (2.0 * z * z + 1.0) / 6.0


def rare_event_probability(tests_over_rate: float, n: int) -> float:
    """The largest p an event can have and still be missed by all n samples with probability <= rate / tests.

    (1 - p)^n <= exp(-p n) <= rate / tests  iff  p >= ln(tests / rate) / n.
    """
    return math.log(tests_over_rate) / n


def summation_ops(n: int, batches: int) -> int:
    return int(math.ceil(math.log2(max(n, 2)))) + batches + 1


@dataclass
class Moments:
    """Streaming mean, second and third central moment sums, mean |x| and max |x|, per component.

    Batches are merged with the pairwise update of Chan, Golub & LeVeque (1979) extended to the third
    moment (Pebay 2008), so memory stays bounded by one batch whatever n is.
    """

    n: int = 0
    mean: torch.Tensor | None = None
    m2: torch.Tensor | None = None
    m3: torch.Tensor | None = None
    abs_sum: torch.Tensor | None = None
    abs_max: torch.Tensor | None = None     # largest |y|, the estimator's own value behind a unit (``sample_bound``'s
                                            # check; None where the caller did not ask for it)
    value_max: torch.Tensor | None = None   # largest |unit| (RQMC: |point|): the averaged quantity, the SE = 0 allowance's B
    batches: int = 0
    draws: int = 0          # estimator evaluations behind these moments (units x 2 for antithetic pairs)
    extra_ops: int = 0      # operations per sample before the summation (a control-variate dot product: q + 1)

    def update(self, x: torch.Tensor, abs_sum: torch.Tensor | None = None, amax: torch.Tensor | None = None,
               vmax: torch.Tensor | None = None) -> None:
        """x: (b, k) float64 samples. abs_sum: (k,) the sum over the batch of the magnitudes of the terms each sample
        was computed from (default sum |x|; a control-variate sample y - c beta has |y| + |c| |beta|), for the
        summation error. amax: (k,) the largest |estimator value| behind the samples, for ``sample_bound``'s check
        (default max |x|; None when the caller does not need it: ``abs_max`` is then None); vmax: (k,) the largest |value| behind the
        samples (default max |x|; for RQMC replicate means, the largest |point|)."""
        nb = x.shape[0]
        mb = x.mean(0)                      # (b, k) -> (k,)
        c = x - mb
        c2 = c * c
        m2b = c2.sum(0)
        m3b = (c2 * c).sum(0)
        if vmax is None:                    # max |x| = max(-min x, max x): one read of x, no |x| array
            lo, hi = torch.aminmax(x, dim=0)
            vmax = torch.maximum(-lo, hi)
        if abs_sum is None:
            ab = x.abs().sum(0)
            amax = vmax if amax is None else amax
        else:
            ab = abs_sum
        self.batches += 1
        if self.n == 0:
            self.n, self.mean, self.m2, self.m3, self.abs_sum = nb, mb, m2b, m3b, ab
            self.abs_max, self.value_max = amax, vmax
            return
        na, n = self.n, self.n + nb
        d = mb - self.mean
        self.m3 = (self.m3 + m3b + d**3 * na * nb * (na - nb) / n**2
                   + 3.0 * d * (na * m2b - nb * self.m2) / n)
        self.m2 = self.m2 + m2b + d * d * na * nb / n
        self.mean = self.mean + d * nb / n
        self.abs_sum = self.abs_sum + ab
        self.abs_max = None if self.abs_max is None or amax is None else torch.maximum(self.abs_max, amax)
        self.value_max = torch.maximum(self.value_max, vmax)
        self.n = n

    @property
    def std_error(self) -> torch.Tensor:
        return torch.sqrt(self.m2 / (self.n - 1) / self.n)

    @property
    def skewness(self) -> torch.Tensor:
        var = self.m2 / self.n
        safe = torch.where(var > 0, var, torch.ones_like(var))
        return torch.where(var > 0, (self.m3 / self.n) / safe**1.5, torch.zeros_like(var))

    @property
    def abs_mean(self) -> torch.Tensor:
        return self.abs_sum / self.n

    def summation_error(self) -> torch.Tensor:
        return gamma(summation_ops(self.n, self.batches) + self.extra_ops) * self.abs_mean


# --------------------------------------------------------------------------------------------- experiments
def decide_interval(estimate: dict, threshold: float, direction: str) -> str:
    """An experiment's verdict from a confidence interval over seeds (``estimate``: mean, lo, hi): "holds" when the
    interval lies strictly on the claimed side of ``threshold`` ("above" / "below"), "fails" when it lies strictly on
    the other side, "inconclusive" when it contains the threshold; a non-finite mean or interval "fails" (a
    diverged run is a failure of the experiment, not an undecided one)."""
    mean, lo, hi = (float(estimate[k]) for k in ("mean", "lo", "hi"))
    if not math.isfinite(mean) or math.isnan(lo) or math.isnan(hi):
        return "fails"
    if direction == "above":
        return "holds" if lo > threshold else "fails" if hi < threshold else "inconclusive"
    if direction == "below":
        return "holds" if hi < threshold else "fails" if lo > threshold else "inconclusive"
    raise ValueError(f"direction {direction!r}: use 'above' or 'below'")


# --------------------------------------------------------------------------------------------- experiments
# An experiment's asserted findings are tested as one family: Holm-Bonferroni at EXPERIMENT_ALPHA over their
# two-sided p-values, and a preset's seed count is the fewest that give all of them together power JOINT_POWER.
EXPERIMENT_ALPHA = 0.05
JOINT_POWER = 0.99


def interval_se(estimate: dict) -> float | None:
    """The standard error of the mean read back from a Student-t interval over seeds (``mean_ci``'s mean, lo, hi,
    n, level): its half-width over t_{(1 + level) / 2, n - 1}. None for one seed or a non-finite interval."""
    mean, lo, hi = (float(estimate[k]) for k in ("mean", "lo", "hi"))
    n, level = int(estimate.get("n", 0)), float(estimate.get("level", 0.95))
    if n < 2 or not all(map(math.isfinite, (mean, lo, hi))):
        return None
    return (hi - lo) / 2 / float(student_t.ppf(0.5 + level / 2, n - 1))


def interval_pvalue(estimate: dict, threshold: float) -> float:
    """Two-sided p-value of "the mean equals ``threshold``" from a Student-t interval over seeds (``mean_ci``'s
    mean, lo, hi, n, level): t = (mean - threshold) / se with n - 1 degrees of freedom, the standard error read
    back from the interval's half-width. It is below 1 - level exactly when the interval excludes the threshold
    (the same decision as ``decide_interval`` at the interval's own level). An interval of zero width (every seed
    gave the same number) gives 0 unless the mean is the threshold; one seed, or a non-finite interval, gives 1
    (nothing can be decided)."""
    se = interval_se(estimate)
    if se is None:
        return 1.0
    mean, n = float(estimate["mean"]), int(estimate["n"])
    if se <= 0:
        return 1.0 if mean == threshold else 0.0
    return float(min(1.0, 2 * student_t.sf(abs(mean - threshold) / se, n - 1)))


def decide_verdicts(verdicts: list[dict], alpha: float = EXPERIMENT_ALPHA) -> list[dict]:
    """Decide an experiment's declared verdicts (``Verdict.as_dict()``); returns them with ``status`` and the
    levels used.

    * ``finding`` (asserted): Holm-Bonferroni at ``alpha`` over the findings' two-sided p-values
      (``interval_pvalue``; statsmodels' ``multipletests(method="holm")``). A rejected null is decided by the
      side of the mean: ``holds`` on the claimed side, ``fails`` on the other; a null Holm keeps is
      ``inconclusive``. Holm bounds the probability of rejecting any true null ("holds" or "fails" where the mean
      is the threshold) by ``alpha`` whatever the number of findings and their dependence. A finding whose true
      mean lies on the other side is called "holds" only by a rejection on the wrong side, which is rarer still
      for each finding alone (alpha / 2 at the least strict level); the directional family-wise bound for the
      step-down is proven for independent statistics (Shaffer 1980), and these findings share seeds, so it is
      stated per finding, not for the family. ``p_adjusted`` is Holm's adjusted p-value, ``holm_level`` the level
      at the finding's rank in the step-down (alpha / (m - rank + 1); the step-down stops at the first p-value
      above its level, so later ranks were not compared).
    * ``sanity`` and ``reported``: each decided alone by its own 95% interval (``decide_interval``; uncorrected).
      Sanity checks confirm the experiment ran as built (a loss that went down, an ODE that conserves what it
      must); they are never findings and never enter the family.

    A diverged run (non-finite mean or interval) ``fails``, whatever its kind.
    """
    out = [dict(v, p_value=interval_pvalue(v["estimate"], v["threshold"])) for v in verdicts]
    findings = [v for v in out if v["kind"] == "finding"]
    if findings:
        from statsmodels.stats.multitest import multipletests

        pvals = np.array([v["p_value"] for v in findings])
        reject, adjusted, _, _ = multipletests(pvals, alpha=alpha, method="holm")
        order = np.argsort(pvals, kind="stable")
        rank = np.empty(len(pvals), dtype=int)
        rank[order] = np.arange(len(pvals))
        for v, r, adj, k in zip(findings, reject, adjusted, rank):
            v.update(p_adjusted=float(adj), holm_level=alpha / (len(findings) - int(k)), family_size=len(findings))
            v["status"] = _side(v) if r else "inconclusive"
    for v in out:
        if v["kind"] != "finding":
            v.update(p_adjusted=None, holm_level=None, family_size=None,
                     status=decide_interval(v["estimate"], v["threshold"], v["direction"]))
        e = v["estimate"]
        if not math.isfinite(float(e["mean"])) or math.isnan(float(e["lo"])) or math.isnan(float(e["hi"])):
            v["status"] = "fails"
        v["alpha"] = alpha
    return out


def _side(v: dict) -> str:
    above = float(v["estimate"]["mean"]) > v["threshold"]
    return "holds" if above == (v["direction"] == "above") else "fails"


def holds_power(effect: float, seeds: int, level: float) -> float:
    """Probability that a two-sided one-sample t-test at ``level`` (n = ``seeds``, n - 1 degrees of freedom) rejects
    *on the claimed side* when the true standardised effect is ``effect`` > 0 on that side: P(T' > t_{1-level/2})
    with T' non-central t, non-centrality effect * sqrt(n) (scipy's ``nct``). Only this side counts, since a
    rejection on the other side is decided "fails", not "holds". (statsmodels' ``TTestPower`` adds the far tail,
    which is at most level/2, and returns nan for some large non-centralities.)"""
    df = seeds - 1
    if math.isinf(effect):
        return 1.0
    return float(nct.sf(student_t.isf(level / 2, df), df, effect * math.sqrt(seeds)))


def joint_miss(effects: list[float], seeds: int, alpha: float = EXPERIMENT_ALPHA, sanity: list[float] = ()) -> float:
    """A bound on the probability that a run at ``seeds`` seeds leaves some finding (standardised effects
    ``effects``) undecided by Holm's step-down at ``alpha`` or decided on the wrong side, or some sanity check
    (effects ``sanity``, each decided alone at 5%) not holding.

    Sort the findings from the largest effect to the smallest, and give the i-th (i = 1..m) the level
    alpha / (m - i + 1): the largest effect is tested at alpha / m, the smallest at alpha. If every finding's
    t-statistic passes the critical value of its level on the claimed side, then for every j at least j p-values
    are <= alpha / (m - j + 1), so the j-th smallest p-value is too, and Holm rejects all m, each on its claimed
    side: all hold. The bound is the union bound over the complements, sum_i (1 - holds_power(d_i, n,
    alpha / (m - i + 1))), plus sum over the sanity checks of (1 - holds_power(d, n, 0.05)). (A plain Bonferroni
    plan would test every finding at alpha / m.)"""
    ordered = sorted((float(d) for d in effects), reverse=True)
    m = len(ordered)
    miss = sum(1.0 - holds_power(d, seeds, alpha / (m - i)) for i, d in enumerate(ordered))
    return float(miss + sum(1.0 - holds_power(float(d), seeds, 0.05) for d in sanity))


def seeds_for_power(effects: list[float], alpha: float = EXPERIMENT_ALPHA, joint_power: float = JOINT_POWER,
                    most: int = 1000, sanity: list[float] = ()) -> int:
    """The fewest seeds n >= 2 at which every finding, of standardised effect d = |mean - threshold| / sd (per
    seed), is decided "holds" by ``decide_verdicts`` (Holm at ``alpha``) and every sanity check (effects
    ``sanity``) holds, with joint probability >= ``joint_power``: the fewest n with ``joint_miss`` <= 1 -
    joint_power. Each verdict is a two-sided one-sample t-test, its power to decide "holds" computed from the
    non-central t (``holds_power``); the calculation assumes normal per-seed statistics (the t-interval's own
    assumption). An effect of ``inf`` (a per-seed spread of 0, or an exact check) is decided at any n >= 2.
    Raises ValueError where ``most`` seeds are not enough (an effect too small for the experiment to assert)."""
    effects, sanity = [float(d) for d in effects], [float(d) for d in sanity]
    if not effects and not sanity:
        return 2
    if any(not d > 0 for d in effects + sanity):
        raise ValueError(f"seeds_for_power: every effect must be > 0 (got {effects + sanity}); an effect of 0 cannot "
                         "be asserted")
    for n in range(2, most + 1):
        if joint_miss(effects, n, alpha, sanity) <= 1 - joint_power:
            return n
    raise ValueError(f"seeds_for_power: standardised effects down to {min(effects + sanity):.3g} need more than {most} "
                     f"seeds to be decided together with probability {joint_power}; do not assert the smallest "
                     "(report it), or make the effect larger")
