"""``Claim``: a closed form and an estimator of the same quantity, over declared parameters.

A claim says: for every parameter value in the declared ranges, ``closed_form(**symbols)`` -- a SymPy
expression or Matrix -- equals the expectation of ``monte_carlo(**tensors, n, generator)`` (per-sample
estimates of shape ``(n, *shape)``), or equals ``exact(**tensors)`` (a deterministic tensor, e.g. from
autograd) up to float64 round-off. The engine (``_engine.py``) decides which is the case.

Each callable receives the parameters it names, by name, as pytest passes fixtures: ``closed_form(f, g)``
in a claim over ``f, g, c0`` is called without ``c0`` (``call_declared``); one with ``**kwargs`` gets them
all. Naming a parameter the claim does not have (without a default) is a ``ClaimDefinitionError``.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ._errors import ClaimDefinitionError, ParameterSpecError
from ._params import ParamSpec, follow, size_ranges
from ._sweep import Sweep

__all__ = ["Claim"]

VERDICTS = ("verified", "refuted")
RELATIONS = ("==", "<=", ">=")


@dataclass(frozen=True, eq=False)
class Claim:
    """A checkable statement. Give exactly one of ``monte_carlo=`` or ``exact=``.

    name: identifier used on the command line and in reports.
    params: mapping parameter name -> spec (``Real``, ``Int``, ``Fixed``, ``Vector``, ``Matrix``); a size may be
        drawn per example (``Vector(dim=(2, 8))``) or shared (``Vector(dim="w")``): see ``_params.py``.
    closed_form(**symbols): SymPy expression or Matrix (Real -> Symbol, Vector(d) -> d x 1 Matrix); with drawn
        sizes it is called once per distinct size, with that size's symbols.
    monte_carlo(**tensors, n, generator): tensor of shape (n, *shape), one estimate per sample.
    exact(**tensors): tensor of the closed form's shape, deterministic.
    Each gets only the parameters it names (module docstring); ``n`` and ``generator`` are required
    without ``inputs``.
    statement (LaTeX), reference (seed file / paper and equation), family: provenance.
    examples: random examples drawn by hypothesis, on top of the boundary examples.
    samples: Monte Carlo samples per example.
    false_refutation_rate: probability bound that a *correct* claim is refuted (whole claim).
    expected: "verified", or "refuted" for a statement the suite shows false on purpose.
    derivation: zero-argument callable returning a ``theory.Derivation`` (derived vs printed form).
    sweep: a ``Sweep`` -- a one-parameter family of examples, checked and kept for the report's figure.
    trajectory: seed -> {"t": [...], "series": {name: [...]}, "xlabel": str, "ylabel": str}: for
        dynamics claims, theory and simulation along time, saved for the report (computed at run time).
    sample_bound: optional bound on |every per-sample value| of ``monte_carlo`` over the parameter ranges
        (an indicator: 1). Used where an example's samples are all equal (see ``_stats.py``); without it the
        engine uses the largest |sample| seen over the claim's examples.
    inputs: engine-owned random inputs, name -> ``Gaussian(dim)`` (``Gaussian(dim="w")``: w's dimension at each
        example): ``monte_carlo`` then takes each as an (n, dim)
        argument (and ``n`` / ``generator`` only if it declares them), so the engine can reduce variance.
    variance_reduction: "auto" (antithetic pairs + Hermite control variates when ``inputs`` are declared,
        control variates when ``monte_carlo`` returns ``(values, controls)``), "none", or a tuple of
        "antithetic", "control_variates", "rqmc" (see ``_draws.py``).
    resolve: the relative discrepancy each example must resolve (e.g. 0.01): the engine sizes each example's
        samples from a pilot batch so that the detectable discrepancy is ``resolve`` x the closed form's terms,
        between ``min_samples`` and ``samples`` (the cap; never from measured time, so results stay reproducible);
        None: always ``samples``.
    relation: "==" (default): the estimand equals the closed form; "<=" / ">=": the estimand is at most / at
        least the closed form, componentwise (a bound). Monte Carlo bounds are one-sided tests at the same
        false-refutation rate; a refutation reports the violating example and the size of the violation.
    limit: ``Limit("T", to=sp.oo, order=3)``: an asymptotic-order statement, estimand - closed form = O(T^-3) as
        T -> oo (``to=0``: O(h^order) as h -> 0), tested on a geometric ladder toward the limit at every example
        (``_limit.py``, ``_stats.order_decision``); every rung counts in the Bonferroni divisor. With relation "==".
    """

    name: str
    params: Mapping[str, ParamSpec]
    closed_form: Callable[..., Any]
    monte_carlo: Callable[..., Any] | None = None
    exact: Callable[..., Any] | None = None
    statement: str = ""
    reference: str = ""
    family: str = ""
    examples: int = 50
    samples: int = 100_000
    false_refutation_rate: float = 1e-6
    expected: str = "verified"
    derivation: Callable[[], Any] | None = None
    notes: str = ""
    sweep: Sweep | None = None
    trajectory: Callable[[int], Mapping[str, Any]] | None = None
    sample_bound: float | None = None
    inputs: Mapping[str, Any] | None = None
    variance_reduction: Any = "auto"
    resolve: float | None = None
    min_samples: int = 4096
    relation: str = "=="
    limit: Any = None

    def __post_init__(self):
        who = f"Claim({self.name!r})" if isinstance(self.name, str) else "Claim(...)"
        if not isinstance(self.name, str) or not self.name.strip() or any(c.isspace() for c in self.name):
            raise ClaimDefinitionError(f"Claim(name={self.name!r}): name must be a non-empty string without spaces, e.g. name=\"my-gradient\".")
        if not isinstance(self.params, Mapping) or not self.params:
            raise ClaimDefinitionError(f"{who}: params must be a non-empty dict of name -> Real/Vector/Matrix, got {self.params!r}; e.g. params={{\"w\": Vector(4)}}.")
        for pname, spec in self.params.items():
            if not isinstance(pname, str) or not pname.isidentifier() or keyword.iskeyword(pname) or pname in ("n", "generator"):
                raise ClaimDefinitionError(f"{who}: parameter name {pname!r} must be a Python identifier other than 'n' and 'generator'; rename it.")
            if not isinstance(spec, ParamSpec):
                raise ClaimDefinitionError(f"{who}: params[{pname!r}] = {spec!r} is not a parameter spec; use Real(low, high), Vector(dim) or Matrix(rows, cols).")
        object.__setattr__(self, "params", dict(self.params))
        try:
            size_ranges(self.params)    # every size that names a parameter names a Vector
        except ParameterSpecError as exc:
            raise ParameterSpecError(f"{who}: {exc}") from None
        if not callable(self.closed_form):
            raise ClaimDefinitionError(f"{who}: closed_form must be a function of the parameters returning a SymPy expression, got {self.closed_form!r}.")
        if (self.monte_carlo is None) == (self.exact is None):
            given = "both monte_carlo= and exact=" if self.monte_carlo is not None else "neither monte_carlo= nor exact="
            raise ClaimDefinitionError(f"{who}: {given} given; give exactly one: monte_carlo= for per-sample estimates, exact= for a deterministic tensor.")
        estimator = self.monte_carlo if self.monte_carlo is not None else self.exact
        if not callable(estimator):
            raise ClaimDefinitionError(f"{who}: {self.method}= must be a function, got {estimator!r}.")
        names = list(self.params)
        _check_signature(who, "closed_form", self.closed_form, names)
        inputs = self._check_inputs(who, names)
        object.__setattr__(self, "inputs", inputs)
        from ._draws import parse_methods
        object.__setattr__(self, "variance_reduction", parse_methods(self.variance_reduction, who=who, has_inputs=bool(inputs)))
        if self.method == "monte_carlo" and inputs:
            _check_signature(who, self.method, estimator, names + list(inputs) + ["n", "generator"])
        else:
            _check_signature(who, self.method, estimator, names, ("n", "generator") if self.method == "monte_carlo" else ())
        for fname, lo in (("examples", 0), ("samples", 2)):
            v = getattr(self, fname)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ClaimDefinitionError(f"{who}: {fname} must be an integer >= {lo}, got {v!r}.")
        r = self.false_refutation_rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (0.0 < r < 1.0) or not math.isfinite(r):
            raise ClaimDefinitionError(f"{who}: false_refutation_rate must be in (0, 1), got {r!r}; the default is 1e-6.")
        if self.relation not in RELATIONS:
            raise ClaimDefinitionError(f"{who}: relation must be one of {RELATIONS} (estimand == / <= / >= closed form), "
                                       f"got {self.relation!r}.")
        if self.limit is not None:
            from ._limit import Limit
            if not isinstance(self.limit, Limit):
                raise ClaimDefinitionError(f"{who}: limit must be a Limit(name, to=..., order=...), got {self.limit!r}; "
                                           "e.g. limit=Limit(\"T\", to=sp.oo, order=3).")
            self.limit.check_spec(self.params, who)
            if self.relation != "==":
                raise ClaimDefinitionError(f"{who}: limit= states estimand - closed form = O(...); it takes relation \"==\" "
                                           f"(got {self.relation!r}): state a bound and an order as two claims.")
        if self.expected not in VERDICTS:
            raise ClaimDefinitionError(f"{who}: expected must be one of {VERDICTS}, got {self.expected!r}.")
        for fname in ("statement", "reference", "family", "notes"):
            if not isinstance(getattr(self, fname), str):
                raise ClaimDefinitionError(f"{who}: {fname} must be a string, got {getattr(self, fname)!r}.")
        if self.sweep is not None and not isinstance(self.sweep, Sweep):
            raise ClaimDefinitionError(f"{who}: sweep must be a Sweep(label, xs, params), got {self.sweep!r}.")
        if self.trajectory is not None and not callable(self.trajectory):
            raise ClaimDefinitionError(f"{who}: trajectory must be a function seed -> dict, got {self.trajectory!r}.")
        b = self.sample_bound
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float)) or not (0 < b < math.inf)):
            raise ClaimDefinitionError(f"{who}: sample_bound must be a positive finite number (a bound on |every per-sample value|), got {b!r}.")
        if b is not None and self.method != "monte_carlo":
            raise ClaimDefinitionError(f"{who}: sample_bound is for monte_carlo= claims (a bound on |per-sample values|); remove it from this exact= claim.")
        r = self.resolve
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not (0 < r < 1)):
            raise ClaimDefinitionError(f"{who}: resolve must be a relative discrepancy in (0, 1), e.g. resolve=0.01 for 1%, got {r!r}.")
        if r is not None and self.method != "monte_carlo":
            raise ClaimDefinitionError(f"{who}: resolve= sizes Monte Carlo samples; remove it from this exact= claim.")
        v = self.min_samples
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise ClaimDefinitionError(f"{who}: min_samples must be an integer >= 2, got {v!r}.")
        if self.derivation is not None and not callable(self.derivation):
            raise ClaimDefinitionError(f"{who}: derivation must be a zero-argument function returning a theory.Derivation.")

    def _check_inputs(self, who: str, names: list[str]) -> dict:
        from ._draws import Gaussian
        if not self.inputs:         # None or {} (dataclasses.replace passes the validated {} back in)
            return {}
        if self.method != "monte_carlo":
            raise ClaimDefinitionError(f"{who}: inputs= are random inputs of a monte_carlo= estimator; remove them from this exact= claim.")
        if not isinstance(self.inputs, Mapping):
            raise ClaimDefinitionError(f"{who}: inputs must be a dict name -> Gaussian(dim), got {self.inputs!r}; e.g. inputs={{\"x\": Gaussian(4)}}.")
        for iname, spec in self.inputs.items():
            if not isinstance(iname, str) or not iname.isidentifier() or keyword.iskeyword(iname) or iname in ("n", "generator"):
                raise ClaimDefinitionError(f"{who}: input name {iname!r} must be a Python identifier other than 'n' and 'generator'; rename it.")
            if iname in names:
                raise ClaimDefinitionError(f"{who}: input {iname!r} is also a parameter name; rename one of them.")
            if not isinstance(spec, Gaussian):
                raise ClaimDefinitionError(f"{who}: inputs[{iname!r}] = {spec!r} is not an input spec; use Gaussian(dim).")
            if isinstance(spec.dim, str):
                follow(self.params, spec.dim, f"{who}: inputs[{iname!r}] = {spec!r}")
        return dict(self.inputs)

    @property
    def method(self) -> str:
        return "monte_carlo" if self.monte_carlo is not None else "exact"

    @property
    def estimator(self) -> Callable[..., Any]:
        return self.monte_carlo if self.monte_carlo is not None else self.exact


_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _names(fn: Callable) -> frozenset | None:
    """The keyword names ``fn`` declares; None where it takes **kwargs (or has no signature): it gets all."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(n for n, p in params.items() if p.kind in _NAMED)


_names_cached = functools.lru_cache(maxsize=4096)(_names)


def _declared_names(fn: Callable) -> frozenset | None:
    try:
        return _names_cached(fn)
    except TypeError:                   # an unhashable callable
        return _names(fn)


def call_declared(fn: Callable, kwargs: Mapping[str, Any]) -> Any:
    """``fn(**kwargs)`` restricted to the names ``fn`` declares (all of them where it takes **kwargs)."""
    names = _declared_names(fn)
    return fn(**(kwargs if names is None else {k: v for k, v in kwargs.items() if k in names}))


def declared(fn: Callable) -> Callable[..., Any]:
    """``fn`` as a function of **kwargs that passes on only the names ``fn`` declares."""
    return functools.wraps(fn)(lambda **kwargs: call_declared(fn, kwargs))


def accepts(fn: Callable, name: str) -> bool:
    """Whether ``fn`` can be called with keyword ``name`` (a named parameter or **kwargs): whether
    ``call_declared`` passes it on."""
    names = _declared_names(fn)
    return names is None or name in names


def _check_signature(who: str, what: str, fn: Callable, names: list[str], required: tuple[str, ...] = ()) -> None:
    """``fn`` can be called with the subset of ``names`` it declares plus ``required`` (``call_declared``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    given = [n for n in names if accepts(fn, n)] + list(required)
    try:
        sig.bind(**{n: None for n in given})
    except TypeError as exc:
        accepted = ", ".join(names + list(required))
        raise ClaimDefinitionError(f"{who}: {what}{sig} cannot be called with (a subset of {accepted}): {exc}; "
                                   "its parameters must be named like params.") from None
