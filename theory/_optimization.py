"""Optimisation guarantees from the map of deep-learning theory, derived by SymPy: PL rates and rescale symmetry.

Family ``optimization``: derivation ``theory._optimization`` (the paper's equation, derived) ·
estimators ``numerics._optimization`` · claims ``verify.claims._optimization`` · tests ``tests/test_optimization.py``.

Source: seed ``003_fa032fc7f3085293.txt`` (a map of deep-learning theory):

* line ~75: "PL condition = Polyak-Lojasiewicz condition guarantees global convergence of local methods",
  printed as ``||grad f(x)||^2 >= alpha f(x) >= 0`` (the norms lost to markdown). Paper: Karimi, Nutini &
  Schmidt, *Linear convergence of gradient and proximal-gradient methods under the Polyak-Lojasiewicz
  condition*, ECML-PKDD 2016 (arXiv:1608.04636), Theorem 1: for an L-smooth f with
  1/2 ||grad f||^2 >= mu (f - f*), gradient descent with step 1/L gives
  f(x_t) - f* <= (1 - mu/L)^t (f(x_0) - f*). The seed's constant is alpha = 2 mu (no 1/2), and its f stands
  for f - f* (so it presumes f* = 0).
* lines ~179-188: Kunin, Sagastuy-Brena, Ganguli, Yamins & Tanaka, *Neural mechanics: symmetry and broken
  conservation laws in deep learning dynamics*, ICLR 2021 (arXiv:2012.04728), "rescale symmetry" and
  "modeling discretization": where L(W1 with row i times s, W2 with column i over s) = L for s > 0 (a ReLU
  unit), gradient flow conserves Q_i = ||w_{1,i}||^2 - ||w_{2,i}||^2 (their Theorem 1 / eq. 4), and a
  gradient-descent step of size eta breaks it by exactly eta^2 (||g_{1,i}||^2 - ||g_{2,i}||^2).
* line ~59: "ex. gunasekar et al 2017: unconstrained matrix completion -- grad descent on U, V yields min nuclear
  norm solution". Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro, *Implicit regularization in matrix
  factorization*, NeurIPS 2017 (arXiv:1705.09280), Theorem 1: for X = U U^T, L(U) = 1/2 sum_i (<A_i, X> - y_i)^2
  with commuting A_i, gradient flow from U(0) = alpha I converges, as alpha -> 0, to the minimum nuclear-norm
  solution (if the limit fits the data). Their proof: U' = -2 R U, R = sum_i r_i A_i, so
  U(t) = alpha exp(-2 sum_i s_i(t) A_i) and X(t) = alpha^2 exp(-4 A*(s(t))), s_i(t) = int_0^t r_i. Here 3 x 3
  with A_1 = Q diag(1, 0, 1) Q^T, A_2 = Q diag(0, 1, 1) Q^T (a rational orthogonal Q): on the flow the
  eigenvalues x of X keep x_1 x_2 / x_3 = alpha^2 (a conserved quantity), so the limit solves a quadratic.

| code             | paper               | meaning                                                          |
|------------------|---------------------|------------------------------------------------------------------|
| ``lam``          | eigenvalues of A    | f(x) = 1/2 x^T diag(lam) x, f* = 0; lam_1 = mu, lam_last = L      |
| ``mu, L``        | mu, L               | PL constant (1/2 ||grad f||^2 >= mu f) and smoothness constant   |
| ``alpha``        | alpha (seed 003)    | the seed's PL constant, ||grad f||^2 >= alpha f: alpha = 2 mu    |
| ``t``            | t                   | number of gradient-descent steps, step 1/L                       |
| ``e0``           | f(x_0) - f*         | initial suboptimality                                            |
| ``W1, W2``       | theta_A1, theta_A2  | f(x) = W2 relu(W1 x): row i of W1 and column i of W2 rescale     |
| ``X, Y``         | data                | rows x_n, y_n; L = 1/(2N) sum_n ||f(x_n) - y_n||^2               |
| ``eta``          | eta                 | gradient-descent step size                                       |
| ``U``, ``X``     | U, X = U U^T        | the factor (3 x 3) and the matrix it parametrises (Gunasekar)    |
| ``A_i``          | A_i                 | measurements Q diag(a_i) Q^T, commuting; a_i = rows of A_EIG     |
| ``y``            | y                   | observations <A_i, X> = y_i, i = 1, 2                            |
| ``alpha``        | alpha               | initialisation scale, U(0) = alpha I                             |
| ``s``            | s(t)                | integrated residuals, s_i(t) = int_0^t r_i; U(s) on the flow     |

Derivations. ``derivation_pl_rate``: SymPy's ``rsolve`` solves the recursion e_{t+1} = (1 - mu/L) e_t
(descent lemma f(x - g/L) <= f - ||g||^2/(2L) with PL ||g||^2 >= 2 mu e) and the solution is the printed
rate. ``derivation_pl_step``: for the quadratic, each eigencomponent contracts by (1 - lam/L)^2, and
(1 - mu/L) - (1 - lam/L)^2 is a sum of two terms that are >= 0 for mu <= lam <= L. ``derivation_pl_constant``:
||A x||^2 - 2 lam_1 f(x) = sum_i lam_i (lam_i - lam_1) x_i^2 >= 0 (the seed's condition with alpha = 2 mu).
``derivation_rescale_flow``: SymPy differentiates the two-layer ReLU loss and proves
d/dt Q_i = 0 along theta' = -grad L; ``derivation_rescale_step``: one GD step changes Q_i by exactly
eta^2 (||g_{1,i}||^2 - ||g_{2,i}||^2). Both use the gate form relu(z) = z H(z) (Euler's identity structural).
"""

from __future__ import annotations

import functools

import sympy as sp

from ._covariance_operator import LeakyRelu, explicit
from ._derivation import Derivation, compare, form_latex, statement_latex

__all__ = [
    "quadratic",
    "pl_rate",
    "pl_rate_seed_constant",
    "pl_rate_statement",
    "pl_condition",
    "pl_condition_statement",
    "seed_pl_bound",
    "two_layer_loss",
    "loss_gradients",
    "unit_norm_rates",
    "rescale_step",
    "rescale_step_statement",
    "derivation_pl_rate",
    "derivation_pl_step",
    "derivation_pl_constant",
    "derivation_rescale_flow",
    "derivation_rescale_step",
    "A_EIG",
    "Q_FRAME",
    "measurements",
    "sensing_loss",
    "flow_curve",
    "curve_velocity",
    "flow_limit_eigenvalues",
    "flow_limit",
    "min_nuclear_norm",
    "nuclear_norm_gap_bound",
    "derivation_flow_curve",
    "derivation_flow_invariant",
    "derivation_flow_limit",
    "derivation_gap_bound",
]


# --------------------------------------------------------------------------- PL condition


def quadratic(x: sp.Matrix, lam: sp.Matrix) -> sp.Expr:
    """f(x) = 1/2 x^T diag(lam) x (f* = 0 at x = 0)."""
    return sum((l * xi**2 for l, xi in zip(lam, x)), sp.S.Zero) / 2


def pl_rate(mu, L, t, e0):
    """Karimi et al.'s Theorem 1 as printed: f(x_t) - f* <= (1 - mu/L)^t (f(x_0) - f*)."""
    return (1 - mu / L) ** t * e0


def seed_pl_bound(alpha, f):
    """The seed's PL condition, right side: ||grad f(x)||^2 >= alpha f(x) (f presumes f* = 0)."""
    return alpha * f


def pl_rate_seed_constant(alpha, L, t, e0):
    """The rate read with the seed's constant in place of mu: (1 - alpha/L)^t e0 (alpha = 2 mu: too fast)."""
    return (1 - alpha / L) ** t * e0


def pl_rate_statement(form=pl_rate, constant: str = "mu") -> str:
    """``f(x_t) - f* <= <form>`` rendered from the printed form (constant: "mu", or the seed's "alpha")."""
    c, L, t, e0 = sp.Symbol(constant), sp.Symbol("L"), sp.Symbol("t"), sp.Symbol("e0")
    rhs = form_latex(form, c, L, t, e0, symbol_names={e0: r"\left(f(x_0) - f^*\right)"})
    return rf"f(x_t) - f^* \le {rhs}"


def pl_condition(alpha, x: sp.Matrix, lam: sp.Matrix) -> sp.Expr:
    """alpha f(x) for the quadratic: the right side of the seed's condition at x."""
    return seed_pl_bound(alpha, quadratic(x, lam))


def pl_condition_statement() -> str:
    f = sp.Symbol("f")
    return rf"\|\nabla f(x)\|^2 \ge {form_latex(seed_pl_bound, sp.Symbol('alpha'), f, symbol_names={f: 'f(x)'})}"


@functools.cache
def _pl_symbols():
    mu, L = sp.symbols("mu L", positive=True)
    return mu, L, sp.Symbol("t", integer=True, nonnegative=True), sp.Symbol("e_0", nonnegative=True)


def derivation_pl_rate() -> Derivation:
    """rsolve: e_{t+1} = (1 - mu/L) e_t, e_0 given, is (1 - mu/L)^t e_0, the printed rate."""
    mu, L, t, e0 = _pl_symbols()
    e = sp.Function("e")
    g2 = sp.Symbol("g2", nonnegative=True)  # ||grad f(x_t)||^2
    descent = e(t) - g2 / (2 * L)  # descent lemma at step 1/L
    contraction = sp.simplify(descent.subs(g2, 2 * mu * e(t)) / e(t))  # PL: ||g||^2 >= 2 mu e_t, its worst case
    derived = sp.rsolve(e(t + 1) - contraction * e(t), e(t), {e(0): e0})
    return compare("descent lemma + PL, e_{t+1} <= (1 - mu/L) e_t, solved by rsolve, is Karimi et al.'s Theorem 1",
                   derived, pl_rate(mu, L, t, e0))


def derivation_pl_step() -> Derivation:
    """On f = 1/2 lam x^2, GD at 1/L multiplies f by (1 - lam/L)^2; its gap to 1 - mu/L is two terms >= 0."""
    mu, L, _, _ = _pl_symbols()
    lam, x = sp.Symbol("lam", positive=True), sp.Symbol("x", real=True)
    f = quadratic(sp.Matrix([x]), sp.Matrix([lam]))
    step = x - sp.diff(f, x) / L
    derived = sp.simplify((1 - mu / L) - f.subs(x, step) / f)
    printed = (lam - mu) / L + lam * (L - lam) / L**2  # each >= 0 for mu <= lam <= L
    return compare("1 - mu/L - (1 - lam/L)^2 = (lam - mu)/L + lam (L - lam)/L^2 >= 0 on [mu, L]", derived, printed)


def derivation_pl_constant() -> Derivation:
    """||grad f||^2 - 2 lam_1 f = sum_i lam_i (lam_i - lam_1) x_i^2 for f = 1/2 x^T diag(lam) x: alpha = 2 mu."""
    lam = sp.Matrix(sp.symbols("lam_1:4", positive=True))
    x = sp.Matrix(sp.symbols("x_1:4", real=True))
    f = quadratic(x, lam)
    grad = sp.Matrix([sp.diff(f, xi) for xi in x])
    derived = sp.expand((grad.T * grad)[0] - seed_pl_bound(2 * lam[0], f))
    printed = sum((l * (l - lam[0]) * xi**2 for l, xi in zip(lam, x)), sp.S.Zero)
    return compare("||grad f||^2 - alpha f with alpha = 2 lam_1 is sum_i lam_i (lam_i - lam_1) x_i^2 >= 0",
                   derived, printed, simplify=sp.expand)


# --------------------------------------------------------------------------- rescale symmetry (Kunin et al.)


def two_layer_loss(W1: sp.Matrix, W2: sp.Matrix, X: sp.Matrix, Y: sp.Matrix) -> sp.Expr:
    """L = 1/(2N) sum_n ||W2 relu(W1 x_n) - y_n||^2 with relu as ``LeakyRelu(z, 0)`` (SymPy differentiates it)."""
    total = sp.S.Zero
    for n in range(X.rows):
        h = (W1 * X[n, :].T).applyfunc(lambda z: LeakyRelu(z, 0))  # (h x d)(d x 1) -> h x 1
        r = W2 * h - Y[n, :].T  # (k x h)(h x 1) -> k x 1
        total += (r.T * r)[0] / 2
    return total / X.rows


def loss_gradients(W1, W2, X, Y) -> tuple[sp.Matrix, sp.Matrix]:
    """(dL/dW1, dL/dW2) by SymPy, in ``LeakyRelu`` form (``explicit`` turns them elementary)."""
    L = two_layer_loss(W1, W2, X, Y)
    return W1.applyfunc(lambda w: sp.diff(L, w)), W2.applyfunc(lambda w: sp.diff(L, w))


def unit_norm_rates(W1, W2, X, Y, values: str = "abs") -> tuple[sp.Matrix, sp.Matrix]:
    """d/dt ||w_{1,i}||^2 and d/dt ||w_{2,i}||^2 along theta' = -grad L, one entry per hidden unit i: h x 1 each."""
    G1, G2 = loss_gradients(W1, W2, X, Y)
    into = sp.Matrix([-2 * (W1[i, :] * G1[i, :].T)[0] for i in range(W1.rows)])
    out = sp.Matrix([-2 * (W2[:, i].T * G2[:, i])[0] for i in range(W1.rows)])
    return explicit(into, values), explicit(out, values)


def _rescale_step_form(Q, eta, g1, g2):
    """Kunin et al.'s broken conservation law for one GD step: Q_i(theta - eta g) = Q_i + eta^2 (g1 - g2)."""
    return Q + eta**2 * (g1 - g2)


def rescale_step(W1, W2, X, Y, eta, values: str = "abs") -> sp.Matrix:
    """Q_i + eta^2 (||g_{1,i}||^2 - ||g_{2,i}||^2) for every unit i (h x 1), gradients by SymPy."""
    G1, G2 = loss_gradients(W1, W2, X, Y)
    rows = [_rescale_step_form((W1[i, :] * W1[i, :].T)[0] - (W2[:, i].T * W2[:, i])[0], eta,
                               (G1[i, :] * G1[i, :].T)[0], (G2[:, i].T * G2[:, i])[0]) for i in range(W1.rows)]
    return explicit(sp.Matrix(rows), values)


def rescale_step_statement() -> str:
    Q, eta, g1, g2 = sp.symbols("Q eta g1 g2")
    names = {Q: r"Q_i(\theta)", g1: r"\|\nabla_{w_{1,i}} L\|^2", g2: r"\|\nabla_{w_{2,i}} L\|^2"}
    return statement_latex(r"Q_i(\theta - \eta \nabla L)", _rescale_step_form, Q, eta, g1, g2, symbol_names=names) + \
        r",\ Q_i = \|w_{1,i}\|^2 - \|w_{2,i}\|^2"


@functools.cache
def _generic_net():
    """A generic 2-unit net, 2 inputs, 2 outputs, one data point. The identities are per unit and structural;
    the rate is linear in the loss, a sum over data points, so one point shows it for every N (the step's eta^2
    term is not linear in L, but it is the expansion of |w - eta g|^2, which holds for any gradient g)."""
    W1 = sp.Matrix(2, 2, sp.symbols("a_1:5", real=True))
    W2 = sp.Matrix(2, 2, sp.symbols("b_1:5", real=True))
    X = sp.Matrix(1, 2, sp.symbols("x_1:3", real=True))
    Y = sp.Matrix(1, 2, sp.symbols("y_1:3", real=True))
    return W1, W2, X, Y


def derivation_rescale_flow() -> Derivation:
    """d/dt (||w_{1,i}||^2 - ||w_{2,i}||^2) along theta' = -grad L, derived by SymPy, is 0 for each unit."""
    into, out = unit_norm_rates(*_generic_net(), values="gate")
    return compare("rescale symmetry of a ReLU unit: d/dt ||w_1i||^2 = d/dt ||w_2i||^2 under gradient flow "
                   "(Kunin et al. 2021, Theorem 1)", into - out, sp.zeros(into.rows, 1), simplify=sp.expand)


def derivation_rescale_step() -> Derivation:
    """Q_i after one GD step of size eta, expanded by SymPy, equals Q_i + eta^2 (||g_1i||^2 - ||g_2i||^2)."""
    W1, W2, X, Y = _generic_net()
    eta = sp.Symbol("eta", positive=True)
    G1, G2 = loss_gradients(W1, W2, X, Y)
    V1, V2 = W1 - eta * G1, W2 - eta * G2
    derived = sp.Matrix([(V1[i, :] * V1[i, :].T)[0] - (V2[:, i].T * V2[:, i])[0] for i in range(W1.rows)])
    return compare("one GD step breaks the rescale conservation law by exactly eta^2 (||g_1i||^2 - ||g_2i||^2) "
                   "(Kunin et al. 2021, 'modeling discretization')", explicit(derived, "gate"),
                   rescale_step(W1, W2, X, Y, eta, values="gate"), simplify=sp.expand)



# --------------------------------------------------------------------------- implicit bias of factorisation (Gunasekar)

Q_FRAME = sp.Matrix([[1, 2, 2], [2, 1, -2], [2, -2, 1]]) / 3  # symmetric orthogonal (rational): the common eigenbasis
A_EIG = sp.Matrix([[1, 0, 1], [0, 1, 1]])  # eigenvalues of A_1, A_2 in Q: <A_1, X> = x_1 + x_3, <A_2, X> = x_2 + x_3


def measurements(Q: sp.Matrix = Q_FRAME, a: sp.Matrix = A_EIG) -> list:
    """A_i = Q diag(a_i) Q^T: symmetric, and commuting (one eigenbasis Q)."""
    return [Q * sp.diag(*a.row(i)) * Q.T for i in range(a.rows)]


def _inner(A: sp.Matrix, X: sp.Matrix) -> sp.Expr:
    """<A, X> = tr(A^T X) = sum_jk A_jk X_jk."""
    return sum(A.multiply_elementwise(X), sp.S.Zero)


def sensing_loss(U: sp.Matrix, y, A: list) -> sp.Expr:
    """L(U) = 1/2 sum_i (<A_i, U U^T> - y_i)^2."""
    X = U * U.T
    return sum(((_inner(Ai, X) - yi) ** 2 for Ai, yi in zip(A, y)), sp.S.Zero) / 2


def flow_curve(alpha, s, Q: sp.Matrix = Q_FRAME, a: sp.Matrix = A_EIG) -> sp.Matrix:
    """Gunasekar's solution U(s) = alpha exp(-2 sum_i s_i A_i) = alpha Q diag(e^{-2 (a^T s)_j}) Q^T (3 x 3)."""
    return alpha * Q * sp.diag(*[sp.exp(-2 * (a.col(j).T * s)[0]) for j in range(a.cols)]) * Q.T


def curve_velocity(alpha, y, s, Q: sp.Matrix = Q_FRAME, a: sp.Matrix = A_EIG) -> sp.Matrix:
    """sum_i r_i dU/ds_i at U(s), r_i = <A_i, U U^T> - y_i: the curve's velocity when s' = r (3 x 3)."""
    U, A = flow_curve(alpha, s, Q, a), measurements(Q, a)
    X = U * U.T
    r = [_inner(Ai, X) - yi for Ai, yi in zip(A, y)]
    return sum((ri * U.diff(si) for ri, si in zip(r, s)), sp.zeros(*U.shape))


def derivation_flow_curve() -> Derivation:
    """-grad_U L at U(s) equals sum_i r_i dU/ds_i for diagonal (commuting) A_i with generic eigenvalues: U(s(t)),
    s' = r, is the gradient flow from alpha I. (L is invariant under U -> Q U Q^T, A_i -> Q A_i Q^T, so the
    eigenbasis case is every commuting case.)"""
    alpha = sp.Symbol("alpha", positive=True)
    a = sp.Matrix(2, 3, sp.symbols("a_1:3_1:4", real=True))
    s, y = sp.Matrix(sp.symbols("s_1:3", real=True)), sp.symbols("y_1:3", real=True)
    Uf = sp.Matrix(3, 3, sp.symbols("u_1:4_1:4", real=True))  # a free 3 x 3 factor: the gradient is over all of U
    A = measurements(sp.eye(3), a)
    L = sensing_loss(Uf, y, A)
    curve = flow_curve(alpha, s, sp.eye(3), a)
    minus_grad = -Uf.applyfunc(lambda u: sp.diff(L, u)).xreplace(dict(zip(Uf, curve)))
    return compare("gradient flow on X = U U^T from alpha I with commuting A_i: U(t) = alpha exp(-2 sum_i s_i(t) A_i), "
                   "s' = r (Gunasekar et al. 2017, proof of Theorem 1)", minus_grad,
                   curve_velocity(alpha, y, s, sp.eye(3), a), simplify=sp.expand)


def derivation_flow_invariant() -> Derivation:
    """On the flow x_j = alpha^2 e^{-4 (a^T s)_j}; with a = A_EIG, x_1 x_2 / x_3 = alpha^2 for every s."""
    alpha = sp.Symbol("alpha", positive=True)
    s = sp.Matrix(sp.symbols("s_1:3", real=True))
    U = flow_curve(alpha, s, sp.eye(3))
    x = [(U * U.T)[j, j] for j in range(3)]
    return compare("x_1 x_2 / x_3 = alpha^2 along the flow (the null space of the measurements, (1, 1, -1), "
                   "conserved in log x)", sp.simplify(x[0] * x[1] / x[2]), alpha**2)


@functools.cache
def _limit_eigenvalues() -> tuple:
    """SymPy's solution for generic alpha, y_1, y_2 > 0: (symbols, 3 x 1 eigenvalues)."""
    alpha, y1, y2 = sp.symbols("alpha y_1 y_2", positive=True)
    x1, x2, x3 = sp.symbols("x_1:4", real=True)
    roots = sp.solve([x1 + x3 - y1, x2 + x3 - y2, x1 * x2 - alpha**2 * x3], [x1, x2, x3], dict=True)
    sample = {alpha: sp.Rational(1, 10), y1: 1, y2: 2}  # which root: the one with x_3 < min(y_1, y_2) here
    (small,) = [r for r in roots if r[x3].subs(sample) < 1]
    return (alpha, y1, y2), sp.Matrix([small[x1], small[x2], small[x3]])


def flow_limit_eigenvalues(alpha, y1, y2) -> sp.Matrix:
    """The limit's eigenvalues (x_1, x_2, x_3): SymPy solves x_1 + x_3 = y_1, x_2 + x_3 = y_2, x_1 x_2 = alpha^2 x_3
    (fit + the conserved quantity); the root with x_1, x_2 >= 0 (the smaller x_3). 3 x 1."""
    symbols, x = _limit_eigenvalues()
    return x.xreplace(dict(zip(symbols, (alpha, y1, y2))))


def flow_limit(alpha, y1, y2, Q: sp.Matrix = Q_FRAME) -> sp.Matrix:
    """X_inf(alpha) = Q diag(x_1, x_2, x_3) Q^T (3 x 3)."""
    return Q * sp.diag(*flow_limit_eigenvalues(alpha, y1, y2)) * Q.T


def min_nuclear_norm(y1, y2):
    """min ||X||_* = tr X over X >= 0, <A_i, X> = y_i: x_3 as large as x_1, x_2 >= 0 allow: y_1 + y_2 - min(y_1, y_2)."""
    return sp.Max(y1, y2)


def nuclear_norm_gap_bound(alpha, y1, y2):
    """||X_inf(alpha)||_* - min ||X||_* <= alpha sqrt(min(y_1, y_2)): O(alpha), tight as alpha -> 0 at y_1 = y_2."""
    return alpha * sp.sqrt(sp.Min(y1, y2))


def derivation_flow_limit() -> Derivation:
    """The limit's x_3 is the smaller root (y_1 + y_2 + alpha^2 - sqrt((y_1 + y_2 + alpha^2)^2 - 4 y_1 y_2)) / 2."""
    alpha, y1, y2 = sp.symbols("alpha y_1 y_2", positive=True)
    S = y1 + y2 + alpha**2
    return compare("x_3 = (S - sqrt(S^2 - 4 y_1 y_2)) / 2, S = y_1 + y_2 + alpha^2",
                   flow_limit_eigenvalues(alpha, y1, y2)[2], (S - sp.sqrt(S**2 - 4 * y1 * y2)) / 2)


def derivation_gap_bound() -> Derivation:
    """With y_2 = y_1 + delta (delta >= 0) the gap g = y_1 - x_3 solves (delta + g) g + alpha^2 g = alpha^2 y_1, so
    g^2 <= alpha^2 y_1: g <= alpha sqrt(y_1) (and g <= alpha^2 y_1 / delta: O(alpha^2) at fixed delta > 0)."""
    alpha, y1, delta = sp.symbols("alpha y_1 delta", positive=True)
    x = flow_limit_eigenvalues(alpha, y1, y1 + delta)
    trace_gap = sum(x) - (y1 + delta)  # tr X_inf - min nuclear norm (= y_2)
    g = y1 - x[2]
    return compare("(delta + g) g + alpha^2 g = alpha^2 y_1 and tr X_inf - y_2 = g (y_2 = y_1 + delta)",
                   sp.Matrix([sp.expand((delta + g) * g + alpha**2 * g), sp.expand(trace_gap)]),
                   sp.Matrix([alpha**2 * y1, g]), simplify=sp.simplify)
