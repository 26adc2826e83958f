"""Soft committee machines with g(x) = erf(x / sqrt 2): the Gaussian integrals I2, I3, I4 and the
generalization error as a function of the order parameters (Q, R, T).

Family ``committee``: derivation ``theory._committee`` (the paper's equation, derived) ·
estimators ``numerics._committee`` · claims ``verify.claims._committee`` · tests ``tests/test_committee.py``.

Source: seed ``000_111be25265ff9c8a.txt`` ("Old History of Teacher-Student Setting"), citing D. Saad &
S. Solla, *On-line learning in soft committee machines*, Phys. Rev. E 52, 4225 (1995), eqs. (8)-(9) and
Appendix (I2, I3, I4), and S. Goldt et al., *Dynamics of SGD for two-layer neural networks in the
teacher-student setup*, NeurIPS 2019 (same integrals, their eqs. (S.21)-(S.27)). The slide prints
``sigma(x) = erf(x / 2)``: a lost square root. Every formula below (and in both papers) needs
erf(x / sqrt 2); with erf(x / 2) I2 is (2/pi) arcsin(C12 / sqrt((2 + C11)(2 + C22))) (``i2`` with
``kappa = 1/2``), and the claim ``committee-i2-seed-erf-x-over-2`` shows the printed I2 false for it.

| code                  | paper                  | meaning                                                         |
|-----------------------|------------------------|-----------------------------------------------------------------|
| ``kappa``             | --                     | g(x) = erf(kappa x); Saad & Solla: kappa = 1/sqrt 2               |
| ``C`` (2x2, 3x3, 4x4) | C                      | covariance of the local fields (u, v, w, z) ~ N(0, C)            |
| ``i2(C)``             | I2(C)                  | E[g(u) g(v)]                                                     |
| ``i3(C)``             | I3(C)                  | E[g'(u) v g(w)]                                                  |
| ``i4(C)``             | I4(C)                  | E[g'(u) g'(v) g(w) g(z)]                                         |
| ``Lambda0..Lambda4``  | Lambda_0 .. Lambda_4   | minors of I + C (I on the first two fields only) in I4           |
| ``W, W_star``         | J_i, B_n (w_k, w*_m)   | student (K x d) / teacher (M x d) first-layer weights             |
| ``Q, R, T``           | Q_ik, R_in, T_nm       | W W^T, W W*^T, W* W*^T (x ~ N(0, I_d), fields W x: N = 1 scaling) |
| ``generalization_error`` | epsilon_g           | 1/2 E[(sum_i g(w_i.x) - sum_n g(w*_n.x))^2]                      |

What is derived and what is stated.

* I2 is **derived**: by Price's theorem dI2/dC12 = E[g'(u) g'(v)] (a theorem, used, not re-proven), and
  SymPy computes that Gaussian integral with (u, v) = L z, L the Cholesky factor, integrating out z2
  then z1 (each a 1-D Gaussian integral, the square completed by a shift of the integration variable);
  ``derivation_i2`` proves the result equal to d/dC12 of the printed form and the printed form 0 at
  C12 = 0 (where I2 = E g(u) E g(v) = 0, g odd). Fundamental theorem of calculus: printed = I2.
* I3, I4 are **stated** (Saad & Solla's appendix, as printed) and checked by Monte Carlo only.
* epsilon_g is **derived** from I2 by expanding the square (SymPy) and linearity of the expectation;
  ``derivation_generalization_error`` proves it equal to Saad & Solla's eq. (9) as printed (in arcsin).

Robust evaluation. I2 and I4 are arcsins of ratios whose modulus is < 1 in exact arithmetic but tends
to 1 at the edge rho = +-1 (the two g-fields perfectly correlated) as their variances grow (the +1's
in the denominators become negligible). In float64, from variances ~1e16 (weights ~1e8) on, the
ratio rounds to 1 + 2^-52 for a third of such draws (arcsin -> NaN; tests), and for C ~ 1e155 the
product under the square root overflows (ratio -> 0, I -> 0 silently). Samplers that compute
rho = C12 / sqrt(C11 C22) and sqrt(1 - rho^2) fail at the same edge (NaN), and at tiny scales (C11 C22
underflows to 0: rho = 0/0). ``robust`` replaces each sqrt(a b) by sqrt(a) sqrt(b) and clamps every
arcsin argument to [-1, 1]: equal on the domain (positive semi-definite C), finite everywhere.
``numerics._committee`` evaluates these forms; the Monte Carlo claims sample through exact factors.
"""

from __future__ import annotations

import functools
from typing import Sequence

import sympy as sp

from ._derivation import Derivation, compare, statement_latex
from ._domain import clamp_to_domain

__all__ = [
    "derivation_generalization_error",
    "derivation_i2",
    "derived_price_integrand",
    "generalization_error",
    "gram",
    "i2",
    "i2_statement",
    "i3",
    "i3_statement",
    "i4",
    "i4_statement",
    "order_parameter_error",
    "printed_generalization_error",
    "robust",
    "saad_solla_field",
    "KAPPA",
]

KAPPA = 1 / sp.sqrt(2)  # Saad & Solla's g(x) = erf(x / sqrt 2)
kappa = sp.Symbol("kappa", positive=True)
C11, C22 = sp.symbols("C11 C22", positive=True)
C12 = sp.Symbol("C12", real=True)


def _entries(C) -> sp.Matrix:
    C = sp.Matrix(C)
    if C.rows != C.cols:
        raise ValueError(f"a covariance must be square, got shape {C.shape}; pass the symmetric matrix of the fields.")
    return C


def gram(*vectors: sp.Matrix) -> sp.Matrix:
    """C_ab = v_a^T v_b: the covariance of the fields (v_a^T x) for x ~ N(0, I)."""
    return sp.Matrix(len(vectors), len(vectors), lambda a, b: (vectors[a].T * vectors[b])[0])


# --------------------------------------------------------------------------- closed forms (printed)


def i2(C, kappa_value=KAPPA) -> sp.Expr:
    """I2(C) = E[g(u) g(v)] = (2/pi) arcsin(2k^2 C12 / sqrt((1 + 2k^2 C11)(1 + 2k^2 C22))), g = erf(k x)."""
    C = _entries(C)
    s = 2 * kappa_value**2
    return 2 / sp.pi * sp.asin(s * C[0, 1] / sp.sqrt((1 + s * C[0, 0]) * (1 + s * C[1, 1])))


def i3(C) -> sp.Expr:
    """I3(C) = E[g'(u) v g(w)] = (2/pi) (C23 (1 + C11) - C12 C13) / ((1 + C11) sqrt(Lambda3))  (Saad & Solla)."""
    C = _entries(C)
    lam3 = (1 + C[0, 0]) * (1 + C[2, 2]) - C[0, 2] ** 2
    return 2 / sp.pi * (C[1, 2] * (1 + C[0, 0]) - C[0, 1] * C[0, 2]) / ((1 + C[0, 0]) * sp.sqrt(lam3))


def _lambdas(C) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(Lambda4, Lambda0, Lambda1, Lambda2) of Saad & Solla's I4, fields indexed 1..4 -> 0..3."""
    c = lambda a, b: C[a - 1, b - 1]  # noqa: E731  1-based, as printed
    lam4 = (1 + c(1, 1)) * (1 + c(2, 2)) - c(1, 2) ** 2
    lam0 = (lam4 * c(3, 4) - c(2, 3) * c(2, 4) * (1 + c(1, 1)) - c(1, 3) * c(1, 4) * (1 + c(2, 2))
            + c(1, 2) * c(1, 3) * c(2, 4) + c(1, 2) * c(1, 4) * c(2, 3))
    lam1 = lam4 * (1 + c(3, 3)) - c(2, 3) ** 2 * (1 + c(1, 1)) - c(1, 3) ** 2 * (1 + c(2, 2)) + 2 * c(1, 2) * c(1, 3) * c(2, 3)
    lam2 = lam4 * (1 + c(4, 4)) - c(2, 4) ** 2 * (1 + c(1, 1)) - c(1, 4) ** 2 * (1 + c(2, 2)) + 2 * c(1, 2) * c(1, 4) * c(2, 4)
    return lam4, lam0, lam1, lam2


def _printed_i4(lam4, lam0, lam1, lam2) -> sp.Expr:
    """(4/pi^2) Lambda4^(-1/2) arcsin(Lambda0 / sqrt(Lambda1 Lambda2)), in the Lambdas (typed once)."""
    return 4 / sp.pi**2 / sp.sqrt(lam4) * sp.asin(lam0 / sp.sqrt(lam1 * lam2))


def i4(C) -> sp.Expr:
    """I4(C) = E[g'(u) g'(v) g(w) g(z)] = (4/pi^2) Lambda4^(-1/2) arcsin(Lambda0 / sqrt(Lambda1 Lambda2))."""
    return _printed_i4(*_lambdas(_entries(C)))


# --------------------------------------------------------------------------- statements, rendered from the forms above
# evaluate=True: 2 kappa^2 = 1 folds, so I2 shows as Saad & Solla print it.

_C = sp.Matrix(4, 4, lambda a, b: sp.Symbol(f"C_{{{min(a, b) + 1}{max(a, b) + 1}}}"))  # symmetric, shown only
_G = r"g(x) = \mathrm{erf}(x/\sqrt{2})"


def i2_statement(lhs: str = r"I_2(C) = \mathbb{E}[g(u)g(v)]") -> str:
    """LaTeX statement of I2 (default kappa), rendered from ``i2``; lhs names the expectation."""
    return statement_latex(lhs, i2, _C, evaluate=True)


def i3_statement() -> str:
    """LaTeX statement of I3, rendered from ``i3``."""
    return statement_latex(r"I_3(C) = \mathbb{E}[g'(u)\,v\,g(w)]", i3, _C, evaluate=True)


def i4_statement() -> str:
    """LaTeX statement of I4 in Saad & Solla's Lambdas, rendered from ``_printed_i4`` (the Lambdas stay named)."""
    lambdas = sp.symbols("Lambda_4 Lambda_0 Lambda_1 Lambda_2")
    return statement_latex(r"I_4(C) = \mathbb{E}[g'(u)g'(v)g(w)g(z)]", _printed_i4, *lambdas, evaluate=True)


def _order_parameters(W: sp.Matrix, W_star: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    if W.cols != W_star.cols:
        raise ValueError(f"W is {W.shape} and W_star is {W_star.shape}: both need the input dimension as columns.")
    return W * W.T, W * W_star.T, W_star * W_star.T  # (K, K), (K, M), (M, M)


def printed_generalization_error(Q: sp.Matrix, R: sp.Matrix, T: sp.Matrix) -> sp.Expr:
    """Saad & Solla eq. (9), as printed: (1/pi)[sum_ik asin(Q_ik/..) + sum_nm asin(T_nm/..) - 2 sum_in asin(R_in/..)]."""
    K, M = R.shape
    a = lambda x, p, q: sp.asin(x / (sp.sqrt(1 + p) * sp.sqrt(1 + q)))  # noqa: E731
    return (sum(a(Q[i, k], Q[i, i], Q[k, k]) for i in range(K) for k in range(K))
            + sum(a(T[n, m], T[n, n], T[m, m]) for n in range(M) for m in range(M))
            - 2 * sum(a(R[i, n], Q[i, i], T[n, n]) for i in range(K) for n in range(M))) / sp.pi


def order_parameter_error(Q: sp.Matrix, R: sp.Matrix, T: sp.Matrix) -> sp.Expr:
    """epsilon_g(Q, R, T) = 1/2 E[(sum_i g(lambda_i) - sum_n g(nu_n))^2]: the square expanded by SymPy,
    each E[g(a) g(b)] replaced by I2 of the pair's 2x2 covariance (linearity of the expectation)."""
    K, M = R.shape
    lam, nu = sp.symbols(f"lambda_0:{K}"), sp.symbols(f"nu_0:{M}")
    g = sp.Function("g")
    square = sp.expand((sum(g(x) for x in lam) - sum(g(y) for y in nu)) ** 2 / 2)
    fields = list(lam) + list(nu)
    C = sp.BlockMatrix([[Q, R], [R.T, T]]).as_explicit()  # covariance of (lambda, nu): (K+M, K+M)

    def expectation(term: sp.Expr) -> sp.Expr:  # coefficient * g(a) g(b) (or g(a)**2) -> coefficient * I2
        coeff, gs = term.as_coeff_mul()
        args = [f.base.args[0] for f in gs for _ in range(f.exp)] if len(gs) == 1 and gs[0].is_Pow else [f.args[0] for f in gs]
        a, b = (fields.index(x) for x in args)
        return coeff * i2(sp.Matrix([[C[a, a], C[a, b]], [C[b, a], C[b, b]]]))

    return sp.Add(*[expectation(t) for t in square.args])


def generalization_error(W: sp.Matrix, W_star: sp.Matrix) -> sp.Expr:
    """epsilon_g(Q, R, T) of the erf committee, from the order parameters of W (K x d) and W* (M x d)."""
    return order_parameter_error(*_order_parameters(sp.Matrix(W), sp.Matrix(W_star)))


def _sub(C: sp.Matrix, idx: Sequence[int]) -> sp.Matrix:
    return sp.Matrix(len(idx), len(idx), lambda a, b: C[idx[a], idx[b]])


def saad_solla_field(Q: sp.Matrix, R: sp.Matrix, T: sp.Matrix, eta) -> tuple[sp.Matrix, sp.Matrix]:
    """(dQ/dalpha, dR/dalpha) of online SGD on the erf committee (Saad & Solla 1995, eqs. (10)-(11)).

    Update J_i <- J_i + (eta/N) delta_i xi, delta_i = g'(lambda_i) (sum_n g(nu_n) - sum_j g(lambda_j)), with
    lambda = J xi, nu = B xi, xi ~ N(0, I_N), alpha = steps / N. Averaging the increments of R_in = J_i.B_n
    and Q_ik = J_i.J_k over xi (|xi|^2 / N -> 1) gives, as N -> oo,
        dR_in/dalpha = eta <delta_i nu_n>,
        dQ_ik/dalpha = eta <delta_i lambda_k + delta_k lambda_i> + eta^2 <delta_i delta_k>,
    and each average is expanded here by linearity into the stated integrals I3 (<g'(a) b g(c)>) and I4
    (<g'(a) g'(b) g(c) g(d)>) of the fields' covariance C = [[Q, R], [R^T, T]].
    """
    K, M = R.shape
    C = sp.BlockMatrix([[Q, R], [R.T, T]]).as_explicit()
    students, teachers = list(range(K)), list(range(K, K + M))

    def e_delta_times(i: int, b: int) -> sp.Expr:  # <delta_i * field_b>
        return (sum(i3(_sub(C, (i, b, m))) for m in teachers) - sum(i3(_sub(C, (i, b, j))) for j in students))

    def e_delta_delta(i: int, k: int) -> sp.Expr:  # <delta_i delta_k>
        terms = [(1 if (c in teachers) == (d in teachers) else -1) * i4(_sub(C, (i, k, c, d)))
                 for c in students + teachers for d in students + teachers]
        return sp.Add(*terms)

    dR = sp.Matrix(K, M, lambda i, n: eta * e_delta_times(i, K + n))
    dQ = sp.Matrix(K, K, lambda i, k: eta * (e_delta_times(i, k) + e_delta_times(k, i)) + eta**2 * e_delta_delta(i, k))
    return dQ, dR


# --------------------------------------------------------------------------- derivations


def _gaussian_integral(exponent: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Integral over the real line of exp(exponent), exponent = -p x^2 + q x + r with p > 0.

    The square is completed by the shift x = y + q / (2p) (SymPy expands; the remainder is free of y),
    and the centred integral of exp(-p y^2) is ``sp.integrate``'s.
    """
    poly = sp.Poly(sp.expand(exponent), x)
    if poly.degree() != 2:
        raise ValueError(f"_gaussian_integral: exponent must be quadratic in {x}, got {exponent}")
    p, q = -poly.coeff_monomial(x**2), poly.coeff_monomial(x)
    y, p_pos = sp.Symbol("y", real=True), sp.Symbol("p", positive=True)
    rest = sp.expand(exponent.subs(x, y + q / (2 * p)) + p * y**2)
    rest = sp.cancel(rest)
    if rest.has(y):
        raise ValueError(f"_gaussian_integral: completing the square left {y} in {rest}")
    return sp.integrate(sp.exp(-p_pos * y**2), (y, -sp.oo, sp.oo)).subs(p_pos, p) * sp.exp(rest)


@functools.cache
def derived_price_integrand() -> sp.Expr:
    """E[g'(u) g'(v)] for (u, v) ~ N(0, C), g = erf(kappa x), computed by SymPy (kappa, C11, C12, C22 symbols)."""
    z1, z2 = sp.symbols("z1 z2", real=True)
    L22 = sp.Symbol("L22", positive=True)  # sqrt(C22 - C12^2 / C11), the Cholesky factor's corner
    u, v = sp.sqrt(C11) * z1, C12 / sp.sqrt(C11) * z1 + L22 * z2  # (u, v) = L z
    t = sp.Symbol("t", real=True)
    g_prime = sp.Lambda(t, sp.diff(sp.erf(kappa * t), t))
    # g'(u) g'(v) phi(z1) phi(z2) = prefactor * exp(exponent): the prefactor is what is left without the exps
    exponent = -kappa**2 * (u**2 + v**2) - (z1**2 + z2**2) / 2
    integrand = g_prime(u) * g_prime(v) * sp.exp(-(z1**2 + z2**2) / 2) / (2 * sp.pi)
    prefactor = sp.powsimp(sp.expand(integrand * sp.exp(-exponent)), combine="exp")
    if prefactor.has(z1, z2):
        raise AssertionError(f"derived_price_integrand: the exponent does not factor out: {prefactor}")
    inner = _gaussian_integral(exponent, z2)  # (coefficient) * exp(quadratic in z1)
    coefficient, exp_part = inner.as_independent(z1)
    outer = coefficient * _gaussian_integral(sp.log(exp_part).expand(force=True), z1)
    result = prefactor * outer
    return sp.factor(sp.simplify(result.subs(L22, sp.sqrt(C22 - C12**2 / C11))))


def derivation_i2(kappa_value=KAPPA) -> Derivation:
    """Price: dI2/dC12 = E[g'(u) g'(v)] (derived); printed I2 has that derivative and vanishes at C12 = 0."""
    C = sp.Matrix([[C11, C12], [C12, C22]])
    printed = i2(C, kappa_value)
    derived = derived_price_integrand().subs(kappa, kappa_value)
    return compare(
        "E[g'(u) g'(v)] (SymPy Gaussian integral, g = erf(kappa x)) equals d/dC12 of Saad & Solla's I2, and I2 = 0 at C12 = 0",
        sp.Matrix([derived, 0]),
        sp.Matrix([sp.diff(printed, C12), printed.subs(C12, 0)]),
        simplify=lambda e: sp.simplify(sp.radsimp(e)),
    )


def derivation_generalization_error(K: int = 2, M: int = 2) -> Derivation:
    """epsilon_g from the expanded square with E[g g] = I2 equals Saad & Solla's eq. (9) as printed."""
    Q = sp.Matrix(K, K, lambda i, k: sp.Symbol(f"Q_{min(i, k)}{max(i, k)}", positive=(i == k), real=True))
    T = sp.Matrix(M, M, lambda n, m: sp.Symbol(f"T_{min(n, m)}{max(n, m)}", positive=(n == m), real=True))
    R = sp.Matrix(K, M, lambda i, n: sp.Symbol(f"R_{i}{n}", real=True))
    return compare(
        f"1/2 E[(sum_i g(lambda_i) - sum_n g(nu_n))^2] with E[g g] = I2 equals Saad & Solla's eq. (9), K = {K}, M = {M}",
        order_parameter_error(Q, R, T),
        printed_generalization_error(Q, R, T),
        simplify=lambda e: sp.expand(sp.powdenest(sp.expand_power_base(e, force=True), force=True)),
    )


# --------------------------------------------------------------------------- robust evaluation


def robust(expr: sp.Expr) -> sp.Expr:
    """The same function, finite in float64 at the edges: sqrt(a b) -> sqrt(a) sqrt(b) (no overflow at large
    scales), then the project's round-off guard ``theory._domain.clamp_to_domain`` on the arcsin arguments.

    Exact on the domain (every clamped argument has modulus <= 1 there, and a, b >= 0 in every sqrt
    product above: 1 + C_aa, Lambda1, Lambda2 are principal minors of a positive definite matrix, so the
    square roots are not clamped: the extra Max nodes would slow the compile for no gain).
    """
    def split_sqrt(e):
        if e.is_Pow and e.exp in (sp.S.Half, -sp.S.Half) and e.base.is_Mul:
            return sp.Mul(*[sp.Pow(f, e.exp) for f in e.base.args])
        return e

    expr = expr.replace(lambda e: e.is_Pow and e.exp in (sp.S.Half, -sp.S.Half) and e.base.is_Mul, split_sqrt)
    return clamp_to_domain(expr, sqrt=False)
