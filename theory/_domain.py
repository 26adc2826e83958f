"""The project's one round-off guard for closed forms evaluated in floating point outside the engine.

On its domain a closed form's ``acos``/``asin`` arguments have modulus <= 1 and its square roots have
nonnegative arguments; float64 can step just outside (cos theta of parallel vectors rounds to 1 + 2^-52,
SymPy writes sin(acos(c)) as sqrt(1 - c^2)). :func:`clamp_to_domain` clamps those arguments back, which is
exact on the domain and moves a value by at most the rounding that pushed it out.

The engine does not use it: it evaluates the printed closed form at 50 digits where float64 leaves the
domain (``numerics._compile``). Numerics that lambdify a closed form for an integrator or an experiment
(``numerics._committee``, ``numerics.experiments._overlays``) apply this, and only this.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["clamp_to_domain"]


def clamp_to_domain(expr: sp.Basic, *, sqrt: bool = True) -> sp.Basic:
    """``expr`` with every acos/asin argument clamped to [-1, 1] and (``sqrt=True``) every square-root
    argument (a power with exponent +-1/2) clamped to >= 0. Equal to ``expr`` wherever it is real."""
    expr = expr.replace(lambda e: isinstance(e, (sp.acos, sp.asin)),
                        lambda e: e.func(sp.Max(-1, sp.Min(1, e.args[0]))))
    if sqrt:
        expr = expr.replace(lambda e: e.is_Pow and e.exp in (sp.S.Half, -sp.S.Half) and not e.base.is_number,
                            lambda e: sp.Pow(sp.Max(e.base, 0), e.exp))
    return expr
