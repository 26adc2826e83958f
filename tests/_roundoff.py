"""Round-off tolerances for the tests, from Higham's standard model -- never a hand-typed atol/rtol.

Model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 2-3): every basic operation
(+, -, *, /, sqrt) is correctly rounded, fl(a op b) = (a op b)(1 + delta) with |delta| <= u, the unit
round-off u = eps / 2 (2^-53 for float64, 2^-24 for float32). A computation of n such operations along
any path commits a relative error of at most gamma_n = n u / (1 - n u) on each term, so

* a sum or dot product of n terms, in *any* order (MKL's blocked kernels, SIMD lanes, threads, FMA):
  |fl(sum a_i b_i) - sum a_i b_i| <= gamma_n sum |a_i b_i|;
* a matrix product chain A_1 ... A_k x with inner sizes n_1 .. n_k: |error| <= gamma_{n_1+...+n_k} |A_1| ... |A_k| |x|.

So a tolerance is ``roundoff(dtype, ops, scale)`` = gamma_ops * scale, where ``ops`` is an honest
operation count along the longest path and ``scale`` the *magnitude* of the quantity: the same
computation with every term replaced by its absolute value (sum |a_i b_i|, |A||B|, a norm bound). The
bound holds whatever the summation order, which is what makes a test CPU-independent: MKL's vendor code
paths and torch's SIMD kernels only change the order (and FMA use) within the model. Comparing two
computations of one exact quantity adds their two bounds. Elementary functions (exp, log, erf, tanh,
asin, ...) are not correctly rounded: glibc's and SLEEF's (torch's vectorised) are within 2 ulp,
i.e. 4 u relative, so each counts ``FUNCTION_OPS`` = 4 operations.

Conditioning is added where a step amplifies its input error: ``arc_error`` for acos / asin near +-1
(the Hoelder bound acos(1 - e) <= (pi / sqrt 2) sqrt(e), as in tests/test_population_gradient_properties.py).
The engine's own float64 version is ``numerics._compile.gamma``; this module takes the dtype.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

__all__ = ["FUNCTION_OPS", "unit_roundoff", "gamma", "roundoff", "arc_error", "cosine_error", "sympy_ops", "assert_within"]

FUNCTION_OPS = 4  # an elementary function within 2 ulp (glibc, SLEEF u10/u35 <= 2 ulp here): 4 u = 4 operations


def unit_roundoff(dtype=torch.float64) -> float:
    """u = eps / 2 of a torch or numpy floating dtype (2^-53 for float64, 2^-24 for float32)."""
    eps = torch.finfo(dtype).eps if isinstance(dtype, torch.dtype) else np.finfo(dtype).eps
    return float(eps) / 2


def gamma(n: int, dtype=torch.float64) -> float:
    """Higham's gamma_n = n u / (1 - n u): relative error bound of n operations in ``dtype``."""
    nu = n * unit_roundoff(dtype)
    if not 0 <= nu < 1:
        raise ValueError(f"gamma({n}, {dtype}): n u = {nu} is not < 1; no round-off bound at this length")
    return nu / (1 - nu)


def roundoff(dtype, ops: int, scale):
    """gamma_ops * scale: the error bound of ``ops`` operations on a quantity of magnitude ``scale``
    (a float, array or tensor of |terms| sums; broadcast elementwise)."""
    return gamma(ops, dtype) * scale


def arc_error(c: float, e: float) -> float:
    """Bound on |acos(c') - acos(c)| (= |asin(c') - asin(c)|) for |c' - c| <= e, |c|, |c'| <= 1.

    First order e / sqrt(1 - c_max^2) (mean value theorem, c_max = min(|c| + e, 1)), capped by the Hoelder
    bound at the ends, |acos(a) - acos(b)| <= acos(1 - |a - b|) = 2 asin(sqrt(|a - b| / 2)) <= (pi / sqrt 2) sqrt(e).
    """
    c_max = min(abs(c) + e, 1.0)
    first_order = e / math.sqrt(1 - c_max**2) if c_max < 1 else math.inf
    return min(first_order, math.pi / math.sqrt(2) * math.sqrt(e))


def cosine_error(n: int, dtype=torch.float64) -> float:
    """|fl(<x, y> / (||x|| ||y||)) - <x, y> / (||x|| ||y||)| for stored x, y of length n (also a Pearson
    correlation of already-centred data, e.g. np.corrcoef of integer ranks).

    Dot product: gamma_n sum|x_i y_i| <= gamma_n ||x|| ||y|| (Cauchy-Schwarz); each norm: relative
    gamma_{n+1} (n - 1 additions of squares, sqrt); their product and the division: 2 more. Together
    gamma_n + gamma_{2n+4} (1 + gamma_n) <= gamma_{3n+4}.
    """
    return gamma(3 * n + 4, dtype)


def sympy_ops(expr) -> int:
    """Operation count of evaluating a SymPy expression once: sympy's count_ops (as the engine counts, + 1
    for the final rounding), with each elementary function weighted FUNCTION_OPS instead of 1."""
    exprs = list(expr) if isinstance(expr, (sp.MatrixBase, list, tuple)) else [expr]
    total = 0
    for e in exprs:
        functions = sum(1 for a in sp.preorder_traversal(e) if isinstance(a, sp.Function))
        total = max(total, int(sp.count_ops(e)) + (FUNCTION_OPS - 1) * functions + 1)
    return total


def assert_within(actual, expected, bound, what: str = "") -> None:
    """Elementwise |actual - expected| <= bound (bound: float or broadcastable array); shapes must agree.

    The failure message gives the worst ratio |difference| / bound, so a violated derivation is visible.
    """
    a = torch.as_tensor(np.asarray(actual) if not isinstance(actual, torch.Tensor) else actual).double()
    b = torch.as_tensor(np.asarray(expected) if not isinstance(expected, torch.Tensor) else expected).double()
    assert a.shape == b.shape, f"{what}: shapes {tuple(a.shape)} != {tuple(b.shape)}"
    bound = torch.as_tensor(np.asarray(bound) if not isinstance(bound, torch.Tensor) else bound).double()
    diff = (a - b).abs()
    ok = diff <= bound
    if not bool(ok.all()):
        ratio = diff / bound.clamp_min(torch.finfo(torch.float64).tiny)
        i = int(ratio.reshape(-1).argmax())
        raise AssertionError(f"{what}: |actual - expected| exceeds its round-off bound at {int((~ok).sum())} of "
                             f"{ok.numel()} entries; worst (flat index {i}) difference {float(diff.reshape(-1)[i]):.3e}, "
                             f"bound {float(bound.expand_as(diff).reshape(-1)[i]):.3e}, ratio {float(ratio.reshape(-1)[i]):.3g}")
