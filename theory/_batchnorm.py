"""BatchNorm's backward pass as a projection (Tian's Theorem 5), derived by SymPy.

Family ``batchnorm``: derivation ``theory._batchnorm`` (the paper's equation, derived) ·
estimators ``numerics._batchnorm`` · claims ``verify.claims._batchnorm`` · tests ``tests/test_batchnorm.py``.

Sources: seed ``002_d1776dabe51410e6.txt`` lines ~118-155 ("Geometrical Interpretation of Batch Norm",
"Backward Gradient of Batch Norm [Theorem 5]", and the backward formulas quoted from Ioffe & Szegedy,
ICML 2015, Algorithm 1), and seed ``000_111be25265ff9c8a.txt`` lines ~552-603 ("After BN, backpropagated
gradient is zero-mean in each minibatch"; the BYOL ablation with ``x - x.mean(0).detach()`` and
``x / x.std(0).detach()``). One feature over a batch of m samples is a column f in R^m with the inner
product <a, b> = (1/m) sum_i a_i b_i (the seed's <.,.>_uni). The seed prints

    BN(f) = c1 P1perp f / ||P1perp f||_uni + c0 1,     g_f = J_BN(f)^T g = (c1 / sigma) P_{f,1}^perp g,

sigma the biased batch standard deviation, P_{f,1}^perp the orthogonal projection onto span{1, f}^perp.

| code                   | paper                     | meaning                                                   |
|------------------------|---------------------------|-----------------------------------------------------------|
| ``f``                  | f (Ioffe: x_i)            | one feature's pre-BN values over the batch, m x 1        |
| ``g``                  | g (Ioffe: dl/dy_i)        | gradient arriving at BN's output, m x 1                  |
| ``c1, c0``             | c1, c0 (Ioffe: gamma, beta) | BN's scale and shift                                   |
| ``eps``                | epsilon                   | sigma = sqrt(var + eps); the seed's Theorem 5 has eps = 0 |
| ``mu``, ``var``        | mu_B, sigma_B^2           | batch mean and *biased* batch variance                    |
| ``f_hat``              | f^ / f~ (Ioffe: x^_i)     | (f - mu 1) / sigma                                        |
| ``inner``              | <f, g>_uni                | (1/m) sum_i f_i g_i                                       |
| ``orthogonal_complement(g, *span)`` | P^perp_{span} g | orthogonal projection of g off span, under <.,.>_uni      |
| ``backward_operator``  | --                        | A g = g - mean(g) 1 - f_hat <g, f_hat>: the backward / (c1/sigma) |
| ``lam``                | --                        | eps / (var + eps): A's eigenvalue along f_hat             |

Derivations. ``batchnorm_vjp`` differentiates the forward pass (``Matrix.jacobian``); the identities are
proven by :func:`theory.compare` with a simplifier that writes sqrt(var + eps) as a positive symbol s,
reduces the numerator of derived - printed modulo s^2 - (var + eps) and expands (exact: the result equals
the difference). Findings, all derived here and checked against autograd in ``verify/claims/_batchnorm.py``:

* eps = 0: J^T g = (c1/sigma) P_{f,1}^perp g exactly (Theorem 5), for every batch size tested (2..6).
* eps > 0: J^T g = (c1/sigma) A g with A = P_{f,1}^perp + lam P_{f_hat}, lam = eps/(var + eps). The formula
  (c1/sigma)(g - mean g - f_hat mean(g f_hat)) stays exact, but A is not a projection (||f_hat||^2 =
  m(1 - lam) < m): A^2 - A = -lam(1 - lam) P_{f_hat}, largest (1/4) where var = eps, i.e. for
  small-variance features; the gradient stays zero-mean but is no longer orthogonal to f_hat.
* The seed's transcription of Ioffe & Szegedy's dl/dsigma_B^2 carries an extra factor -1/sqrt(sigma_B^2 + eps);
  as printed it is wrong. The original (-1/2)(sigma_B^2 + eps)^(-3/2) version equals J^T g.
* BYOL ablation (seed 000): with the mean detached the gradient is no longer zero-mean; with the std
  detached (mean live) it stays zero-mean but loses orthogonality to f_hat; see ``VARIANTS`` and
  :func:`variant_properties`.
"""

from __future__ import annotations

import functools

import sympy as sp

from ._derivation import Derivation, compare, statement_latex

__all__ = [
    "VARIANTS",
    "inner",
    "batch_mean",
    "batch_variance",
    "batch_sigma",
    "normalized",
    "batchnorm",
    "batchnorm_vjp",
    "orthogonal_complement",
    "backward_operator",
    "batchnorm_backward",
    "theorem5_backward",
    "weighted_batchnorm",
    "weighted_batchnorm_vjp",
    "weighted_theorem5_backward",
    "derivation_weighted_theorem5",
    "ioffe_szegedy_backward",
    "normalization_vjp",
    "rowwise",
    "variant_properties",
    "derivation_theorem5",
    "derivation_eps_backward",
    "derivation_eps_decomposition",
    "derivation_idempotency_gap",
    "derivation_ioffe_szegedy",
    "backward_operator_statement",
    "eps_backward_statement",
    "theorem5_statement",
]


# --------------------------------------------------------------------------- batch statistics


def _column(name: str, a) -> sp.Matrix:
    if not isinstance(a, sp.MatrixBase) or a.shape[1] != 1 or a.shape[0] < 2:
        raise ValueError(f"{name} must be an m x 1 SymPy Matrix with m >= 2 (one feature over a batch), got "
                         f"{type(a).__name__} of shape {getattr(a, 'shape', None)}; for several features use rowwise().")
    return sp.Matrix(a)


def inner(a: sp.Matrix, b: sp.Matrix, weights: sp.Matrix | None = None) -> sp.Expr:
    """<a, b>_uni = (1/m) sum_i a_i b_i; given weights p (summing to 1), <a, b>_p = sum_i p_i a_i b_i = E_p[a b]."""
    if weights is None:
        return (a.T * b)[0] / a.shape[0]
    return sum(w * x * y for w, x, y in zip(weights, a, b))


def batch_mean(a: sp.Matrix) -> sp.Expr:
    return sum(a) / a.shape[0]


def _ones(m: int) -> sp.Matrix:
    return sp.ones(m, 1)


def batch_variance(f: sp.Matrix, *, unbiased: bool = False) -> sp.Expr:
    """(1/m) sum (f_i - mu)^2 (BN's), or 1/(m-1) times the sum (``unbiased``: torch's ``x.std(0)``)."""
    f = _column("f", f)
    m = f.shape[0]
    c = f - batch_mean(f) * _ones(m)
    return (c.T * c)[0] / (m - 1 if unbiased else m)


def _printed_sigma(var, eps):
    """sigma = sqrt(var + eps) (typed once)."""
    return sp.sqrt(var + eps)


def batch_sigma(f: sp.Matrix, eps=0) -> sp.Expr:
    """sigma = sqrt(var + eps), var biased."""
    return _printed_sigma(batch_variance(f), eps)


def normalized(f: sp.Matrix, eps=0) -> sp.Matrix:
    """f_hat = (f - mu 1) / sqrt(var + eps) (Ioffe's x^)."""
    f = _column("f", f)
    return (f - batch_mean(f) * _ones(f.shape[0])) / batch_sigma(f, eps)


def batchnorm(f: sp.Matrix, c1, c0, eps=0) -> sp.Matrix:
    """BN(f) = c1 f_hat + c0 1 (training mode: batch statistics)."""
    return c1 * normalized(f, eps) + c0 * _ones(f.shape[0])


def _jacobian_vjp(y: sp.Matrix, f: sp.Matrix, g: sp.Matrix) -> sp.Matrix:
    if not all(isinstance(x, sp.Symbol) for x in f):
        raise ValueError("f must be a column of SymPy symbols to differentiate with respect to, e.g. sp.Matrix(sp.symbols('f0:4')).")
    return y.jacobian(f).T * _column("g", g)  # (m x m)^T (m x 1) -> (m x 1)


def batchnorm_vjp(f: sp.Matrix, g: sp.Matrix, c1, eps=0) -> sp.Matrix:
    """Derived backward pass J_BN(f)^T g, by differentiating the forward pass (f: symbols)."""
    return _jacobian_vjp(batchnorm(f, c1, 0, eps), f, g)


# --------------------------------------------------------------------------- Theorem 5 and its eps version


def orthogonal_complement(g: sp.Matrix, *span: sp.Matrix, weights: sp.Matrix | None = None) -> sp.Matrix:
    """P^perp_{span} g: g minus its <.,.>_uni-orthogonal (or <.,.>_p-orthogonal, given weights) projection onto span
    (Gram-Schmidt on span)."""
    g = _column("g", g)
    basis: list[sp.Matrix] = []
    for v in span:  # orthogonalise span, then remove each orthogonal direction from g
        v = _column("span vector", v)
        for b in basis:
            v = v - _projection_onto(v, b, weights)
        basis.append(v)
    for b in basis:
        g = g - _projection_onto(g, b, weights)
    return g


def _projection_onto(g: sp.Matrix, v: sp.Matrix, weights: sp.Matrix | None = None) -> sp.Matrix:
    """<g, v>/<v, v> v: the <.,.>_uni-orthogonal (or <.,.>_p-orthogonal) projection of g onto the line of v."""
    return v * (inner(g, v, weights) / inner(v, v, weights))  # (m x 1) * scalar


def _printed_operator(g, g_bar, one, f_hat, gf_bar):
    """A g = g - mean(g) 1 - f_hat mean(g f_hat) (typed once)."""
    return g - g_bar * one - f_hat * gf_bar


def _printed_scaled(c1, sigma, v):
    """(c1/sigma) v: Theorem 5's scale in front of P^perp g, or of A g (typed once)."""
    return c1 / sigma * v


def backward_operator(f: sp.Matrix, g: sp.Matrix, eps=0) -> sp.Matrix:
    """A g = g - mean(g) 1 - f_hat <g, f_hat>_uni, so that J^T g = (c1/sigma) A g for every eps >= 0."""
    f, g = _column("f", f), _column("g", g)
    f_hat = normalized(f, eps)
    return _printed_operator(g, batch_mean(g), _ones(f.shape[0]), f_hat, inner(g, f_hat))


def batchnorm_backward(f: sp.Matrix, g: sp.Matrix, c1, eps=0) -> sp.Matrix:
    """(c1/sigma)(g - mean(g) 1 - f_hat mean(g f_hat)), sigma = sqrt(var + eps): exact for every eps."""
    return _printed_scaled(c1, batch_sigma(f, eps), backward_operator(f, g, eps))


def theorem5_backward(f: sp.Matrix, g: sp.Matrix, c1, eps=0) -> sp.Matrix:
    """The seed's (c1/sigma) P^perp_{f,1} g; with eps > 0 (sigma = sqrt(var + eps)) it is *not* J^T g."""
    f = _column("f", f)
    return _printed_scaled(c1, batch_sigma(f, eps), orthogonal_complement(g, _ones(f.shape[0]), f))


# --------------------------------------------------------------------------- BN in the reformulation: E_{z_alpha}-weighted


def weighted_batchnorm(f: sp.Matrix, p: sp.Matrix, c1, c0) -> sp.Matrix:
    """BN(f) over the m values of z_alpha, statistics weighted by p = P(z_alpha): mu = E_p[f], sigma^2 = E_p[(f - mu)^2]."""
    f = _column("f", f)
    one = _ones(f.shape[0])
    centred = f - inner(f, one, p) * one
    return c1 * centred / sp.sqrt(inner(centred, centred, p)) + c0 * one


def weighted_batchnorm_vjp(f: sp.Matrix, g: sp.Matrix, p: sp.Matrix, c1) -> sp.Matrix:
    """Derived backward pass under <.,.>_p: the g_f with dl = <g_f, df>_p when dl = <g, dBN>_p, i.e.
    Lambda^{-1} J^T Lambda g, Lambda = diag(p) (f: symbols)."""
    J_T_Lambda_g = _jacobian_vjp(weighted_batchnorm(f, p, c1, 0), f, sp.diag(*p) * _column("g", g))
    return sp.Matrix([e / w for e, w in zip(J_T_Lambda_g, p)])


def weighted_theorem5_backward(f: sp.Matrix, g: sp.Matrix, p: sp.Matrix, c1) -> sp.Matrix:
    """The seed's 'BN in reformulation': (c1/sigma) P^perp_{f,1} g, sigma and the projection under <.,.>_p."""
    f = _column("f", f)
    one = _ones(f.shape[0])
    centred = f - inner(f, one, p) * one
    return _printed_scaled(c1, sp.sqrt(inner(centred, centred, p)), orthogonal_complement(g, one, f, weights=p))


# --------------------------------------------------------------------------- statements, rendered from the forms above
# Vectors and the projection are shown as single symbols; P^perp g itself is Gram-Schmidt (orthogonal_complement).

_c1, _sigma, _var, _eps = sp.symbols("c_1 sigma var epsilon", positive=True)
_g, _g_bar, _one, _f_hat, _gf_bar, _perp_g = sp.symbols("g g_bar one f_hat gf_bar perp_g")
_NAMES = {_g: r"\mathbf{g}", _g_bar: r"\bar{g}", _one: r"\mathbf{1}", _f_hat: r"\hat{\mathbf{f}}",
          _gf_bar: r"\overline{g\hat{f}}", _perp_g: r"P^\perp_{\mathbf{f},\mathbf{1}}\,\mathbf{g}", _var: r"\mathrm{var}"}
_JG = r"J_{BN}(\mathbf{f})^\top \mathbf{g}"


def _sigma_statement() -> str:
    return statement_latex(r"\sigma", _printed_sigma, _var, _eps, symbol_names=_NAMES)


def backward_operator_statement() -> str:
    """LaTeX ``A g = ...``, rendered from ``_printed_operator``."""
    return statement_latex(r"A\mathbf{g}", _printed_operator, _g, _g_bar, _one, _f_hat, _gf_bar, symbol_names=_NAMES)


def theorem5_statement(eps: bool = False) -> str:
    """Theorem 5's LaTeX statement (with eps: sigma = sqrt(var + eps) appended), from ``_printed_scaled``."""
    main = statement_latex(_JG, _printed_scaled, _c1, _sigma, _perp_g, symbol_names=_NAMES)
    return f"{main},\\ {_sigma_statement()}" if eps else main


def eps_backward_statement() -> str:
    """LaTeX statement of J^T g for eps >= 0, rendered from ``_printed_scaled`` and ``_printed_operator``."""
    main = statement_latex(_JG, lambda c1, sigma, *a: _printed_scaled(c1, sigma, _printed_operator(*a)),
                           _c1, _sigma, _g, _g_bar, _one, _f_hat, _gf_bar, symbol_names=_NAMES)
    return f"{main},\\ {_sigma_statement()}"


def ioffe_szegedy_backward(f: sp.Matrix, g: sp.Matrix, c1, eps=0, *, as_printed: bool = False) -> sp.Matrix:
    """dl/dx_i by the chain of Ioffe & Szegedy (2015, Alg. 1 backward), as quoted in seed 002.

    as_printed=False: dl/dsigma^2 = sum dl/dx^_i (x_i - mu) (-1/2)(sigma^2 + eps)^(-3/2) (the paper).
    as_printed=True: the seed's transcription, which multiplies that line by an extra -1/sqrt(sigma^2 + eps)
    (``sum ... (x_i - mu) . -1/sqrt(sigma^2+eps) . -1/(2 (sigma^2+eps)^{3/2})``).
    """
    x, dy = _column("f", f), _column("g", g)
    m = x.shape[0]
    mu, var = batch_mean(x), batch_variance(x)
    centred = x - mu * _ones(m)  # (m x 1)
    dx_hat = dy * c1  # dl/dx^_i = dl/dy_i . gamma
    factor = -1 / sp.sqrt(var + eps) if as_printed else 1
    dvar = sum(dx_hat[i] * centred[i] for i in range(m)) * factor * (-sp.Rational(1, 2)) * (var + eps) ** sp.Rational(-3, 2)
    dmu = sum(dx_hat[i] * -1 / sp.sqrt(var + eps) for i in range(m)) + dvar * sum(-2 * centred[i] for i in range(m)) / m
    return sp.Matrix([dx_hat[i] / sp.sqrt(var + eps) + dvar * 2 * centred[i] / m + dmu / m for i in range(m)])


# --------------------------------------------------------------------------- BYOL normalisation variants

# BYOL ablation (seed 000, line ~601): centring x - x.mean(0) ("mu"), its detached form ("mu‡"),
# scaling x / x.std(0) ("sigma", torch's unbiased std) and its detached form ("sigma‡"); centring first.
VARIANTS = {
    "-": ("none", "none"),
    "mu": ("batch", "none"),
    "sigma": ("none", "batch"),
    "mu,sigma": ("batch", "batch"),
    "mu‡": ("detached", "none"),
    "sigma‡": ("none", "detached"),
    "mu‡,sigma": ("detached", "batch"),
    "mu,sigma‡": ("batch", "detached"),
    "mu‡,sigma‡": ("detached", "detached"),
}
_MODES = ("none", "batch", "detached")


def normalization_vjp(f: sp.Matrix, g: sp.Matrix, *, center: str, scale: str) -> sp.Matrix:
    """Derived backward pass of x -> x - x.mean(0)[.detach()] -> x / x.std(0)[.detach()].

    A detached statistic is a constant symbol while differentiating and its value afterwards, as
    ``.detach()`` does. center/scale: "none", "batch" (live) or "detached".
    """
    if center not in _MODES or scale not in _MODES:
        raise ValueError(f"center={center!r}, scale={scale!r}: each must be one of {_MODES}.")
    f, g = _column("f", f), _column("g", g)
    m = f.shape[0]
    mu_d, s_d = sp.Symbol("mu_detached", real=True), sp.Symbol("s_detached", positive=True)
    x, values = f, {}
    if center != "none":
        mu = batch_mean(x)
        x = x - (mu_d if center == "detached" else mu) * _ones(m)
        values[mu_d] = mu
    if scale != "none":
        s = sp.sqrt(batch_variance(x, unbiased=True))
        x = x / (s_d if scale == "detached" else s)
        values[s_d] = s
    return _jacobian_vjp(x, f, g).xreplace(values)


def rowwise(fn, *mats: sp.Matrix, **kwargs) -> sp.Matrix:
    """Apply a per-feature closed form row by row: features x batch matrices (row k = feature k)."""
    rows = [fn(*(M[k, :].T for M in mats), **kwargs).T for k in range(mats[0].shape[0])]  # (1 x m) -> (m x 1) -> (1 x m)
    return sp.Matrix.vstack(*rows)  # (F x m)


# --------------------------------------------------------------------------- proofs


def _batch(m: int, name: str) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}0:{m}", real=True))


def _sigma_reducer(base: sp.Expr, linear_in: sp.Matrix | None = None):
    """Simplifier for compare(): powers base^(k/2) -> s^k, numerator reduced mod s^2 - base, expanded.

    The returned expression equals its input wherever s = sqrt(base) > 0, so "0" is a proof. Given
    ``linear_in`` (symbols the expression is linear and homogeneous in, e.g. g), each coefficient is
    reduced separately (m smaller problems) and the expression is rebuilt from them; the
    linearity itself is checked (second derivatives and the value at 0 vanish identically).
    """
    s = sp.Symbol("s_sigma", positive=True)
    target = sp.expand(base)

    def ratio(e):  # base / target when it is a positive number (sqrt(X/5) is stored as sqrt(5)/5 sqrt(X))
        if not (e.is_Pow and e.exp.is_Rational and e.exp.q == 2):
            return None
        r = sp.cancel(sp.expand(e.base) / target)
        return r if r.is_number and r.is_positive else None

    def reduce_one(expr):
        e = sp.S(expr).replace(lambda p: ratio(p) is not None, lambda p: (ratio(p) * s**2) ** p.exp)
        num, den = sp.fraction(sp.together(e))
        r = sp.expand(sp.rem(sp.expand(num), s**2 - target, s))
        return (r / den).xreplace({s: sp.sqrt(base)}) if r != 0 else sp.S.Zero

    def reduce(expr):
        if linear_in is None:
            return reduce_one(expr)
        xs = list(linear_in)
        at_zero = sp.S(expr).xreplace({x: 0 for x in xs})
        coefficients = [sp.diff(expr, x) for x in xs]
        if any(c.has(*xs) for c in coefficients):  # not linear: fall back to the whole expression
            return reduce_one(expr)
        return reduce_one(at_zero) + sum(reduce_one(c) * x for c, x in zip(coefficients, xs))

    return reduce


def _symbols(m: int):
    return _batch(m, "f"), _batch(m, "g"), sp.Symbol("c1", real=True), sp.Symbol("eps", positive=True)


def derivation_theorem5(m: int = 5) -> Derivation:
    """eps = 0: derived J_BN(f)^T g equals (c1/sigma) P^perp_{f,1} g (seed 002, Theorem 5), batch size m."""
    f, g, c1, _ = _symbols(m)
    derived = batchnorm_vjp(f, g, c1)
    printed = theorem5_backward(f, g, c1)
    return compare(f"m = {m}, eps = 0: J_BN(f)^T g from differentiating BN(f) = c1 (f - mu)/sigma + c0 equals "
                   "(c1/sigma) P^perp_{f,1} g under <f, g> = (1/m) sum f_i g_i (Theorem 5)", derived, printed,
                   simplify=_sigma_reducer(batch_variance(f), g))


def derivation_weighted_theorem5(m: int = 3) -> Derivation:
    """Weights p = P(z_alpha) (free p_1..p_{m-1}, p_m = 1 - their sum): the <.,.>_p-gradient of the p-weighted BN
    equals (c1/sigma) P^perp_{f,1} g with sigma and P^perp under <.,.>_p (the seed's 'Batch Norm in Reformulation')."""
    f, g, c1, _ = _symbols(m)
    free = list(_batch(m - 1, "p"))
    p = sp.Matrix(free + [1 - sum(free)])
    one = _ones(m)
    centred = f - inner(f, one, p) * one
    return compare(f"m = {m}, weights p = P(z_alpha): Lambda^-1 J^T Lambda g of BN with E_p-weighted mu, sigma equals "
                   "(c1/sigma) P^perp_{f,1} g under <a, b>_p = E_p[a b]", weighted_batchnorm_vjp(f, g, p, c1),
                   weighted_theorem5_backward(f, g, p, c1), simplify=_sigma_reducer(inner(centred, centred, p), g))


def derivation_eps_backward(m: int = 5) -> Derivation:
    """eps > 0: derived J^T g equals (c1/sigma)(g - mean(g) 1 - f_hat mean(g f_hat)), sigma = sqrt(var + eps)."""
    f, g, c1, eps = _symbols(m)
    return compare(f"m = {m}, eps > 0: J_BN(f)^T g equals (c1/sigma)(g - mean(g) 1 - f_hat mean(g f_hat)), "
                   "sigma = sqrt(var + eps)", batchnorm_vjp(f, g, c1, eps), batchnorm_backward(f, g, c1, eps),
                   simplify=_sigma_reducer(batch_variance(f) + eps))


def derivation_eps_decomposition(m: int = 5) -> Derivation:
    """eps > 0: A g = P^perp_{f,1} g + lam P_{f_hat} g, lam = eps/(var + eps): not a projection unless eps = 0."""
    f, g, _, eps = _symbols(m)
    var = batch_variance(f)
    lam = eps / (var + eps)
    f_hat = normalized(f, eps)
    printed = orthogonal_complement(g, _ones(m), f) + lam * _projection_onto(g, f_hat)
    return compare(f"m = {m}: g - mean(g) 1 - f_hat mean(g f_hat) = P^perp_{{f,1}} g + eps/(var + eps) P_{{f_hat}} g",
                   backward_operator(f, g, eps), printed, simplify=_sigma_reducer(var + eps, g))


def derivation_idempotency_gap(m: int = 5) -> Derivation:
    """eps > 0: A(A g) - A g = -lam (1 - lam) P_{f_hat} g: largest (1/4) where var = eps."""
    f, g, _, eps = _symbols(m)
    var = batch_variance(f)
    lam = eps / (var + eps)
    derived = backward_operator(f, backward_operator(f, g, eps), eps) - backward_operator(f, g, eps)
    printed = -lam * (1 - lam) * _projection_onto(g, normalized(f, eps))
    return compare(f"m = {m}: A^2 g - A g = -lam (1 - lam) P_{{f_hat}} g, lam = eps/(var + eps)", derived, printed,
                   simplify=_sigma_reducer(var + eps))


def derivation_ioffe_szegedy(m: int = 5) -> Derivation:
    """Ioffe & Szegedy's chain (original dl/dsigma^2) equals the derived J^T g, eps > 0."""
    f, g, c1, eps = _symbols(m)
    return compare(f"m = {m}: Ioffe & Szegedy's backward formulas (Alg. 1; dl/dsigma^2 with (-1/2)(sigma^2+eps)^(-3/2)) "
                   "equal the derived J_BN(f)^T g", batchnorm_vjp(f, g, c1, eps), ioffe_szegedy_backward(f, g, c1, eps),
                   simplify=_sigma_reducer(batch_variance(f) + eps))


@functools.cache
def variant_properties(m: int = 4) -> dict[str, tuple[bool, bool]]:
    """label -> (zero-mean, orthogonal to f_hat) of each BYOL variant's gradient, decided by SymPy.

    zero-mean: sum_i (J^T g)_i reduces to 0; orthogonal: sum_i (f_i - mu)(J^T g)_i reduces to 0.
    """
    f, g, _, _ = _symbols(m)
    centred = f - batch_mean(f) * _ones(m)
    reduce = _sigma_reducer(batch_variance(f, unbiased=True), g)
    out = {}
    for label, (center, scale) in VARIANTS.items():
        grad = normalization_vjp(f, g, center=center, scale=scale)
        out[label] = (reduce(sum(grad)) == 0, reduce((centred.T * grad)[0]) == 0)
    return out
