"""Parameter specs: what a claim's parameters are, as SymPy symbols, as hypothesis strategies, as tensors.

| spec                         | SymPy object                  | value drawn                                   |
|------------------------------|-------------------------------|-----------------------------------------------|
| ``Real(low, high)``          | ``Symbol(name, real=True)``   | float in [low, high]                          |
| ``Vector(dim, norm=(a, b))`` | ``dim x 1`` Matrix of symbols | direction on the sphere times a norm in [a, b] |
| ``Matrix(rows, cols, ...)``  | ``rows x cols`` Matrix        | each row drawn like ``Vector(cols, norm)``    |
| ``Int(low, high)``           | ``Symbol(name, integer=True)``| integer in [low, high] (a float64 tensor)     |
| ``Fixed(value)``             | ``Symbol(name, real=True)``   | always ``value`` (a constant such as eps)     |

Directions: each component is drawn as u in (-1, 1) and mapped through sqrt(2) erfinv(u), a standard
normal when u is uniform, so the normalised vector is uniform on the sphere under uniform draws, while
hypothesis's shrinking (u -> 0) moves towards simple, axis-aligned directions. Norms are drawn
log-uniformly in the range, so tiny and huge scales are equally represented; they shrink towards 1 when
1 is in the range. The range ends themselves are always tested on purpose (see ``_examples.py``). Subnormal floats are never
drawn, and values within 1e-100 (relative to the range) of 0 are snapped to exactly 0: the float64
round-off model (relative error per operation) does not hold under underflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from hypothesis import strategies as st
from scipy.special import erfinv

from ._errors import ParameterSpecError

__all__ = ["ParamSpec", "Real", "Int", "Fixed", "Vector", "Matrix"]

DEFAULT_NORM = (0.1, 10.0)


def _check_range(spec: str, low, high, what: str, *, positive: bool) -> tuple[float, float]:
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ParameterSpecError(f"{spec}: {what} bounds must be finite numbers, got {v!r}; e.g. {what}=(0.1, 10.0).")
    low, high = float(low), float(high)
    if positive and low <= 0:
        raise ParameterSpecError(f"{spec}: {what} must be > 0, got low={low!r}; a zero vector has no direction, use e.g. (1e-3, {high!r}).")
    if not low < high:
        raise ParameterSpecError(f"{spec}: low must be < high, got low={low!r} >= high={high!r}; swap them: ({high!r}, {low!r}).")
    return low, high


def _check_count(spec: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterSpecError(f"{spec}: {what} must be an integer >= 1, got {value!r}; a scalar parameter is Real(low, high).")
    return value


class ParamSpec:
    """Base class. ``shape`` is the tensor shape handed to estimators (``()`` for a scalar)."""

    shape: tuple[int, ...]

    def symbols(self, name: str):
        raise NotImplementedError

    def strategy(self) -> st.SearchStrategy:
        raise NotImplementedError

    def ends(self) -> list[np.ndarray]:
        """Range-end values, tested on purpose."""
        raise NotImplementedError

    def typical(self, index: int) -> np.ndarray:
        """A deterministic value in general position (index decorrelates different parameters)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Real(ParamSpec):
    """A float parameter drawn from [low, high]."""

    low: float
    high: float

    def __post_init__(self):
        low, high = _check_range(f"Real({self.low!r}, {self.high!r})", self.low, self.high, "range", positive=False)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def shape(self):
        return ()

    def symbols(self, name):
        return sp.Symbol(name, real=True)

    def strategy(self):
        scale = max(abs(self.low), abs(self.high))
        return (st.floats(self.low, self.high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
                .map(lambda x: _snap(x, scale) if self.low <= 0.0 <= self.high else x).map(np.float64).map(np.asarray))

    def ends(self):
        return [np.asarray(self.low), np.asarray(self.high)]

    def typical(self, index):
        return np.asarray(self.low + _typical_fraction(index) * (self.high - self.low))


def _typical_fraction(index: int) -> float:
    """A fixed irrational fraction of a range, different per parameter (a scalar's typical value)."""
    return (0.381966 + 0.2360679 * index) % 1.0


@dataclass(frozen=True)
class Int(ParamSpec):
    """An integer parameter drawn from [low, high] (a number of classes, a width that enters the closed form as a
    number). Estimators receive it, like every parameter, as a 0-d float64 tensor holding the integer: ``int(k)``
    turns it into a size. Shrinks towards the integer nearest 0; both ends are tested on purpose."""

    low: int
    high: int

    def __post_init__(self):
        spec = f"Int({self.low!r}, {self.high!r})"
        for v in (self.low, self.high):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ParameterSpecError(f"{spec}: bounds must be integers, got {v!r}; a real-valued parameter is Real(low, high).")
        if not self.low < self.high:
            raise ParameterSpecError(f"{spec}: low must be < high, got low={self.low!r} >= high={self.high!r}; "
                                     f"a constant is Fixed({self.low!r}).")
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))

    @property
    def shape(self):
        return ()

    def symbols(self, name):
        return sp.Symbol(name, integer=True)

    def strategy(self):
        return st.integers(self.low, self.high).map(np.float64).map(np.asarray)

    def ends(self):
        return [np.asarray(float(self.low)), np.asarray(float(self.high))]

    def typical(self, index):
        return np.asarray(float(self.low + round(_typical_fraction(index) * (self.high - self.low))))


@dataclass(frozen=True)
class Fixed(ParamSpec):
    """A constant the claim holds at (BatchNorm's eps, a temperature): a parameter that is never varied, so a claim
    file needs no module globals. It counts as one parameter, is passed to every callable that names it, and adds
    no boundary examples."""

    value: float

    def __post_init__(self):
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise ParameterSpecError(f"Fixed({v!r}): the value must be a finite number; e.g. Fixed(1e-5).")
        object.__setattr__(self, "value", float(v))

    @property
    def shape(self):
        return ()

    def symbols(self, name):
        return sp.Symbol(name, real=True)

    def strategy(self):
        return st.just(np.asarray(self.value))

    def ends(self):
        return []

    def typical(self, index):
        return np.asarray(self.value)


TINY = 1e-100  # drawn values closer to 0 than this (relative to the scale) are snapped to exactly 0


def _snap(x: float, scale: float = 1.0) -> float:
    """Exact 0 for values within TINY * scale of 0: products of such values underflow, and the float64
    round-off model (relative error per operation) does not cover underflow. Uniform draws land there
    with probability ~1e-100; only hypothesis's extreme values do."""
    return 0.0 if abs(x) < TINY * scale else x


def _direction(u: np.ndarray) -> np.ndarray:
    u = np.array([_snap(float(v)) for v in np.asarray(u, dtype=np.float64)])
    z = math.sqrt(2.0) * erfinv(u)  # (dim,) standard normal under uniform u
    n = float(np.linalg.norm(z))
    if n == 0.0 or not math.isfinite(n):
        z = np.zeros_like(z)
        z[0] = 1.0
        return z
    return z / n


def _log_uniform(low: float, high: float) -> st.SearchStrategy:
    return st.floats(math.log(low), math.log(high), allow_subnormal=False).map(lambda t: min(max(math.exp(t), low), high))


@dataclass(frozen=True)
class Vector(ParamSpec):
    """A vector of dimension ``dim``: a direction uniform on the sphere times a norm in ``norm``."""

    dim: int
    norm: tuple[float, float] = DEFAULT_NORM

    def __post_init__(self):
        spec = f"Vector({self.dim!r}, norm={self.norm!r})"
        _check_count(spec, "dim", self.dim)
        if not isinstance(self.norm, (tuple, list)) or len(self.norm) != 2:
            raise ParameterSpecError(f"{spec}: norm must be a (low, high) pair, got {self.norm!r}; e.g. norm=(0.1, 10.0).")
        object.__setattr__(self, "norm", _check_range(spec, *self.norm, "norm", positive=True))

    @property
    def shape(self):
        return (self.dim,)

    def symbols(self, name):
        return sp.Matrix(self.dim, 1, sp.symbols(f"{name}_0:{self.dim}", real=True))

    def _vector(self) -> st.SearchStrategy:
        u = st.lists(st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True, allow_subnormal=False),
                     min_size=self.dim, max_size=self.dim)
        return st.tuples(u, _log_uniform(*self.norm)).map(lambda t: _direction(t[0]) * t[1])

    def strategy(self):
        return self._vector()

    def _norm_ends(self):
        lo, hi = self.norm
        return [lo, hi] + ([1.0] if lo < 1.0 < hi else [])

    def ends(self):
        d = _general_direction(self.dim, 0)
        return [d * r for r in self._norm_ends()]

    def typical(self, index):
        return _general_direction(self.dim, index) * _geometric_mid(self.norm)


@dataclass(frozen=True)
class Matrix(ParamSpec):
    """A ``rows x cols`` matrix whose rows are drawn like ``Vector(cols, norm)`` (e.g. a layer's weights)."""

    rows: int
    cols: int
    norm: tuple[float, float] = DEFAULT_NORM

    def __post_init__(self):
        spec = f"Matrix({self.rows!r}, {self.cols!r}, norm={self.norm!r})"
        _check_count(spec, "rows", self.rows)
        _check_count(spec, "cols", self.cols)
        if not isinstance(self.norm, (tuple, list)) or len(self.norm) != 2:
            raise ParameterSpecError(f"{spec}: norm must be a (low, high) pair, got {self.norm!r}; e.g. norm=(0.1, 10.0).")
        object.__setattr__(self, "norm", _check_range(spec, *self.norm, "norm", positive=True))

    @property
    def shape(self):
        return (self.rows, self.cols)

    def symbols(self, name):
        return sp.Matrix(self.rows, self.cols, sp.symbols(f"{name}_0:{self.rows}_0:{self.cols}", real=True))

    def strategy(self):
        row = Vector(self.cols, self.norm).strategy()
        return st.lists(row, min_size=self.rows, max_size=self.rows).map(np.stack)

    def ends(self):
        lo, hi = self.norm
        rows = [_general_direction(self.cols, 100 + i) for i in range(self.rows)]
        return [np.stack(rows) * r for r in (lo, hi)]

    def typical(self, index):
        rows = [_general_direction(self.cols, 100 * (index + 1) + i) for i in range(self.rows)]
        return np.stack(rows) * _geometric_mid(self.norm)


def _geometric_mid(norm):
    lo, hi = norm
    return 1.0 if lo <= 1.0 <= hi else math.sqrt(lo * hi)


def _general_direction(dim: int, index: int) -> np.ndarray:
    """A fixed unit vector in general position (no zero or equal components), distinct per index."""
    rng = np.random.default_rng(1_000_003 * (index + 1) + dim)
    z = rng.standard_normal(dim)
    return z / np.linalg.norm(z)
