"""NNGP kernels of infinitely wide random networks: the ReLU arc-cosine recursion and the erf kernel.

Family ``kernels``: derivation ``theory._kernels`` (the paper's equation, derived) ·
estimators ``numerics._kernels`` · claims ``verify.claims._kernels`` · tests ``tests/test_kernels.py``.

Source: seed ``003_fa032fc7f3085293.txt`` (notes "dl theory"), section "kernels": "original kernels (neal
1994) + (lee et al. 2018) + (matthews et al. 2018) ... corresponds to kernel ker(x, x') =
E_{theta ~ W}[f(theta, x) f(theta, x')]", and "statistical physics ... in the limit of infinite width,
this prior is Gaussian, with a specific correlation kernel". The recursion is Lee et al. (ICLR 2018,
eq. 4 with the ReLU closed form of Cho & Saul 2009); the erf kernel is Williams (NIPS 1997, eq. 11).

Network (Lee et al. 2018): z^0 = W^0 x + b^0 with W^0_ij ~ N(0, sigma_w2 / d), b^0 ~ N(0, sigma_b2);
z^{l+1} = W^{l+1} relu(z^l) + b^{l+1} with W^{l+1}_ij ~ N(0, sigma_w2 / N). As N -> oo each z^l is a
centred Gaussian process with covariance K^l:

    K^0(x, x')     = sigma_w2 x^T x' / d + sigma_b2,
    K^{l+1}(x, x') = sigma_w2 E[relu(u) relu(u')] + sigma_b2,  (u, u') ~ N(0, K^l on {x, x'})
                   = sigma_w2/(2 pi) sqrt(K^l(x,x) K^l(x',x')) (sin theta + (pi - theta) cos theta) + sigma_b2,
    theta = acos(K^l(x,x') / sqrt(K^l(x,x) K^l(x',x'))).

| code                 | paper                     | meaning                                                     |
|----------------------|---------------------------|-------------------------------------------------------------|
| ``sigma_w2``         | sigma_w^2                 | weight variance (times fan-in)                              |
| ``sigma_b2``         | sigma_b^2                 | bias variance                                               |
| ``K_xx, K_xy, K_yy`` | K^l(x,x), K^l(x,x'), ...  | the 2 x 2 covariance of layer l on the pair {x, x'}         |
| ``depth``            | L                         | hidden ReLU layers; the output z^L has covariance K^L        |
| ``Sigma``            | Sigma                     | covariance of the erf unit's augmented weights u ~ N(0, Sigma) |
| ``A``                | --                        | Sigma = A A^T (the claims' parameter)                         |
| ``x_t``              | x~ = (1, x)               | augmented input of the erf network                          |

Derivations. The ReLU step embeds the pair's covariance in the plane (Cholesky: u = w^T g, u' = v^T g,
g ~ N(0, I_2)) and reuses ``theory._population_gradient.relu_kernel`` -- E[relu(w^T g) relu(v^T g)],
derived there by integration -- so the arc-cosine form is proven, not retyped. The erf kernel: by
Price's theorem (d/dc E[f(U) f(V)] = E[f'(U) f'(V)] for Gaussian (U, V) with covariance c; not a SymPy
step) and E[erf(U) erf(V)] = 0 at c = 0 (independent, odd), the kernel is the integral over c of
E[erf'(U) erf'(V)], which SymPy computes as a Gaussian double integral, then integrates in c to the
arcsin. Source of the Price step: Price (1958), used by Williams (1997) sec. 3.
"""

from __future__ import annotations

import functools

import sympy as sp

from ._derivation import Derivation, compare, statement_latex
from ._population_gradient import relu_kernel

__all__ = [
    "arccos_step",
    "derivation_arccos_step",
    "derivation_erf_kernel",
    "erf_kernel",
    "erf_kernel_statement",
    "nngp_relu",
    "nngp_relu_statement",
    "printed_arccos_step",
    "printed_erf_kernel",
]

K_xx, K_yy = sp.symbols("K_xx K_yy", positive=True)
K_xy = sp.Symbol("K_xy", real=True)
sigma_w2 = sp.Symbol("sigma_w2", positive=True)
sigma_b2 = sp.Symbol("sigma_b2", nonnegative=True)


def arccos_step(K_xx, K_xy, K_yy, sigma_w2, sigma_b2) -> sp.Expr:
    """sigma_w2 E[relu(u) relu(u')] + sigma_b2 for (u, u') ~ N(0, [[K_xx, K_xy], [K_xy, K_yy]]).

    The pair is written as u = w^T g, u' = v^T g with g ~ N(0, I_2) and w, v the rows of the Cholesky
    factor (w^T w = K_xx, w^T v = K_xy, v^T v = K_yy); the expectation is the derived ``relu_kernel``.
    """
    w = sp.Matrix([sp.sqrt(K_xx), 0])  # (2 x 1)
    v = sp.Matrix([K_xy / sp.sqrt(K_xx), sp.sqrt(K_yy - K_xy**2 / K_xx)])  # (2 x 1)
    return sigma_w2 * relu_kernel(w, v) + sigma_b2


def _printed_arccos(K_xx, K_yy, theta, sigma_w2, sigma_b2):
    """The printed step in its angle: sigma_w2/(2 pi) sqrt(K_xx K_yy) (sin theta + (pi - theta) cos theta) + sigma_b2."""
    return sigma_w2 / (2 * sp.pi) * sp.sqrt(K_xx * K_yy) * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) + sigma_b2


def _input_kernel(x_dot_x2, d, sigma_w2, sigma_b2):
    """K^0(x, x') = sigma_w2 x^T x' / d + sigma_b2 (the input layer)."""
    return sigma_w2 * x_dot_x2 / d + sigma_b2


def printed_arccos_step(K_xx, K_xy, K_yy, sigma_w2, sigma_b2) -> sp.Expr:
    """The issue's printed arc-cosine step at theta = acos(K_xy / sqrt(K_xx K_yy)): the statement under test."""
    return _printed_arccos(K_xx, K_yy, sp.acos(K_xy / sp.sqrt(K_xx * K_yy)), sigma_w2, sigma_b2)


_NAMES = {sigma_w2: r"\sigma_w^2", sigma_b2: r"\sigma_b^2"}


def nngp_relu_statement() -> str:
    """LaTeX statement of K^1 (one hidden ReLU layer), rendered from ``_printed_arccos`` and ``_input_kernel``."""
    k_xx, k_yy, x_dot_x2, d = sp.symbols("k_xx k_yy x_dot_x2 d", positive=True)  # shown only
    names = {**_NAMES, k_xx: "K^0(x,x)", k_yy: "K^0(x',x')", x_dot_x2: r"x^\top x'"}
    step = statement_latex(r"K^{1}(x, x') = \mathbb{E}[f(x) f(x')]", _printed_arccos, k_xx, k_yy, sp.Symbol("theta"),
                           sigma_w2, sigma_b2, symbol_names=names)
    return rf"{step},\quad " + statement_latex("K^0(x,x')", _input_kernel, x_dot_x2, d, sigma_w2, sigma_b2,
                                                symbol_names=names)


def nngp_relu(x: sp.Matrix, x2: sp.Matrix, sigma_w2, sigma_b2, depth: int) -> sp.Expr:
    """K^depth(x, x2) of a deep ReLU network (depth hidden layers), by iterating ``arccos_step``.

    x, x2: d x 1 Matrices. depth = 0 gives the input layer's sigma_w2 x^T x2 / d + sigma_b2.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"nngp_relu: depth must be an integer >= 0, got {depth!r}; depth = number of hidden ReLU layers.")
    if not isinstance(x, sp.MatrixBase) or not isinstance(x2, sp.MatrixBase) or x.shape != x2.shape or x.shape[1] != 1:
        raise ValueError(f"nngp_relu: x and x2 must be d x 1 SymPy Matrices of one shape, got {getattr(x, 'shape', None)} and {getattr(x2, 'shape', None)}.")
    d = x.shape[0]
    kxx = _input_kernel((x.T * x)[0], d, sigma_w2, sigma_b2)
    kxy = _input_kernel((x.T * x2)[0], d, sigma_w2, sigma_b2)
    kyy = _input_kernel((x2.T * x2)[0], d, sigma_w2, sigma_b2)
    diagonal = _diagonal_step()  # theta = 0 on the diagonal: sigma_w2 K / 2 + sigma_b2, derived
    for _ in range(depth):
        kxy = arccos_step(kxx, kxy, kyy, sigma_w2, sigma_b2)
        kxx, kyy = diagonal(kxx, sigma_w2, sigma_b2), diagonal(kyy, sigma_w2, sigma_b2)
    return kxy


@functools.cache
def _diagonal_step() -> sp.Lambda:
    """arccos_step at x = x' (K_xy = K_yy = K_xx), simplified: (K_xx, sigma_w2, sigma_b2) -> sigma_w2 K_xx / 2 + sigma_b2."""
    return sp.Lambda((K_xx, sigma_w2, sigma_b2), sp.simplify(arccos_step(K_xx, K_xx, K_xx, sigma_w2, sigma_b2)))


def derivation_arccos_step() -> Derivation:
    """sigma_w2 E[relu(u) relu(u')] + sigma_b2 (derived via relu_kernel) equals the printed arc-cosine step."""
    derived = arccos_step(K_xx, K_xy, K_yy, sigma_w2, sigma_b2)
    printed = printed_arccos_step(K_xx, K_xy, K_yy, sigma_w2, sigma_b2)
    return compare("sigma_w^2 E[relu(u) relu(u')] + sigma_b^2 for (u, u') ~ N(0, K^l), derived by integration in the "
                   "plane (relu_kernel), equals sigma_w^2/(2pi) sqrt(K_xx K_yy)(sin theta + (pi - theta) cos theta) + "
                   "sigma_b^2 (Lee et al. 2018; Cho & Saul 2009)", derived, printed, simplify=sp.simplify)


# --------------------------------------------------------------------------- erf (Williams 1997)

_s, _t = sp.symbols("s t", positive=True)  # x~^T Sigma x~, x~'^T Sigma x~'
_c = sp.Symbol("c", real=True)  # x~^T Sigma x~'


@functools.cache
def _erf_kernel_derived() -> sp.Expr:
    """E[erf(U) erf(V)] as a function of s = Var U, t = Var V, c = Cov(U, V), derived (see module docstring)."""
    p, q2 = sp.symbols("p q2", positive=True)  # U = p z1, V = q1 z1 + q2 z2, z ~ N(0, I_2)
    q1 = sp.Symbol("q1", real=True)
    z1, z2, y = sp.symbols("z1 z2 y", real=True)
    a = sp.Symbol("a", positive=True)
    erf_prime = sp.diff(sp.erf(y), y)  # 2/sqrt(pi) exp(-y^2)
    density = sp.exp(-(z1**2 + z2**2) / 2) / (2 * sp.pi)
    integrand = sp.powsimp(sp.expand(erf_prime.subs(y, p * z1) * erf_prime.subs(y, q1 * z1 + q2 * z2) * density),
                           combine="exp")
    inner = sp.simplify(sp.integrate(integrand, (z2, -sp.oo, sp.oo), conds="none"))  # C exp(-a z1^2)
    a_of = sp.factor(-sp.expand(sp.log(inner / inner.subs(z1, 0)), force=True) / z1**2)  # a > 0 by construction
    # integrate exp(-a z1^2) with a declared positive (SymPy's own branch choice flips the sign otherwise)
    price = sp.simplify((inner.subs(z1, 0) * sp.integrate(sp.exp(-a * z1**2), (z1, -sp.oo, sp.oo))).subs(a, a_of))
    # price = E[erf'(U) erf'(V)]; as a function of (s, t, c): s = p^2, t = q1^2 + q2^2, c = p q1
    P = sp.Symbol("P", positive=True)
    determinant = sp.expand((1 + 2 * p**2) * (1 + 2 * (q1**2 + q2**2)) - 4 * p**2 * q1**2)
    if sp.simplify(price - 4 / (sp.pi * sp.sqrt(determinant))) != 0:  # the Gaussian integral in (s, t, c) form
        raise RuntimeError(f"erf kernel derivation: E[erf'(U) erf'(V)] came out as {price}, not 4/(pi sqrt(det(I + 2K))).")
    antiderivative = sp.integrate(4 / (sp.pi * sp.sqrt(P - 4 * _c**2)), _c)
    kernel = antiderivative - antiderivative.subs(_c, 0)  # E[erf(U) erf(V)] = 0 at c = 0
    return kernel.subs(P, (1 + 2 * _s) * (1 + 2 * _t))


def _augmented_quadratics(A: sp.Matrix, x: sp.Matrix, x2: sp.Matrix):
    x_t, x2_t = sp.Matrix([1, *x]), sp.Matrix([1, *x2])  # (d+1 x 1): augmented inputs
    a, b = A.T * x_t, A.T * x2_t  # (d+1 x 1): u^T x~ = g^T A^T x~ for u = A g
    return (a.T * a)[0], (a.T * b)[0], (b.T * b)[0]


def erf_kernel(A: sp.Matrix, x: sp.Matrix, x2: sp.Matrix) -> sp.Expr:
    """E[erf(u^T x~) erf(u^T x~')] for u ~ N(0, Sigma), Sigma = A A^T, from the derived kernel."""
    s, c, t = _augmented_quadratics(A, x, x2)
    return _erf_kernel_derived().xreplace({_s: s, _t: t, _c: c})


def _printed_erf(s, c, t):
    """Williams (1997) eq. 11 in s = x~^T Sigma x~, c = x~^T Sigma x~', t = x~'^T Sigma x~': (2/pi) asin(2c / sqrt((1+2s)(1+2t)))."""
    return 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * s) * (1 + 2 * t)))


def printed_erf_kernel(A: sp.Matrix, x: sp.Matrix, x2: sp.Matrix) -> sp.Expr:
    """Williams (1997) eq. 11 as printed, at Sigma = A A^T and the augmented inputs of x, x2."""
    s, c, t = _augmented_quadratics(A, x, x2)
    return _printed_erf(s, c, t)


def erf_kernel_statement() -> str:
    """LaTeX statement of the erf kernel, rendered from ``_printed_erf``."""
    names = {_s: r"\tilde x^\top\Sigma\tilde x", _c: r"\tilde x^\top\Sigma\tilde x'", _t: r"\tilde x'^\top\Sigma\tilde x'"}
    lhs = r"\mathbb{E}_{u \sim N(0,\Sigma)}[\mathrm{erf}(u^\top\tilde x)\,\mathrm{erf}(u^\top\tilde x')]"
    return statement_latex(lhs, _printed_erf, _s, _c, _t, symbol_names=names)


def derivation_erf_kernel() -> Derivation:
    """The derived E[erf(U) erf(V)] (in s, t, c) equals Williams' printed arcsin form."""
    derived = _erf_kernel_derived()
    printed = _printed_erf(_s, _c, _t)
    return compare("E[erf(U) erf(V)], Var U = s, Var V = t, Cov = c: integral over c of E[erf'(U) erf'(V)] = "
                   "4/(pi sqrt((1+2s)(1+2t) - 4c^2)) (Price's theorem; the Gaussian integral by SymPy) equals "
                   "(2/pi) asin(2c / sqrt((1+2s)(1+2t))) (Williams 1997, eq. 11)", derived, printed)
