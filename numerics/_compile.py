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

Compiling once
--------------
Every function is made the way ``sympy.lambdify(..., cse=True)`` makes it -- common subexpressions, the
printer, then Python source exec'd in lambdify's namespace -- but by ``_lambdify_source`` /
``_function`` here, so that the *source text* can be kept and exec'd again later: a function built from
kept source is the same code in the same namespace as a fresh one, so it computes the same bits.

* **Lazily.** ``compile_closed_form`` builds only the float64 function and the operation count (they
  raise the compile errors). The rest is built on first use, under the ``compiling the closed form``
  step label, a failure raising the ``ClosedFormError`` compiling would have raised: the first
  ``evaluate`` (which the engine calls at every example) builds the magnitude, the 50-digit value and
  the jump-argument (switch) functions; the 50-digit magnitude only where the float64 magnitude is
  non-finite. A caller that only reads ``components`` (``_mutants.certify``) builds nothing more.
* **Once per process.** Compiling an expression already compiled in this process (same components,
  same argument symbols) returns a new ``CompiledClosedForm`` sharing the functions already built
  (nothing in it is mutated after it is built; its lists are the caller's own).
* **Once per machine: the disk cache.** Each built function is stored as its generated Python source
  (plus the operation counts), never as a pickle, in one small file per function:
  ``<dir>/<key[:2]>/<key>.<piece>.json`` with ``piece`` in main (float64 source + operation count), mag,
  mp, mp_mag, switch (and torch for ``lambdify_torch``). ``key`` is a SHA-256 of: a structural hash of the
  components (every node's type and ``srepr`` of every atom: symbol assumptions and Float precision
  included), ``srepr`` of the argument list, and the versions of Python, SymPy, torch, mpmath and NumPy
  and a hash of this file's source -- upgrading any of them, or editing this file, starts afresh.
  ``<dir>`` is ``$THEORYCHECK_CACHE_DIR/compile`` when that variable is set, else the user cache
  directory: ``$XDG_CACHE_HOME/theorycheck/compile`` (default ``~/.cache/theorycheck/compile``;
  ``~/Library/Caches/theorycheck/compile`` on macOS, ``%LOCALAPPDATA%\\theorycheck\\Cache\\compile`` on
  Windows). ``THEORYCHECK_CACHE_DIR=off`` (or ``0``, ``no``, ``none``, ``false``) disables the disk
  cache (the in-process one stays). Files are written to a temporary file and renamed into place
  (``os.replace``), each carries its key and a SHA-256 of its content; an entry that is missing,
  unreadable, corrupt or from another key is ignored and rebuilt (and rewritten) -- never an error,
  never a wrong function. The directory is safe to delete at any time (``rm -rf ~/.cache/theorycheck``);
  nothing prunes it. A closed form that failed to compile is never stored, so its error is raised anew;
  one holding an undefined or implemented function (``Function('f')``) is never cached. The stored
  source is executed when loaded: the directory is trusted as Python's own ``__pycache__`` is.
  ``clear_memory_cache()`` forgets the in-process cache.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import hashlib
import importlib
import itertools
import json
import linecache
import math
import os
import re
import sys
import tempfile
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pycode import MpmathPrinter
from sympy.printing.pytorch import TorchPrinter
from sympy.simplify.cse_main import cse as _cse
from sympy.utilities.lambdify import _EvaluatorPrinter, _get_namespace, _imp_namespace

__all__ = ["lambdify_torch", "CompiledClosedForm", "compile_closed_form", "gamma", "ClosedFormError", "forward_error",
           "cache_dir"]

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


def _unique_nodes(expr: sp.Basic) -> list[sp.Basic]:
    """Every distinct node (by identity) of ``expr``'s tree, each once: a DAG walk, linear where the tree
    shares subtrees (``has`` and ``preorder_traversal`` walk the tree, exponentially larger)."""
    seen: set[int] = set()
    out: list[sp.Basic] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        stack.extend(node.args)
    return out


_REWRITE_RULES = {
    sp.cot: lambda a: 1 / sp.tan(a), sp.sec: lambda a: 1 / sp.cos(a), sp.csc: lambda a: 1 / sp.sin(a),
    sp.coth: lambda a: 1 / sp.tanh(a), sp.sech: lambda a: 1 / sp.cosh(a), sp.csch: lambda a: 1 / sp.sinh(a),
    sp.acot: lambda a: sp.atan(1 / a), sp.asec: lambda a: sp.acos(1 / a), sp.acsc: lambda a: sp.asin(1 / a),
    sp.sinc: lambda a: sp.Piecewise((sp.sin(a) / a, sp.Ne(a, 0)), (1, True)),
    sp.erfcinv: lambda a: sp.erfinv(1 - a),
    sp.factorial: lambda a: sp.gamma(a + 1),
    sp.binomial: lambda a, b: sp.gamma(a + 1) / (sp.gamma(b + 1) * sp.gamma(a - b + 1)),
    sp.beta: lambda a, b=None: sp.gamma(a) * sp.gamma(a if b is None else b) / sp.gamma(a + (a if b is None else b)),
}


def _node_types(expr: sp.Basic) -> set[type]:
    return {type(n) for n in _unique_nodes(expr)}


def _contains(types: set[type], cls: type) -> bool:
    """``expr.has(cls)`` from the set of ``expr``'s node types."""
    return any(issubclass(t, cls) for t in types)


def _printer_rewrites(expr: sp.Basic) -> sp.Basic:
    """Functions with an exact rewrite into printable ones: reciprocal trigonometric and hyperbolic
    functions, sinc, factorial, binomial, beta, the incomplete gammas."""
    types = _node_types(expr)
    for f, rule in _REWRITE_RULES.items():
        if _contains(types, f):
            expr = expr.replace(lambda e, f=f: isinstance(e, f), lambda e, rule=rule: rule(*e.args))
            types = _node_types(expr)
    return expr


def _printable(expr: sp.Expr) -> sp.Expr:
    """Rewrite the constructs the torch printer gets wrong into ones it prints correctly."""
    expr = _printer_rewrites(sp.sympify(expr))
    if _contains(_node_types(expr), sp.Heaviside):   # replace() rebuilds nothing where nothing matches
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


# -- generated source: lambdify's steps, with the source text kept ----------------------------------------
# sympy.lambdify(args, exprs, modules=..., cse=True, printer=...) = cse, _EvaluatorPrinter.doprint, the
# printer's module imports, exec in the modules' namespace. Done here step by step so that the source can
# be stored (disk cache) and exec'd again: a fresh and a cached function are the same code in the same
# namespace. tests/test_compile_cache.py checks that the source equals lambdify's own.

_FUNCNAME = "_lambdifygenerated"
_MODULES = {"torch": lambda: [_TORCH_FIXES, "torch"], "mpmath": lambda: ["mpmath"]}
_generated = itertools.count(1)


def _torch_printer() -> _TorchPrinter:
    return _TorchPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                          "user_functions": {k: k for k in _TORCH_FIXES}})   # what lambdify gives its own printer


def _mpmath_printer(imp: Mapping) -> MpmathPrinter:
    # lambdify's default printer for modules="mpmath": user functions are the keys of the dict namespaces
    return MpmathPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                          "user_functions": {k: k for k in imp}})


def _implemented(exprs) -> dict:
    """lambdify's namespace of implemented functions (``implemented_function``); {} without undefined ones."""
    return _imp_namespace(list(exprs)) if any(_undefined(e) for e in exprs) else {}


def _undefined(expr) -> bool:
    return isinstance(expr, sp.Basic) and any(isinstance(n, AppliedUndef) or getattr(type(n), "_imp_", None) is not None
                                              for n in _unique_nodes(expr))


def _lambdify_source(kind: str, args: Sequence, exprs: Sequence, imp: Mapping | None = None, cse=None) -> dict:
    """``{"src": the source sympy.lambdify(args, exprs, cse=True) generates, "imports": [[module, name]]}``.

    ``cse``: ``_cse(exprs, list=False)`` if already computed (the float64 and the 50-digit value share it)."""
    printer = _torch_printer() if kind == "torch" else _mpmath_printer(imp or {})
    cses, body = cse if cse is not None else _cse(list(exprs), list=False)
    src = _EvaluatorPrinter(printer, False).doprint(_FUNCNAME, list(args), body, cses=cses)
    imports = [[mod, k] for mod, keys in (getattr(printer, "module_imports", None) or {}).items() for k in keys]
    return {"src": src, "imports": imports}


def _import_name(mod: str, name: str):
    """``from mod import name``."""
    module = importlib.import_module(mod)
    try:
        return getattr(module, name)
    except AttributeError:
        return importlib.import_module(f"{mod}.{name}")


def _function(kind: str, spec: Mapping, imp: Mapping | None = None) -> Callable:
    """Exec generated source in the namespace sympy.lambdify would give it."""
    namespace: dict = {}
    for m in [imp or {}, *_MODULES[kind]()][::-1]:     # the first has the highest priority
        namespace.update(_get_namespace(m))
    for mod, k in spec["imports"]:
        if k not in namespace:
            namespace[k] = _import_name(mod, k)
    namespace.update({"builtins": builtins, "range": range})
    src = spec["src"]
    filename = f"<lambdifygenerated-theorycheck-{next(_generated)}>"
    local: dict = {}
    exec(compile(src, filename, "exec"), namespace, local)
    fn = local[_FUNCNAME]
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)   # tracebacks show the line
    weakref.finalize(fn, linecache.cache.pop, filename, None)
    return fn


def _torch_call(fn: Callable) -> Callable[..., torch.Tensor]:
    def call(*values: torch.Tensor) -> torch.Tensor:
        values = [_as64(v) for v in values]
        out = fn(*values)
        like = values[0] if values else None
        parts = [_as64(o, like) for o in out]
        batch = torch.broadcast_shapes(*(p.shape for p in parts), *(v.shape for v in values))
        return torch.stack([p.expand(batch) for p in parts], dim=-1)  # (*batch, k)

    return call


def lambdify_torch(args: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]) -> Callable[..., torch.Tensor]:
    """Compile expressions to ``f(*tensors) -> (*batch, len(exprs))`` float64 tensor.

    Cached like the closed forms (module docstring): in this process and on disk, keyed by the expressions
    and the arguments."""
    args, exprs = list(args), [sp.sympify(e) for e in exprs]
    key = _key("lambdify_torch", args, exprs)
    if key is not None:
        hit = _memory_get(key)
        if hit is not None:
            return hit
        spec = _Disk.read(key, "torch", _valid_source)
        if spec is not None:
            try:
                fn = _torch_call(_function("torch", spec))
            except Exception:                       # unusable entry: rebuild below
                pass
            else:
                _memory_put(key, fn)
                return fn
    imp = _implemented(exprs)
    spec = _lambdify_source("torch", args, [_printable(e) for e in exprs])
    fn = _torch_call(_function("torch", spec, imp))
    if key is not None:
        _Disk.write(key, "torch", spec)
        _memory_put(key, fn)
    return fn


def _discrete(e: sp.Expr) -> bool:
    """Built only from sign() and numbers: a small exact value, computed without rounding."""
    if e.is_number or not e.has(sp.sign):
        return False
    return not e.replace(lambda x: isinstance(x, sp.sign), lambda x: sp.Integer(1)).free_symbols


_ONE = sp.Integer(1)


class _Discrete:
    """``_discrete`` for every node of one expression, each node's parts computed once (memoised by
    identity): ``has(sign)`` bottom-up, ``replace(sign -> 1)`` by the same walk as ``Basic.replace``,
    whether the result has free symbols bottom-up (``Basic.free_symbols`` is a union over the args)."""

    def __init__(self):
        self._sign: dict[int, tuple] = {}
        self._replaced: dict[int, tuple] = {}
        self._free: dict[int, tuple] = {}

    def __call__(self, e: sp.Expr) -> bool:
        if e.is_number or not self.has_sign(e):
            return False
        return not self.has_free(self.replaced(e))

    def has_sign(self, x) -> bool:          # == x.has(sp.sign)
        hit = self._sign.get(id(x))
        if hit is None:
            hit = self._sign[id(x)] = (x, isinstance(x, sp.sign) or any(self.has_sign(a) for a in x.args))
        return hit[1]

    def replaced(self, x):                  # == x.replace(lambda x: isinstance(x, sp.sign), lambda x: sp.Integer(1))
        if not isinstance(x, sp.Basic) or not self.has_sign(x):
            return x                        # replace() rebuilds nothing and matches nothing there
        hit = self._replaced.get(id(x))
        if hit is None:
            hit = self._replaced[id(x)] = (x, self._walk(x))
        return hit[1]

    def _walk(self, rv):
        args = rv.args                      # Basic.replace's walk(), with simultaneous=True
        if args:
            newargs = tuple([self.replaced(a) for a in args])
            if args != newargs:
                rv = rv.func(*newargs)
                for i, e in enumerate(args):
                    if rv == e and e != newargs[i]:
                        return rv
        if isinstance(rv, sp.sign) and _ONE != rv:
            rv = _ONE
        return rv

    def has_free(self, x) -> bool:          # == bool(x.free_symbols)
        hit = self._free.get(id(x))
        if hit is None:
            if type(x).free_symbols is sp.Basic.free_symbols:
                out = any(self.has_free(a) for a in x.args)
            else:                           # Symbol, and classes with bound variables (Integral, Lambda...)
                out = bool(x.free_symbols)
            hit = self._free[id(x)] = (x, out)
        return hit[1]


def _magnitude(e: sp.Expr) -> sp.Expr:
    """|terms| summed: an upper bound of |e| that also measures the cancellation inside it.

    Each distinct node is visited once (memoised by identity: a node's magnitude depends only on the node),
    and ``_discrete`` is evaluated with shared parts (``_Discrete``), not by walks of every subtree.
    """
    memo: dict[int, tuple[sp.Basic, sp.Expr]] = {}
    discrete = _Discrete()

    def go(e: sp.Expr) -> sp.Expr:
        hit = memo.get(id(e))
        if hit is not None:
            return hit[1]
        out = node(e)
        memo[id(e)] = (e, out)               # e kept alive: its id stays unique
        return out

    def node(e: sp.Expr) -> sp.Expr:
        if discrete(e):                      # e.g. (sign(h) + sign(h)**2)/2: exact, no cancellation error
            return sp.Abs(e)
        if e.is_Add or e.is_Mul:
            return e.func(*[go(a) for a in e.args])
        if e.is_Pow and e.exp.is_number:
            if e.exp.is_negative:
                # x**p, p < 0: relative error |p| times that of x, i.e. |x|**p * (|terms of x| / |x|)
                return sp.Abs(e.base) ** e.exp * go(e.base) / sp.Abs(e.base)
            return sp.Pow(go(e.base), e.exp)
        return sp.Abs(e)

    return go(e)


_EVERY_EXAMPLE = {"main", "mag", "mp", "switch"}     # the pieces CompiledClosedForm.evaluate builds


class _Functions:
    """The functions of one compiled expression, each built (or loaded from the disk cache) on first use and
    then never changed; shared by every ``CompiledClosedForm`` of that expression in this process.

    Pieces: ``main`` (float64 function, operation count), ``mag`` (float64 magnitude), ``mp`` (50-digit
    value), ``mp_mag`` (50-digit magnitude), ``switch`` (jump arguments at 50 digits, their float64
    magnitudes and operation counts; None without jumps).
    """

    def __init__(self, key: str | None, args: list, components: list):
        self.key, self.args, self.components = key, list(args), list(components)
        self.built: dict[str, object] = {}
        self._exprs: dict[str, list] = {}
        self._imp: dict | None = {} if key is not None else None   # a key: no undefined functions (see _key)

    # -- derived expressions (each computed once) ---------------------------------------------------------
    def exprs(self, what: str) -> list:
        hit = self._exprs.get(what)
        if hit is not None:
            return hit
        if what == "printable":
            out = [_printable(c) for c in self.components]
        elif what == "magnitude":
            out = [_magnitude(p) for p in self.exprs("printable")]
        elif what == "switches":
            out = _switches(self.components)
        elif what == "switch_printable":
            out = [_printable(c) for c in self.exprs("switches")]
        elif what == "printable_cse":       # common subexpressions of the value, for float64 and for 50 digits
            out = _cse(list(self.exprs("printable")), list=False)
        else:
            raise KeyError(what)
        self._exprs[what] = out
        return out

    def imp(self) -> dict:
        if self._imp is None:
            self._imp = _implemented(self.components)
        return self._imp

    # -- pieces -----------------------------------------------------------------------------------------
    def get(self, piece: str):
        try:
            return self.built[piece]
        except KeyError:
            pass
        value = self._load(piece) if self.key is not None else None
        if value is None:
            spec = self._spec(piece)
            value = self._make(piece, spec)
            if self.key is not None:
                _Disk.write(self.key, piece, spec)
        self.built[piece] = value[0]
        if _EVERY_EXAMPLE <= self.built.keys():
            self._exprs.clear()         # not kept for mp_mag, rarely needed: recomputed from the components then
        return value[0]

    def _load(self, piece: str):
        spec = _Disk.read(self.key, piece, _VALIDATORS[piece])
        if spec is None:
            return None
        try:
            return self._make(piece, spec)
        except Exception:           # an entry that does not build: ignored, rebuilt and rewritten
            return None

    def _make(self, piece: str, spec: dict) -> tuple:
        """(the piece's value,) from its stored form."""
        if piece == "main":
            return (_torch_call(_function("torch", spec["f64"], self.imp())), int(spec["ops"])),
        if piece == "mag":
            return _torch_call(_function("torch", spec, self.imp())),
        if piece in ("mp", "mp_mag"):
            return _function("mpmath", spec, self.imp()),
        if piece == "switch":
            if spec["n"] == 0:
                return None,
            return (_function("mpmath", spec["mp"], self.imp()), _torch_call(_function("torch", spec["mag"], self.imp())),
                    np.array(spec["ops"])),
        raise KeyError(piece)

    def _spec(self, piece: str) -> dict:
        """Build a piece's stored form from the expressions (the expensive part: rewriting, cse, printing)."""
        args = self.args
        if piece == "main":   # the compile errors come from here (_compile classifies them)
            f64 = _lambdify_source("torch", args, self.exprs("printable"), cse=self.exprs("printable_cse"))
            return {"f64": f64, "ops": max(int(sp.count_ops(c)) for c in self.components) + 1}
        try:
            if piece == "mag":
                return _lambdify_source("torch", args, [_printable(m) for m in self.exprs("magnitude")])
            if piece == "mp":
                return _lambdify_source("mpmath", args, self.exprs("printable"), self.imp(), cse=self.exprs("printable_cse"))
            if piece == "mp_mag":
                return _lambdify_source("mpmath", args, self.exprs("magnitude"), self.imp())
            if piece == "switch":
                switches = self.exprs("switches")
                if not switches:
                    return {"n": 0}
                printable = self.exprs("switch_printable")
                return {"n": len(switches), "mp": _lambdify_source("mpmath", args, printable, self.imp()),
                        "mag": _lambdify_source("torch", args, [_printable(_magnitude(p)) for p in printable]),
                        "ops": [int(sp.count_ops(c)) + 1 for c in switches]}
        except Exception as exc:
            raise ClosedFormError(f"closed_form could not be compiled: {_where(exc)}") from exc
        raise KeyError(piece)


@dataclasses.dataclass(eq=False)
class CompiledClosedForm:
    """A claim's closed form, flattened and compiled. ``shape`` is the SymPy shape (``()`` for scalars).

    Read-only in use: the functions (shared with other compilations of the same expression in this process)
    are built on first use; the lists are this object's own.
    """

    names: list[str]                # parameter names, in order
    param_shapes: list[tuple]       # their tensor shapes
    shape: tuple[int, ...]
    components: list[sp.Expr]
    symbols: list                   # the flattened SymPy arguments, in the order of _flat
    _fns: _Functions = dataclasses.field(repr=False)
    _step: Callable = dataclasses.field(default=None, repr=False)

    def _piece(self, piece: str):
        fns = self._fns
        if piece in fns.built:
            return fns.built[piece]
        with (self._step or _no_step)("compiling the closed form"):
            return fns.get(piece)

    # the compiled functions, by their former attribute names
    @property
    def ops(self) -> int:
        """max operation count over components, + 1 (for gamma_N)."""
        return self._piece("main")[1]

    @property
    def _f64(self) -> Callable:
        return self._piece("main")[0]

    @property
    def _mag(self) -> Callable:
        return self._piece("mag")

    @property
    def _mp(self) -> Callable:
        return self._piece("mp")

    @property
    def _mp_mag(self) -> Callable:
        return self._piece("mp_mag")

    @property
    def _switch_mp(self) -> Callable | None:
        s = self._piece("switch")
        return None if s is None else s[0]

    @property
    def _switch_mag(self) -> Callable | None:
        s = self._piece("switch")
        return None if s is None else s[1]

    @property
    def switch_ops(self) -> np.ndarray | None:
        """operation count of each jump argument (None without jumps)."""
        s = self._piece("switch")
        return None if s is None else s[2].copy()

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
        switch = self._piece("switch")
        if switch is None:
            return False
        switch_mp, switch_mag, switch_ops = switch
        flat = self._flat(params)
        with mpmath.workdps(MP_DIGITS):
            vals = np.array([abs(_mp_real(v)) for v in switch_mp(*[mpmath.mpf(x) for x in flat])])
        mags = np.abs(switch_mag(*flat).numpy().astype(np.float64))
        bound = 2.0 * np.array([gamma(int(n)) for n in switch_ops]) * mags
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
        mp = self._mp
        with mpmath.workdps(digits):
            hp = mp(*[mpmath.mpf(x) for x in flat])
            return np.array([_mp_real(v) for v in hp], dtype=np.float64)

    def refine(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
        """(reference at 2 x MP_DIGITS digits, bound on its error |v_50 - v_100|), or None where mpmath fails.

        The bound assumes that doubling the digits at least halves the error (see ``_stats.py``); the
        difference is taken at 100 digits and rounded up to float64.
        """
        flat = self._flat(params)
        mp = self._mp       # built outside the try: a compile error is raised, not taken for an mpmath failure
        try:
            with mpmath.workdps(2 * MP_DIGITS):
                args = [mpmath.mpf(x) for x in flat]
                hi = [_mp_real_mp(v) for v in mp(*args)]
                with mpmath.workdps(MP_DIGITS):
                    lo = [_mp_real_mp(v) for v in mp(*args)]
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

        The first call builds the functions every example needs (magnitude, 50-digit value, jump arguments for
        ``undecidable_switch``); one that cannot be built raises ClosedFormError.
        """
        flat = self._flat(params)
        f64, _ = self.evaluate_f64(params)
        mag = np.abs(self._mag(*flat).numpy().astype(np.float64))
        # Built here, outside the try below, what every example needs: a function that cannot be built is a
        # compile error raised by evaluate (not taken for an mpmath failure, nor left to undecidable_switch).
        self._mp
        self._piece("switch")
        try:
            values = self.evaluate_mp(flat)
        except Exception:
            values = f64
        if not np.isfinite(mag).all():  # same 50-digit fallback for the magnitude
            mp_mag = self._mp_mag
            with mpmath.workdps(MP_DIGITS):
                hp = np.array([abs(_mp_real(v)) for v in mp_mag(*[mpmath.mpf(x) for x in flat])])
            mag = np.where(np.isfinite(mag), mag, hp)
        with np.errstate(invalid="ignore"):
            err = float(np.nanmax(np.abs(f64 - values))) if np.isfinite(values).any() else float("nan")
        return values, mag, err


def _switches(components: list[sp.Expr]) -> list[sp.Expr]:
    """Arguments at which the closed form jumps: sign(u), Heaviside(u), Piecewise conditions u > v (as u - v).

    In preorder, first occurrence first; a subtree already walked (the same object) is not walked again --
    it could only repeat arguments already listed.
    """
    out: list[sp.Expr] = []
    seen: set[int] = set()
    keep: list[sp.Basic] = []          # walked nodes stay alive: their ids stay unique
    for comp in components:
        stack = [comp]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            keep.append(node)
            if isinstance(node, (sp.sign, sp.Heaviside, sp.floor, sp.ceiling)):
                out.append(node.args[0])
            elif isinstance(node, sp.Piecewise):
                for _, cond in node.args:
                    if isinstance(cond, sp.core.relational.Relational):
                        out.append(cond.lhs - cond.rhs)
            stack.extend(reversed(node.args))
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
    and ``compiling the closed form`` (also around each function built later, on first use).

    The same expression compiled again (in this process, or in another one through the disk cache) is not
    compiled again; see the module docstring.
    """
    symbolic = {n: s.symbols(n) for n, s in zip(names, specs)}
    with step("closed_form"):
        try:
            expr = closed_form(**symbolic)
        except Exception as exc:  # the user's code: report, never a traceback
            raise ClosedFormError(f"closed_form raised {_where(exc)}; it is called with SymPy symbols (Real -> Symbol, Vector(d) -> d x 1 Matrix) and must build a SymPy expression from them") from exc
    with step("compiling the closed form"):
        return _compile(expr, names, specs, symbolic, step)


def _compile(expr, names, specs, symbolic, step=_no_step) -> tuple[CompiledClosedForm, dict]:
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

    def compiled(fns: _Functions) -> tuple[CompiledClosedForm, dict]:
        return CompiledClosedForm(list(names), [tuple(s.shape) for s in specs], shape, components, args, fns, step), symbolic

    key = _key("closed_form", args, components)
    if key is not None:                  # compiled before (and so passed the checks below): in this process, on disk
        fns = _memory_get(key)
        if fns is None:
            fns = _Functions(key, args, components)
            main = fns._load("main")
            if main is None:
                fns = None
            else:
                fns.built["main"] = main[0]
                _memory_put(key, fns)
        if fns is not None:
            return compiled(fns)
    free = _free_symbols(components)
    stray = free - set(args)
    if stray:
        raise ClosedFormError(f"closed_form uses symbols {sorted(map(str, stray))} that are not parameters; declare them in params or substitute numbers")
    if _holds_any(components, {sp.I, sp.zoo, sp.nan}):
        raise ClosedFormError(f"closed_form contains I, zoo or nan: {str(expr)[:120]}; it must be a real, finite expression")
    fns = _Functions(key, args, components)
    try:
        spec = fns._spec("main")
        value = fns._make("main", spec)
    except PrintMethodNotImplementedError as exc:
        name = str(exc).splitlines()[0].rsplit(":", 1)[-1].strip()
        raise ClosedFormError(f"closed_form uses {name}, which has no torch translation; rewrite it with supported functions "
                              f"(the elementary ones, erf, erfc, erfinv, gamma, loggamma, digamma, polygamma(n, x), zeta(s), "
                              f"besselj / bessely of order 0 or 1, the incomplete gammas, Piecewise, Max, Min, sign, Heaviside)") from exc
    except Exception as exc:
        raise ClosedFormError(f"closed_form could not be compiled: {_where(exc)}") from exc
    fns.built["main"] = value[0]
    if key is not None:
        _Disk.write(key, "main", spec)
        _memory_put(key, fns)
    return compiled(fns)


def _free_symbols(components: Sequence) -> set:
    """``set().union(*(c.free_symbols for c in components))``, each distinct node once (``Basic.free_symbols``
    is the union over the args; Symbol and the classes with bound variables keep their own)."""
    memo: dict[int, tuple] = {}

    def go(x) -> frozenset:
        hit = memo.get(id(x))
        if hit is None:
            if type(x).free_symbols is sp.Basic.free_symbols:
                out = frozenset().union(*(go(a) for a in x.args))
            else:
                out = frozenset(x.free_symbols)
            hit = memo[id(x)] = (x, out)
        return hit[1]
    return set().union(*(go(c) for c in components))


def _holds_any(components: Sequence, atoms: set) -> bool:
    """``any(c.has(a) for a in atoms for c in components)`` for atoms (``has`` tests ``node == a``), each distinct
    node once."""
    return any(n in atoms for c in components for n in _unique_nodes(c))


# -- the caches ----------------------------------------------------------------------------------------
_CACHE_FORMAT = 1
_OFF = {"off", "0", "no", "none", "false", "disable", "disabled"}
_ENV: dict | None = None


def cache_dir() -> Path | None:
    """Where compiled closed forms are kept between runs (None: disabled). See the module docstring."""
    value = os.environ.get("THEORYCHECK_CACHE_DIR", "").strip()
    if value:
        return None if value.lower() in _OFF else Path(value).expanduser() / "compile"
    try:
        home = Path.home()
    except (RuntimeError, KeyError):
        home = None
    if sys.platform == "darwin" and home is not None:
        base = home / "Library" / "Caches" / "theorycheck"
    elif sys.platform.startswith("win") and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"]) / "theorycheck" / "Cache"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        if xdg and os.path.isabs(xdg):
            base = Path(xdg) / "theorycheck"
        elif home is not None:
            base = home / ".cache" / "theorycheck"
        else:
            return None
    return base / "compile"


def _environment() -> dict:
    """What generated code depends on besides the expression: the libraries and this file."""
    global _ENV
    if _ENV is None:
        _ENV = {"python": sys.version, "implementation": sys.implementation.name, "sympy": sp.__version__,
                "torch": torch.__version__, "mpmath": mpmath.__version__, "numpy": np.__version__,
                "compile.py": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}
    return _ENV


def _structure_digest(exprs: Sequence) -> bytes | None:
    """A hash of the expressions' structure: every node's type, every atom's ``srepr`` (symbol assumptions,
    Float precision), every other node's hashable content. Each distinct node is hashed once (the tree may
    be exponentially larger: ``srepr`` itself takes seconds on the largest built-in closed forms). None
    where an expression holds an undefined or implemented function (not cacheable)."""
    digests: dict[int, bytes] = {}
    keep: list = []

    def kind(node) -> bytes:
        t = type(node)
        return f"{t.__module__}.{t.__qualname__}".encode()

    stack: list = [(e, False) for e in reversed(list(exprs))]
    while stack:
        node, ready = stack.pop()
        if id(node) in digests:
            continue
        if not isinstance(node, sp.Basic):
            raise TypeError(f"not a SymPy object: {type(node).__name__}")
        if isinstance(node, AppliedUndef) or getattr(type(node), "_imp_", None) is not None:
            return None
        if node.is_Atom:
            h = hashlib.blake2b(b"A" + kind(node) + b"\0" + sp.srepr(node).encode(), digest_size=20).digest()
        else:
            content = node._hashable_content()
            if not ready:
                stack.append((node, True))
                stack.extend((x, False) for x in reversed(content) if isinstance(x, sp.Basic) and id(x) not in digests)
                continue
            h = hashlib.blake2b(b"N" + kind(node), digest_size=20)
            for x in content:
                if isinstance(x, sp.Basic):
                    h.update(b"B" + digests[id(x)])
                else:
                    r = f"{type(x).__module__}.{type(x).__qualname__}:{x!r}".encode()
                    h.update(b"R" + len(r).to_bytes(8, "little") + r)
            h = h.digest()
        digests[id(node)] = h
        keep.append(node)                 # alive: its id stays unique
    top = hashlib.blake2b(digest_size=20)
    for e in exprs:
        top.update(digests[id(e)])
    return top.digest()


def _key(what: str, args: Sequence, exprs: Sequence) -> str | None:
    """The cache key of compiling ``exprs`` as functions of ``args`` (None: not cacheable)."""
    try:
        structure = _structure_digest(exprs)
        if structure is None:
            return None
        text = json.dumps({"format": _CACHE_FORMAT, "what": what, "n": len(exprs), "exprs": structure.hex(),
                           "args": [sp.srepr(a) for a in args], "env": _environment()}, sort_keys=True)
    except Exception:      # unusual content (a non-SymPy leaf, a deep tree): compiled, not cached
        return None
    return hashlib.sha256(text.encode()).hexdigest()


_MEMORY: OrderedDict = OrderedDict()     # key -> _Functions (or a lambdify_torch function), least recent first
_MEMORY_SIZE = 512
_MEMORY_LOCK = threading.Lock()


def _memory_get(key: str):
    with _MEMORY_LOCK:
        hit = _MEMORY.get(key)
        if hit is not None:
            _MEMORY.move_to_end(key)
        return hit


def _memory_put(key: str, value) -> None:
    with _MEMORY_LOCK:
        _MEMORY[key] = value
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > _MEMORY_SIZE:
            _MEMORY.popitem(last=False)


def clear_memory_cache() -> None:
    """Forget what this process compiled (the disk cache is kept)."""
    with _MEMORY_LOCK:
        _MEMORY.clear()


_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _valid_source(spec) -> bool:
    return (isinstance(spec, dict) and isinstance(spec.get("src"), str) and isinstance(spec.get("imports"), list)
            and all(isinstance(i, list) and len(i) == 2 and all(isinstance(s, str) for s in i)
                    and _MODULE_NAME.match(i[0]) and _NAME.match(i[1]) for i in spec["imports"]))


def _valid_count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1


def _valid_switch(spec) -> bool:
    if not isinstance(spec, dict) or not isinstance(spec.get("n"), int):
        return False
    if spec["n"] == 0:
        return True
    return (_valid_source(spec.get("mp")) and _valid_source(spec.get("mag")) and isinstance(spec.get("ops"), list)
            and len(spec["ops"]) == spec["n"] and all(_valid_count(n) for n in spec["ops"]))


_VALIDATORS = {"main": lambda s: isinstance(s, dict) and _valid_source(s.get("f64")) and _valid_count(s.get("ops")),
               "mag": _valid_source, "mp": _valid_source, "mp_mag": _valid_source, "switch": _valid_switch}


class _Disk:
    """One file per (key, piece): a JSON header line (format, key, piece, SHA-256 of the rest), then the
    piece as JSON. Every failure to read is a miss, every failure to write is ignored."""

    @staticmethod
    def path(key: str, piece: str) -> Path | None:
        root = cache_dir()
        return None if root is None else root / key[:2] / f"{key}.{piece}.json"

    @staticmethod
    def read(key: str, piece: str, valid: Callable[[object], bool]):
        try:
            path = _Disk.path(key, piece)
            if path is None:
                return None
            data = path.read_bytes()
            head, _, body = data.partition(b"\n")
            header = json.loads(head)
            if (not isinstance(header, dict) or header.get("format") != _CACHE_FORMAT or header.get("key") != key
                    or header.get("piece") != piece or header.get("sha256") != hashlib.sha256(body).hexdigest()):
                return None
            spec = json.loads(body)
            return spec if valid(spec) else None
        except Exception:
            return None

    @staticmethod
    def write(key: str, piece: str, spec) -> None:
        tmp = None
        try:
            path = _Disk.path(key, piece)
            if path is None:
                return
            body = json.dumps(spec, separators=(",", ":")).encode()
            head = json.dumps({"format": _CACHE_FORMAT, "key": key, "piece": piece,
                               "sha256": hashlib.sha256(body).hexdigest()}).encode()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(head + b"\n" + body)
            os.replace(tmp, path)
            tmp = None
        except Exception:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(Exception):
                    os.unlink(tmp)


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
            return step(e), 0.0
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
                if truth(cond):
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

    # Switches and conditions from their arguments' values in the walk (memoized), not by substituting into the
    # whole expression: a subs per Heaviside made one bound take seconds on the recursive-gradient forms.
    def step(e):
        try:
            a = go(e.args[0])[0]
        except (ValueError, TypeError, ArithmeticError):   # an argument the walk has no rule for: substitute
            return _mp_eval(e, values)
        if isinstance(e, sp.sign):
            return mpmath.mpf(mpmath.sign(a))
        if isinstance(e, sp.floor):
            return mpmath.floor(a)
        if isinstance(e, sp.ceiling):
            return mpmath.ceil(a)
        if a == 0:      # Heaviside(0): SymPy's H0 argument (1/2 by default)
            return _mp_eval(e.func(0, *e.args[1:]), {})
        return mpmath.mpf(1 if a > 0 else 0)

    def truth(c) -> bool:
        if c is sp.true or c is sp.false:
            return c is sp.true
        if isinstance(c, sp.And):
            return all(truth(a) for a in c.args)
        if isinstance(c, sp.Or):
            return any(truth(a) for a in c.args)
        if isinstance(c, sp.Not):
            return not truth(c.args[0])
        if isinstance(c, sp.core.relational.Relational) and c.rel_op in ("<", "<=", ">", ">="):
            try:
                lhs, rhs = go(c.lhs)[0], go(c.rhs)[0]
            except (ValueError, TypeError, ArithmeticError):   # a side the walk has no rule for: substitute
                return bool(_mp_eval(c, values))
            return bool({"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs}[c.rel_op])
        return bool(_mp_eval(c, values))

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
