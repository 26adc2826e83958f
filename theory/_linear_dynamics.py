"""Learning dynamics of linear models, derived by SymPy: deep linear networks and implicit bias.

Family ``linear-dynamics``: derivation ``theory._linear_dynamics`` (the paper's equation, derived) ·
estimators ``numerics._linear_dynamics`` · claims ``verify.claims._linear_dynamics`` · tests ``tests/test_linear_dynamics.py``.

Source: seed ``003_fa032fc7f3085293.txt`` (a map of deep-learning theory), "implicit bias" lines ~44-65
("early stopping is very similar to ridge regression ... when lambda = 1/t", "GD will converge to
min-norm soln", "sgd on logistic reg. gives hard margin svm") and line ~173 ("deep linear networks:
student learns biggest singular values of the input-output correlation matrix first"). Papers:

* Saxe, McClelland & Ganguli, *Exact solutions to the nonlinear dynamics of learning in deep linear
  neural networks*, ICLR 2014 (arXiv:1312.6120), eqs. (6)-(8): one mode of a two-layer linear network
  with whitened inputs obeys tau da/dt = 2 a (s - a) and
  a(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/a0);
* Ali, Kolter & Tibshirani, *A continuous-time view of early stopping for least squares*, AISTATS 2019:
  gradient flow at time t is the spectral filter 1 - e^{-lambda t}, ridge at 1/t is x/(1 + x),
  x = lambda t, and (1 - e^{-x})(1 + x)/x <= 1.2985 (their Lemma 7's constant);
* Soudry, Hoffer, Nacson, Gunasekar & Srebro, *The implicit bias of gradient descent on separable
  data*, JMLR 2018, Theorem 3: w(t) = w_hat log t + w_tilde + o(1), exp(-x_n^T w_tilde) = alpha_n on
  the support vectors.

| code               | paper                  | meaning                                                      |
|--------------------|------------------------|--------------------------------------------------------------|
| ``s``              | s_alpha                | singular value of Sigma_yx (one mode)                         |
| ``a, a0``          | a = u (Saxe's u_f), a0 | mode strength b c and its initial value                       |
| ``b, c``           | a^alpha, b^alpha       | the mode's first- and second-layer weights (b = c: balanced)  |
| ``tau``            | tau                    | time constant, 1/learning rate                                |
| ``t``              | t                      | time (gradient flow)                                          |
| ``eta, k``         | eta, k                 | GD step size, number of steps                                 |
| ``lam``            | lambda_i = sigma_i^2   | eigenvalue of X^T X                                           |
| ``sigma``          | sigma_i                | singular value of the design X (n x d, n < d)                 |
| ``mu``             | lambda (ridge)         | ridge penalty; compared at mu = 1/t                           |
| ``x``              | lambda t               | the filters' common argument                                  |
| ``p, q``           | --                     | data x_1 = (1, p), x_2 = (1, -q), both labelled +1            |
| ``w_hat, alpha``   | w_hat, alpha_n         | max-margin vector (margins 1) and its dual variables          |
| ``w_tilde``        | w_tilde                | the O(1) offset of w(t) - w_hat log t                         |

Conventions. Deep linear: whitened inputs (Sigma_xx = I), loss 1/2 ||Sigma_yx - W2 W1||_F^2, gradient flow
tau dW/dt = -grad; the mode's loss is 1/2 (s - b c)^2. Least squares: L(w) = 1/2 ||X w - y||^2, w(0) = 0;
X = U diag(sigma) V^T with fixed rational orthogonal frames (``U_FRAME``, ``V_FRAME``), so X X^T is never
singular. Logistic: L(w) = sum_n log(1 + exp(-x_n^T w)), all labels +1 (absorbed into x_n).
"""

from __future__ import annotations

import functools

import sympy as sp

from ._derivation import Derivation, compare, form_latex, statement_latex

__all__ = [
    "U_FRAME", "V_FRAME",
    "derivation_flow_filter", "derivation_gd_filter", "derivation_half_time", "derivation_min_norm_limit",
    "derivation_mode_field", "derivation_mode_gd_map", "derivation_mode_strength", "derivation_mode_strength_dsolve",
    "derivation_exp_loss_trajectory", "derivation_margin_offset", "derivation_ridge_ratio",
    "design", "direction_error_constant", "flow_filter_latex", "gd_filter_latex", "gd_map_statement",
    "half_time_statement", "mode_strength_statement", "ridge_filter_latex", "exp_loss_trajectory", "flow_filter", "gd_filter", "gd_iterate",
    "gradient_flow", "half_time", "max_margin", "min_norm_solution", "mode_after_steps", "mode_field",
    "mode_gd_map", "mode_strength", "ordering_threshold", "printed_mode_strength", "progress_half_time",
    "ridge", "ridge_filter", "ridge_ratio", "ridge_ratio_maximum", "two_mode_product",
]

s, a0, tau, eta, lam, mu, x = sp.symbols("s a0 tau eta lambda mu x", positive=True)
t = sp.Symbol("t", nonnegative=True)
a = sp.Symbol("a", positive=True)
b, c = sp.symbols("b c", real=True)
k = sp.Symbol("k", integer=True, nonnegative=True)
p, q = sp.symbols("p q", positive=True)

# Fixed orthogonal frames with rational entries (Pythagorean triples): exact in SymPy and in float64 up to
# one rounding of each entry.
U_FRAME = sp.Matrix([[3, -4], [4, 3]]) / 5  # (2 x 2) rotation
V_FRAME = sp.Matrix([[1, 2], [2, 1], [2, -2]]) / 3  # (3 x 2), orthonormal columns (of (1/3)[[1,2,2],[2,1,-2],[2,-2,1]])
R_FRAME = sp.Matrix([[5, -12], [12, 5]]) / 13  # (2 x 2) rotation, the deep linear net's input frame


# --------------------------------------------------------------------------- deep linear networks (Saxe)


def _mode_loss() -> sp.Expr:
    return (s - b * c) ** 2 / 2  # one mode of 1/2 ||Sigma_yx - W2 W1||^2 in the aligned frames


@functools.cache
def mode_field() -> sp.Expr:
    """da/dt for a = b c under tau db/dt = -dl/db, tau dc/dt = -dl/dc, at b = c = sqrt(a) (balanced)."""
    loss = _mode_loss()
    b_dot, c_dot = -sp.diff(loss, b) / tau, -sp.diff(loss, c) / tau
    a_dot = sp.diff(b * c, b) * b_dot + sp.diff(b * c, c) * c_dot  # chain rule for a = b c
    return sp.factor(a_dot.subs({b: sp.sqrt(a), c: sp.sqrt(a)}))


def printed_mode_strength(s_=s, a0_=a0, tau_=tau, t_=t) -> sp.Expr:
    """The issue's (Saxe's eq. 8) a(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/a0), typed once."""
    e = sp.exp(2 * s_ * t_ / tau_)
    return s_ * e / (e - 1 + s_ / a0_)


def mode_strength(s_, a0_, tau_, t_) -> sp.Expr:
    """a(t) at the given values (the printed form, proven to solve the derived ODE)."""
    return printed_mode_strength(s_, a0_, tau_, t_)


def _printed_field(a_, s_, tau_):
    """Saxe's mode ODE, da/dt = 2a(s - a)/tau (typed once)."""
    return 2 * a_ * (s_ - a_) / tau_


def derivation_mode_field() -> Derivation:
    derived = mode_field()
    return compare("gradient flow on 1/2 (s - b c)^2 with b = c gives tau da/dt = 2 a (s - a) for a = b c",
                   derived, _printed_field(a, s, tau))


def derivation_mode_strength() -> Derivation:
    """a(t) solves the derived ODE (substitution) and starts at a0: residual (ODE, initial value) = (0, 0)."""
    printed = printed_mode_strength()
    residual = sp.Matrix([sp.diff(printed, t) - mode_field().subs(a, printed), printed.subs(t, 0) - a0])
    return compare("a(t) = s e^{2st/tau}/(e^{2st/tau} - 1 + s/a0) solves tau da/dt = 2a(s - a), a(0) = a0",
                   residual, sp.zeros(2, 1), simplify=sp.cancel)


def derivation_mode_strength_dsolve() -> Derivation:
    """``sp.dsolve`` of the derived ODE with a(0) = a0 equals the printed a(t) (about 6 s: slow tier)."""
    f = sp.Function("a")
    ode = sp.Eq(sp.diff(f(t), t), mode_field().subs(a, f(t)))
    solution = sp.dsolve(ode, f(t), ics={f(0): a0}).rhs
    return compare("sp.dsolve(tau a' = 2a(s - a), a(0) = a0) equals Saxe's a(t)", solution, printed_mode_strength())


@functools.cache
def mode_gd_map() -> sp.Expr:
    """One GD step of size eta on (b, c) at b = c = sqrt(a), as a map on a = b c (tau = 1)."""
    loss = _mode_loss()
    b1, c1 = b - eta * sp.diff(loss, b), c - eta * sp.diff(loss, c)  # simultaneous update
    return sp.factor((b1 * c1).subs({b: sp.sqrt(a), c: sp.sqrt(a)}))


def _printed_gd_map(a_, s_, eta_):
    """One GD step on a mode: a -> a (1 + eta (s - a))^2 (typed once)."""
    return a_ * (1 + eta_ * (s_ - a_)) ** 2


def derivation_mode_gd_map() -> Derivation:
    return compare("one GD step on 1/2 (s - b c)^2 from b = c = sqrt(a) keeps balance and maps a -> a (1 + eta (s - a))^2",
                   mode_gd_map(), _printed_gd_map(a, s, eta))


def mode_after_steps(s_, a0_, eta_, steps: int) -> sp.Expr:
    """The GD map iterated ``steps`` times from a0 (nested, not expanded: degree 3^steps in a0)."""
    value = a0_
    step = mode_gd_map()
    for _ in range(steps):
        value = step.xreplace({a: value, s: s_, eta: eta_})
    return value


def two_mode_product(s1, s2, a0_, eta_, steps: int) -> sp.Matrix:
    """W2 W1 after ``steps`` GD steps from the balanced aligned init: U diag(a_k(s1), a_k(s2)) R^T (2 x 2)."""
    modes = sp.diag(mode_after_steps(s1, a0_, eta_, steps), mode_after_steps(s2, a0_, eta_, steps))
    return U_FRAME * modes * R_FRAME.T


@functools.cache
def _half_times() -> tuple[sp.Expr, sp.Expr]:
    """Times at which a(t) = s/2 and a(t) = (a0 + s)/2 (half of the way), solved by SymPy for s > 2 a0."""
    printed = printed_mode_strength()
    absolute = sp.solve(sp.Eq(printed, s / 2), t)
    progress = sp.solve(sp.Eq(printed, (a0 + s) / 2), t)
    return sp.simplify(absolute[0]), sp.simplify(progress[0])


def half_time(s_, a0_, tau_) -> sp.Expr:
    """t_1/2: a(t_1/2) = s/2 (defined for s > 2 a0)."""
    return _half_times()[0].xreplace({s: s_, a0: a0_, tau: tau_})


def progress_half_time(s_, a0_, tau_) -> sp.Expr:
    """Time at which the mode has covered half of the way from a0 to s: a = (a0 + s)/2."""
    return _half_times()[1].xreplace({s: s_, a0: a0_, tau: tau_})


def _printed_half_time(s_, a0_, tau_):
    """t_1/2 = tau ln(s/a0 - 1) / (2s), where a = s/2 (typed once)."""
    return tau_ / (2 * s_) * sp.log(s_ / a0_ - 1)


def _printed_progress_time(s_, a0_, tau_):
    """t_p = tau ln(1 + s/a0) / (2s), where a = (a0 + s)/2 (typed once)."""
    return tau_ / (2 * s_) * sp.log(1 + s_ / a0_)


def derivation_half_time() -> Derivation:
    """Solved half times equal tau ln(s/a0 - 1)/(2s) and tau ln(1 + s/a0)/(2s)."""
    derived = sp.Matrix(_half_times())
    printed = sp.Matrix([_printed_half_time(s, a0, tau), _printed_progress_time(s, a0, tau)])
    return compare("a(t) = s/2 at t = tau ln(s/a0 - 1)/(2s); a(t) = (a0 + s)/2 at t = tau ln(1 + s/a0)/(2s)",
                   derived, printed, simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)))


def ordering_threshold() -> tuple[sp.Expr, float]:
    """(condition, r*): d t_1/2 / ds < 0 iff ln(r - 1) > r/(r - 1), r = s/a0; r* = 4.5911... solves equality.

    The sign of d/ds [ln(s/a0 - 1)/s] is that of r/(r - 1) - ln(r - 1) (derived by sp.diff below); it
    changes once, at r*, found by ``sp.nsolve``.
    """
    r = sp.Symbol("r", positive=True)
    derivative = sp.diff(sp.log(s / a0 - 1) / s, s)
    sign_part = sp.simplify(sp.simplify(derivative * s**2).subs(s, r * a0))  # s^2 d/ds: same sign, a function of r
    root = sp.nsolve(sign_part, r, 4.5)
    return sign_part, float(root)


# --------------------------------------------------------------------------- least squares: GD, flow, ridge


@functools.cache
def _filters() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Per-eigendirection coefficient of X^T y in w: GD after k steps, gradient flow at t, ridge at mu."""
    j = sp.Symbol("j", integer=True, nonnegative=True)
    gd = sp.summation(eta * (1 - eta * lam) ** j, (j, 0, k - 1))  # w_k = sum_{j<k} (I - eta A)^j eta X^T y
    f = sp.Function("f")
    flow = sp.dsolve(sp.Eq(f(t).diff(t), 1 - lam * f(t)), f(t), ics={f(0): 0}).rhs  # dw/dt = X^T y - A w
    cr = sp.Symbol("c", real=True)
    (ridge_,) = sp.solve(sp.diff(lam * cr**2 / 2 - cr + mu * cr**2 / 2, cr), cr)  # argmin of the ridge objective
    return sp.simplify(gd), sp.simplify(flow), ridge_


def gd_filter(lam_=lam, eta_=eta, k_=k) -> sp.Expr:
    return _filters()[0].xreplace({lam: lam_, eta: eta_, k: k_})


def flow_filter(lam_=lam, t_=t) -> sp.Expr:
    return _filters()[1].xreplace({lam: lam_, t: t_})


def ridge_filter(lam_=lam, mu_=mu) -> sp.Expr:
    return _filters()[2].xreplace({lam: lam_, mu: mu_})


def _printed_gd_filter(lam_, eta_, k_):
    """GD's filter after k steps from 0, (1 - (1 - eta lambda)^k)/lambda (typed once)."""
    return (1 - (1 - eta_ * lam_) ** k_) / lam_


def _printed_flow_filter(lam_, t_):
    """Gradient flow's filter at time t, (1 - e^{-lambda t})/lambda (typed once)."""
    return (1 - sp.exp(-lam_ * t_)) / lam_


def _printed_ridge_filter(lam_, mu_):
    """Ridge's filter at penalty mu, 1/(lambda + mu) (typed once)."""
    return 1 / (lam_ + mu_)


def derivation_gd_filter() -> Derivation:
    return compare("sum_{j<k} eta (1 - eta lambda)^j (GD from 0) equals (1 - (1 - eta lambda)^k)/lambda",
                   gd_filter(), _printed_gd_filter(lam, eta, k))


def derivation_flow_filter() -> Derivation:
    return compare("dw/dt = X^T y - X^T X w, w(0) = 0 gives the filter (1 - e^{-lambda t})/lambda; ridge gives 1/(lambda + mu)",
                   sp.Matrix([flow_filter(), ridge_filter()]),
                   sp.Matrix([_printed_flow_filter(lam, t), _printed_ridge_filter(lam, mu)]))


def derivation_min_norm_limit() -> Derivation:
    """lim_{k -> oo} of the GD filter is 1/lambda for 0 < eta lambda < 2, i.e. w_k -> X^+ y.

    Written with |1 - eta lambda| = 1/(1 + h), h > 0 (SymPy cannot state eta lambda < 2); the limit is
    taken by ``sp.limit`` in k.
    """
    h = sp.Symbol("h", positive=True)
    kk = sp.Symbol("k", positive=True)
    derived = sp.Matrix([sp.limit((1 - sgn * (1 + h) ** -kk) / lam, kk, sp.oo) for sgn in (1, -1)])  # (1 - eta lam)^k = +-(1+h)^-k
    return compare("lim_{k->oo} (1 - (1 - eta lambda)^k)/lambda = 1/lambda for |1 - eta lambda| < 1 (both signs)",
                   derived, sp.Matrix([1 / lam, 1 / lam]))


def design(sigma1, sigma2) -> sp.Matrix:
    """X = U diag(sigma) V^T: a 2 x 3 design (two samples, three features) of rank 2."""
    return U_FRAME * sp.diag(sigma1, sigma2) * V_FRAME.T  # (2 x 2)(2 x 2)(2 x 3) -> (2 x 3)


def _spectral(sigma1, sigma2, y, filt) -> sp.Matrix:
    """V diag(filt(sigma_i^2) sigma_i) U^T y = sum_i filt(lambda_i) v_i v_i^T X^T y (3 x 1)."""
    u = U_FRAME.T * y  # (2 x 2)(2 x 1) -> (2 x 1)
    coeffs = sp.Matrix([filt(sg**2) * sg * u[i] for i, sg in enumerate((sigma1, sigma2))])  # (2 x 1)
    return V_FRAME * coeffs  # (3 x 2)(2 x 1) -> (3 x 1)


def gd_iterate(sigma1, sigma2, y, eta_, steps: int) -> sp.Matrix:
    """w_k of GD on 1/2 ||X w - y||^2 from w_0 = 0 (3 x 1)."""
    return _spectral(sigma1, sigma2, y, lambda l: gd_filter(l, eta_, steps))


def gradient_flow(sigma1, sigma2, y, t) -> sp.Matrix:  # noqa: F811 -- t: the time value, shadows the symbol
    """w(t) of gradient flow on 1/2 ||X w - y||^2 from w(0) = 0 (3 x 1)."""
    time = t
    return _spectral(sigma1, sigma2, y, lambda l: flow_filter(l, time))


def ridge(sigma1, sigma2, y, mu) -> sp.Matrix:  # noqa: F811 -- mu: the penalty value, shadows the symbol
    """argmin 1/2 ||X w - y||^2 + mu/2 ||w||^2 (3 x 1)."""
    penalty = mu
    return _spectral(sigma1, sigma2, y, lambda l: ridge_filter(l, penalty))


def min_norm_solution(sigma1, sigma2, y) -> sp.Matrix:
    """X^+ y = X^T (X X^T)^{-1} y, computed by SymPy from the design (3 x 1)."""
    X = design(sigma1, sigma2)
    return (X.T * (X * X.T).inv() * y).applyfunc(sp.simplify)  # (3 x 2)(2 x 2)(2 x 1) -> (3 x 1)


@functools.cache
def ridge_ratio() -> sp.Expr:
    """Gradient flow at t over ridge at mu = 1/t, per eigendirection, as a function of x = lambda t."""
    ratio = flow_filter(lam, t) / ridge_filter(lam, 1 / t)
    return sp.simplify(ratio.subs(t, x / lam))


@functools.cache
def ridge_ratio_maximum() -> tuple[sp.Expr, float, float]:
    """(stationarity condition, x*, r*): d ratio/dx = 0 iff e^x = 1 + x + x^2; r* = (1 + x*)^2/(1 + x* + x*^2)."""
    r = ridge_ratio()
    condition = sp.expand(sp.diff(r, x) * x**2 * sp.exp(x))  # same sign as d ratio/dx (x^2 e^x > 0)
    x_star = sp.nsolve(condition, x, 1.8, prec=30)
    return condition, float(x_star), float(r.subs(x, x_star))


def derivation_ridge_ratio() -> Derivation:
    """ratio -> 1 at x -> 0 and x -> oo, ratio = (1 - e^{-x})(1 + x)/x, and the stationarity condition."""
    r = ridge_ratio()
    condition, _, _ = ridge_ratio_maximum()
    derived = sp.Matrix([r, sp.limit(r, x, 0, "+"), sp.limit(r, x, sp.oo), condition])
    printed = sp.Matrix([(1 - sp.exp(-x)) * (1 + x) / x, 1, 1, 1 + x + x**2 - sp.exp(x)])
    return compare("gradient flow(t) / ridge(1/t) = (1 - e^{-x})(1 + x)/x, x = lambda t: 1 at both ends, "
                   "stationary where e^x = 1 + x + x^2", derived, printed)


# --------------------------------------------------------------------------- logistic regression -> max margin


@functools.cache
def _margin() -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(w_hat, alpha, w_tilde) for x_1 = (1, p), x_2 = (1, -q), both support vectors.

    KKT of min 1/2 ||w||^2 s.t. x_n^T w >= 1 with both constraints active: w = sum alpha_n x_n,
    x_n^T w = 1. Soudry et al. Thm 3 (gradient flow, eta = 1): exp(-x_n^T w_tilde) = alpha_n, which fixes
    w_tilde when the support vectors span R^2.
    """
    X = sp.Matrix([[1, p], [1, -q]])  # (2 x 2), rows x_n
    al = sp.Matrix(sp.symbols("alpha1 alpha2", positive=True))
    (dual,) = sp.solve(list(X * (X.T * al) - sp.ones(2, 1)), list(al), dict=True)
    alpha = al.xreplace(dual)
    w_hat = (X.T * alpha).applyfunc(sp.simplify)  # (2 x 2)(2 x 1) -> (2 x 1)
    wt = sp.Matrix(sp.symbols("wt1 wt2", real=True))
    (off,) = sp.solve(list(X * wt + alpha.applyfunc(sp.log)), list(wt), dict=True)
    return w_hat, alpha, wt.xreplace(off).applyfunc(lambda e: sp.expand_log(sp.simplify(e), force=True))


def max_margin(p_=p, q_=q) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(w_hat, alpha, w_tilde) at the given p, q."""
    return tuple(m.xreplace({p: p_, q: q_}) for m in _margin())


def exp_loss_trajectory(p_, q_, t_) -> sp.Matrix:
    """w(t) = w_hat log t + w_tilde (2 x 1)."""
    w_hat, _, w_tilde = max_margin(p_, q_)
    return w_hat * sp.log(t_) + w_tilde


def derivation_exp_loss_trajectory() -> Derivation:
    """w(t) = w_hat log t + w_tilde solves dw/dt = -grad sum_n exp(-x_n^T w) exactly (both points support vectors)."""
    w = exp_loss_trajectory(p, q, t)
    X = sp.Matrix([[1, p], [1, -q]])
    wv = sp.Matrix(sp.symbols("w1 w2", real=True))
    loss = sum(sp.exp(-(X[n, :] * wv)[0]) for n in range(2))
    minus_grad = sp.Matrix([-sp.diff(loss, v) for v in wv]).xreplace(dict(zip(wv, w)))
    return compare("d/dt (w_hat log t + w_tilde) = -grad of the exponential loss there (Soudry et al. Thm 3, exact)",
                   sp.diff(w, t), minus_grad, simplify=lambda e: sp.simplify(sp.expand(sp.powsimp(sp.expand_log(e, force=True)))))


def direction_error_constant(p_=p, q_=q) -> sp.Expr:
    """lim_{L -> oo} L * || w/||w|| - w_hat/||w_hat|| ||, w = w_hat L + w_tilde, L = log t (here w_hat = e1)."""
    w_hat, _, w_tilde = max_margin(p_, q_)
    L = sp.Symbol("L", positive=True)
    w = w_hat * L + w_tilde
    unit = w / sp.sqrt((w.T * w)[0]) - w_hat / sp.sqrt((w_hat.T * w_hat)[0])
    return sp.simplify(sp.limit(L * sp.sqrt(sp.simplify((unit.T * unit)[0])), L, sp.oo))


def derivation_margin_offset() -> Derivation:
    """x_1 = (1, 1), x_2 = (1, -2): w_hat = (1, 0), alpha = (2/3, 1/3), w_tilde_2 = -ln 2/3, error ~ (ln 2/3)/log t."""
    w_hat, alpha, w_tilde = max_margin(1, 2)
    derived = sp.Matrix([w_hat[0], w_hat[1], alpha[0], alpha[1], w_tilde[1], direction_error_constant(1, 2)])
    printed = sp.Matrix([1, 0, sp.Rational(2, 3), sp.Rational(1, 3), -sp.log(2) / 3, sp.log(2) / 3])
    return compare("x = (1, 1), (1, -2): w_hat = (1, 0), alpha = (2/3, 1/3), w_tilde_2 = -ln 2/3, "
                   "log t * direction error -> ln 2/3", derived, printed)


# --------------------------------------------------------------------------- statements, rendered from the printed forms
# The sums over eigendirections i stay typed notation around each rendered filter (lambda shown as lambda_i).

_lam_i = sp.Symbol("lambda_i", positive=True)
_NAMES = {a0: "a_0"}


def mode_strength_statement() -> str:
    """LaTeX of Saxe's ODE and its solution, rendered from ``_printed_field`` and ``printed_mode_strength``."""
    return (statement_latex(r"\dot a", _printed_field, a, s, tau) + r",\quad "
            + statement_latex("a(t)", printed_mode_strength, s, a0, tau, t, symbol_names=_NAMES))


def gd_map_statement() -> str:
    """LaTeX of one GD step on a mode, rendered from ``_printed_gd_map``."""
    return statement_latex("a_{k+1}", _printed_gd_map, sp.Symbol("a_k"), s, eta)


def half_time_statement(progress: bool = False) -> str:
    """LaTeX of t_1/2 (or, with progress, t_p), rendered from ``_printed_half_time`` / ``_printed_progress_time``."""
    if progress:
        return statement_latex("t_p", _printed_progress_time, s, a0, tau, symbol_names=_NAMES)
    return statement_latex("t_{1/2}", _printed_half_time, s, a0, tau, symbol_names=_NAMES)


def gd_filter_latex() -> str:
    """LaTeX of GD's filter at lambda_i, rendered from ``_printed_gd_filter``."""
    return form_latex(_printed_gd_filter, _lam_i, eta, k)


def flow_filter_latex() -> str:
    """LaTeX of gradient flow's filter at lambda_i, rendered from ``_printed_flow_filter``."""
    return form_latex(_printed_flow_filter, _lam_i, t)


def ridge_filter_latex() -> str:
    """LaTeX of ridge's filter at lambda_i and mu = 1/t, rendered from ``_printed_ridge_filter``."""
    return form_latex(_printed_ridge_filter, _lam_i, mu, symbol_names={mu: "1/t"})
