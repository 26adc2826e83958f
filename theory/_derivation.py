"""The record of a symbolic derivation: what SymPy derived, what the paper printed, and the proof.

A theory module derives a closed form (integrates, differentiates, takes a limit) and then shows it
equal to the form printed in the seed document. :func:`compare` does the showing: it simplifies
``derived - printed`` and the identity is *proven* only when that difference simplifies to exactly
zero. A difference SymPy cannot reduce is reported as not proven -- never silently accepted.

:func:`statement_latex` renders a claim's statement from the same printed form: each paper equation is
typed once, as a SymPy function of its symbols, and is both shown (at abstract symbols) and proven (at the
derivation's concrete ones).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

__all__ = ["Derivation", "compare", "form_latex", "shown_form", "statement_latex"]


@dataclass(frozen=True)
class Derivation:
    """A derived closed form set against the printed one.

    statement: one line saying what was shown (e.g. "E[grad J] derived in the plane of w, w* equals
    seed 000's printed form"); derived / printed: the two SymPy objects; difference: the simplified
    ``derived - printed``; seconds: time SymPy took.
    """

    statement: str
    derived: sp.Basic
    printed: sp.Basic
    difference: sp.Basic
    seconds: float

    @property
    def proven(self) -> bool:
        d = self.difference
        if isinstance(d, sp.MatrixBase):
            return all(sp.S(e) == 0 for e in d)
        return sp.S(d) == 0

    def to_json(self) -> dict:
        return {
            "statement": self.statement,
            "derived": sp.sstr(self.derived),
            "printed": sp.sstr(self.printed),
            "derived_latex": sp.latex(self.derived),
            "proven": self.proven,
            "seconds": round(self.seconds, 6),
        }


def compare(statement: str, derived: sp.Basic, printed: sp.Basic, *, simplify=sp.simplify) -> Derivation:
    """Show ``derived == printed`` by simplifying their difference to zero (entry-wise for matrices)."""
    start = time.perf_counter()
    if isinstance(derived, sp.MatrixBase) or isinstance(printed, sp.MatrixBase):
        derived, printed = sp.Matrix(derived), sp.Matrix(printed)
        if derived.shape != printed.shape:
            raise ValueError(f"compare({statement!r}): shapes differ, derived {derived.shape} vs printed {printed.shape}")
        difference = (derived - printed).applyfunc(simplify)
    else:
        difference = simplify(sp.S(derived) - sp.S(printed))
    return Derivation(statement, derived, printed, difference, time.perf_counter() - start)


def shown_form(form: Callable[..., sp.Basic], *symbols: sp.Basic, evaluate: bool = False) -> sp.Basic:
    """form(*symbols) as a statement shows it: built with evaluation off (unless evaluate), chained sums flat.

    Evaluation off keeps the paper's grouping ((w - w*)/2, not w/2 - w*/2); ``.doit()`` of the result is the
    evaluated expression, which tests compare with the derivation's printed form.
    """
    with sp.evaluate(evaluate):
        expr = form(*symbols)
        return expr.replace(lambda e: isinstance(e, sp.Add) and any(isinstance(a, sp.Add) for a in e.args), _flat_add)


def statement_latex(lhs: str, form: Callable[..., sp.Basic], *symbols: sp.Basic, symbol_names=None,
                    evaluate: bool = False) -> str:
    """``"<lhs> = <LaTeX of form(*symbols)>"``: a claim's statement generated from its printed SymPy form.

    form is the one function that types the paper's right-hand side; it is called here at abstract symbols
    (e.g. a Symbol shown as ``\\mathbf{w}`` for a vector, ``theta`` for an angle) by :func:`shown_form` and
    printed with ``order="none"``, in the order written. lhs names the estimand (notation, not formula) and
    stays typed. evaluate=True keeps SymPy's evaluation, for a form whose numeric constants (e.g. 2 kappa^2 = 1)
    should fold before it is shown.
    """
    return f"{lhs} = {form_latex(form, *symbols, symbol_names=symbol_names, evaluate=evaluate)}"


def form_latex(form: Callable[..., sp.Basic], *symbols: sp.Basic, symbol_names=None, evaluate: bool = False) -> str:
    """The LaTeX of ``shown_form(form, *symbols)`` alone: for a rendered term inside typed notation (a sum over i)."""
    expr = shown_form(form, *symbols, evaluate=evaluate)
    return sp.latex(expr, order="none", inv_trig_style="full", ln_notation=True, symbol_names=symbol_names or {})


def _flat_add(e: sp.Add) -> sp.Add:
    """(a - b) - c -> a - b - c: unevaluated chained + and - nest, and would print their inner parentheses."""
    return sp.Add(*[t for a in e.args for t in (a.args if isinstance(a, sp.Add) else (a,))], evaluate=False)
