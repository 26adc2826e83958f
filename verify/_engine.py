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
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from ._claim import Claim
from ._compile import ClosedFormError, CompiledClosedForm, _where, compile_closed_form, gamma
from ._errors import TheorycheckError, UsageError
from ._examples import boundary_examples, example_key, example_seed, parameters
from ._results import ClaimResult
from ._stats import Z_POWER, Moments, critical_z, edgeworth_widening

__all__ = ["check", "parse_replay", "MAX_BATCH_VALUES", "SHRINK_BUDGET"]

MAX_BATCH_VALUES = 1 << 22   # per-sample estimate values held at once (32 MiB of float64)
SHRINK_BUDGET = 200          # new examples evaluated while shrinking a refutation
TIME_BUDGET = 600.0          # seconds per claim before it is stopped as an error (--time-budget)
FIRST_BATCH = 1024           # first Monte Carlo batch; later batches double (see _monte_carlo)


class _Timeout(BaseException):
    """Raised by SIGALRM inside an estimator call that runs past the claim's deadline."""


@contextlib.contextmanager
def _alarm(deadline: float):
    """Interrupt a single estimator call that outlives the deadline (Unix, main thread only)."""
    if math.isinf(deadline) or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.perf_counter(), 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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

    @property
    def failed(self) -> bool:
        return bool((self.excess > self.threshold).any())

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
    for n, spec in claim.params.items():
        try:
            v = np.asarray(raw[n], dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"--replay: parameter {n!r} = {raw[n]!r} is not numeric") from None
        if v.shape != tuple(spec.shape) or not np.isfinite(v).all():
            raise UsageError(f"--replay: parameter {n!r} has shape {v.shape}, expected {tuple(spec.shape)} (finite values)")
        out[n] = v
    return out


class _Checker:
    def __init__(self, claim: Claim, compiled: CompiledClosedForm, *, seed: int, device: torch.device, tests: int):
        self.claim, self.cf, self.seed, self.device = claim, compiled, seed, device
        self.z = critical_z(claim.false_refutation_rate, tests)
        self.tests = tests
        self.k = compiled.size
        self.reproducibility_checked = False
        self.deadline = math.inf
        self.budget = math.inf
        self.examples_done = 0
        self.convergence: dict | None = None
        self.undecidable: list[str] = []

    # -- one example -------------------------------------------------------------------------------
    def evaluate(self, label: str, params: dict[str, np.ndarray]) -> "_Example | None":
        where = f"example {label} {_fmt_params(params)}"
        try:
            closed, mag, f64_err = self.cf.evaluate(params)
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
        seed = example_seed(self.seed, params)
        tensors = {n: torch.as_tensor(v, dtype=torch.float64, device=self.device) for n, v in params.items()}
        cf_scale = float(np.max(mag)) if mag.size else 0.0
        if self.claim.method == "exact":
            est = self._exact(tensors, where)
            diff = np.abs(est - closed)
            bound = 2.0 * gamma(self.cf.ops) * max(cf_scale, float(np.max(np.abs(est))))
            excess = np.where(diff == 0, 0.0, diff / bound if bound > 0 else np.inf)
            return _Example(label, params, seed, closed, est, None, excess, np.ones(self.k),
                            np.full(self.k, bound), f64_err, cf_scale)
        trace = [] if label == "typical" else None
        m = self._monte_carlo(tensors, seed, where, trace)
        if trace:
            self.convergence = {"n": [t[0] for t in trace],
                                "abs_error": [float(np.max(np.abs(t[1] - closed))) for t in trace],
                                "std_error": [float(np.max(t[2])) for t in trace]}
        mean = m.mean.cpu().numpy()
        se = m.std_error.cpu().numpy()
        r = gamma(self.cf.ops) * cf_scale + m.summation_error().cpu().numpy()
        # A component whose n samples are all equal (SE = 0) carries no variance information: an event
        # of probability p <= ln(m / alpha) / n is missed by all n samples with probability <= alpha / m.
        # Its contribution to the mean is bounded taking the estimator's size on it to be at most the
        # closed form's term magnitude.
        rare = math.log(self.tests / self.claim.false_refutation_rate) / m.n * cf_scale
        r = np.where(m.std_error.cpu().numpy() == 0, r + rare, r)
        slack = np.maximum(np.abs(mean - closed) - r, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            excess = np.where(slack == 0, 0.0, np.where(se > 0, slack / se, np.inf))
        threshold = self.z + edgeworth_widening(self.z, m.skewness, m.n).cpu().numpy()
        detectable = (threshold + Z_POWER) * se + r
        return _Example(label, params, seed, closed, mean, se, excess, threshold, detectable, f64_err, cf_scale)

    def _check_output(self, out, where: str, batch: int | None) -> torch.Tensor:
        what = self.claim.method
        want = ("n",) + self.cf.shape if batch is not None else self.cf.shape
        if not isinstance(out, torch.Tensor):
            raise _CheckError(f"{what} returned {type(out).__name__}, not a torch tensor, at {where}; return a tensor of shape {want}")
        if out.dtype != torch.float64:
            raise _CheckError(f"{what} returned dtype {out.dtype} at {where}; compute in the parameters' dtype (float64), e.g. dtype=w.dtype")
        if out.device != self.device:
            raise _CheckError(f"{what} returned a tensor on {out.device}, the run is on {self.device}, at {where}; create tensors with device=w.device")
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

    def _over_budget(self) -> None:
        if time.perf_counter() > self.deadline:
            raise _CheckError(f"stopped: the claim exceeded its time budget of {self.budget:g} s after {self.examples_done} examples; "
                              "lower samples= / examples=, speed up the estimator, or raise --time-budget")

    def _call(self, tensors, **extra):
        self._over_budget()
        try:
            with _alarm(self.deadline):
                return self.claim.estimator(**tensors, **extra)
        except _Timeout:
            self._over_budget()
            raise
        except Exception as exc:
            raise _CheckError(f"{self.claim.method} raised {_where(exc)}") from None

    def _exact(self, tensors, where) -> np.ndarray:
        out = self._check_output(self._call(tensors), where, None)
        return out.detach().cpu().numpy().astype(np.float64)

    def _monte_carlo(self, tensors, seed: int, where: str, trace: list | None = None) -> Moments:
        """Stream ``samples`` estimates in batches: FIRST_BATCH, then doubling up to the memory cap.

        The geometric schedule is fixed (so a run is reproducible) and gives the convergence trace its
        log-spaced sample sizes: ``trace`` receives (n so far, mean, standard error) after every batch.
        """
        n = self.claim.samples
        cap = max(2, MAX_BATCH_VALUES // max(self.k, 1))
        batch = max(2, min(FIRST_BATCH, cap))
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed)
        moments = Moments()
        done = 0
        while done < n:
            b = min(batch, n - done)
            if n - done - b < 2:          # never leave a remainder too small to be a batch
                b = n - done
            flat = self._check_output(self._call(tensors, n=b, generator=gen), where, b).detach()
            if not self.reproducibility_checked:
                again = torch.Generator(device=self.device)
                again.manual_seed(seed)
                flat2 = self._check_output(self._call(tensors, n=b, generator=again), where, b).detach()
                if not torch.equal(flat, flat2):
                    raise _CheckError("monte_carlo is not reproducible: two calls with generators seeded alike gave different samples; "
                                      "draw all randomness from the `generator` argument, e.g. torch.randn(n, d, generator=generator)")
                self.reproducibility_checked = True
            moments.update(flat)
            done += b
            batch = min(2 * batch, cap)
            if trace is not None and moments.n > 1:
                trace.append((moments.n, moments.mean.cpu().numpy().copy(), moments.std_error.cpu().numpy().copy()))
        return moments


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
        "closed_form": ex.closed.tolist(),
        "estimate": ex.estimate.tolist(),
        "std_error": None if ex.std_error is None else ex.std_error.tolist(),
        "component": j,
        "index": [int(i) for i in np.unravel_index(j, checker.cf.shape)] if checker.cf.shape else [],
        "difference": float(ex.estimate[j] - ex.closed[j]),
        "statistic": float(ex.excess[j]),
        "threshold": float(ex.threshold[j]),
        "example_seed": int(ex.seed),
        "run_seed": checker.seed,
        "closed_form_float64_error": ex.float64_error,
        "replay": replay,
        "command": cmd,
    }


def _search(checker: _Checker, memo: dict, evaluated: list, state: dict) -> _Example | None:
    """Hypothesis draws ``claim.examples`` parameter sets; on a failure it shrinks to a minimal one."""

    def cached(params):
        key = example_key(params)
        if key in memo:
            return memo[key]
        budget = SHRINK_BUDGET if state.get("shrink", True) else 0
        if state.get("error") or (state["failing"] and state["shrinks"] >= budget):
            return None
        label = "shrunk" if state["failing"] else f"random#{len(evaluated) + 1}"
        try:
            ex = checker.evaluate(label, params)
        except _CheckError as exc:
            state["error"] = str(exc)
            return None
        memo[key] = ex
        if ex is None:              # undecidable in float64 (a jump argument within round-off of 0)
            return None
        if state["failing"]:
            state["shrinks"] += 1
        else:
            evaluated.append(ex)
        if ex.failed:
            state["failing"] = True
        return ex

    @hypothesis_seed(checker.seed)
    @settings(max_examples=checker.claim.examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet)
    @given(parameters(checker.claim.params))
    def probe(params):
        ex = cached(params)
        if ex is not None and ex.failed:
            raise _Refutation(ex)

    try:
        probe()
    except _Refutation as exc:
        return exc.example
    return None


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
          time_budget: float = TIME_BUDGET, shrink: bool = True) -> ClaimResult:
    """Check one claim; never raises for problems in the claim itself (they become verdict "error").

    time_budget: seconds for the whole check (derivation excluded) before it stops with an error.
    shrink: False stops at the first failing example without searching further (mutation runs).
    """
    device = torch.device(device)
    start = time.perf_counter()
    res = ClaimResult(name=claim.name, method=claim.method, verdict="error", expected=claim.expected,
                      family=claim.family, reference=claim.reference, statement=claim.statement, source=source,
                      samples=claim.samples if claim.method == "monte_carlo" else 0,
                      false_refutation_rate=claim.false_refutation_rate if claim.method == "monte_carlo" else 0.0)

    def done(verdict: str, error: str | None = None) -> ClaimResult:
        res.verdict, res.error = verdict, error
        res.seconds = round(time.perf_counter() - start, 4)
        return res

    if claim.derivation is not None:
        try:
            res.derivation = claim.derivation().to_json()
        except Exception as exc:
            return done("error", f"derivation raised {_where(exc)}")
    try:
        compiled, _ = compile_closed_form(claim.closed_form, list(claim.params), list(claim.params.values()))
    except ClosedFormError as exc:
        return done("error", str(exc))
    boundary = boundary_examples(claim.params)
    try:
        sweep = claim.sweep.points(claim.params) if claim.sweep is not None else []
    except Exception as exc:
        return done("error", f"sweep: {_where(exc) if not isinstance(exc, TheorycheckError) else exc}")
    res.boundary_examples = len(boundary)
    res.components = compiled.size
    res.tests = (len(boundary) + len(sweep) + claim.examples) * compiled.size
    checker = _Checker(claim, compiled, seed=seed, device=device, tests=res.tests)
    checker.budget, checker.deadline = time_budget, time.perf_counter() + time_budget
    res.statistic = {"name": "max_abs_z" if claim.method == "monte_carlo" else "max_error_over_bound",
                     "value": 0.0, "threshold": checker.z if claim.method == "monte_carlo" else 1.0}

    evaluated: list[_Example] = []
    failure: _Example | None = None
    shrunk = False
    try:
        if replay is not None:
            ex = checker.evaluate("replay", replay)
            if ex is None:
                raise _CheckError("the replayed example is undecidable in float64: an argument at which the closed form jumps "
                                  "is within round-off of 0 there")
            evaluated.append(ex)
            failure = ex if ex.failed else None
        else:
            memo: dict = {}
            for label, params in boundary:
                ex = checker.evaluate(label, params)
                memo[example_key(params)] = ex
                if ex is None:
                    continue
                evaluated.append(ex)
                if ex.failed and failure is None:
                    failure = ex
                    if not shrink:
                        break
                if progress:
                    progress(f"{claim.name}: {len(evaluated)}/{len(boundary) + claim.examples} examples")
            swept = []
            for x, params in (sweep if failure is None or shrink else []):
                ex = checker.evaluate(f"sweep {claim.sweep.label}={x:.6g}", params)
                memo.setdefault(example_key(params), ex)
                if ex is None:
                    continue
                evaluated.append(ex)
                swept.append((x, ex))
                if ex.failed and failure is None:
                    failure = ex
            if swept:
                res.sweep = {"label": claim.sweep.label, "x": [x for x, _ in swept], "shape": list(compiled.shape),
                             "closed_form": [e.closed.tolist() for _, e in swept],
                             "estimate": [e.estimate.tolist() for _, e in swept],
                             "std_error": None if claim.method == "exact" else [e.std_error.tolist() for _, e in swept]}
            if claim.examples > 0 and (failure is None or shrink):
                state = {"failing": False, "shrinks": 0, "error": None, "shrink": shrink}
                found = _search(checker, memo, evaluated, state)
                if state["error"]:
                    raise _CheckError(state["error"])
                if found is not None:
                    failure, shrunk = found, True
    except _CheckError as exc:
        return done("error", str(exc))

    res.examples = len(evaluated)
    res.undecidable_examples = len(checker.undecidable)
    if not evaluated:
        return done("error", "no example could be decided: at every example an argument at which the closed form jumps "
                             "(sign, Heaviside, a Piecewise condition) is within float64 round-off of 0; widen the parameter ranges")
    res.convergence = checker.convergence
    if claim.trajectory is not None and replay is None:
        try:
            res.trajectory = _trajectory(claim.trajectory(seed))
        except Exception as exc:
            return done("error", f"trajectory raised {_where(exc)}")
    res.statistic["value"] = float(max(float(np.max(e.excess)) for e in evaluated))
    res.detectable_discrepancy = float(max(float(np.max(e.detectable)) for e in evaluated))
    # relative to the size of the closed form's terms (not its value, which vanishes at w = w*)
    rel = [float(np.max(e.detectable)) / e.scale for e in evaluated if e.scale > 0]
    res.detectable_relative = max(rel) if rel else None
    derivation_failed = res.derivation is not None and not res.derivation["proven"]
    if failure is not None:
        res.counterexample = _counterexample(failure, checker, shrunk=shrunk, source=source, device=device)
        return done("refuted")
    if derivation_failed:
        return done("refuted", "derivation: SymPy did not reduce derived - printed to 0")
    return done("verified")
