"""Hypothesis strategies for your own tests: the parameter draws the engine uses.

    from hypothesis import given
    from verify.strategies import vectors

    @given(w=vectors(dim=4), w_star=vectors(dim=4))
    def test_my_identity(w, w_star): ...

Values are NumPy float64 arrays (floats for ``reals``). Directions are uniform on the sphere under
uniform draws and shrink towards axis-aligned ones; norms are log-uniform and shrink towards 1.
``parameters`` adds the degenerate geometry (parallel, anti-parallel, equal vectors) on purpose.
"""

from __future__ import annotations

from typing import Mapping

from hypothesis import strategies as st

from ._examples import parameters as _parameters
from ._params import DEFAULT_NORM, Matrix, ParamSpec, Real, Vector

__all__ = ["reals", "vectors", "matrices", "parameters"]


def reals(*, low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in [low, high] (``Real(low, high)``)."""
    return Real(low, high).strategy().map(float)


def vectors(*, dim: int, norm: tuple[float, float] = DEFAULT_NORM) -> st.SearchStrategy:
    """(dim,) arrays: a direction uniform on the sphere times a log-uniform norm (``Vector(dim, norm)``)."""
    return Vector(dim, norm).strategy()


def matrices(*, rows: int, cols: int, norm: tuple[float, float] = DEFAULT_NORM) -> st.SearchStrategy:
    """(rows, cols) arrays whose rows are drawn like ``vectors(dim=cols, norm=norm)``."""
    return Matrix(rows, cols, norm).strategy()


def parameters(specs: Mapping[str, ParamSpec]) -> st.SearchStrategy[dict]:
    """Dicts name -> value for a claim's ``params``, ties between same-size vectors included."""
    return _parameters(specs)
