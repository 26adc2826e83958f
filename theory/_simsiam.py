"""SimSiam facts (Chen & He, CVPR 2021), derived by SymPy: stop-gradient symmetry, the EM step's minimizer,
and the collapse metric's reference value.

Family ``simsiam``: derivation ``theory._simsiam`` (the paper's equation, derived) ·
estimators ``numerics._simsiam`` · claims ``verify.claims._simsiam`` · tests ``tests/test_simsiam.py``.

Source: seed ``001_6773eab5ac926cae.txt`` (Self-distillation family slides): "Without predictor h the stop
gradient is equivalent to removing stop gradient and scaled by 1/2" (slide "Indispensable Predictor");
the EM-like objective L(theta, eta) = E_{x,T}||F_theta(T(x)) - eta_x||^2 and "the second optimization
gives eta <- E_T[T(x)]"; Figure 2's collapse monitor, "the per-channel std of the l2-normalized output"
(SimSiam Sec. 4.1: 1/sqrt(d) for a zero-mean isotropic Gaussian output, 0 when collapsed); the slide
"Predictor: fill the gap" (~line 297): "The predictor h aims to minimize E_{z_1}[||h(z_1) - z_2||_2^2] ...
the ideal form of h is h(z_1) = E_z[z_2] = E_T[f(T(x))]".

| code                     | paper                  | meaning                                                   |
|--------------------------|------------------------|-----------------------------------------------------------|
| ``z1, z2``               | z_1, z_2               | the two views' projections (d x 1)                        |
| ``D``                    | D                      | a symmetric distance: ``negative_cosine``, ``squared_l2`` |
| ``y1, y2``               | stopgrad(z_1), (z_2)   | frozen copies: symbols not differentiated, set to z after |
| ``A``                    | h                      | a linear predictor h(z) = A z (d x d)                     |
| ``F_values``             | F_theta(T_k(x))        | the encoder's output on augmentation k (rows, K x d)      |
| ``X``                    | T_k(x)                 | the augmented inputs (rows, K x d); encoder F = tanh       |
| ``v``                    | --                     | p_k = v_k^2 / sum v^2, the augmentation distribution     |
| ``eta``                  | eta_x                  | the M-step's target (d x 1)                               |
| ``d``                    | d                      | output dimension                                          |
| ``W1, W2``               | f                      | the encoder f(x) = W2 tanh(W1 x) of the predictor claims  |
| ``H``                    | h(z_1)                 | the predictor's output at each view z_1 (a table: rows)   |
| ``F``                    | f(T_k(x_m))            | target projections, sg: rows of view (m, k), M K x d      |
| ``p``                    | P(T = T_k)             | each image's augmentation probabilities, softmax(v) (M x K) |

Findings. (1) The equivalence needs the same D in both terms and no predictor: with h(z) = A z the
stop-gradient gradient is *not* half the no-stop-gradient one (``simsiam-predictor-stopgrad-half-gradient``,
expected refuted) -- the slide's "maintain asymmetry". (2) Read literally, eta <- E_T[T(x)] (the mean
augmented input) is the minimizer only for F = identity; the minimizer is E_T[F(T(x))]
(``simsiam-em-eta-as-printed``, expected refuted). (3) 1/sqrt(d) needs a zero-mean isotropic output; an
anisotropic Gaussian does not have it (``simsiam-channel-variance-anisotropic``, expected refuted). (4) The
optimal predictor is h(z_1) = E[z_2 | z_1]: the slide's E_T[f(T(x))] needs z_1 to identify its image x. Where
two images share a view, the optimum there is the posterior mixture of their augmentation means
(``simsiam-optimal-predictor-shared-view``, expected refuted).

Predictor derivations. ``predictor_optimum`` minimises the predictor loss over a table H (one output per
distinct view z_1; T, T' independent, images equally likely) by solving grad = 0 with generic symbols;
``derivation_optimal_predictor`` shows it is E_T[f(T(x))] for every view of x; ``derivation_predictor_loss``
expands E_T'||h - f(T'(x))||^2 into ||h - E_T f||^2 + E_T||f - E_T f||^2 (bias-variance), so the mean is the
minimiser and any other h costs exactly ||h - E_T f||^2 more.
"""

from __future__ import annotations

import functools
from typing import Callable

import sympy as sp

from ._derivation import Derivation, compare, statement_latex

__all__ = [
    "channel_std_statement",
    "DISTANCES",
    "derivation_channel_std",
    "derivation_em_minimizer",
    "derivation_stop_gradient",
    "em_minimizer",
    "half_gradient",
    "negative_cosine",
    "normalized_channel_moments",
    "predictor_half_gradient",
    "augmentation_mean",
    "augmentation_probabilities",
    "derivation_optimal_predictor",
    "derivation_predictor_loss",
    "encoder",
    "predictor_loss",
    "predictor_loss_decomposition",
    "predictor_optimum",
    "squared_l2",
    "stop_gradient_gradient",
]


def _dot(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    return (a.T * b)[0]


def negative_cosine(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    """D(a, b) = -a.b / (||a|| ||b||) (SimSiam eq. 1)."""
    return -_dot(a, b) / (sp.sqrt(_dot(a, a)) * sp.sqrt(_dot(b, b)))


def squared_l2(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    """D(a, b) = ||a - b||^2."""
    return _dot(a - b, a - b)


DISTANCES: dict[str, Callable[[sp.Matrix, sp.Matrix], sp.Expr]] = {"cosine": negative_cosine, "l2": squared_l2}


def _gradient(expr: sp.Expr, *vectors: sp.Matrix) -> sp.Matrix:
    """Gradient w.r.t. the stacked vectors: (sum of dims) x 1."""
    return sp.Matrix([sp.diff(expr, s) for v in vectors for s in v])


def _frozen(z: sp.Matrix, name: str) -> sp.Matrix:
    return sp.Matrix(z.rows, 1, sp.symbols(f"{name}_0:{z.rows}", real=True))


def stop_gradient_gradient(z1: sp.Matrix, z2: sp.Matrix, distance: str = "cosine", A: sp.Matrix | None = None) -> sp.Matrix:
    """grad_{(z1, z2)} [1/2 D(h(z1), sg(z2)) + 1/2 D(h(z2), sg(z1))], h = A (identity if None); (2d) x 1.

    sg is modelled by frozen symbols y1, y2 in the second slot, differentiated as constants and then set
    to z1, z2 (xreplace: simultaneous).
    """
    D = DISTANCES[distance]
    h = (lambda z: z) if A is None else (lambda z: A * z)
    y1, y2 = _frozen(z1, "y1"), _frozen(z2, "y2")
    loss = D(h(z1), y2) / 2 + D(h(z2), y1) / 2
    return _gradient(loss, z1, z2).xreplace({**dict(zip(y1, z1)), **dict(zip(y2, z2))})


def half_gradient(z1: sp.Matrix, z2: sp.Matrix, distance: str = "cosine") -> sp.Matrix:
    """1/2 grad_{(z1, z2)} D(z1, z2): the no-stop-gradient loss, halved; (2d) x 1."""
    return _gradient(DISTANCES[distance](z1, z2), z1, z2) / 2


def predictor_half_gradient(z1: sp.Matrix, z2: sp.Matrix, A: sp.Matrix, distance: str = "cosine") -> sp.Matrix:
    """1/2 grad_{(z1, z2)} [1/2 D(A z1, z2) + 1/2 D(A z2, z1)]: what the equivalence would predict with h = A."""
    D = DISTANCES[distance]
    return _gradient(D(A * z1, z2) / 2 + D(A * z2, z1) / 2, z1, z2) / 2


def derivation_stop_gradient(distance: str = "cosine", d: int = 3) -> Derivation:
    """SymPy: for symmetric D the stop-gradient symmetric loss has gradient 1/2 grad D (w.r.t. z1, z2 jointly)."""
    z1 = sp.Matrix(d, 1, sp.symbols(f"z1_0:{d}", real=True))
    z2 = sp.Matrix(d, 1, sp.symbols(f"z2_0:{d}", real=True))
    return compare(
        f"grad of 1/2 D(z1, sg z2) + 1/2 D(z2, sg z1) = 1/2 grad D(z1, z2), D = {distance}, d = {d}",
        stop_gradient_gradient(z1, z2, distance), half_gradient(z1, z2, distance), simplify=sp.cancel)


def em_minimizer(F_values: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
    """argmin_eta sum_k p_k ||F_k - eta||^2, p_k = v_k^2 / sum v^2: solved by SymPy from grad = 0; d x 1."""
    K, d = F_values.shape
    eta = sp.Matrix(d, 1, sp.symbols(f"eta_0:{d}", real=True))
    weights = [v[k] ** 2 for k in range(K)]
    loss = sum(w * _dot(F_values.row(k).T - eta, F_values.row(k).T - eta) for k, w in enumerate(weights)) / sum(weights)
    (solution,) = sp.solve(list(_gradient(loss, eta)), list(eta), dict=True)
    return eta.xreplace(solution)


def derivation_em_minimizer(K: int = 3, d: int = 2) -> Derivation:
    """The M-step: the stationary point of E_T||F(T(x)) - eta||^2 is E_T[F(T(x))] (a minimum: Hessian 2 I)."""
    F = sp.Matrix(K, d, sp.symbols(f"F_0:{K}_0:{d}", real=True))
    v = sp.Matrix(K, 1, sp.symbols(f"v_0:{K}", positive=True))
    p = [v[k] ** 2 / sum(v[j] ** 2 for j in range(K)) for k in range(K)]
    printed = sum((p[k] * F.row(k).T for k in range(K)), sp.zeros(d, 1))  # E_T[F(T(x))]
    return compare(f"argmin_eta E_T||F(T(x)) - eta||^2 = E_T[F(T(x))], K = {K} augmentations, d = {d}",
                   em_minimizer(F, v), printed, simplify=sp.cancel)


@functools.cache
def normalized_channel_moments() -> tuple[sp.Expr, sp.Expr]:
    """(E[zbar_1], E[zbar_1^2]) for z ~ N(0, sigma^2 I_d), zbar = z / ||z||, derived for symbolic d.

    E[zbar_1] = 0: zbar_1 is odd in z_1 and the law is symmetric. E[zbar_1^2] via 1/s = int_0^oo e^{-ts} dt:
    E[z_1^2 / ||z||^2] = int_0^oo E[z_1^2 e^{-t z_1^2}] E[e^{-t z_2^2}]^(d-1) dt (sigma = 1: scale-free),
    each factor a 1-D Gaussian integral done by SymPy.
    """
    d = sp.Symbol("d", positive=True)
    x, t = sp.Symbol("x", real=True), sp.Symbol("t", positive=True)
    phi = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    m_sq = sp.simplify(sp.integrate(x**2 * sp.exp(-t * x**2) * phi, (x, -sp.oo, sp.oo)))  # (1 + 2t)^(-3/2)
    m_0 = sp.simplify(sp.integrate(sp.exp(-t * x**2) * phi, (x, -sp.oo, sp.oo)))  # (1 + 2t)^(-1/2)
    integrand = sp.powsimp(m_sq * m_0 ** (d - 1), force=True)
    second = sp.simplify(sp.integrate(integrand, (t, 0, sp.oo), conds="none"))
    return sp.S.Zero, second


def _printed_channel_std(d):
    """SimSiam's per-channel std of z/||z|| for an isotropic Gaussian z: 1/sqrt(d) (typed once)."""
    return 1 / sp.sqrt(d)


def derivation_channel_std() -> Derivation:
    """std(zbar_i) = sqrt(E zbar_i^2 - (E zbar_i)^2) = 1/sqrt(d) (SimSiam's collapse reference)."""
    d = sp.Symbol("d", positive=True)
    first, second = normalized_channel_moments()
    std = _printed_channel_std(d)
    return compare("per-channel std of z/||z||, z ~ N(0, sigma^2 I_d), equals 1/sqrt(d) (and E zbar_i^2 = 1/d)",
                   sp.Matrix([sp.sqrt(second - first**2), second]), sp.Matrix([std, std**2]))


def channel_std_statement() -> str:
    """LaTeX ``std(z_i/||z||) = 1/sqrt(d)``, rendered from ``_printed_channel_std``."""
    return statement_latex(r"\mathrm{std}(z_i/\|z\|)", _printed_channel_std, sp.Symbol("d", positive=True))


# --------------------------------------------------------------------------- the optimal predictor


def encoder(W1: sp.Matrix, W2: sp.Matrix, X: sp.Matrix) -> sp.Matrix:
    """f(x) = W2 tanh(W1 x) at every row x of X: rows f(x_k), (K x d_out)."""
    return (W2 * (W1 * X.T).applyfunc(sp.tanh)).T  # (o x h)(h x i)(i x K) -> o x K -> K x o


def augmentation_mean(F: sp.Matrix, p) -> sp.Matrix:
    """The slide's ideal predictor, h(z_1) = E_T[f(T(x))] = sum_k p_k F_k (F: rows f(T_k(x)), K x d); d x 1."""
    return sum((p[k] * F.row(k).T for k in range(F.rows)), sp.zeros(F.cols, 1))


def augmentation_probabilities(v: sp.Matrix) -> list:
    """p_k = e^{v_k} / sum_j e^{v_j} (one image's augmentation distribution; every p_k > 0)."""
    return [sp.exp(v[k]) / sum(sp.exp(e) for e in v) for k in range(len(v))]


@functools.cache
def _generic_predictor_optimum(M: int, K: int, d: int, shared: tuple) -> tuple:
    """argmin_H sum_m 1/M sum_k p_mk sum_k' p_mk' ||H[view(m, k)] - F_mk'||^2, solved by SymPy from grad_H = 0
    with generic symbols F, p. ``shared``: pairs ((m, k), (m', k')) of views that are the same z_1 (one row of H).
    Returns (F, p, H*): H* rows per view (m, k), M K x d, in the generic symbols."""
    F = sp.Matrix(M * K, d, sp.symbols(f"F_0:{M * K}_0:{d}", real=True))
    p = sp.Matrix(M, K, sp.symbols(f"p_0:{M}_0:{K}", positive=True))
    alias = {b: a for a, b in shared}
    view = {(m, k): alias.get((m, k), (m, k)) for m in range(M) for k in range(K)}
    rows = sorted(set(view.values()))
    H = {r: sp.Matrix(d, 1, sp.symbols(f"h_{r[0]}{r[1]}_0:{d}", real=True)) for r in rows}
    loss = sp.S.Zero
    for m in range(M):
        for k in range(K):
            h = H[view[(m, k)]]
            for j in range(K):
                loss += p[m, k] * p[m, j] * _dot(h - F.row(m * K + j).T, h - F.row(m * K + j).T) / M
    unknowns = [s for r in rows for s in H[r]]
    (solution,) = sp.solve([sp.diff(loss, s) for s in unknowns], unknowns, dict=True)
    optimum = sp.Matrix.vstack(*[H[view[(m, k)]].T.xreplace(solution) for m in range(M) for k in range(K)])
    return F, p, optimum


def predictor_optimum(F: sp.Matrix, v: sp.Matrix, shared: tuple = ()) -> sp.Matrix:
    """The loss-minimising predictor output at each view (m, k): M K x d. F: rows f(T_k(x_m)), M K x d; v: M x K
    (p_mk = softmax of row m); the generic solution with F and p substituted."""
    M, K = v.shape
    Fs, ps, optimum = _generic_predictor_optimum(M, K, F.cols, tuple(shared))
    values = {**dict(zip(Fs, F)), **{ps[m, k]: q for m in range(M) for k, q in enumerate(augmentation_probabilities(v.row(m)))}}
    return optimum.xreplace(values)


def derivation_optimal_predictor(M: int = 2, K: int = 2, d: int = 2) -> Derivation:
    """The predictor loss's minimiser at every view z_1 of image x is E_T[f(T(x))] (views identify images)."""
    F, p, optimum = _generic_predictor_optimum(M, K, d, ())
    normalised = {p[m, K - 1]: 1 - sum(p[m, k] for k in range(K - 1)) for m in range(M)}  # sum_k p_mk = 1
    printed = sp.Matrix.vstack(*[augmentation_mean(F[m * K:(m + 1) * K, :], p.row(m)).T
                                 for m in range(M) for _ in range(K)])
    optimum, printed = optimum.xreplace(normalised), printed.xreplace(normalised)
    return compare(f"argmin_h E||h(z_1) - sg(z_2)||^2 = E_T[f(T(x))] at every view of x, {M} images, K = {K}, d = {d}",
                   optimum, printed, simplify=sp.cancel)


def predictor_loss(h: sp.Matrix, F: sp.Matrix, p) -> sp.Expr:
    """E_T'||h - f(T'(x))||^2 = sum_k p_k ||h - F_k||^2: one image's predictor loss at output h."""
    return sum((p[k] * _dot(h - F.row(k).T, h - F.row(k).T) for k in range(F.rows)), sp.S.Zero)


def predictor_loss_decomposition(h: sp.Matrix, F: sp.Matrix, p) -> sp.Expr:
    """Bias-variance: ||h - E_T f||^2 + E_T||f - E_T f||^2 (the loss at the mean plus ||h - mean||^2)."""
    mu = augmentation_mean(F, p)
    return _dot(h - mu, h - mu) + predictor_loss(mu, F, p)


def derivation_predictor_loss(K: int = 3, d: int = 2) -> Derivation:
    """E_T'||h - f(T'(x))||^2 = ||h - E_T f||^2 + E_T||f - E_T f||^2 for probabilities p summing to 1."""
    F = sp.Matrix(K, d, sp.symbols(f"F_0:{K}_0:{d}", real=True))
    h = sp.Matrix(d, 1, sp.symbols(f"h_0:{d}", real=True))
    p = augmentation_probabilities(sp.Matrix(sp.symbols(f"v_0:{K}", real=True)))
    return compare(f"E_T'||h - f(T'(x))||^2 = ||h - E_T f||^2 + Var_T f, K = {K}, d = {d}",
                   predictor_loss(h, F, p), predictor_loss_decomposition(h, F, p), simplify=sp.cancel)
