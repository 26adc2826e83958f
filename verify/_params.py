"""Parameter specs: what a claim's parameters are, as SymPy symbols, as hypothesis strategies, as tensors.

| spec                         | SymPy object                  | value drawn                                   |
|------------------------------|-------------------------------|-----------------------------------------------|
| ``Real(low, high)``          | ``Symbol(name, real=True)``   | float in [low, high]                          |
| ``Vector(dim, norm=(a, b))`` | ``dim x 1`` Matrix of symbols | direction on the sphere times a norm in [a, b] |
| ``Matrix(rows, cols, ...)``  | ``rows x cols`` Matrix        | each row drawn like ``Vector(cols, norm)``    |
| ``Int(low, high)``           | ``Symbol(name, integer=True)``| integer in [low, high] (a float64 tensor)     |
| ``Fixed(value)``             | ``Symbol(name, real=True)``   | always ``value`` (a constant such as eps)     |

Every dimension: a size (``Vector``'s ``dim``, ``Matrix``'s ``rows`` / ``cols``) is an integer, an inclusive
range ``(lo, hi)`` drawn with each example (``Vector(dim=(2, 8))``: the claim holds for every d in 2..8), or the
name of a ``Vector`` parameter whose dimension it shares (``Vector(dim="w")``, ``Matrix(rows=(1, 4), cols="w")``;
``Gaussian(dim="w")`` for an engine-owned input); a Matrix's ``rows`` / ``cols`` may also name a ``Matrix``
parameter, whose rows / cols it shares (``Matrix(rows="f", cols="f")``: the shape of ``f``). Each range is one drawn size, keyed ``"dim(w)"``,
``"rows(W)"``, ``"cols(W)"`` (``size_ranges``); ``resolve(specs, sizes)`` turns the specs into fixed-size ones
for one draw, and ``sizes_of(specs, values)`` reads the sizes back off the values' shapes (a replay carries its
sizes in its values' lengths). Sizes shrink towards ``lo``.

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
from typing import Mapping

import numpy as np
import sympy as sp
from hypothesis import strategies as st
from scipy.special import erfinv

from ._errors import ParameterSpecError

__all__ = ["ParamSpec", "Real", "Int", "Fixed", "Vector", "Matrix", "size_ranges", "resolve", "sizes_of", "follow", "is_sized",
           "size_label"]

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
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterSpecError(f"{spec}: {what} must be an integer >= 1, got {value!r}; a scalar parameter is Real(low, high), "
                                 f"a size drawn per example {what}=(lo, hi).")
    return int(value)


def _check_size(spec: str, what: str, value) -> int | tuple[int, int] | str:
    """A size: an integer >= 1, an inclusive range (lo, hi) of them, or a Vector parameter's name."""
    if isinstance(value, str):
        if not value.isidentifier():
            raise ParameterSpecError(f"{spec}: {what}={value!r} is not a parameter name; name the Vector whose dimension "
                                     f"it shares, e.g. {what}=\"w\".")
        return value
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value):
            raise ParameterSpecError(f"{spec}: {what} range must be two integers (lo, hi), got {value!r}; e.g. {what}=(2, 8).")
        lo, hi = int(value[0]), int(value[1])
        if lo < 1:
            raise ParameterSpecError(f"{spec}: {what} range must start at >= 1, got {value!r}; e.g. {what}=(1, {max(hi, 2)}).")
        if lo == hi:
            raise ParameterSpecError(f"{spec}: {what} range {value!r} holds one size; a fixed size is {what}={lo}.")
        if lo > hi:
            raise ParameterSpecError(f"{spec}: {what}=(lo, hi) needs lo < hi, got lo={lo} > hi={hi}; swap them: {what}=({hi}, {lo}).")
        return lo, hi
    return _check_count(spec, what, value)


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
    """A vector of dimension ``dim``: a direction uniform on the sphere times a norm in ``norm``. ``dim`` may be a
    range ``(lo, hi)`` drawn per example, or another Vector parameter's name (its dimension; module docstring)."""

    dim: int | tuple[int, int] | str
    norm: tuple[float, float] = DEFAULT_NORM

    def __post_init__(self):
        spec = f"Vector({self.dim!r}, norm={self.norm!r})"
        object.__setattr__(self, "dim", _check_size(spec, "dim", self.dim))
        if not isinstance(self.norm, (tuple, list)) or len(self.norm) != 2:
            raise ParameterSpecError(f"{spec}: norm must be a (low, high) pair, got {self.norm!r}; e.g. norm=(0.1, 10.0).")
        object.__setattr__(self, "norm", _check_range(spec, *self.norm, "norm", positive=True))

    sizes = ("dim",)

    def at(self, dim: int) -> "Vector":
        return Vector(dim, self.norm)

    @property
    def shape(self):
        return (_fixed(self, self.dim),)

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
    """A ``rows x cols`` matrix whose rows are drawn like ``Vector(cols, norm)`` (e.g. a layer's weights); ``rows``
    and ``cols`` are sizes like ``Vector``'s ``dim`` (an integer, a range drawn per example, a Vector's name)."""

    rows: int | tuple[int, int] | str
    cols: int | tuple[int, int] | str
    norm: tuple[float, float] = DEFAULT_NORM

    def __post_init__(self):
        spec = f"Matrix({self.rows!r}, {self.cols!r}, norm={self.norm!r})"
        object.__setattr__(self, "rows", _check_size(spec, "rows", self.rows))
        object.__setattr__(self, "cols", _check_size(spec, "cols", self.cols))
        if not isinstance(self.norm, (tuple, list)) or len(self.norm) != 2:
            raise ParameterSpecError(f"{spec}: norm must be a (low, high) pair, got {self.norm!r}; e.g. norm=(0.1, 10.0).")
        object.__setattr__(self, "norm", _check_range(spec, *self.norm, "norm", positive=True))

    sizes = ("rows", "cols")

    def at(self, rows: int, cols: int) -> "Matrix":
        return Matrix(rows, cols, self.norm)

    @property
    def shape(self):
        return (_fixed(self, self.rows), _fixed(self, self.cols))

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


# -- every dimension: sizes drawn per example -------------------------------------------------------------------

def _fixed(spec: ParamSpec, size) -> int:
    if not isinstance(size, int):       # engine code resolves sizes first (``resolve``): a bug, not a user error
        raise TypeError(f"{spec!r} has no fixed shape; resolve its sizes first (verify._params.resolve)")
    return size


def _size_fields(spec: ParamSpec) -> tuple[str, ...]:
    return getattr(spec, "sizes", ())


def is_sized(specs: Mapping[str, ParamSpec]) -> bool:
    """Whether any size is drawn per example (a range or a reference to one)."""
    return any(not isinstance(getattr(s, f), int) for s in specs.values() for f in _size_fields(s))


def follow(specs: Mapping[str, ParamSpec], target: str, who: str, seen: tuple = (), field: str = "dim") -> int | str:
    """The size a reference ``target`` stands for: an integer, or the key of the drawn range it shares (``"dim(w)"``).
    ``target`` names a Vector (its dimension), or, for a Matrix's ``field`` ("rows" / "cols"), a Matrix (the same
    field of it). ``who`` names the referring spec in the one-line error."""
    if target not in specs:
        vectors = [n for n, s in specs.items() if isinstance(s, Vector)]
        raise ParameterSpecError(f"{who}: there is no parameter {target!r}; name a Vector parameter of the claim "
                                 f"({', '.join(map(repr, vectors)) or 'it has none'}) or give a size, e.g. dim=(2, 8).")
    spec = specs[target]
    shares_matrix = isinstance(spec, Matrix) and field in Matrix.sizes
    if not isinstance(spec, Vector) and not shares_matrix:
        raise ParameterSpecError(f"{who}: parameter {target!r} is {spec!r}, not a Vector; a size can only share a "
                                 f"Vector's dimension (or a Matrix's rows / cols share a Matrix's), e.g. "
                                 f"params={{\"w\": Vector(dim=(2, 8))}} and dim=\"w\".")
    if target in seen:
        raise ParameterSpecError(f"{who}: the dimensions {' -> '.join(seen + (target,))} refer to each other in a circle; "
                                 f"give one of them a size, e.g. Vector(dim=(2, 8)).")
    return _referent(specs, target, field if shares_matrix else "dim", seen + (target,))


def _referent(specs: Mapping[str, ParamSpec], name: str, field: str, seen: tuple = ()) -> int | str:
    v = getattr(specs[name], field)
    if isinstance(v, int):
        return v
    if isinstance(v, tuple):
        return f"{field}({name})"
    return follow(specs, v, f"params[{name!r}] = {specs[name]!r}", seen or (name,), field)


def size_ranges(specs: Mapping[str, ParamSpec]) -> dict[str, tuple[int, int]]:
    """The sizes drawn per example, key (``"dim(w)"``, ``"rows(W)"``, ``"cols(W)"``) -> (lo, hi), in parameter
    order; every reference is checked (ParameterSpecError: unknown parameter, not a Vector, a circle)."""
    out = {}
    for n, spec in specs.items():
        for f in _size_fields(spec):
            ref = _referent(specs, n, f)
            if isinstance(getattr(spec, f), tuple):
                out[ref] = getattr(spec, f)
    return out


def resolve(specs: Mapping[str, ParamSpec], sizes: Mapping[str, int]) -> dict[str, ParamSpec]:
    """The specs at one draw of the sizes (``size_ranges``' keys -> integers): every size fixed."""
    out = {}
    for n, spec in specs.items():
        fields = _size_fields(spec)
        if all(isinstance(getattr(spec, f), int) for f in fields):
            out[n] = spec
            continue
        refs = [_referent(specs, n, f) for f in fields]
        out[n] = spec.at(*(r if isinstance(r, int) else sizes[r] for r in refs))
    return out


def sizes_of(specs: Mapping[str, ParamSpec], values: Mapping[str, np.ndarray]) -> dict[str, int]:
    """The drawn sizes read off the values' shapes; ParameterSpecError where a shape does not fit its spec (a
    fixed size differs, a drawn one is out of its range or differs from the size another parameter shares)."""
    ranges = size_ranges(specs)
    sizes: dict[str, int] = {}
    for n, spec in specs.items():
        shape = tuple(np.shape(values[n]))
        fields = _size_fields(spec)
        if len(shape) != (len(fields) if fields else len(spec.shape)):
            raise ParameterSpecError(f"parameter {n!r} has shape {shape}, which does not fit {spec!r}")
        for f, got in zip(fields, shape):
            ref = _referent(specs, n, f)
            if isinstance(ref, int):
                want = f"{ref}" if got != ref else None
            elif ref in sizes:
                want = f"{sizes[ref]}, the {ref} of the other parameters" if got != sizes[ref] else None
            else:
                lo, hi = ranges[ref]
                want = f"in [{lo}, {hi}]" if not lo <= got <= hi else None
                sizes[ref] = got
            if want is not None:
                raise ParameterSpecError(f"parameter {n!r} has shape {shape}, which does not fit {spec!r}: its {f} must be {want}")
    return sizes


def size_label(sizes: Mapping[str, int]) -> str:
    """``"dim(w)=2, rows(W)=3"``: an example's drawn sizes, for labels."""
    return ", ".join(f"{k}={v}" for k, v in sizes.items())
