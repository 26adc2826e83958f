"""Built-in claims: learning dynamics of linear models (seed 003_fa032fc7f3085293.txt): deep linear networks
(Saxe et al. 2014) and the implicit bias of gradient descent (min-norm, early stopping vs ridge, max margin).

Family ``linear-dynamics``: derivation ``theory._linear_dynamics`` (the paper's equation, derived) ·
estimators ``numerics._linear_dynamics`` · claims ``verify.claims._linear_dynamics`` · tests ``tests/test_linear_dynamics.py``.

Closed forms come from ``theory._linear_dynamics`` (SymPy: dsolve / summation / limit / solve), the
simulations from ``numerics._linear_dynamics``. All claims are ``exact=``: they hold to float64 round-off,
so a discrepancy of a few ulps of the quantity's scale is detectable. Statements that are false as read
(larger modes first at large initialisation; gradient flow = ridge at 1/t; min-norm from any start) are
``expected="refuted"``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp
import torch

from numerics import _linear_dynamics as nl
from theory import _linear_dynamics as tl
from verify._claim import Claim
from numerics._compile import lambdify_torch
from verify._params import Real, Vector

__all__ = [
    "CLAIMS", "EXP_LOSS_TRAJECTORY", "GD_ITERATE", "GD_MIN_NORM", "GD_MIN_NORM_ANY_INIT", "GRADIENT_FLOW_FILTER",
    "GRADIENT_FLOW_IS_RIDGE", "RIDGE_FILTER", "LARGER_FIRST_LARGE_INIT", "LARGER_FIRST_PROGRESS",
    "LARGER_FIRST_SMALL_INIT", "MODE_STRENGTH_ODE", "TWO_LAYER_GD",
]

SEED = "seed 003_fa032fc7f3085293.txt"
SAXE = "Saxe, McClelland & Ganguli, ICLR 2014 (arXiv:1312.6120), eqs. 6-8"
ALI = "Ali, Kolter & Tibshirani, AISTATS 2019 (arXiv:1810.10082)"
SOUDRY = "Soudry et al., JMLR 2018 (arXiv:1710.10345), Theorem 3"
FAMILY = "linear-dynamics"
F64 = torch.float64


def _frame(M: sp.Matrix) -> torch.Tensor:
    """A fixed rational frame from the theory module, as float64 data."""
    return torch.tensor(np.array(M, dtype=np.float64), dtype=F64)


# --------------------------------------------------------------------------- deep linear networks


_a_of_t = lambdify_torch([tl.s, tl.a0, tl.tau, tl.t], [tl.printed_mode_strength()])  # (...) -> (..., 1)


def _mode_rate_autograd(s, a0, tau, t):
    """d/dt of the lambdified a(t) by autograd."""
    t = t.detach().clone().requires_grad_(True)
    a = _a_of_t(s, a0, tau, t)[..., 0]  # (..., 1) -> (...)
    (rate,) = torch.autograd.grad(a, t)
    return rate


def _mode_field_at_a_of_t(s, a0, tau, t):
    return tl.mode_field().xreplace({tl.a: tl.mode_strength(s, a0, tau, t), tl.s: s, tl.tau: tau})


MODE_STRENGTH_ODE = Claim(
    name="saxe-mode-strength-ode",
    params={"s": Real(0.2, 3.0), "a0": Real(0.01, 2.0), "tau": Real(0.5, 2.0), "t": Real(0.0, 5.0)},
    closed_form=_mode_field_at_a_of_t,
    exact=_mode_rate_autograd,
    derivation=tl.derivation_mode_strength,
    statement=tl.mode_strength_statement(),  # rendered from the printed SymPy forms the derivations prove
    reference=f"{SEED} ('deep linear networks'); {SAXE}: one mode, balanced two-layer case",
    family=FAMILY,
    notes="Closed form: the derived field 2a(s - a)/tau (gradient flow on 1/2 (s - bc)^2, b = c) at the printed a(t); "
          "estimate: autograd d/dt of the lambdified printed a(t). a0 > s included (a decays to s).",
)


STEPS = 4  # GD steps in the exact two-layer claim (the closed form has degree 3^4 in a0)


def _two_layer_gd(s1, s2, a0, eta):
    """W2 W1 after STEPS GD steps; Sigma_yx = U diag(s) R^T, W1 = sqrt(a0) R^T, W2 = sqrt(a0) U (balanced, aligned)."""
    U, R = _frame(tl.U_FRAME), _frame(tl.R_FRAME)  # (2, 2) each
    Sigma = U @ torch.diag(torch.stack([s1, s2])) @ R.T  # (2, 2)
    W1, W2 = torch.sqrt(a0) * R.T, torch.sqrt(a0) * U  # (h=2, d=2), (m=2, h=2)
    W1, W2 = nl.deep_linear_gd(W1, W2, Sigma, eta, STEPS)
    return W2 @ W1  # (2, 2)


def _two_layer_trajectory(seed: int) -> dict:
    """GD (eta = 0.01) mode strengths vs Saxe's a(t) (tau = 1), s = (1, 2.5), a0 = 0.01."""
    s = torch.tensor([1.0, 2.5], dtype=F64)
    a0, eta, steps, every = 0.01, 0.01, 600, 10
    U, R = _frame(tl.U_FRAME), _frame(tl.R_FRAME)
    P = nl.deep_linear_gd(math.sqrt(a0) * R.T, math.sqrt(a0) * U, U @ torch.diag(s) @ R.T, eta, steps, every=every)
    modes = torch.diagonal(U.T @ P @ R, dim1=-2, dim2=-1)  # (T, 2, 2) -> (T, 2)
    t = torch.arange(P.shape[0], dtype=F64) * eta * every  # (T,)
    theory = _a_of_t(s[None, :], torch.tensor(a0, dtype=F64), torch.tensor(1.0, dtype=F64), t[:, None])[..., 0]  # (T, 2)
    series = {}
    for i in range(2):
        series[f"a(t), s = {float(s[i]):g}"] = theory[:, i].tolist()
        series[f"GD, s = {float(s[i]):g}"] = modes[:, i].tolist()
    return {"t": t.tolist(), "series": series, "xlabel": "t = step x eta (tau = 1)", "ylabel": "mode strength a",
            "title": "Two-layer linear network: GD (eta = 0.01) vs Saxe's a(t), a0 = 0.01"}


TWO_LAYER_GD = Claim(
    name="saxe-two-layer-gd-modes",
    params={"s1": Real(0.5, 1.5), "s2": Real(1.5, 3.0), "a0": Real(0.001, 0.5), "eta": Real(0.005, 0.05)},
    closed_form=lambda s1, s2, a0, eta: tl.two_mode_product(s1, s2, a0, eta, STEPS),
    exact=_two_layer_gd,
    derivation=tl.derivation_mode_gd_map,
    trajectory=_two_layer_trajectory,
    statement=r"W_2W_1 \text{ after } k \text{ GD steps} = U\,\mathrm{diag}(a_k(s_1), a_k(s_2))\,R^\top,\ "
              + tl.gd_map_statement(),
    reference=f"{SEED}; {SAXE}: decoupled modes under balanced, aligned initialisation (whitened inputs)",
    family=FAMILY,
    notes=f"Full-matrix GD ({STEPS} steps) on 1/2||Sigma_yx - W2 W1||^2, two modes in fixed rational frames U, R, "
          "vs the SymPy-iterated per-mode map: GD keeps the modes decoupled and balanced. The step-size -> 0 "
          "convergence to a(t) (error slope 1 in eta) is in tests/test_linear_dynamics.py.",
)


ORDER_STEPS, ORDER_ETA = 600, 0.01  # t up to 6: every crossing below happens before t = 3.5


def _larger_first(criterion: str):
    """1 if the s2 mode (s2 > s1) reaches its level before the s1 mode in full-matrix GD, else 0."""

    def estimate(s1, s2, a0):
        s = torch.stack([s1, s2])  # (2,)
        U, R = _frame(tl.U_FRAME), _frame(tl.R_FRAME)
        P = nl.deep_linear_gd(torch.sqrt(a0) * R.T, torch.sqrt(a0) * U, U @ torch.diag(s) @ R.T, ORDER_ETA, ORDER_STEPS, every=1)
        modes = torch.diagonal(U.T @ P @ R, dim1=-2, dim2=-1)  # (T, 2, 2) -> (T, 2)
        level = s / 2 if criterion == "absolute" else (a0 + s) / 2  # (2,)
        t_small, t_large = nl.half_crossing_times(modes, level, ORDER_ETA)
        return (t_large < t_small).to(F64)

    return estimate


# the ordering (an implication) is typed; the half time in it is rendered
ORDER_STATEMENT = (r"s_2 > s_1 \Rightarrow t_{1/2}(s_2) < t_{1/2}(s_1),\quad " + tl.half_time_statement() + r"\ (a = s/2)")

LARGER_FIRST_SMALL_INIT = Claim(
    name="saxe-larger-modes-first-small-init",
    params={"s1": Real(1.0, 1.2), "s2": Real(2.5, 3.0), "a0": Real(0.001, 0.05)},
    closed_form=lambda: sp.S.One,
    exact=_larger_first("absolute"),
    derivation=tl.derivation_half_time,
    statement=ORDER_STATEMENT + r",\ a_0 \le 0.05",
    reference=f"{SEED} line ~173: 'student learns biggest singular values ... first'; {SAXE}",
    family=FAMILY,
    examples=20,
    notes="Indicator from full-matrix GD (eta = 0.01, interpolated crossing times of a = s/2). s/a0 >= 20 > r* = 4.5911 "
          "here, where t_1/2 decreases in s.",
)

LARGER_FIRST_LARGE_INIT = Claim(
    name="saxe-larger-modes-first-large-init",
    params={"s1": Real(1.0, 1.2), "s2": Real(2.5, 3.0), "a0": Real(0.2, 0.45)},
    closed_form=lambda: sp.S.One,
    exact=_larger_first("absolute"),
    derivation=tl.derivation_half_time,
    statement=ORDER_STATEMENT + r",\ a_0 \in [0.2, 0.45]",
    reference=f"{SEED} line ~173; {SAXE}",
    family=FAMILY,
    expected="refuted",
    examples=20,
    notes="Finding: d t_1/2/ds < 0 iff ln(r - 1) > r/(r - 1), r = s/a0, i.e. r > r* = 4.5911 "
          "(theory._linear_dynamics.ordering_threshold). E.g. a0 = 0.45: s = 1.2 reaches s/2 at t = 0.21 tau, "
          "s = 3 at 0.29 tau. Measured as progress from a0 (next claim) the larger mode is always first.",
)

LARGER_FIRST_PROGRESS = Claim(
    name="saxe-larger-modes-first-progress",
    params={"s1": Real(1.0, 1.2), "s2": Real(2.5, 3.0), "a0": Real(0.2, 0.45)},
    closed_form=lambda: sp.S.One,
    exact=_larger_first("progress"),
    derivation=tl.derivation_half_time,
    statement=r"s_2 > s_1 \Rightarrow t_p(s_2) < t_p(s_1),\quad " + tl.half_time_statement(progress=True)
              + r"\ (a = (a_0 + s)/2)",
    reference=f"{SEED} line ~173; {SAXE}: the half-way time, which decreases in s for every a0 > 0",
    family=FAMILY,
    examples=20,
    notes="Same GD as saxe-larger-modes-first-large-init, with 'learned' = half of the way from a0 to s: "
          "d/ds [ln(1 + s/a0)/s] < 0 since x/(1 + x) < ln(1 + x).",
)


# --------------------------------------------------------------------------- least squares: implicit bias


SIGMA = Real(0.5, 2.0)
TARGETS = Vector(2, norm=(0.1, 10.0))
GD_STEPS = 10
MIN_NORM_STEPS = 700  # eta = 1/sigma_max^2: contraction <= 1 - 1/16, 0.9375^700 < 1e-19


def _design(sigma1, sigma2):
    U, V = _frame(tl.U_FRAME), _frame(tl.V_FRAME)  # (2, 2), (3, 2)
    return U @ torch.diag(torch.stack([sigma1, sigma2])) @ V.T  # (2, 2)(2, 2)(2, 3) -> (2, 3)


GD_ITERATE = Claim(
    name="least-squares-gd-iterate",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS, "eta": Real(0.01, 0.45)},
    closed_form=lambda sigma1, sigma2, y, eta: tl.gd_iterate(sigma1, sigma2, y, eta, GD_STEPS),
    exact=lambda sigma1, sigma2, y, eta: nl.least_squares_gd(_design(sigma1, sigma2), y, eta, GD_STEPS),
    derivation=tl.derivation_gd_filter,
    # the sum over eigendirections is typed notation; the filter in it is rendered
    statement=r"w_k = \sum_i " + tl.gd_filter_latex() + r"\, v_i v_i^\top X^\top y,\quad w_0 = 0",
    reference=f"{SEED} 'implicit bias': early stopping in least squares; {ALI}",
    family=FAMILY,
    notes=f"X = U diag(sigma) V^T (2 x 3, fixed rational frames), k = {GD_STEPS}; eta lambda up to 1.8 (oscillating, "
          "still convergent). The filter comes from sp.summation of the geometric series.",
)


def _gd_to_convergence(sigma1, sigma2, y, w0=None):
    eta = 1.0 / torch.maximum(sigma1, sigma2) ** 2
    return nl.least_squares_gd(_design(sigma1, sigma2), y, eta, MIN_NORM_STEPS, w0)


GD_MIN_NORM = Claim(
    name="least-squares-gd-min-norm",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS},
    closed_form=tl.min_norm_solution,
    exact=_gd_to_convergence,
    derivation=tl.derivation_min_norm_limit,
    # typed (and the next): pseudo-inverse notation, a limit of matrices
    statement=r"\lim_{k\to\infty} w_k = X^+ y = X^\top (XX^\top)^{-1} y\quad (w_0 = 0,\ n < d)",
    reference=f"{SEED} 'implicit bias': 'GD will converge to min-norm soln'",
    family=FAMILY,
    examples=30,
    notes=f"GD with eta = 1/sigma_max^2 for {MIN_NORM_STEPS} steps (converged to round-off) vs X^T (X X^T)^-1 y by SymPy.",
)

GD_MIN_NORM_ANY_INIT = Claim(
    name="least-squares-gd-min-norm-any-init",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS, "w0": Vector(3, norm=(0.1, 10.0))},
    closed_form=tl.min_norm_solution,
    exact=_gd_to_convergence,
    statement=r"\lim_{k\to\infty} w_k = X^+ y\ \text{from any } w_0",
    reference=f"{SEED} 'implicit bias' (the start w_0 = 0 left implicit)",
    family=FAMILY,
    expected="refuted",
    examples=10,
    notes="Finding: GD never moves the null-space part of w0: the limit is X^+ y + (I - X^+ X) w0; the min-norm "
          "solution needs w0 in the row space of X (e.g. 0).",
)


FLOW_TIME = Real(0.05, 5.0)


GRADIENT_FLOW_FILTER = Claim(
    name="gradient-flow-spectral-filter",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS, "t": FLOW_TIME},
    closed_form=tl.gradient_flow,
    exact=lambda sigma1, sigma2, y, t: nl.gradient_flow_least_squares(_design(sigma1, sigma2), y, t),
    derivation=tl.derivation_flow_filter,
    statement=r"w(t) = \sum_i " + tl.flow_filter_latex() + r"\, v_i v_i^\top X^\top y",
    reference=f"{SEED} 'early stopping in least squares'; {ALI}, eq. (5)",
    family=FAMILY,
    notes="Estimate: torch.linalg.matrix_exp of the augmented generator [[-X^T X, X^T y], [0, 0]]; closed form: "
          "sp.dsolve per eigendirection.",
)

GRADIENT_FLOW_IS_RIDGE = Claim(
    name="gradient-flow-equals-ridge",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS, "t": FLOW_TIME},
    closed_form=lambda sigma1, sigma2, y, t: tl.ridge(sigma1, sigma2, y, 1 / t),
    exact=lambda sigma1, sigma2, y, t: nl.gradient_flow_least_squares(_design(sigma1, sigma2), y, t),
    # typed: an identity between two solutions, notation only
    statement=r"w_{\mathrm{flow}}(t) = w_{\mathrm{ridge}}(\lambda = 1/t)",
    reference=f"{SEED}: 'early stopping is very similar to ridge regression ... when lambda = 1/t'",
    family=FAMILY,
    expected="refuted",
    examples=10,
    derivation=tl.derivation_ridge_ratio,
    notes="Finding: similar, not equal: per eigendirection the filters are 1 - e^{-x} and x/(1 + x), x = lambda t; "
          "flow/ridge lies in [1, 1.29843], equal only in the limits x -> 0 and x -> oo (derivation).",
)


RIDGE_FILTER = Claim(
    name="ridge-spectral-filter",
    params={"sigma1": SIGMA, "sigma2": SIGMA, "y": TARGETS, "t": FLOW_TIME},
    closed_form=lambda sigma1, sigma2, y, t: tl.ridge(sigma1, sigma2, y, 1 / t),
    exact=lambda sigma1, sigma2, y, t: nl.ridge_solution(_design(sigma1, sigma2), y, 1 / t),
    derivation=tl.derivation_ridge_ratio,
    statement=r"w_{\mathrm{ridge}}(1/t) = \sum_i " + tl.ridge_filter_latex() + r"\, v_i v_i^\top X^\top y:\ "
              r"\frac{\text{flow}}{\text{ridge}} = \frac{(1 - e^{-x})(1 + x)}{x} \in [1, 1.29843],\ x = \lambda_i t",  # typed: a range (inequality)
    reference=f"{SEED} 'can relate their risks very closely when lambda = 1/t'; {ALI}, Lemma 7 (constant 1.2985)",
    family=FAMILY,
    notes="Estimate: torch.linalg.solve of (X^T X + I/t) w = X^T y; closed form: the ridge filter solved by SymPy. The "
          "derivation gives the flow/ridge filter ratio, 1 at x -> 0 and x -> oo, stationary where e^x = 1 + x + x^2: "
          "maximum (1 + x*)^2/(1 + x* + x*^2) = 1.298426 at x* = 1.79328 (the ratio's range is tested on the simulations).",
)


# --------------------------------------------------------------------------- separable data: max margin


@functools.cache
def _exp_trajectory_fn():
    """w(t) = w_hat log t + w_tilde, lambdified on first use: the max-margin solve costs ~1 s of SymPy, which
    ``import verify.claims`` (every ``theorycheck run``, every cluster worker) should not pay."""
    return lambdify_torch([tl.p, tl.q, tl.t], list(tl.exp_loss_trajectory(tl.p, tl.q, tl.t)))  # -> (..., 2)


def _exp_trajectory(p, q, t):
    return _exp_trajectory_fn()(p, q, t)


def _margin_rate(p, q, t):
    """sum_n alpha_n x_n / t (= w_hat / t, unsimplified so the zero second component keeps its scale)."""
    _, alpha, _ = tl.max_margin(p, q)
    X = sp.Matrix([[1, p], [1, -q]])  # rows x_n
    return sp.Matrix([sum(alpha[n] * X[n, j] for n in range(2)) / t for j in range(2)])


def _exp_loss_rate(p, q, t):
    X = torch.stack([torch.stack([torch.ones_like(p), p]), torch.stack([torch.ones_like(q), -q])])  # (2, 2)
    return nl.exp_loss_minus_gradient(X, _exp_trajectory(p, q, t))


def _logistic_trajectory(seed: int) -> dict:
    """Direction error of logistic gradient flow vs (ln 2/3)/log t and the w_hat log t + w_tilde prediction."""
    X = np.array([[1.0, 1.0], [1.0, -2.0]])
    u = np.linspace(2.0, 60.0, 30)  # log t
    w = nl.logistic_flow_log_time(X, u)  # (30, 2)
    w_hat = np.array([1.0, 0.0])
    pred = _exp_trajectory(torch.tensor(1.0, dtype=F64), torch.tensor(2.0, dtype=F64), torch.tensor(np.exp(u))).numpy()  # (30, 2)
    c = float(tl.direction_error_constant(1, 2))
    return {"t": u.tolist(), "series": {"logistic gradient flow": nl.direction_error(w, w_hat).tolist(),
                                        "w_hat log t + w_tilde": nl.direction_error(pred, w_hat).tolist(),
                                        "(ln 2/3) / log t": (c / u).tolist()},
            "xlabel": "log t", "ylabel": "|| w/||w|| - w_hat ||",
            "title": "Logistic regression on x = (1, 1), (1, -2): direction error ~ (ln 2/3)/log t"}


EXP_LOSS_TRAJECTORY = Claim(
    name="max-margin-exp-loss-trajectory",
    params={"p": Real(0.5, 3.0), "q": Real(0.5, 3.0), "t": Real(1.0, 1000.0)},
    closed_form=_margin_rate,
    exact=_exp_loss_rate,
    derivation=tl.derivation_exp_loss_trajectory,
    trajectory=_logistic_trajectory,
    # typed: sums over the samples n
    statement=r"-\nabla \sum_n e^{-x_n^\top w}\Big|_{w = \hat w\log t + \tilde w} = \frac{1}{t}\sum_n \alpha_n x_n"
              r" = \frac{\hat w}{t} = \frac{d}{dt}(\hat w\log t + \tilde w)",
    reference=f"{SEED} 'sgd on logistic reg. gives hard margin svm'; {SOUDRY}",
    family=FAMILY,
    notes="Data x_1 = (1, p), x_2 = (1, -q), both support vectors; w_hat, alpha (KKT) and w_tilde (e^{-x_n^T w_tilde} = "
          "alpha_n) solved by SymPy; estimate: autograd of the exponential loss at the lambdified trajectory. So "
          "w_hat log t + w_tilde is an exact gradient-flow path; the direction error is |w_tilde_2|/log t + O(1/log^2 t) "
          "((ln 2/3)/log t for p = 1, q = 2); logistic flow approaches it (tests).",
)


CLAIMS = (
    MODE_STRENGTH_ODE,
    TWO_LAYER_GD,
    LARGER_FIRST_SMALL_INIT,
    LARGER_FIRST_LARGE_INIT,
    LARGER_FIRST_PROGRESS,
    GD_ITERATE,
    GD_MIN_NORM,
    GD_MIN_NORM_ANY_INIT,
    GRADIENT_FLOW_FILTER,
    GRADIENT_FLOW_IS_RIDGE,
    RIDGE_FILTER,
    EXP_LOSS_TRAJECTORY,
)
