"""The engine: draw parameters, run the estimator, decide, and shrink a refutation to a minimal example.

``check(claim)`` returns a ``ClaimResult`` whose verdict is one of

* ``verified`` -- every tested component at every example is within the threshold (see ``_stats.py``
  for what that guarantees and what it cannot);
* ``refuted`` -- some example is outside it; the result carries the hypothesis-shrunk counterexample and
  the command that replays it; or the claim's derivation did not prove derived == printed;
* ``error`` -- the claim could not be checked (closed form raises or is non-finite, estimator raises,
  returns the wrong shape / dtype / device, NaN, or ignores its generator). Never "verified".

Order of work: the derivation (if any), the closed form compiled once, the boundary examples, then
``claim.examples`` hypothesis draws. The Bonferroni divisor is fixed before the first example:
(boundary + random examples) x components, so stopping early cannot raise the false-refutation rate.

Every dimension (sizes drawn per example, ``Vector(dim=(2, 8))``): the closed form is compiled once per distinct
size (``_Forms``), and the number of components k_e depends on the example's size. The rate alpha is then split
evenly over the N planned examples (alpha / N each, fixed before the first example whatever sizes are drawn), and
each example's share over its own k_e components: every component test is made at alpha / (N k_e), the divisor
N k_e (for fixed sizes N k, as above). The sum over the tests made is at most alpha; ``tests`` reports their
number, sum of k_e over the examples tested.

Asymptotic orders (``Claim(limit=Limit(...))``): each example is a ladder of R rungs toward the limit
(``_Checker._ladder``), every rung's difference an interval at the divisor N k R, and the example is decided by
``_stats.order_decision`` on the measured order.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
import time
import weakref
from functools import partial
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from ._budget import Budget, BudgetExceeded
from ._claim import Claim, call_declared, declared
from numerics._compile import MP_DIGITS, ClosedFormError, CompiledClosedForm, _where, compile_closed_form, gamma
from ._errors import TheorycheckError, UsageError
from ._examples import boundary_examples, example_key, example_seed, independent_of_imports, parameters
from ._errors import ParameterSpecError
from ._params import is_sized, resolve, size_label, sizes_of
from ._results import ClaimResult
from ._draws import PILOT_SALT, RQMC_MARGIN, RQMC_MIN_POINTS, RQMC_PILOT, RQMC_REPLICATES, Design, fit_coefficients
from ._stats import (Moments, critical_t, critical_z, decide_exact, decide_moments, draws_needed, no_variance,
                     order_decision, power_quantile, predicted_relative, violation)
from ._torchstate import Isolation

__all__ = ["check", "parse_replay", "MAX_BATCH_VALUES", "SHRINK_BUDGET"]

MAX_BATCH_VALUES = 1 << 22   # per-sample estimate values held at once (32 MiB of float64)
SHRINK_BUDGET = 200          # new examples evaluated while shrinking a refutation
LADDER_CONDITIONING = 2.0 ** 10  # limit= exact claims: the estimator's rounding allowed, over the closed form's (_stats)
TIME_BUDGET = 600.0          # seconds per claim before it is stopped as an error (--time-budget)
FIRST_BATCH = 1024           # first Monte Carlo batch; later batches double (see _monte_carlo)
# A derivation is a pure SymPy computation of no arguments: claims that share one (population-gradient-mc and
# -autograd; the three simsiam-channel-variance sizes) run it once per process. Keyed by the function object, so a
# derivation file loaded again (a new module) derives again; a derivation that raised is not kept.
_DERIVED: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()


class _CheckError(Exception):
    """The claim cannot be checked; the message is the one line the user sees."""


class _Refutation(Exception):
    def __init__(self, example):
        super().__init__(example.label)
        self.example = example


@dataclass
class _Example:
    label: str
    params: dict[str, np.ndarray]
    seed: int
    closed: np.ndarray          # (k,)
    estimate: np.ndarray        # (k,)
    std_error: np.ndarray | None
    excess: np.ndarray          # MC: max(|d| - r, 0) / SE ; exact: |d| / bound
    threshold: np.ndarray       # per component
    detectable: np.ndarray      # per component
    float64_error: float        # |float64 lambdify - 50-digit reference| of the closed form
    scale: float                # max over components of the closed form's |terms| sum (its magnitude)
    relative: float | None = None   # detectable discrepancy relative to the sizes involved (see _Work._summarise)
    # SE = 0 components without a declared sample_bound: their allowance depends on the largest |sample| seen
    # over the claim's examples, known only at the end; ``redecide(B)`` recomputes (excess, detectable, relative)
    redecide: Callable | None = None
    pending: bool = False       # fails only through such components: decided at the end (``_Checker.finalize``)
    draws: int = 0              # Monte Carlo: estimator evaluations at this example (pilot batch excluded)
    design: str = ""            # Monte Carlo: "iid", "antithetic" or "rqmc" (see _draws.py)
    sizes: dict | None = None   # drawn sizes (``_params.size_ranges``' keys -> int); {} where none are drawn
    size_state: "_SizeState | None" = None  # its size's per-size state (the SE = 0 allowance's B)
    order: dict | None = None   # limit= claims: the ladder, its differences and the measured order (``_ladder``)

    @property
    def failed(self) -> bool:
        return not self.pending and bool((self.excess > self.threshold).any())

    @property
    def worst(self) -> int:
        return int(np.argmax(self.excess / self.threshold))


def _squeezed(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


def _fmt_params(params: Mapping[str, np.ndarray]) -> str:
    return json.dumps({n: np.asarray(v).tolist() for n, v in params.items()})


def parse_replay(text: str, claim: Claim) -> dict[str, np.ndarray]:
    """``--replay`` JSON -> parameter arrays, validated against the claim's specs."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--replay {text[:60]!r}: not valid JSON ({exc.msg}); pass the 'replay' object printed with the counterexample") from None
    if not isinstance(raw, dict) or set(raw) != set(claim.params):
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise UsageError(f"--replay: claim {claim.name!r} has parameters {sorted(claim.params)}, got {got}; pass one value per parameter")
    out = {}
    sized = is_sized(claim.params)
    for n, spec in claim.params.items():
        try:
            v = np.asarray(raw[n], dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"--replay: parameter {n!r} = {raw[n]!r} is not numeric") from None
        if (not sized and v.shape != tuple(spec.shape)) or not np.isfinite(v).all():
            raise UsageError(f"--replay: parameter {n!r} has shape {v.shape}, expected {tuple(spec.shape)} (finite values)")
        out[n] = v
    if sized:               # the drawn sizes are the values' lengths
        try:
            sizes_of(claim.params, out)
        except ParameterSpecError as exc:
            raise UsageError(f"--replay: {exc}") from None
    return out


@dataclass
class _SizeState:
    """What a checker keeps per distinct size: the closed form compiled there, the input design, the critical
    values at the divisor N k_e, and the largest |unit| seen per component (the SE = 0 allowance's B)."""

    sizes: dict
    cf: CompiledClosedForm
    design: Design
    tests: int
    z: float
    z_rqmc: float
    value_max: np.ndarray


class _Forms:
    """The claim's closed form compiled per distinct size: ``closed_form`` is called (and lambdified) once per
    size, with that size's symbols; one entry where no size is drawn."""

    def __init__(self, claim: Claim, step):
        self.claim, self.step = claim, step
        self.sized = is_sized(claim.params)
        self.cache: dict[tuple, CompiledClosedForm] = {}

    def sizes(self, params: Mapping[str, np.ndarray] | None) -> dict:
        return sizes_of(self.claim.params, params) if self.sized else {}

    def at(self, sizes: dict) -> CompiledClosedForm:
        key = tuple(sizes.items())
        cf = self.cache.get(key)
        if cf is None:
            specs = resolve(self.claim.params, sizes)
            try:
                cf, _ = compile_closed_form(declared(self.claim.closed_form), list(specs), list(specs.values()), step=self.step)
            except ClosedFormError as exc:
                raise _CheckError(f"{exc} (at {size_label(sizes)})" if sizes else str(exc)) from None
            self.cache[key] = cf
        return cf


class _Checker:
    """Decides examples one at a time. ``examples``: N, the examples planned (boundary + sweep + random); each
    component test at an example with k components is made at the divisor N k (module docstring). ``first``: the
    first example's parameters (None where no size is drawn), which fixes the state before any example."""

    def __init__(self, claim: Claim, forms: _Forms, *, seed: int, device: torch.device, examples: int,
                 budget: Budget, first: Mapping[str, np.ndarray] | None = None):
        self.claim, self.forms, self.seed, self.device = claim, forms, seed, device
        self.examples_planned = examples
        self.sides = 2 if claim.relation == "==" else 1      # a bound is refuted by one tail only
        self.rungs = claim.limit.rungs if claim.limit is not None else 1   # every rung of a ladder is a test
        self.power = power_quantile(None)
        self.power_rqmc = power_quantile(RQMC_REPLICATES - 1)
        self._states: dict[tuple, _SizeState] = {}
        self.select(forms.sizes(first))
        # a pilot batch fits control-variate coefficients and sizes the samples (resolve=); it is never tested
        self.needs_pilot = claim.method == "monte_carlo" and (
            (self.design.owns_draws and self.design.control_variates) or self.design.auto or claim.resolve is not None)
        self.pilot_draws = min(max(claim.samples // 16, 1024), 8192) // 2 * 2
        self.budget = budget
        self.reproducibility_checked = False
        self.examples_done = 0
        self.convergence: dict | None = None
        self.undecidable: list[str] = []
        self.failures: list[_Example] = []      # every failing example, in evaluation order (shrinking included)
        self.max_statistic = (0.0, self.z if claim.method == "monte_carlo" else 1.0)  # (value, its threshold)
        self.redecidable: list[_Example] = []   # examples with SE = 0 components, re-decided by finalize()

    # -- the example's size ------------------------------------------------------------------------
    def select(self, sizes: dict) -> _SizeState:
        """Make ``sizes`` current: ``cf``, ``k``, ``design``, ``tests`` (the divisor N k) and the critical values
        are those of this size from here on (each compiled and built once per size)."""
        key = tuple(sizes.items())
        st = self._states.get(key)
        if st is None:
            claim = self.claim
            cf = self.forms.at(sizes)
            fixed = resolve(claim.params, sizes)
            # an input's size follows its parameter's (Gaussian(dim="w")): w's length at these sizes
            inputs = {n: g.at({p: np.empty(spec.shape) for p, spec in fixed.items()}) for n, g in (claim.inputs or {}).items()}
            tests = self.examples_planned * cf.size * self.rungs
            st = _SizeState(dict(sizes), cf, Design(inputs, claim.variance_reduction, self.device), tests,
                            critical_z(claim.false_refutation_rate, tests, self.sides),
                            critical_t(claim.false_refutation_rate, tests, RQMC_REPLICATES - 1, self.sides), np.zeros(cf.size))
            self._states[key] = st
        self._current = st
        self.cf, self.k, self.design, self.tests, self.z, self.z_rqmc = st.cf, st.cf.size, st.design, st.tests, st.z, st.z_rqmc
        return st

    @property
    def value_max(self) -> np.ndarray:
        """Largest |unit| seen, per component, over the examples of the current size (SE = 0's B)."""
        return self._current.value_max

    @value_max.setter
    def value_max(self, v: np.ndarray) -> None:
        self._current.value_max = v

    # -- one example -------------------------------------------------------------------------------
    def evaluate(self, label: str, params: dict[str, np.ndarray]) -> "_Example | None":
        where = f"example {label} {_fmt_params(params)}"
        self.select(self.forms.sizes(params))     # compiled on first use, under the closed form's own budget steps
        with self.budget.step(f"evaluating the closed form at example {label}"):
            try:
                closed, mag, f64_err = self.cf.evaluate(params)
            except ClosedFormError as exc:      # a part of the compile built lazily at the first example
                raise _CheckError(str(exc)) from None
            except Exception as exc:
                raise _CheckError(f"closed form could not be evaluated at {where}: {_where(exc)}") from None
            if not np.isfinite(closed).all():
                raise _CheckError(f"closed form is non-finite at {where} (also at {50} digits): component "
                                  f"{int(np.flatnonzero(~np.isfinite(closed))[0])} = {closed[~np.isfinite(closed)][0]}; "
                                  "narrow the parameter ranges to the closed form's domain")
            self.examples_done += 1
            if self.cf.undecidable_switch(params):
                self.undecidable.append(label)
                return None
        if self.claim.limit is not None:
            return self._ladder(label, params, closed, mag, f64_err)
        seed = example_seed(self.seed, params)
        tensors = {n: torch.as_tensor(v, dtype=torch.float64, device=self.device) for n, v in params.items()}
        cf_scale = float(np.max(mag)) if mag.size else 0.0
        if self.claim.method == "exact":
            est = self._exact(tensors, label, where)
            roundoff = np.full(self.k, 2.0 * gamma(self.cf.ops) * max(cf_scale, float(np.max(np.abs(est)))))
            closed, bound = self._decide_exact(params, label, est, closed, roundoff)
            d = decide_exact(est, closed, bound, cf_scale, self.claim.relation)
            ex = _Example(label, params, seed, closed, est, None, d.excess, d.threshold, d.detectable, f64_err, cf_scale,
                          d.relative)
            return self._record(ex)
        # the convergence trace: at the typical example (with drawn sizes, the first one: at the smallest sizes)
        trace = [] if label.split(" @ ")[0] == "typical" and self.convergence is None else None
        m, mode = self._monte_carlo(tensors, seed, label, where, trace, cf_scale)
        crit, power = self._critical(mode)
        if trace:
            self.convergence = {"n": [t[0] for t in trace],
                                "abs_error": [float(np.max(np.abs(t[1] - closed))) for t in trace],
                                "std_error": [float(np.max(t[2])) for t in trace]}
        mean = m.mean.cpu().numpy()
        se = m.std_error.cpu().numpy()
        sample_max = m.value_max.cpu().numpy()
        self.value_max = np.maximum(self.value_max, sample_max)
        declared = self.claim.sample_bound
        largest = float(torch.max(m.abs_max)) if declared is not None else None
        if declared is not None and largest > declared:
            raise _CheckError(f"monte_carlo returned a sample of size {largest:.6g} > sample_bound={declared:g} at {where}; "
                              "sample_bound must bound |every per-sample value| over the parameter ranges")
        # the decision, all of it in _stats: the threshold (Student-t over RQMC replicate means, z over iid units,
        # both widened by the units' skewness), the rare-event allowance p_rare x (B + |v|) of components with no
        # variance, the verdict and the detectable discrepancy
        decide = partial(decide_moments, m, critical=crit, power=power, tests_over_rate=self.tests / self.claim.false_refutation_rate,
                         size=cf_scale, relation=self.claim.relation)
        base = self._mean_roundoff(m, cf_scale)
        # B: the declared bound on |a sample| -- and, with control variates, the largest |residual Y - C beta| seen
        # where larger: a residual is not bounded by the estimator's bound (_stats: "Deterministic components")
        bound_now = np.maximum(declared, self.value_max) if declared is not None else self.value_max
        d = decide(closed, allowed=base, bound=bound_now)
        if d.failed:                        # before refuting, bound the 50-digit reference's own error
            closed, ref_err = self._refine(params, label, closed)
            base = base + ref_err
            d = decide(closed, allowed=base, bound=bound_now)
        excess, threshold, detectable, relative, deterministic = d.excess, d.threshold, d.detectable, d.relative, d.deterministic
        ex = _Example(label, params, seed, closed, mean, se, excess, threshold, detectable, f64_err, cf_scale, relative)
        ex.draws = m.draws
        ex.design = mode
        if declared is None and deterministic.any():
            final = partial(decide, closed, allowed=base)

            def redecide(b):
                d = final(bound=b)
                return d.excess, d.detectable, d.relative
            ex.redecide = redecide
            failing = excess > threshold
            ex.pending = bool(failing.any() and deterministic[failing].all())
        return self._record(ex)

    def _limit_in_closed_form(self) -> bool:
        """Whether the current size's closed form depends on the limit's parameter at all (else one evaluation
        serves every rung)."""
        name = self.claim.limit.name
        return any(name in {str(x) for x in comp.free_symbols} for comp in self.cf.components)

    def _ladder(self, label: str, params: dict, first_closed: np.ndarray, first_mag: np.ndarray,
                f64_err: float) -> "_Example | None":
        """A limit= claim's example: the closed form and the estimator at every rung of the ladder from the drawn
        value toward the limit, each difference an interval, the order measured and tested (``_stats``)."""
        lim, claim = self.claim.limit, self.claim
        xs = lim.ladder(float(params[lim.name]))
        if claim.params[lim.name].__class__.__name__ == "Int":
            xs = np.round(xs)
        closed_r, est_r, hw_r, se_r, scales, draws, modes, points = [], [], [], [], [], 0, [], []
        for j, x in enumerate(xs):
            p = {**params, lim.name: np.asarray(x, dtype=np.float64)}
            rl = f"{label} {lim.name}={x:.6g}"
            where = f"example {rl} {_fmt_params(p)}"
            if j == 0 or not self._limit_in_closed_form():   # a closed form free of the limit's parameter: once
                closed, mag, f64 = first_closed, first_mag, f64_err
            else:
                with self.budget.step(f"evaluating the closed form at example {rl}"):
                    try:
                        closed, mag, f64 = self.cf.evaluate(p)
                    except Exception as exc:
                        raise _CheckError(f"closed form could not be evaluated at {where}: {_where(exc)}") from None
                if not np.isfinite(closed).all():
                    raise _CheckError(f"closed form is non-finite at {where}; the ladder toward {lim.describe()} left its "
                                      "domain: narrow the range of the limit's parameter, or lower rungs= / ratio=")
            f64_err = max(f64_err, f64)
            tensors = {n: torch.as_tensor(v, dtype=torch.float64, device=self.device) for n, v in p.items()}
            cf_scale = float(np.max(mag)) if mag.size else 0.0
            undecided = self.cf.undecidable_switch(p)
            if claim.method == "exact":
                est = self._exact(tensors, rl, where)
                # the estimator near a limit is worse conditioned than the closed form (T^2 x a gradient, a
                # difference quotient): its rounding is allowed LADDER_CONDITIONING x the closed form's (_stats)
                hw = np.full(self.k, LADDER_CONDITIONING * 2.0 * gamma(self.cf.ops) * max(cf_scale, float(np.max(np.abs(est)))))
                se = None
            else:
                m, mode = self._monte_carlo(tensors, example_seed(self.seed, p), rl, where, None, cf_scale)
                crit, power = self._critical(mode)
                self.value_max = np.maximum(self.value_max, m.value_max.cpu().numpy())
                bound = np.maximum(claim.sample_bound, self.value_max) if claim.sample_bound is not None else self.value_max
                d = decide_moments(m, closed, critical=crit, power=power, allowed=self._mean_roundoff(m, cf_scale),
                                   bound=bound, tests_over_rate=self.tests / claim.false_refutation_rate, size=cf_scale)
                se = m.std_error.cpu().numpy()
                est = m.mean.cpu().numpy()
                hw = d.detectable - power * se          # critical x SE (skewness-widened) + every allowance
                draws += m.draws
                modes.append(mode)
            if undecided:                # a jump of the closed form within round-off: this rung decides nothing
                hw = np.full(self.k, np.inf)
            closed_r.append(closed)
            est_r.append(est)
            hw_r.append(hw)
            se_r.append(se)
            scales.append(cf_scale)
            points.append(p)
        closed_a, est_a, hw_a = np.array(closed_r), np.array(est_r), np.array(hw_r)
        dist = lim.distance(xs)
        od = order_decision(dist, est_a - closed_a, hw_a, lim.order, lim.tolerance)
        if od.failed:   # before refuting: the references at twice the digits (and exact: the conditioned error)
            for j in sorted({int(i) for c in np.flatnonzero(od.excess > od.threshold) for i in od.pair[c]}):
                refined, ref_err = self._refine(points[j], label, closed_a[j])
                closed_a[j] = refined
                hw_a[j] = hw_a[j] + ref_err
                if claim.method == "exact":
                    with self.budget.step(f"bounding the closed form's float64 error at example {label}"):
                        fe = self.cf.forward_error(points[j])
                    if fe is not None:
                        hw_a[j] = hw_a[j] + 2.0 * float(np.max(fe))
            od = order_decision(dist, est_a - closed_a, hw_a, lim.order, lim.tolerance)
        deep = len(xs) - 1
        seed = example_seed(self.seed, params)
        ex = _Example(label, params, seed, closed_a[deep], est_a[deep], se_r[deep], od.excess, od.threshold, hw_a[deep],
                      f64_err, max(scales), None)
        ex.draws, ex.design = draws, (modes[-1] if modes else "")
        ex.order = {"rungs": [float(x) for x in xs], "distance": dist.tolist(),
                    "difference": (est_a - closed_a).T.tolist(), "halfwidth": hw_a.T.tolist(),
                    "resolved": od.resolved.T.tolist(), "measured": od.measured.tolist(), "upper": od.upper.tolist(),
                    "pair": od.pair.tolist()}
        return self._record(ex)

    def finalize(self) -> "_Example | None":
        """Re-decide every SE = 0 component with B = the largest |sample| seen over all the claim's examples.

        Returns the first example that now fails (it was pending), or None. Allowances only grow, so an
        example that passed still passes; its detectable discrepancy is updated.
        """
        first = None
        for ex in self.redecidable:
            ex.excess, ex.detectable, ex.relative = ex.redecide(ex.size_state.value_max)
            was_pending, ex.pending = ex.pending, False
            self._track(ex)
            if was_pending and ex.failed:
                self.failures.append(ex)
                first = first or ex
        self.redecidable = []
        return first

    def _decide_exact(self, params, label, est, closed, bound):
        """gamma_N |terms| first; before refuting, the 100-digit reference and the conditioned float64 error."""
        rel = self.claim.relation
        if (violation(est, closed, rel) > bound).any():
            closed, ref_err = self._refine(params, label, closed)
            bound = bound + ref_err
        if (violation(est, closed, rel) > bound).any():
            with self.budget.step(f"bounding the closed form's float64 error at example {label}"):
                fe = self.cf.forward_error(params)
            if fe is not None:
                bound = bound + 2.0 * float(np.max(fe))
        return closed, bound

    def _refine(self, params, label, closed):
        """A failing example: the reference at twice the digits and a bound on the 50-digit value's error."""
        with self.budget.step(f"evaluating the closed form at {2 * MP_DIGITS} digits at example {label}"):
            refined = self.cf.refine(params)
        if refined is None:
            return closed, np.zeros(self.k)
        return refined

    def _record(self, ex: "_Example") -> "_Example":
        ex.sizes, ex.size_state = dict(self._current.sizes), self._current
        if ex.redecide is not None:
            self.redecidable.append(ex)
        if not ex.pending:
            self._track(ex)
        if ex.failed:
            self.failures.append(ex)
        return ex

    def _track(self, ex: "_Example") -> None:
        j = int(np.argmax(ex.excess))
        if ex.excess[j] > self.max_statistic[0]:
            self.max_statistic = (float(ex.excess[j]), float(ex.threshold[j]))

    def _check_output(self, out, where: str, batch: int | None) -> torch.Tensor:
        what = self.claim.method
        want = ("n",) + self.cf.shape if batch is not None else self.cf.shape
        if not isinstance(out, torch.Tensor):
            raise _CheckError(f"{what} returned {type(out).__name__}, not a torch tensor, at {where}; return a tensor of shape {want}")
        if out.dtype != torch.float64:
            raise _CheckError(f"{what} returned dtype {out.dtype} at {where}; compute in the parameters' dtype (float64), e.g. dtype=w.dtype")
        if out.device != self.device:
            raise _CheckError(f"{what} returned a tensor on {out.device}, the run is on {self.device}, at {where}; create tensors with device=w.device")
        if out.requires_grad:
            raise _CheckError(f"{what} returned a tensor that requires grad (still attached to an autograd graph) at {where}; "
                              "return plain values: .detach() the result, or take gradients with torch.autograd.grad(...) "
                              "without create_graph=True")
        per_sample = tuple(out.shape[1:]) if batch is not None else tuple(out.shape)
        if (batch is not None and (out.dim() == 0 or out.shape[0] != batch)) or _squeezed(per_sample) != _squeezed(self.cf.shape):
            raise _CheckError(f"{what} returned shape {tuple(out.shape)} at {where}, expected {want} to match the closed form's shape {self.cf.shape}"
                              + ("; return one estimate per sample, shape (n, *shape)" if batch is not None else ""))
        flat = out.reshape(batch, self.k) if batch is not None else out.reshape(self.k)  # (n, *shape) -> (n, k)
        # a NaN or inf anywhere makes the sum non-finite: one reduction instead of a full isfinite pass
        if not torch.isfinite(flat.sum(0)).all():
            bad = torch.nonzero(~torch.isfinite(flat))[0].tolist()
            raise _CheckError(f"{what} returned a non-finite value at {where} (index {bad}); the estimator must be finite")
        return flat

    def _call(self, tensors, label: str, **extra):
        with self.budget.step(f"{self.claim.method} at example {label}"):
            try:
                return call_declared(self.claim.estimator, {**tensors, **extra})
            except Exception as exc:
                raise _CheckError(f"{self.claim.method} raised {_where(exc)}") from None

    def _exact(self, tensors, label, where) -> np.ndarray:
        out = self._check_output(self._call(tensors, label), where, None)
        return out.cpu().numpy().astype(np.float64)

    # -- Monte Carlo: draws, variance reduction, the iid units the test sees (see _draws.py) ----------------
    def _draw_call(self, tensors, label: str, where: str, b: int, gen: torch.Generator, z: torch.Tensor | None):
        """b evaluations of the estimator: (values (b, k), its own controls (b, q) or None)."""
        extra = dict(self.design.split(z)) if z is not None else {}
        # n and generator go to every estimator that names them (required without engine-owned inputs)
        out = self._call(tensors, label, **extra, n=b, generator=gen)
        controls = None
        if isinstance(out, tuple):
            if len(out) != 2:
                raise _CheckError(f"monte_carlo returned a tuple of {len(out)} at {where}; return values (n, *shape), "
                                  "or (values, controls) with controls (n, q) of known mean 0")
            out, controls = out
            if not isinstance(controls, torch.Tensor) or controls.dtype != torch.float64 or controls.device != self.device \
                    or controls.dim() != 2 or controls.shape[0] != b:
                got = tuple(controls.shape) if isinstance(controls, torch.Tensor) else type(controls).__name__
                raise _CheckError(f"monte_carlo returned controls {got} at {where}; controls must be a float64 tensor (n, q) "
                                  "on the run's device, each column of known mean 0")
            if not torch.isfinite(controls.sum(0)).all():
                raise _CheckError(f"monte_carlo returned non-finite controls at {where}; controls must be finite")
            if not self.design.user_controls:
                controls = None
        return self._check_output(out, where, b), controls

    def _draws(self, b: int, gen: torch.Generator, mode: str) -> torch.Tensor | None:
        d = self.design
        if not d.owns_draws:
            return None
        if mode == "antithetic":
            half = d.iid(b // 2, gen)
            return torch.cat([half, -half])
        return d.iid(b, gen)

    def _units(self, y, controls, z, beta, mode: str):
        """Per-draw values -> the iid units of the test: (units, their |terms| as ``_Terms``, controls or None)."""
        pairs = mode == "antithetic"
        absy = y.abs()
        if pairs:
            h = y.shape[0] // 2
            y = 0.5 * (y[:h] + y[h:])
            controls = None if controls is None else 0.5 * (controls[:h] + controls[h:])
            z = None if z is None else z[:h]
        cols = [c for c in (self.design.engine_controls(z, mode) if z is not None else None, controls)
                if c is not None and c.shape[1]]
        if not cols:
            return y, _Terms(absy, pairs), None
        c = torch.cat(cols, dim=1)
        if beta is None:
            return y, _Terms(absy, pairs), c
        return y - c @ beta, _Terms(absy, pairs, c, beta), c

    def _critical(self, mode: str) -> tuple[float, float]:
        """(critical value, power quantile) of one component test in this design."""
        return (self.z_rqmc, self.power_rqmc) if mode == "rqmc" else (self.z, self.power)

    def _pilot(self, tensors, seed: int, label: str, where: str, cf_scale: float) -> "_Plan":
        """A separate batch (its own seed, never pooled into the test): the design (``auto``), the control-variate
        coefficients, and the number of draws (``resolve``)."""
        d = self.design
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed ^ PILOT_SALT)
        p = self.pilot_draws
        resolve = self.claim.resolve if cf_scale > 0 else None     # a closed form of size 0 has no relative target
        if not d.auto:
            fit_mode = "iid" if d.mode == "rqmc" else d.mode      # RQMC sized on the iid variance: conservative
            z = self._draws(p, gen, fit_mode)
            y, own = self._draw_call(tensors, label, where, p, gen, z)
            plan = self._fit(y, own, z, fit_mode, cf_scale)
            plan.mode = d.mode
            plan.draws, plan.predicted = self._size(plan, resolve, cf_scale)
            return plan
        z = self._draws(p, gen, "antithetic")       # pairs: plain draws and pair means from one batch
        y, own = self._draw_call(tensors, label, where, p, gen, z)
        iid, pairs = (self._fit(y, own, z, mode, cf_scale) for mode in ("iid", "antithetic"))
        for plan in (iid, pairs):
            plan.draws, plan.predicted = self._size(plan, resolve, cf_scale)
        best = iid if self._better(iid, pairs, resolve) else pairs
        rqmc_floor = RQMC_REPLICATES * RQMC_MIN_POINTS
        cheap = resolve is not None and best.predicted <= resolve and best.draws <= rqmc_floor
        if self._rqmc_points(self.claim.samples) >= RQMC_MIN_POINTS and bool((best.var > 0).any()) and not cheap:
            # RQMC's pilot at the fewest points it runs with; its variance per draw only falls with more points
            # (taken no better than the Monte Carlo rate from there when sizing: conservative). It is weighed with
            # its pilot variance inflated by RQMC_MARGIN (only RQMC_PILOT - 1 degrees of freedom), then sized on it.
            rq = self._rqmc_pilot(tensors, seed, label, where, iid, RQMC_MIN_POINTS, cf_scale)
            rq.draws, rq.predicted = self._size(rq, resolve, cf_scale, margin=RQMC_MARGIN)
            if self._better(rq, best, resolve):
                rq.draws, rq.predicted = self._size(rq, resolve, cf_scale)
                best = rq
        return best

    def _fit(self, y, own, z, mode: str, cf_scale: float) -> "_Plan":
        units, terms, c = self._units(y, own, z, None, mode)
        beta, extra = None, 0
        if c is not None:
            beta = fit_coefficients(units, c)
            units, terms, extra = units - c @ beta, replace(terms, c=c, beta=beta), c.shape[1] + 1
        per_unit = 2 if mode == "antithetic" else 1
        return _Plan(mode, beta, self._pilot_variance(units, terms.total(), extra, cf_scale) * per_unit)

    def _pilot_variance(self, units, abs_sum, extra_ops: int, cf_scale: float) -> np.ndarray:
        """The pilot units' variance per component, 0 where it is within round-off (``_stats.no_variance``, the
        test's own criterion, on the pilot's SE and its round-off allowance): the test will decide such a
        component by the rare-event allowance, so it is sized and weighed as one with no variance."""
        m = Moments(extra_ops=extra_ops)
        m.update(units, abs_sum)
        var = units.var(0).cpu().numpy()
        return np.where(no_variance(m.std_error.cpu().numpy(), self._mean_roundoff(m, cf_scale)), 0.0, var)

    def _mean_roundoff(self, m: Moments, cf_scale: float) -> np.ndarray:
        """The float64 error allowed a mean of these moments: the closed form's evaluation plus the summation."""
        return gamma(self.cf.ops) * cf_scale + m.summation_error().cpu().numpy()

    def _rqmc_pilot(self, tensors, seed: int, label: str, where: str, iid: "_Plan", points: int,
                    cf_scale: float) -> "_Plan":
        """RQMC_PILOT replicates (their own scramblings) at the points per replicate the test would use."""
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed ^ PILOT_SALT ^ 1)
        z = self.design.replicates(points, self._scramblings("pilot", RQMC_PILOT))
        y, own = self._draw_call(tensors, label, where, z.shape[0], gen, z)
        units, terms, c = self._units(y, own, z, iid.beta, "iid")
        means = units.reshape(RQMC_PILOT, points, -1).mean(1)
        extra = _rqmc_extra_ops(iid.beta, points)
        # the replicate means' summed |terms|: each point's |terms| / points
        var = self._pilot_variance(means, terms.total() / points, extra, cf_scale) * points  # per-draw equivalent of a replicate mean
        return _Plan("rqmc", iid.beta, var)

    def _rqmc_points(self, n: int, at_least: int = 2) -> int:
        """Points per replicate for about n draws: a power of 2 (Sobol's balance), within [at_least, samples / R]."""
        top = 1 << max(int(math.floor(math.log2(max(self.claim.samples // RQMC_REPLICATES, 2)))), 1)
        want = 1 << max(int(math.ceil(math.log2(max(n / RQMC_REPLICATES, 2)))), 1)
        return max(min(want, top), min(at_least, top))

    def _size(self, plan: "_Plan", resolve: float | None, size: float, margin: float = 1.0) -> tuple[int, float]:
        """(draws, predicted relative discrepancy) for this design: ``samples`` draws, or (with ``resolve``) the fewest
        that the pilot says reach it, within [min_samples, samples]. size: the closed form's size at the example.

        Capped by samples=, never by measured time: a draw count read off the clock would make a run's results depend
        on the machine's load (the time budget still stops a claim that runs too long).
        """
        claim = self.claim
        crit, power = self._critical(plan.mode)
        var = plan.var * margin
        rate = self.tests / claim.false_refutation_rate
        per_unit = 2 if plan.mode == "antithetic" else 1
        want = claim.samples
        if resolve is not None:
            # RQMC's units are its R replicates whatever the draws: its SE = 0 allowance does not shrink with them
            need = draws_needed(var, size, resolve, crit, power, rate, None if plan.mode == "rqmc" else per_unit)
            if math.isfinite(need):
                want = int(min(claim.samples, max(claim.min_samples, math.ceil(need))))
        if plan.mode == "rqmc":
            draws = RQMC_REPLICATES * self._rqmc_points(want, at_least=RQMC_MIN_POINTS)
            units = RQMC_REPLICATES
        else:
            draws = want
            units = want // per_unit
        return draws, predicted_relative(var, size, draws, units, crit, power, rate)

    @staticmethod
    def _better(a: "_Plan", b: "_Plan", resolve: float | None) -> bool:
        """Whether design a beats b: with ``resolve``, the one that reaches it with fewer draws (then the smaller
        predicted discrepancy); without (both at ``samples`` draws), the smaller predicted discrepancy."""
        if resolve is not None:
            ok_a, ok_b = a.predicted <= resolve, b.predicted <= resolve
            if ok_a != ok_b:
                return ok_a
            if ok_a:
                return (a.draws, a.predicted) < (b.draws, b.predicted)
        return a.predicted < b.predicted

    def _monte_carlo(self, tensors, seed: int, label: str, where: str, trace: list | None = None,
                     cf_scale: float = 0.0) -> tuple[Moments, str]:
        """The example's units streamed into moments: batches of FIRST_BATCH, then doubling up to the memory cap
        (plain draws / antithetic pairs), or RQMC_REPLICATES replicate means (rqmc). Returns (moments, design).

        The schedule is fixed (so a run is reproducible) and gives the convergence trace its log-spaced sample
        sizes: ``trace`` receives (draws so far, mean, standard error) after every batch.
        """
        plan = None
        if self.needs_pilot:
            with self.budget.step(f"monte_carlo pilot batch at example {label}"):
                plan = self._pilot(tensors, seed, label, where, cf_scale)
        mode = plan.mode if plan is not None else self.design.mode
        beta = plan.beta if plan is not None else None
        n = plan.draws if plan is not None else self.claim.samples
        cap = max(2, MAX_BATCH_VALUES // max(self.k, 1))
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed)
        moments = Moments()
        if mode == "rqmc":
            return self._rqmc(tensors, seed, label, where, n, beta, gen, cap, moments, trace), mode
        step = 2 if mode == "antithetic" else 1
        batch = max(2 * step, min(FIRST_BATCH, cap) // step * step)
        done = 0
        while done < n:
            b = min(batch, n - done)
            if n - done - b < 2 * step:          # never leave a remainder too small to be a batch
                b = n - done
            b -= b % step
            if b < 2 * step:
                break
            z = self._draws(b, gen, mode)
            y, own = self._checked_call(tensors, label, where, b, gen, z)
            units, terms, c = self._units(y, own, z, beta, mode)
            if c is not None and beta is None:      # controls seen for the first time with no pilot: fit one now
                self.needs_pilot = True
                with self.budget.step(f"monte_carlo pilot batch at example {label}"):
                    beta = self._pilot(tensors, seed, label, where, cf_scale).beta
                units, terms, c = self._units(y, own, z, beta, mode)
            if c is not None:
                moments.extra_ops = c.shape[1] + 1
            # the largest |estimator value| only for sample_bound's check (the estimator's own samples, not a control
            # variate residual's |y| + |c| |beta|); the sum is all the summation error needs
            moments.update(units, terms.total(), terms.absy.amax(0) if self.claim.sample_bound is not None else None)
            done += b
            batch = min(2 * batch, cap // step * step)
            if trace is not None and moments.n > 1:
                trace.append((done, moments.mean.cpu().numpy().copy(), moments.std_error.cpu().numpy().copy()))
        moments.draws = done
        return moments, mode

    def _rqmc(self, tensors, seed, label, where, n, beta, gen, cap, moments, trace) -> Moments:
        """RQMC_REPLICATES independent scramblings of 2^k Sobol points; the units are the replicate means.

        Replicates are evaluated several at a time (as many as fit the memory cap) in one estimator call each.
        """
        d = self.design
        points = self._rqmc_points(n)
        seeds = self._scramblings("test", RQMC_REPLICATES)
        group = max(1, cap // points)
        for first in range(0, RQMC_REPLICATES, group):
            reps = seeds[first:first + group]
            if points > cap:     # one replicate larger than the cap: its points in chunks from one engine
                parts = [self._rqmc_chunks(tensors, label, where, s, points, cap, beta, gen) for s in reps]
                means = torch.stack([p[0] for p in parts])
                abs_means = torch.stack([p[1] for p in parts])
                amax = torch.stack([p[2] for p in parts]).amax(0)
                vmax = torch.stack([p[3] for p in parts]).amax(0)
            else:
                z = d.replicates(points, seeds)[first * points:(first + len(reps)) * points]
                units, absu, absy = self._rqmc_units(tensors, label, where, z, beta, gen)
                means = units.reshape(len(reps), points, -1).mean(1)
                abs_means = absu.reshape(len(reps), points, -1).mean(1)
                amax, vmax = absy.amax(0), units.abs().amax(0)      # amax: the estimator's own |y| (sample_bound)
            moments.update(means, abs_means.sum(0), amax, vmax)
            if trace is not None and moments.n > 1:
                trace.append((moments.n * points, moments.mean.cpu().numpy().copy(), moments.std_error.cpu().numpy().copy()))
        moments.extra_ops = _rqmc_extra_ops(beta, points)
        moments.draws = RQMC_REPLICATES * points
        return moments

    def _scramblings(self, role: str, count: int) -> list[int]:
        """Scrambling seeds from the run seed: the test's and the pilot's are disjoint streams."""
        g = torch.Generator().manual_seed((self.seed * 2 + (role == "pilot")) ^ PILOT_SALT)
        return [int(v) for v in torch.randint(0, 2**62, (count,), generator=g)]

    def _checked_call(self, tensors, label: str, where: str, b: int, gen: torch.Generator, z):
        """``_draw_call``; the claim's first call is made twice from the same generator state and inputs, and must agree."""
        state = gen.get_state()
        y, own = self._draw_call(tensors, label, where, b, gen, z)
        if not self.reproducibility_checked:
            again = torch.Generator(device=self.device)
            again.set_state(state)
            y2, own2 = self._draw_call(tensors, label, where, b, again, z)
            if not torch.equal(y, y2) or (own is not None and not torch.equal(own, own2)):
                raise _CheckError("monte_carlo is not reproducible: two calls with generators seeded alike gave different samples; "
                                  "draw all randomness from the `generator` argument, e.g. torch.randn(n, d, generator=generator)")
            self.reproducibility_checked = True
        return y, own

    def _rqmc_units(self, tensors, label, where, z, beta, gen):
        y, own = self._checked_call(tensors, label, where, z.shape[0], gen, z)
        units, terms, c = self._units(y, own, z, beta, "iid")
        if c is not None and beta is None:
            raise _CheckError("monte_carlo returned controls but no pilot batch fitted their coefficients; "
                              "declare variance_reduction=('rqmc', 'control_variates')")
        return units, terms.per_unit(), terms.absy

    def _rqmc_chunks(self, tensors, label, where, seed, points, cap, beta, gen):
        eng = torch.quasirandom.SobolEngine(self.design.dim, scramble=True, seed=seed)
        total = absum = amax = vmax = None
        done = 0
        while done < points:
            b = min(points - done, cap)
            u = eng.draw(b, dtype=torch.float64).clamp_(2.0**-53, 1.0 - 2.0**-53)
            units, absu, absy = self._rqmc_units(tensors, label, where, torch.special.ndtri(u).to(self.device), beta, gen)
            parts = (units.sum(0), absu.sum(0), absy.amax(0), units.abs().amax(0))
            total, absum, amax, vmax = parts if total is None else (
                total + parts[0], absum + parts[1], torch.maximum(amax, parts[2]), torch.maximum(vmax, parts[3]))
            done += b
        return total / points, absum / points, amax, vmax


def _rqmc_extra_ops(beta, points: int) -> int:
    """Operations behind one RQMC replicate mean before the summation: the control-variate dot product and the
    mean over ``points``."""
    return (beta.shape[0] + 1 if beta is not None else 0) + int(math.ceil(math.log2(points)))


@dataclass
class _Terms:
    """The magnitudes of the terms behind each unit, kept factored so that a batch's sum (all the summation error
    needs) costs one pass over |y|: |y| per draw (averaged over each antithetic pair's two draws) plus |c| |beta|."""

    absy: torch.Tensor                  # (draws, k)
    pairs: bool
    c: torch.Tensor | None = None       # (units, q): the controls per unit
    beta: torch.Tensor | None = None    # (q, k)

    def per_unit(self) -> torch.Tensor:
        """(units, k)"""
        a = self.absy
        if self.pairs:
            h = a.shape[0] // 2
            a = 0.5 * (a[:h] + a[h:])
        return a if self.c is None else a + self.c.abs() @ self.beta.abs()

    def total(self) -> torch.Tensor:
        """(k,): per_unit().sum(0), without forming per_unit()."""
        s = self.absy.sum(0)
        if self.pairs:
            s = 0.5 * s
        return s if self.c is None else s + self.c.abs().sum(0) @ self.beta.abs()


@dataclass
class _Plan:
    """One example's Monte Carlo design, chosen on the pilot batch."""

    mode: str                       # "iid" | "antithetic" | "rqmc"
    beta: torch.Tensor | None       # control-variate coefficients (q, k), fitted on the pilot
    var: np.ndarray                 # (k,) residual variance per draw (a unit's variance x draws per unit; RQMC: equivalent)
    draws: int = 0                  # draws planned for the test (``_size``; RQMC: replicates x points)
    predicted: float = math.inf     # the relative detectable discrepancy predicted at those draws (``_size``)


def _counterexample(ex: "_Example", checker: _Checker, *, shrunk: bool, source: str, device: torch.device) -> dict:
    j = ex.worst
    replay = _fmt_params(ex.params)
    name = checker.claim.name
    if source == "builtin":
        cmd = f"theorycheck run {shlex.quote(name)}"
    else:
        cmd = f"theorycheck validate {shlex.quote(source)} --claim {shlex.quote(name)}"
    cmd += f" --seed {checker.seed} --device {device.type} --replay {shlex.quote(replay)}"
    return {
        "label": ex.label,
        "shrunk": shrunk,
        "params": {n: np.asarray(v).tolist() for n, v in ex.params.items()},
        "sizes": dict(ex.sizes or {}),
        "closed_form": ex.closed.tolist(),
        "estimate": ex.estimate.tolist(),
        "std_error": None if ex.std_error is None else ex.std_error.tolist(),
        "component": j,
        "index": [int(i) for i in np.unravel_index(j, checker.cf.shape)] if checker.cf.shape else [],
        "difference": float(ex.estimate[j] - ex.closed[j]),
        "violation": float(violation(ex.estimate[j], ex.closed[j], checker.claim.relation)),
        "statistic": float(ex.excess[j]),
        "threshold": float(ex.threshold[j]),
        "example_seed": int(ex.seed),
        "run_seed": checker.seed,
        **({"order": _order_of(ex, j, checker.claim.limit)} if ex.order is not None else {}),
        "closed_form_float64_error": ex.float64_error,
        "replay": replay,
        "command": cmd,
    }


def _order_of(ex: "_Example", j: int, lim) -> dict:
    """A limit= counterexample's ladder at its worst component: where the order was measured, and how."""
    o = ex.order
    measured, upper = o["measured"][j], o["upper"][j]
    return {"parameter": lim.name, "to": "oo" if lim.infinite else lim.to, "stated": lim.order, "tolerance": lim.tolerance,
            "rungs": o["rungs"], "difference": o["difference"][j], "halfwidth": o["halfwidth"][j],
            "resolved": o["resolved"][j], "pair": o["pair"][j],
            "measured": None if not math.isfinite(measured) else measured,
            "upper": None if not math.isfinite(upper) else upper}


def _derive(derivation: Callable) -> dict:
    """``derivation().to_json()``, once per derivation function in this process (``_DERIVED``)."""
    try:
        return copy.deepcopy(_DERIVED[derivation])
    except (KeyError, TypeError):
        pass
    out = derivation().to_json()
    try:
        _DERIVED[derivation] = copy.deepcopy(out)
    except TypeError:               # not weak-referenceable: derived each time
        pass
    return out


SEARCH_ROUNDS = 4     # hypothesis searches per claim at most, to top up to ``examples=`` distinct draws


class _Search:
    """Hypothesis draws ``target`` new parameter sets (distinct from each other and from those already
    evaluated); on a failure it shrinks to a minimal one (at most ``SHRINK_BUDGET`` more examples, none when
    ``shrink`` is False).

    Hypothesis may draw a parameter set twice (different choice sequences, one value: 0.0 from two
    strategies), which is evaluated once; the shortfall is drawn in further rounds, each under its own
    hypothesis seed derived from the run's (at most ``SEARCH_ROUNDS``; round 0 is the search a claim without
    duplicates always had, so its results are unchanged). The Bonferroni divisor counted ``target``.
    A time-out while shrinking ends the shrinking (the smallest failure so far stands); before any failure it
    propagates (the claim is an error). An estimator error ends the search and is raised as ``_CheckError``.
    """

    def __init__(self, checker: _Checker, memo: dict, evaluated: list, *, target: int, shrink: bool):
        self.checker, self.memo, self.evaluated, self.target = checker, memo, evaluated, target
        self.shrink_budget = SHRINK_BUDGET if shrink else 0
        self.drawn = 0              # new parameter sets evaluated (shrinking excluded)
        self.failing = False        # a failure was found: hypothesis is shrinking it
        self.shrinks = 0
        self.error: str | None = None
        self.timed_out = False

    def run(self) -> _Example | None:
        """The smallest failing example found, or None; an estimator error at any point (shrinking included)
        makes the claim an error."""
        found = None
        for round_ in range(SEARCH_ROUNDS):
            missing = self.target - self.drawn
            if missing <= 0:
                break
            # round 0: exactly ``target`` draws; a later round starts again from the simplest draws (often the
            # ones already evaluated), so it gets room for more than it needs and stops evaluating at ``target``
            room = missing if round_ == 0 else 2 * missing + 10
            search = settings(max_examples=room, database=None, deadline=None, derandomize=False,
                              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet)(
                given(parameters(self.checker.claim.params))(self._probe))
            seed = self.checker.seed
            search = hypothesis_seed(seed if round_ == 0 else f"{seed}/{round_}")(search)
            try:
                with independent_of_imports():
                    search()
            except _Refutation as exc:
                found = exc.example
                break
            if self.error or self.timed_out:
                break
        if self.error:
            raise _CheckError(self.error)
        return found

    def _probe(self, params) -> None:
        ex = self._evaluate(params)
        if ex is not None and ex.failed:
            raise _Refutation(ex)

    def _evaluate(self, params) -> _Example | None:
        key = example_key(params)
        if key in self.memo:
            return self.memo[key]
        if self.error or self.timed_out or (self.failing and self.shrinks >= self.shrink_budget):
            return None
        if not self.failing:
            if self.drawn >= self.target:   # a later round's spare room: not evaluated
                return None
            self.drawn += 1
        label = "shrunk" if self.failing else f"random#{len(self.evaluated) + 1}"
        try:
            ex = self.checker.evaluate(label, params)
        except _CheckError as exc:
            self.error = str(exc)
            return None
        except BudgetExceeded:
            if not self.failing:
                raise
            self.timed_out = True
            return None
        self.memo[key] = ex
        if ex is None:              # undecidable in float64 (a jump argument within round-off of 0)
            return None
        if self.failing:
            self.shrinks += 1
        else:
            self.evaluated.append(ex)
        if ex.failed:
            self.failing = True
        return ex


def _trajectory(data) -> dict:
    """Validate and normalise a claim's trajectory data (plain lists of floats)."""
    t = [float(v) for v in data["t"]]
    series = {str(k): [float(v) for v in vals] for k, vals in data["series"].items()}
    bad = [k for k, vals in series.items() if len(vals) != len(t)]
    if bad:
        raise ValueError(f"trajectory series {bad[0]!r} has {len(series[bad[0]])} points, t has {len(t)}")
    return {"t": t, "series": series, "xlabel": str(data.get("xlabel", "t")), "ylabel": str(data.get("ylabel", "")),
            "title": str(data.get("title", ""))}


def check(claim: Claim, *, seed: int = 0, device: torch.device | str = "cpu", replay: dict | None = None,
          source: str = "builtin", progress: Callable[[str], None] | None = None,
          time_budget: float = TIME_BUDGET, shrink: bool = True, isolation: Isolation | None = None) -> ClaimResult:
    """Check one claim; never raises for problems in the claim itself (they become verdict "error").

    time_budget: seconds for the whole check -- every user callable (derivation, closed form, estimator,
        sweep, trajectory) and the engine's own work on them -- before it stops with an error naming the step.
    shrink: False stops at the first failing example without searching further (mutation runs).
    isolation: the run's baseline torch state (``_torchstate.Isolation``), restored before the claim and after
        it; default: the state at the call. What the claim's code changed is reported in ``warnings``.
    """
    device = torch.device(device)
    start = time.perf_counter()
    res = ClaimResult(name=claim.name, method=claim.method, verdict="error", expected=claim.expected, relation=claim.relation,
                      family=claim.family, reference=claim.reference, statement=claim.statement, source=source,
                      samples=claim.samples if claim.method == "monte_carlo" else 0,
                      false_refutation_rate=claim.false_refutation_rate if claim.method == "monte_carlo" else 0.0,
                      variance_reduction={"requested": list(claim.variance_reduction), "designs": {}}
                      if claim.method == "monte_carlo" else None)
    iso = isolation if isolation is not None else Isolation()
    iso.enter()
    budget = Budget(time_budget)
    work = _Work(claim, res, budget, seed=seed, device=device, replay=replay, source=source, progress=progress, shrink=shrink)
    try:
        with budget.armed():
            verdict, error = work.run()
    except BudgetExceeded as exc:
        verdict, error = work.timed_out(exc.step)
    finally:
        changed = iso.leave()
    if changed:
        res.warnings.append(f"the claim's code changed torch's global state ({'; '.join(changed)}); restored after it. "
                            "Set such state inside the callable that needs it, e.g. with torch.no_grad(): ...")
    res.verdict, res.error = verdict, error
    res.seconds = round(time.perf_counter() - start, 4)
    return res


@dataclass
class _RunPlan:
    """What a claim's check will evaluate, fixed before the first example (``_Work._plan``)."""

    boundary: list          # [(label, params)]
    sweep: list             # [(x, params)]


def _order_summary(lim, decided: list) -> dict:
    """What the results say of a limit= claim: the stated order and the slowest order measured over the examples."""
    measured = [(m, e.label) for e in decided if e.order for m in e.order["measured"] if math.isfinite(m)]
    slowest = min(measured) if measured else None
    return {"parameter": lim.name, "to": "oo" if lim.infinite else lim.to, "stated": lim.order,
            "tolerance": lim.tolerance, "rungs": lim.rungs, "ratio": lim.ratio, "statement": lim.describe(),
            "measured_min": None if slowest is None else slowest[0], "measured_min_at": None if slowest is None else slowest[1],
            "measured_max": max(m for m, _ in measured) if measured else None,
            "examples_measured": sum(1 for e in decided if e.order and any(math.isfinite(m) for m in e.order["measured"])),
            "examples_within_error": sum(1 for e in decided if e.order and not any(math.isfinite(m) for m in e.order["measured"]))}


class _Work:
    """One claim's check, step by step (``check`` arms the budget and isolates torch state around it)."""

    def __init__(self, claim, res, budget, *, seed, device, replay, source, progress, shrink):
        self.claim, self.res, self.budget = claim, res, budget
        self.seed, self.device, self.replay, self.source, self.progress, self.do_shrink = seed, device, replay, source, progress, shrink
        self.checker: _Checker | None = None
        self.evaluated: list[_Example] = []

    def timed_out(self, step: str) -> tuple[str, str | None]:
        """The deadline passed in ``step``: an error, unless a failing example was already found."""
        c = self.checker
        msg = (f"stopped in {step}: the claim exceeded its time budget of {self.budget.seconds:g} s"
               + (f" after {c.examples_done} examples" if c is not None else "")
               + "; make that step faster (or lower samples= / examples=), or raise --time-budget")
        if c is not None and c.failures:
            failure = c.failures[-1]
            self._summarise(failure)
            self.res.counterexample = _counterexample(failure, c, shrunk=len(c.failures) > 1, source=self.source, device=self.device)
            return "refuted", f"shrinking was cut short: {msg}"
        return "error", msg

    def run(self) -> tuple[str, str | None]:
        """plan -> evaluate -> decide -> summarise; a problem in the claim's code ends it as ("error", why)."""
        try:
            plan = self._plan()
            failure, shrunk = self._evaluate(plan)
        except _CheckError as exc:
            return "error", str(exc)
        return self._decide(failure, shrunk)

    def _plan(self) -> "_RunPlan":
        """The derivation, the closed form compiled once, the boundary and sweep examples, and the Bonferroni
        divisor: (boundary + sweep + random examples) x components, fixed before the first example."""
        claim, res, budget = self.claim, self.res, self.budget
        if claim.derivation is not None:
            with budget.step("derivation"):
                try:
                    res.derivation = _derive(claim.derivation)
                except Exception as exc:
                    raise _CheckError(f"derivation raised {_where(exc)}") from None
        forms = _Forms(claim, budget.step)
        boundary = boundary_examples(claim.params)
        with budget.step("sweep"):
            try:
                sweep = claim.sweep.points(claim.params) if claim.sweep is not None else []
            except Exception as exc:
                raise _CheckError(f"sweep: {_where(exc) if not isinstance(exc, TheorycheckError) else exc}") from None
        planned = len(boundary) + len(sweep) + claim.examples
        # the closed form compiled before the first example: at the first boundary example's sizes where drawn
        self.checker = _Checker(claim, forms, seed=self.seed, device=self.device, examples=planned, budget=budget,
                                first=boundary[0][1] if forms.sized else None)
        res.boundary_examples = len(boundary)
        res.components = self.checker.k
        res.tests = planned * self.checker.k * self.checker.rungs   # drawn sizes: the tests made, counted in _summarise
        stat = "max_abs_z" if claim.method == "monte_carlo" else "max_error_over_bound"
        if claim.limit is not None:
            stat = "max_order_deficit_over_tolerance"
            self.checker.max_statistic = (0.0, 1.0)
        res.statistic = {"name": stat, "value": 0.0, "threshold": self.checker.max_statistic[1]}
        return _RunPlan(boundary, sweep)

    def _evaluate(self, plan: "_RunPlan") -> tuple[_Example | None, bool]:
        """Every example (each decided by _stats as it is evaluated), then the trajectory: (first failure, shrunk)."""
        claim, res = self.claim, self.res
        failure, shrunk = self._examples(self.checker, plan.boundary, plan.sweep)
        if not self.evaluated:
            raise _CheckError("no example could be decided: at every example an argument at which the closed form jumps "
                              "(sign, Heaviside, a Piecewise condition) is within float64 round-off of 0; widen the parameter ranges")
        if claim.trajectory is not None and self.replay is None:
            with self.budget.step("trajectory"):
                try:
                    res.trajectory = _trajectory(claim.trajectory(self.seed))
                except Exception as exc:
                    raise _CheckError(f"trajectory raised {_where(exc)}") from None
        return failure, shrunk

    def _decide(self, failure: _Example | None, shrunk: bool) -> tuple[str, str | None]:
        """The claim's verdict: refuted by a failing example or an unproven derivation, else verified; the
        result's summary fields filled in (``_summarise``)."""
        res = self.res
        self._summarise(failure)
        if failure is not None:
            res.counterexample = _counterexample(failure, self.checker, shrunk=shrunk, source=self.source, device=self.device)
            return "refuted", None
        if res.derivation is not None and not res.derivation["proven"]:
            return "refuted", "derivation: SymPy did not reduce derived - printed to 0"
        return "verified", None

    def _examples(self, checker: _Checker, boundary, sweep) -> tuple[_Example | None, bool]:
        claim, res, evaluated = self.claim, self.res, self.evaluated
        if self.replay is not None:
            ex = checker.evaluate("replay", self.replay)
            if ex is None:
                raise _CheckError("the replayed example is undecidable in float64: an argument at which the closed form jumps "
                                  "is within round-off of 0 there")
            evaluated.append(ex)
            late = checker.finalize()
            return (ex if ex.failed else late), False
        failure = None
        memo: dict = {}
        duplicates = 0
        for label, params in boundary:
            if example_key(params) in memo:     # two boundary rules gave the same point: evaluated once, and
                duplicates += 1                 # one more random example drawn instead (the divisor counted it)
                continue
            ex = checker.evaluate(label, params)
            memo[example_key(params)] = ex
            if ex is None:
                continue
            evaluated.append(ex)
            if ex.failed and failure is None:
                failure = ex
                if not self.do_shrink:
                    return failure, False
            if self.progress:
                self.progress(f"{claim.name}: {len(evaluated)}/{len(boundary) + claim.examples} examples")
        swept = []
        for x, params in sweep:
            ex = checker.evaluate(f"sweep {claim.sweep.label}={x:.6g}", params)
            memo.setdefault(example_key(params), ex)
            if ex is None:
                continue
            evaluated.append(ex)
            swept.append((x, ex))
            if ex.failed and failure is None:
                failure = ex
                if not self.do_shrink:
                    break
        if swept:
            res.sweep = {"label": claim.sweep.label, "x": [x for x, _ in swept], "shape": list(checker.cf.shape),
                         "closed_form": [e.closed.tolist() for _, e in swept],
                         "estimate": [e.estimate.tolist() for _, e in swept],
                         "std_error": None if claim.method == "exact" else [e.std_error.tolist() for _, e in swept]}
        if failure is not None and not self.do_shrink:
            return failure, False
        if claim.examples > 0:
            found = _Search(checker, memo, evaluated, target=claim.examples + duplicates, shrink=self.do_shrink).run()
            if found is not None:
                return found, True
        late = checker.finalize()
        return (failure if failure is not None else late), False

    def _summarise(self, failure: _Example | None) -> None:
        """Fill the result's summary fields from every example evaluated (shrinking included)."""
        res, checker, evaluated = self.res, self.checker, self.evaluated
        res.examples = len(evaluated)
        if checker.forms.sized:     # components vary with the size: count the (example, component) tests made
            decided = evaluated + ([failure] if failure is not None and failure not in evaluated else [])
            res.tests = sum(e.closed.size for e in decided) * checker.rungs
            res.components = max([e.closed.size for e in decided] + [res.components])
        res.undecidable_examples = len(checker.undecidable)
        res.convergence = checker.convergence
        res.statistic["value"], res.statistic["threshold"] = checker.max_statistic
        decided = evaluated + ([failure] if failure is not None and failure not in evaluated else [])
        draws = sorted(e.draws for e in decided if e.draws)
        if draws:
            res.samples_per_example = {"min": draws[0], "median": draws[len(draws) // 2], "max": draws[-1]}
            designs = [e.design for e in decided if e.design]
            res.variance_reduction["designs"] = {m: designs.count(m) for m in ("iid", "antithetic", "rqmc") if m in designs}
        if self.claim.limit is not None:
            res.order = _order_summary(self.claim.limit, decided)
        if decided:
            res.detectable_discrepancy = float(max(float(np.max(e.detectable)) for e in decided))
            # relative to the size of the closed form's terms (not its value, which vanishes at w = w*); an example
            # whose terms vanish against its samples (_stats.VANISHING) or are 0 counts in absolute terms only
            rel = [e.relative for e in decided if e.relative is not None]
            res.detectable_relative = max(rel) if rel else None
            res.absolute_examples = len(decided) - len(rel)
