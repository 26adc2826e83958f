"""A one-parameter family of examples, checked like the others and kept for the report's figures.

``Sweep(label, xs, params)``: for each x in ``xs``, ``params(x)`` gives the claim's parameter values
(numpy arrays / floats). The engine evaluates every point at the same threshold as the other examples
(the points count in the Bonferroni divisor) and saves closed form, estimate and standard error per
point, so the report draws "closed form vs estimate +- 2 SE along the sweep" from saved results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ._errors import ClaimDefinitionError, ParameterSpecError
from ._params import is_sized, sizes_of

__all__ = ["Sweep"]


@dataclass(frozen=True)
class Sweep:
    """label: the swept quantity (mathtext allowed, e.g. r"$\\theta$"); xs: its values; params: x -> parameters."""

    label: str
    xs: tuple[float, ...]
    params: Callable[[float], Mapping[str, object]]

    def __post_init__(self):
        xs = tuple(float(x) for x in self.xs)
        if not xs or not all(np.isfinite(xs)):
            raise ClaimDefinitionError(f"Sweep({self.label!r}): xs must be a non-empty sequence of finite numbers, got {self.xs!r}")
        if not callable(self.params):
            raise ClaimDefinitionError(f"Sweep({self.label!r}): params must be a function x -> dict of parameter values")
        object.__setattr__(self, "xs", xs)

    def points(self, specs: Mapping) -> list[tuple[float, dict[str, np.ndarray]]]:
        out = []
        for x in self.xs:
            values = self.params(x)
            if set(values) != set(specs):
                raise ClaimDefinitionError(f"Sweep({self.label!r}): params({x}) gave {sorted(values)}, the claim has {sorted(specs)}")
            point = {}
            sized = is_sized(specs)
            for name, spec in specs.items():
                v = np.asarray(values[name], dtype=np.float64)
                if (not sized and v.shape != tuple(spec.shape)) or not np.isfinite(v).all():
                    raise ClaimDefinitionError(f"Sweep({self.label!r}): params({x})[{name!r}] has shape {v.shape}, expected {tuple(spec.shape)} (finite)")
                point[name] = v
            if sized:           # sizes drawn per example: a point's sizes are its values' lengths, within the ranges
                try:
                    sizes_of(specs, point)
                except ParameterSpecError as exc:
                    raise ClaimDefinitionError(f"Sweep({self.label!r}): params({x}): {exc}") from None
            out.append((x, point))
        return out
