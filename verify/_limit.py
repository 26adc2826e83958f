"""``Limit``: an asymptotic-order statement, estimand - closed form = O(distance^order) near a limit.

``Claim(..., limit=Limit("T", to=sp.oo, order=3))`` states estimand - closed form = O(T^-3) as T -> oo;
``Limit("h", to=0, order=2)`` states O(h^2) as h -> 0 (any finite ``to=a``: O(|h - a|^2) as h -> a). At every
example the engine walks a geometric ladder from the drawn value toward the limit -- T, T r, T r^2, ... (to=oo) or
a + (h - a) / r^j (finite a) for ``rungs`` rungs, ``r = ratio`` -- evaluates the closed form and the estimator at
each rung, and measures the order from the rungs where the difference is resolved (``_stats.order_decision``;
the test, its rate and its assumption are stated there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ._errors import ClaimDefinitionError

__all__ = ["Limit"]


@dataclass(frozen=True)
class Limit:
    """estimand - closed form = O(distance^order) as parameter ``name`` -> ``to``.

    name: the parameter that goes to the limit (a ``Real``; an ``Int`` only toward oo, with an integer ratio).
    to: ``sp.oo`` (or ``math.inf``) or a finite number ``a`` (0 for "h -> 0"); the parameter's range must lie on
        one side of ``a``, not containing it (``Real(0.05, 0.5)`` for h -> 0), and, toward oo, be positive.
    order: the stated order p > 0: |difference| <= C T^-p (to oo), C |h - a|^p (to a).
    rungs: points per ladder, the drawn value first (>= 3); ratio: the ladder's geometric step (> 1).
    tolerance: how far below ``order`` the local order at the ladder's deepest resolved rungs may lie for a correct
        claim (pre-asymptotic terms: T^-3 - T^-4 has local order 3 - 1/(T - 1)); the assumption that the ladder
        reaches that regime is the test's (``_stats.order_decision``). A measured order below ``order - tolerance``
        with confidence refutes; one above ``order`` is reported, never refuted.
    """

    name: str
    to: Any = sp.oo
    order: float = 1.0
    rungs: int = 6
    ratio: float = 2.0
    tolerance: float = 0.5

    def __post_init__(self):
        who = f"Limit({self.name!r}, to={self.to!r}, order={self.order!r})"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ClaimDefinitionError(f"{who}: name must be the parameter that goes to the limit, e.g. Limit(\"T\", to=sp.oo, order=3).")
        to = self.to
        if to in (sp.oo, math.inf) or (isinstance(to, float) and to == math.inf):
            to = math.inf
        else:
            try:
                to = float(to)
            except (TypeError, ValueError):
                to = None
            if to is None or not math.isfinite(to):
                raise ClaimDefinitionError(f"{who}: to must be sp.oo or a finite number (0 for h -> 0), got {self.to!r}.")
        object.__setattr__(self, "to", to)
        for field_, lo, kind in (("order", 0.0, "a positive number"), ("ratio", 1.0, "a number > 1"),
                                 ("tolerance", 0.0, "a positive number")):
            v = getattr(self, field_)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= lo:
                raise ClaimDefinitionError(f"{who}: {field_} must be {kind}, got {v!r}.")
            object.__setattr__(self, field_, float(v))
        if isinstance(self.rungs, bool) or not isinstance(self.rungs, int) or self.rungs < 3:
            raise ClaimDefinitionError(f"{who}: rungs must be an integer >= 3 (two resolved rungs measure an order), got {self.rungs!r}.")

    @property
    def infinite(self) -> bool:
        return self.to == math.inf

    def check_spec(self, params: dict, who: str) -> None:
        """The limit's parameter exists, is a scalar Real (or Int toward oo) and its range lies on one side of ``to``."""
        from ._params import Int, Real

        spec = params.get(self.name)
        if spec is None:
            raise ClaimDefinitionError(f"{who}: limit={self!r} names {self.name!r}, which is not a parameter; it has {sorted(params)}.")
        if isinstance(spec, Int):
            if not self.infinite or self.ratio != int(self.ratio):
                raise ClaimDefinitionError(f"{who}: limit on Int parameter {self.name!r} must go to sp.oo with an integer ratio "
                                           f"(rungs stay integers), got to={self.to}, ratio={self.ratio:g}; use Real for h -> 0.")
            low, high = spec.low, spec.high
        elif isinstance(spec, Real):
            low, high = spec.low, spec.high
        else:
            raise ClaimDefinitionError(f"{who}: limit parameter {self.name!r} is {spec!r}; it must be a Real (or Int toward oo).")
        if self.infinite and low <= 0:
            raise ClaimDefinitionError(f"{who}: {self.name} = {spec!r} goes to oo from a range that reaches {low:g}; "
                                       f"give it a positive range, e.g. Real(2, 16).")
        if not self.infinite and low <= self.to <= high:
            raise ClaimDefinitionError(f"{who}: {self.name} = {spec!r} contains the limit {self.to:g}; the ladder starts at a "
                                       f"drawn value away from it: give a range beside it, e.g. Real({self.to + 0.01:g}, {self.to + 1:g}).")

    def ladder(self, start: float) -> np.ndarray:
        """The rung values from ``start`` toward the limit (``rungs`` of them, ``start`` first)."""
        steps = self.ratio ** np.arange(self.rungs)
        if self.infinite:
            return start * steps
        return self.to + (start - self.to) / steps

    def distance(self, xs: np.ndarray) -> np.ndarray:
        """How far each rung is from the limit: 1 / x toward oo, |x - a| toward a (the order's base)."""
        xs = np.asarray(xs, dtype=np.float64)
        return 1.0 / xs if self.infinite else np.abs(xs - self.to)

    def describe(self) -> str:
        """``O(T^-3) as T -> oo`` / ``O(h^2) as h -> 0`` / ``O(|h - 1|^2) as h -> 1``."""
        p = "" if self.order == 1 else f"^{self.order:g}"
        if self.infinite:
            return f"O({self.name}^-{self.order:g}) as {self.name} -> oo"
        if self.to == 0:
            return f"O({self.name}{p}) as {self.name} -> 0"
        return f"O(|{self.name} - {self.to:g}|{p}) as {self.name} -> {self.to:g}"
