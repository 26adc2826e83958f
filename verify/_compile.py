"""SymPy closed form -> float64 numeric code. The project's one lambdify wrapper.

``lambdify_torch(args, exprs)`` turns a list of SymPy expressions into a function of torch tensors
(any broadcastable shapes) returning one float64 tensor of shape ``(*batch, len(exprs))``. SymPy 1.14's
torch printer fails on ``Max``/``Min`` (prints a reduction), ``Heaviside`` (non-tensor ``values``),
numeric constants such as ``sqrt(2)`` (``torch.sqrt`` of a Python int) and explicit ``Matrix``
construction; they are handled here, once: Max/Min/Heaviside are rewritten as Piecewise (printed as
``torch.where``), irrational constants become 30-digit Floats, and matrices are flattened before
printing.

``CompiledClosedForm.evaluate_f64`` evaluates in float64; entries that come out non-finite (``acos``
of ``1 + 1e-16`` for parallel vectors) are re-evaluated with mpmath at 50 significant digits before a
domain error is declared. ``CompiledClosedForm.evaluate`` -- what the engine compares against -- uses
the 50-digit value as the reference at every example (see its docstring). An imaginary part below 1e-20 relative (far below float64 resolution, e.g.
``acos(1 + 1e-50)``) is 50-digit round-off and is dropped.

It also provides a *magnitude* for round-off bounds: the closed form with every sum replaced by the sum
of the absolute values of its terms, and every negative power x**p by |x|**p |terms of x| / |x| (the
relative error of x, amplified where x itself comes from cancellation) (Higham's running-error style bound: evaluating an expression with
N floating-point operations commits an error of at most gamma_N * magnitude, gamma_N = N u / (1 - N u),
u = 2**-53).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp
import torch
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pytorch import TorchPrinter

__all__ = ["lambdify_torch", "CompiledClosedForm", "compile_closed_form", "gamma", "ClosedFormError", "forward_error"]

UNIT_ROUNDOFF = 2.0**-53
MP_DIGITS = 50


class ClosedFormError(Exception):
    """The closed form cannot be built or evaluated (raised, wrong type, non-finite)."""


def gamma(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u): relative error bound for n float64 operations."""
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def _as64(v, like: torch.Tensor | None = None) -> torch.Tensor:
    return torch.as_tensor(v, dtype=torch.float64, device=None if like is None else like.device)


def _branch(v) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v
    if isinstance(v, (bool, np.bool_)):
        return torch.tensor(bool(v))
    return torch.as_tensor(v, dtype=torch.float64)  # never the float32 default: 1/3 must stay exact


def _where64(cond, a, b):
    """torch.where in float64 -- except for boolean branches (nested Piecewise conditions stay boolean)."""
    a, b = _branch(a), _branch(b)
    if a.dtype == torch.bool and b.dtype == torch.bool:
        return torch.where(cond, a, b)
    return torch.where(cond, a.to(torch.float64), b.to(torch.float64))


def _extreme(op):
    def f(*args):
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        device = tensors[0].device if tensors else None
        vals = [a.to(torch.float64) if isinstance(a, torch.Tensor) else torch.tensor(float(a), dtype=torch.float64, device=device)
                for a in args]
        out = vals[0]
        for v in vals[1:]:
            out = op(out, v)
        return out
    return f


def _gamma(x):
    """Gamma(x) from log|Gamma| and its sign (torch has lgamma, not gamma)."""
    x = _as64(x)
    sign = torch.where(x > 0, torch.ones_like(x), 1.0 - 2.0 * torch.remainder(torch.floor(-x) + 1.0, 2.0))
    return sign * torch.exp(torch.lgamma(x))


# The torch printer writes Max/Min as Python's max/min (which fail on tensors): elementwise, NaN-propagating.
_TORCH_FIXES = {"where": _where64, "max": _extreme(torch.maximum), "min": _extreme(torch.minimum), "_tc_gamma": _gamma,
                "_tc_gammainc": lambda a, x: torch.special.gammainc(_as64(a), _as64(x)),
                "_tc_gammaincc": lambda a, x: torch.special.gammaincc(_as64(a), _as64(x))}


class _TorchPrinter(TorchPrinter):
    """SymPy 1.14's torch printer plus the special functions it lacks (each to a torch.special equivalent)."""

    def _call(self, fn: str, *args) -> str:
        return f"{fn}({', '.join(self._print(a) for a in args)})"

    def _print_uppergamma(self, e):
        return self._incomplete_gamma("_tc_gammaincc", e)

    def _print_lowergamma(self, e):
        return self._incomplete_gamma("_tc_gammainc", e)

    def _incomplete_gamma(self, regularized: str, e) -> str:
        a, x = (self._print(v) for v in e.args)
        return f"({regularized}({a}, {x}) * _tc_gamma({a}))"

    def _print_polygamma(self, e):
        n, x = e.args
        if not (n.is_Integer and n >= 0):
            raise ValueError(f"polygamma of order {n}: only a fixed non-negative integer order compiles")
        return f"torch.special.polygamma({int(n)}, {self._print(x)})"

    def _print_zeta(self, e):
        if len(e.args) != 1:
            raise ValueError("zeta(s, a): only the Riemann zeta zeta(s) compiles")
        return f"torch.special.zeta({self._print(e.args[0])}, torch.ones_like({self._print(e.args[0])}))"

    def _print_besselj(self, e):
        nu, x = e.args
        if nu not in (0, 1):
            raise ValueError(f"besselj of order {nu}: only orders 0 and 1 compile")
        return self._call(f"torch.special.bessel_j{int(nu)}", x)

    def _print_bessely(self, e):
        nu, x = e.args
        if nu not in (0, 1):
            raise ValueError(f"bessely of order {nu}: only orders 0 and 1 compile")
        return self._call(f"torch.special.bessel_y{int(nu)}", x)


for _name, _fn in {"erfc": "torch.special.erfc", "erfinv": "torch.special.erfinv", "gamma": "_tc_gamma",
                   "loggamma": "torch.lgamma"}.items():   # one argument, one torch function
    setattr(_TorchPrinter, f"_print_{_name}", lambda self, e, _fn=_fn: self._call(_fn, *e.args))


def _printer_rewrites(expr: sp.Basic) -> sp.Basic:
    """Functions with an exact rewrite into printable ones: reciprocal trigonometric and hyperbolic
    functions, sinc, factorial, binomial, beta, the incomplete gammas."""
    rules = {
        sp.cot: lambda a: 1 / sp.tan(a), sp.sec: lambda a: 1 / sp.cos(a), sp.csc: lambda a: 1 / sp.sin(a),
        sp.coth: lambda a: 1 / sp.tanh(a), sp.sech: lambda a: 1 / sp.cosh(a), sp.csch: lambda a: 1 / sp.sinh(a),
        sp.acot: lambda a: sp.atan(1 / a), sp.asec: lambda a: sp.acos(1 / a), sp.acsc: lambda a: sp.asin(1 / a),
        sp.sinc: lambda a: sp.Piecewise((sp.sin(a) / a, sp.Ne(a, 0)), (1, True)),
        sp.erfcinv: lambda a: sp.erfinv(1 - a),
        sp.factorial: lambda a: sp.gamma(a + 1),
        sp.binomial: lambda a, b: sp.gamma(a + 1) / (sp.gamma(b + 1) * sp.gamma(a - b + 1)),
        sp.beta: lambda a, b=None: sp.gamma(a) * sp.gamma(a if b is None else b) / sp.gamma(a + (a if b is None else b)),
    }
    for f, rule in rules.items():
        if expr.has(f):
            expr = expr.replace(lambda e, f=f: isinstance(e, f), lambda e, rule=rule: rule(*e.args))
    return expr


def _printable(expr: sp.Expr) -> sp.Expr:
    """Rewrite the constructs the torch printer gets wrong into ones it prints correctly."""
    expr = _printer_rewrites(sp.sympify(expr))
    expr = expr.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: e.rewrite(sp.Piecewise))
    return _constants_to_floats(expr)


def _constants_to_floats(expr: sp.Basic) -> sp.Basic:
    """Every compound constant sub-expression (e.g. sqrt(2)/pi, not a Rational) -> a 30-digit Float.

    One memoised post-order pass (``Basic.replace`` with ``is_number`` re-walks every subtree: quadratic, and
    minutes on the Saad-Solla field).
    """
    from sympy.core.function import AppliedUndef

    memo: dict[sp.Basic, tuple[sp.Basic, bool]] = {}

    def go(e: sp.Basic) -> tuple[sp.Basic, bool]:
        hit = memo.get(e)
        if hit is not None:
            return hit
        if e.is_Atom:
            out = (e, isinstance(e, sp.Expr) and not e.free_symbols)
        else:
            parts = [go(a) for a in e.args]
            const = isinstance(e, sp.Expr) and not isinstance(e, AppliedUndef) and all(c for _, c in parts)
            if const and not e.is_Rational:
                out = (sp.Float(e.evalf(30), 30), True)
            else:
                args = tuple(a for a, _ in parts)
                out = (e if args == e.args else e.func(*args), const)
        memo[e] = out
        return out

    return go(expr)[0]


def lambdify_torch(args: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]) -> Callable[..., torch.Tensor]:
    """Compile expressions to ``f(*tensors) -> (*batch, len(exprs))`` float64 tensor."""
    exprs = [_printable(e) for e in exprs]
    printer = _TorchPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                             "user_functions": {k: k for k in _TORCH_FIXES}})   # what lambdify gives its own printer
    fn = sp.lambdify(list(args), exprs, modules=[_TORCH_FIXES, "torch"], cse=True, printer=printer)

    def call(*values: torch.Tensor) -> torch.Tensor:
        values = [_as64(v) for v in values]
        out = fn(*values)
        like = values[0] if values else None
        parts = [_as64(o, like) for o in out]
        batch = torch.broadcast_shapes(*(p.shape for p in parts), *(v.shape for v in values))
        return torch.stack([p.expand(batch) for p in parts], dim=-1)  # (*batch, k)

    return call


def _discrete(e: sp.Expr) -> bool:
    """Built only from sign() and numbers: a small exact value, computed without rounding."""
    if e.is_number or not e.has(sp.sign):
        return False
    return not e.replace(lambda x: isinstance(x, sp.sign), lambda x: sp.Integer(1)).free_symbols


def _magnitude(e: sp.Expr) -> sp.Expr:
    """|terms| summed: an upper bound of |e| that also measures the cancellation inside it."""
    if _discrete(e):                       # e.g. (sign(h) + sign(h)**2)/2: exact, no cancellation error
        return sp.Abs(e)
    if e.is_Add or e.is_Mul:
        return e.func(*[_magnitude(a) for a in e.args])
    if e.is_Pow and e.exp.is_number:
        if e.exp.is_negative:
            # x**p, p < 0: relative error |p| times that of x, i.e. |x|**p * (|terms of x| / |x|)
            return sp.Abs(e.base) ** e.exp * _magnitude(e.base) / sp.Abs(e.base)
        return sp.Pow(_magnitude(e.base), e.exp)
    return sp.Abs(e)


@dataclass
class CompiledClosedForm:
    """A claim's closed form, flattened and compiled. ``shape`` is the SymPy shape (``()`` for scalars)."""

    names: list[str]                # parameter names, in order
    param_shapes: list[tuple]       # their tensor shapes
    shape: tuple[int, ...]
    components: list[sp.Expr]
    ops: int                        # max operation count over components (for gamma_N)
    _f64: Callable
    _mag: Callable
    _mp: Callable
    _mp_mag: Callable
    _switch_mp: Callable | None = None
    _switch_mag: Callable | None = None
    switch_ops: np.ndarray | None = None   # operation count of each jump argument
    symbols: list | None = None            # the flattened SymPy arguments, in the order of _flat

    def forward_error(self, params: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """Per component, a bound on the float64 evaluation error with conditioning (``forward_error``)."""
        return forward_error(self.components, dict(zip(self.symbols, self._flat(params))))

    @property
    def size(self) -> int:
        return len(self.components)

    def _flat(self, params: Mapping[str, np.ndarray]) -> list[float]:
        return [float(x) for n in self.names for x in np.asarray(params[n], dtype=np.float64).reshape(-1)]

    def undecidable_switch(self, params: Mapping[str, np.ndarray]) -> bool:
        """True when an argument at which the closed form jumps (sign, Heaviside, a Piecewise condition) is
        within float64 round-off of 0 here: its branch, and so the value, is not determined in float64."""
        if self._switch_mp is None:
            return False
        flat = self._flat(params)
        with mpmath.workdps(MP_DIGITS):
            vals = np.array([abs(_mp_real(v)) for v in self._switch_mp(*[mpmath.mpf(x) for x in flat])])
        mags = np.abs(self._switch_mag(*flat).numpy().astype(np.float64))
        bound = 2.0 * np.array([gamma(int(n)) for n in self.switch_ops]) * mags
        # all terms zero (mags == 0): exactly 0 in any evaluation order, so the branch is determined
        return bool(np.any((vals <= bound) & (mags > 0)))

    def evaluate_f64(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, bool]:
        """float64 values; entries non-finite in float64 are re-evaluated at 50 digits.

        Returns (values, used_high_precision). Still non-finite entries are a domain error for the caller.
        """
        flat = self._flat(params)
        values = self._f64(*flat).numpy().astype(np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            hp = self.evaluate_mp(flat)
            values[bad] = hp[bad]
        return values, bool(bad.any())

    def evaluate_mp(self, flat: Sequence[float], digits: int = MP_DIGITS) -> np.ndarray:
        """Values at ``digits`` significant digits, rounded once to float64 (nan where not real and finite)."""
        with mpmath.workdps(digits):
            hp = self._mp(*[mpmath.mpf(x) for x in flat])
            return np.array([_mp_real(v) for v in hp], dtype=np.float64)

    def refine(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
        """(reference at 2 x MP_DIGITS digits, bound on its error |v_50 - v_100|), or None where mpmath fails.

        The bound assumes that doubling the digits at least halves the error (see ``_stats.py``); the
        difference is taken at 100 digits and rounded up to float64.
        """
        flat = self._flat(params)
        try:
            with mpmath.workdps(2 * MP_DIGITS):
                args = [mpmath.mpf(x) for x in flat]
                hi = [_mp_real_mp(v) for v in self._mp(*args)]
                with mpmath.workdps(MP_DIGITS):
                    lo = [_mp_real_mp(v) for v in self._mp(*args)]
                err = [abs(a - b) if a is not None and b is not None else None for a, b in zip(lo, hi)]
                values = np.array([float(b) if b is not None else math.nan for b in hi])
                bound = np.array([0.0 if e is None else float(e) * (1 + 2.0**-52) for e in err])
        except Exception:
            return None
        if not np.isfinite(values).all():
            return None
        return values, bound

    def evaluate(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
        """Reference values for a check: (values, magnitude, float64_error).

        The reference is the 50-digit value, correctly rounded to float64, so an ill-conditioned
        closed form (acos near +-1 for nearly parallel vectors loses half the digits in float64) is not
        mistaken for a discrepancy. float64_error = max |float64 lambdify - reference| is reported as a
        diagnostic. Where mpmath cannot evaluate an expression, the float64 value is used.
        """
        flat = self._flat(params)
        f64, _ = self.evaluate_f64(params)
        mag = np.abs(self._mag(*flat).numpy().astype(np.float64))
        try:
            values = self.evaluate_mp(flat)
        except Exception:
            values = f64
        if not np.isfinite(mag).all():  # same 50-digit fallback for the magnitude
            with mpmath.workdps(MP_DIGITS):
                hp = np.array([abs(_mp_real(v)) for v in self._mp_mag(*[mpmath.mpf(x) for x in flat])])
            mag = np.where(np.isfinite(mag), mag, hp)
        with np.errstate(invalid="ignore"):
            err = float(np.nanmax(np.abs(f64 - values))) if np.isfinite(values).any() else float("nan")
        return values, mag, err


def _switches(components: list[sp.Expr]) -> list[sp.Expr]:
    """Arguments at which the closed form jumps: sign(u), Heaviside(u), Piecewise conditions u > v (as u - v)."""
    out: list[sp.Expr] = []
    for comp in components:
        for node in sp.preorder_traversal(comp):
            if isinstance(node, (sp.sign, sp.Heaviside, sp.floor, sp.ceiling)):
                out.append(node.args[0])
            elif isinstance(node, sp.Piecewise):
                for _, cond in node.args:
                    if isinstance(cond, sp.core.relational.Relational):
                        out.append(cond.lhs - cond.rhs)
    return list(dict.fromkeys(e for e in out if not e.is_number))


def _mp_real_mp(v):
    """The real mpf value of v (imaginary round-off dropped as in ``_mp_real``), None where not real."""
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > 1e-20 * max(1.0, abs(v.real)):
            return None
        v = v.real
    try:
        return mpmath.mpf(v)
    except (TypeError, ValueError):
        return None


def _mp_real(v) -> float:
    """``_mp_real_mp`` rounded to float64 (nan where not real)."""
    r = _mp_real_mp(v)
    return math.nan if r is None else float(r)


def _no_step(name: str):
    return contextlib.nullcontext()


def compile_closed_form(closed_form: Callable, names: list[str], specs: list, *,
                        step: Callable[[str], contextlib.AbstractContextManager] = _no_step) -> tuple[CompiledClosedForm, dict]:
    """Call ``closed_form`` with SymPy objects and compile the result. Raises ClosedFormError.

    The closed form may return a SymPy expression or Matrix, or a Python / NumPy number for a constant
    (an int is exact; a float is the float64 value it is); a bool, a list, an array or anything else is an
    error. ``step(name)`` labels the two phases for a time budget: ``closed_form`` (the user's function)
    and ``compiling the closed form``.
    """
    symbolic = {n: s.symbols(n) for n, s in zip(names, specs)}
    with step("closed_form"):
        try:
            expr = closed_form(**symbolic)
        except Exception as exc:  # the user's code: report, never a traceback
            raise ClosedFormError(f"closed_form raised {_where(exc)}; it is called with SymPy symbols (Real -> Symbol, Vector(d) -> d x 1 Matrix) and must build a SymPy expression from them") from exc
    with step("compiling the closed form"):
        return _compile(expr, names, specs, symbolic)


def _compile(expr, names, specs, symbolic) -> tuple[CompiledClosedForm, dict]:
    if isinstance(expr, (bool, np.bool_)):
        raise ClosedFormError(f"closed_form returned the bool {expr!r}; return a SymPy expression or Matrix (or a number for a constant)")
    if isinstance(expr, sp.MatrixBase):
        shape, components = tuple(expr.shape), list(expr)
    elif isinstance(expr, sp.Basic) or isinstance(expr, (int, float, np.integer, np.floating)):
        expr = sp.sympify(expr)
        if not isinstance(expr, sp.Expr):
            raise ClosedFormError(f"closed_form returned {type(expr).__name__} {str(expr)[:80]!r}, not an expression; return a SymPy expression or Matrix")
        shape, components = (), [expr]
    else:
        raise ClosedFormError(f"closed_form returned {type(expr).__name__} {str(expr)[:80]!r}; return a SymPy expression or Matrix built from its arguments (use sp.sin, not math.sin or torch.sin)")
    args = [sym for n in names for sym in (list(symbolic[n]) if isinstance(symbolic[n], sp.MatrixBase) else [symbolic[n]])]
    free = set().union(*(c.free_symbols for c in components))
    stray = free - set(args)
    if stray:
        raise ClosedFormError(f"closed_form uses symbols {sorted(map(str, stray))} that are not parameters; declare them in params or substitute numbers")
    if any(c.has(sp.I) or c.has(sp.zoo) or c.has(sp.nan) for c in components):
        raise ClosedFormError(f"closed_form contains I, zoo or nan: {str(expr)[:120]}; it must be a real, finite expression")
    try:
        f64 = lambdify_torch(args, components)
    except PrintMethodNotImplementedError as exc:
        name = str(exc).splitlines()[0].rsplit(":", 1)[-1].strip()
        raise ClosedFormError(f"closed_form uses {name}, which has no torch translation; rewrite it with supported functions "
                              f"(the elementary ones, erf, erfc, erfinv, gamma, loggamma, digamma, polygamma(n, x), zeta(s), "
                              f"besselj / bessely of order 0 or 1, the incomplete gammas, Piecewise, Max, Min, sign, Heaviside)") from exc
    except Exception as exc:
        raise ClosedFormError(f"closed_form could not be compiled: {_where(exc)}") from exc
    try:
        mag = lambdify_torch(args, [_magnitude(_printable(c)) for c in components])
        mp = sp.lambdify(args, [_printable(c) for c in components], modules="mpmath", cse=True)
        mp_mag = sp.lambdify(args, [_magnitude(_printable(c)) for c in components], modules="mpmath", cse=True)
    except Exception as exc:
        raise ClosedFormError(f"closed_form could not be compiled: {_where(exc)}") from exc
    ops = max(int(sp.count_ops(c)) for c in components) + 1
    compiled = CompiledClosedForm(names, [tuple(s.shape) for s in specs], shape, components, ops, f64, mag, mp, mp_mag,
                                  symbols=args)
    switches = _switches(components)
    if switches:
        try:
            compiled._switch_mp = sp.lambdify(args, [_printable(c) for c in switches], modules="mpmath", cse=True)
            compiled._switch_mag = lambdify_torch(args, [_magnitude(_printable(c)) for c in switches])
            compiled.switch_ops = np.array([int(sp.count_ops(c)) + 1 for c in switches])
        except Exception as exc:
            raise ClosedFormError(f"closed_form could not be compiled: {_where(exc)}") from exc
    return compiled, symbolic


_LIBRARY_DIRS = tuple(str(Path(m.__file__).resolve().parent) for m in (sp, torch, np, mpmath)) + (
    str(Path(__file__).resolve().parent),)


def _where(exc: BaseException) -> str:
    """``Type: message (file:line)`` for the innermost frame of user code."""
    tb = exc.__traceback__
    loc = ""
    while tb is not None:
        fname = tb.tb_frame.f_code.co_filename
        if not fname.startswith(_LIBRARY_DIRS) and not fname.startswith("<"):
            loc = f" ({fname}:{tb.tb_lineno})"
        tb = tb.tb_next
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}{loc}" if msg else f"{type(exc).__name__}{loc}"


# -- float64 forward-error bound with conditioning ------------------------------------------------------
_HOLDER_ACOS = math.pi / math.sqrt(2.0)   # |acos(a) - acos(b)| <= (pi / sqrt 2) sqrt|a - b| on [-1, 1]


def forward_error(components: Sequence[sp.Expr], values: Mapping[sp.Symbol, float]) -> np.ndarray | None:
    """First-order bound on |fl(c) - c| for a float64 evaluation of each component from exact inputs.

    Walks each expression tree once (shared subexpressions once, as lambdify's cse evaluates them) and
    propagates an absolute error through every node: a node with exact value v whose arguments carry
    errors e_i commits sum_i |d v / d a_i| e_i (the arguments' errors, amplified by the node's
    conditioning) plus its own rounding, k u |v| for a k-operand sum or product and 2 u |v| for a library
    function (correctly rounded to within 2 ulp). Where the conditioning is unbounded (acos and asin at
    +-1, sqrt at 0) the Hoelder bounds (pi / sqrt 2) sqrt(e) and sqrt(e) cap it: acos(1 - 1e-16) is 1.5e-8,
    not infinitely wrong. Exact values come from mpmath at 40 digits. Returns None where some node cannot
    be handled (the caller keeps the plain gamma_N |terms| bound).
    """
    memo: dict = {}
    u = UNIT_ROUNDOFF

    def go(e):
        hit = memo.get(e)
        if hit is not None:
            return hit
        out = node(e)
        memo[e] = out
        return out

    def node(e):
        if e.is_Symbol:
            return mpmath.mpf(values[e]), 0.0
        if e.is_Integer:
            v = mpmath.mpf(int(e))
            return v, 0.0 if abs(int(e)) <= 2**53 else u * float(abs(v))
        if e.is_number and not e.free_symbols and (e.is_Rational or e.is_Float or e.is_NumberSymbol or e.is_Atom):
            v = mpmath.mpf(sp.N(e, 40))
            return v, u * float(abs(v))
        if isinstance(e, (sp.sign, sp.Heaviside, sp.floor, sp.ceiling)):
            v = _mp_eval(e, values)
            return v, 0.0
        if e.is_Add:
            parts = [go(a) for a in e.args]
            v = mpmath.fsum(p[0] for p in parts)
            return v, sum(p[1] for p in parts) + (len(parts) - 1) * u * float(mpmath.fsum(abs(p[0]) for p in parts))
        if e.is_Mul:
            parts = [go(a) for a in e.args]
            v = mpmath.fprod(p[0] for p in parts)
            err = 0.0
            for i, (_, ei) in enumerate(parts):
                if ei:
                    err += ei * float(abs(mpmath.fprod(p[0] for j, p in enumerate(parts) if j != i)))
            return v, err + (len(parts) - 1) * u * float(abs(v))
        if e.is_Pow and e.exp.is_number:
            b, eb = go(e.base)
            p = mpmath.mpf(sp.N(e.exp, 40))
            if b < 0 and not e.exp.is_integer:
                raise ValueError("negative base")
            v = b**p
            if b == 0:
                cond = math.inf if (p < 1 and eb) else 0.0
            else:
                cond = float(abs(p) * abs(b) ** (p - 1)) * eb
            if e.exp == sp.Rational(1, 2):
                cond = min(cond, math.sqrt(eb))
            own = (2 * math.ceil(math.log2(abs(int(e.exp)))) if e.exp.is_integer and abs(e.exp) > 1 else 2) * u * float(abs(v))
            return v, cond + own
        if isinstance(e, (sp.Max, sp.Min)):
            parts = [go(a) for a in e.args]
            v = (max if isinstance(e, sp.Max) else min)(p[0] for p in parts)
            return v, max(p[1] for p in parts)
        if isinstance(e, sp.Piecewise):
            for expr, cond in e.args:
                if cond is sp.true or bool(_mp_eval(cond, values)):
                    return go(expr)
            raise ValueError("no Piecewise branch")
        if isinstance(e, sp.Abs):
            a, ea = go(e.args[0])
            return abs(a), ea
        if isinstance(e, (sp.acos, sp.asin)):
            a, ea = go(e.args[0])
            v = _mp_eval(e.func(sp.Float(a, 40)), {})
            room = 1 - a * a
            cond = float(ea / mpmath.sqrt(room)) if room > 0 else math.inf
            return v, min(cond, _HOLDER_ACOS * math.sqrt(ea)) + 2 * u * float(abs(v))
        if isinstance(e, sp.atan2):
            (y, ey), (x, ex) = go(e.args[0]), go(e.args[1])
            v = mpmath.atan2(y, x)
            r2 = x * x + y * y
            cond = float((abs(x) * ey + abs(y) * ex) / r2) if r2 > 0 else math.inf
            return v, min(cond, 2 * math.pi) + 2 * u * float(abs(v))
        if isinstance(e, sp.Function) and e.args:
            parts = [go(a) for a in e.args]
            ts = sp.symbols(f"_t0:{len(parts)}")
            at = {t: sp.Float(p[0], 40) for t, p in zip(ts, parts)}
            v = _mp_eval(e.func(*at.values()), {})
            cond = 0.0
            for t, (_, ei) in zip(ts, parts):
                if ei:
                    d = sp.diff(e.func(*ts), t)
                    cond += float(abs(_mp_eval(d.subs(at), {}))) * ei
            return v, cond + 2 * u * float(abs(v))
        raise ValueError(f"no forward-error rule for {type(e).__name__}")

    try:
        with mpmath.workdps(40):
            out = [go(c)[1] for c in components]
    except Exception:   # a construct without a rule: the caller keeps the plain gamma_N |terms| bound
        return None
    arr = np.array(out, dtype=np.float64) * (1 + 1e-6)   # the walk's own rounding, generously
    return arr if np.isfinite(arr).all() else None


def _mp_eval(e, values):
    """A SymPy expression's value at 40 digits (mpf), for the forward-error walk."""
    r = e.subs({s: sp.Float(v, 40) for s, v in values.items()}) if values else e
    if isinstance(r, sp.logic.boolalg.Boolean):
        if r not in (sp.true, sp.false):
            raise ValueError("undecided condition")
        return r is sp.true
    r = sp.N(r, 40)
    if not r.is_real:
        re, im = r.as_real_imag()
        if abs(float(im)) > 1e-20 * max(1.0, abs(float(re))):
            raise ValueError("complex value")
        r = re
    return mpmath.mpf(r)
