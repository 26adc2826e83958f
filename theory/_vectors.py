"""``dot`` and ``norm`` of SymPy columns: the two operations nearly every closed form over vectors spells out.

``Vector(d)`` parameters arrive in a closed form as ``d x 1`` SymPy matrices, whose inner product is a 1 x 1
matrix (``(x.T * y)[0]``); these return the scalar. Exported by ``verify`` for derivation files.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["dot", "norm"]


def _column(x, name: str) -> sp.Matrix:
    if not isinstance(x, sp.MatrixBase):
        raise TypeError(f"{name}: expected a SymPy column (a Vector parameter), got {type(x).__name__}; "
                        "for scalars use * and sp.Abs")
    if x.shape[1] != 1 and x.shape[0] == 1:
        x = x.T
    if x.shape[1] != 1:
        raise TypeError(f"{name}: expected a column (d x 1), got a {x.shape[0]} x {x.shape[1]} matrix; "
                        "for a matrix's rows use W[i, :].T")
    return x


def dot(x, y) -> sp.Expr:
    """x . y = sum_i x_i y_i for two columns of one length (rows are taken as columns)."""
    x, y = _column(x, "dot(x, y): x"), _column(y, "dot(x, y): y")
    if x.shape != y.shape:
        raise TypeError(f"dot(x, y): lengths differ, {x.shape[0]} and {y.shape[0]}")
    return sum((a * b for a, b in zip(x, y)), sp.S.Zero)


def norm(x) -> sp.Expr:
    """The Euclidean norm sqrt(x . x) of a column."""
    return sp.sqrt(dot(x, x))
