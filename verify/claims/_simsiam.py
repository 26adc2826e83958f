"""Built-in claims: SimSiam facts (seed 001_6773eab5ac926cae.txt; Chen & He, CVPR 2021).

Family ``simsiam``: derivation ``theory._simsiam`` (the paper's equation, derived) ·
estimators ``numerics._simsiam`` · claims ``verify.claims._simsiam`` · tests ``tests/test_simsiam.py``.

Closed forms from ``theory._simsiam`` (SymPy), estimators from ``numerics._simsiam``: autograd with a real
``.detach()`` stop-gradient (exact claims), one Newton step for the M-step's minimizer (exact for a
quadratic), and per-sample channel variances of the l2-normalized output (Monte Carlo). The Monte Carlo claims
with random outputs declare the standard normal draws of the two independent outputs as engine-owned inputs
(``inputs={"a": Gaussian(d), "b": Gaussian(d)}``), so the engine reduces the variance; the collapsed claim has
nothing random and stays as it was.
"""

from __future__ import annotations

import functools

import sympy as sp
import torch

from numerics import _simsiam as ns
from theory import _simsiam as ts
from verify._claim import Claim
from verify._draws import MAX_QUADRATIC_DIM, Gaussian
from verify._params import Matrix, Real, Vector

__all__ = [
    "CLAIMS", "SIMSIAM_STOPGRAD_COSINE", "SIMSIAM_STOPGRAD_L2", "SIMSIAM_PREDICTOR_STOPGRAD",
    "SIMSIAM_EM_MINIMIZER", "SIMSIAM_EM_AS_PRINTED", "SIMSIAM_CHANNEL_VARIANCE", "SIMSIAM_CHANNEL_COLLAPSED",
    "SIMSIAM_CHANNEL_ANISOTROPIC", "SIMSIAM_OPTIMAL_PREDICTOR", "SIMSIAM_OPTIMAL_PREDICTOR_SHARED_VIEW",
    "SIMSIAM_PREDICTOR_LOSS", "SIMSIAM_PREDICTOR_MEAN_IS_OPTIMAL",
]

SEED = "seed 001_6773eab5ac926cae.txt (Self-distillation family slides; Chen & He, CVPR 2021)"
FAMILY = "simsiam"
D_OUT = 4  # output dimension of the gradient claims
K_AUG = 3  # augmentations in the M-step claims
Z = Vector(D_OUT, norm=(0.1, 10.0))
D_IN, HIDDEN, D_PRED = 2, 3, 3  # the predictor claims' encoder f(x) = W2 tanh(W1 x): 2 -> 3 -> 3

# typed: gradient identities between losses (and, below, argmins and implications), not closed forms
STOPGRAD_STATEMENT = (r"\nabla_{(z_1, z_2)}\Big[\tfrac12 D(z_1, \mathrm{sg}(z_2)) + \tfrac12 D(z_2, \mathrm{sg}(z_1))\Big]"
                      r" = \tfrac12 \nabla_{(z_1, z_2)} D(z_1, z_2),\quad D(a, b) = D(b, a)")


def _stopgrad_claim(distance: str, label: str) -> Claim:
    return Claim(
        name=f"simsiam-stopgrad-{distance}",
        params={"z1": Z, "z2": Z},
        closed_form=functools.partial(ts.half_gradient, distance=distance),
        exact=functools.partial(ns.stop_gradient_gradient, distance=distance),
        derivation=functools.partial(ts.derivation_stop_gradient, distance, 3),
        statement=STOPGRAD_STATEMENT,
        reference=f"{SEED}: slide 'Indispensable Predictor': without h, stop-gradient = no stop-gradient scaled by 1/2",
        family=FAMILY,
        examples=20,
        notes=(f"D = {label}, d = {D_OUT}; gradient w.r.t. (z1, z2) jointly (2d components). Estimator: autograd "
               "with z.detach() in the second slot. Parallel / anti-parallel / equal views are boundary examples "
               "(cosine gradient 0 there)."),
    )


SIMSIAM_STOPGRAD_COSINE = _stopgrad_claim("cosine", "negative cosine (F.cosine_similarity)")
SIMSIAM_STOPGRAD_L2 = _stopgrad_claim("l2", "squared L2")


def _predictor_closed_form(z1, z2, A):
    return ts.predictor_half_gradient(z1, z2, A, "cosine")


def _predictor_exact(z1, z2, A):
    return ns.stop_gradient_gradient(z1, z2, "cosine", A=A)


SIMSIAM_PREDICTOR_STOPGRAD = Claim(
    name="simsiam-predictor-stopgrad-half-gradient",
    params={"z1": Z, "z2": Z, "A": Matrix(D_OUT, D_OUT, norm=(0.5, 2.0))},
    closed_form=_predictor_closed_form,
    exact=_predictor_exact,
    statement=(r"\nabla\Big[\tfrac12 D(h(z_1), \mathrm{sg}(z_2)) + \tfrac12 D(h(z_2), \mathrm{sg}(z_1))\Big]"
               r" = \tfrac12\nabla\Big[\tfrac12 D(h(z_1), z_2) + \tfrac12 D(h(z_2), z_1)\Big],\ h(z) = Az"),
    reference=f"{SEED}: 'maintain asymmetry' -- the equivalence read with a predictor",
    family=FAMILY,
    expected="refuted",
    examples=5,
    notes="Expected refuted: with a predictor h(z) = A z the stop-gradient is not equivalent to removing it.",
)

EM_STATEMENT = r"\arg\min_\eta \mathbb{E}_T\|F(T(x)) - \eta\|^2 = \mathbb{E}_T[F(T(x))]"


def _em_closed_form(X, v):
    return ts.em_minimizer(X.applyfunc(sp.tanh), v)


def _em_as_printed(X, v):
    return ts.em_minimizer(X, v)  # E_T[T(x)]: the same minimizer with the encoder left out


SIMSIAM_EM_MINIMIZER = Claim(
    name="simsiam-em-minimizer",
    params={"X": Matrix(K_AUG, D_OUT, norm=(0.1, 10.0)), "v": Vector(K_AUG, norm=(0.5, 2.0))},
    closed_form=_em_closed_form,
    exact=ns.em_newton_minimizer,
    derivation=functools.partial(ts.derivation_em_minimizer, K_AUG, 2),
    statement=EM_STATEMENT,
    reference=f"{SEED}: EM-like objective L(theta, eta), second (eta) step",
    family=FAMILY,
    examples=8,
    notes=(f"K = {K_AUG} augmentations T_k(x) = rows of X with probabilities v_k^2 / |v|^2, encoder F = tanh, "
           f"d = {D_OUT}; minimizer by one Newton step (autograd gradient and Hessian) from eta = 0."),
)

SIMSIAM_EM_AS_PRINTED = Claim(
    name="simsiam-em-eta-as-printed",
    params={"X": Matrix(K_AUG, D_OUT, norm=(0.1, 10.0)), "v": Vector(K_AUG, norm=(0.5, 2.0))},
    closed_form=_em_as_printed,
    exact=ns.em_newton_minimizer,
    statement=r"\arg\min_\eta \mathbb{E}_T\|F(T(x)) - \eta\|^2 = \mathbb{E}_T[T(x)]",
    reference=f"{SEED}: 'the second optimization gives eta <- E_T[T(x)]', read literally",
    family=FAMILY,
    expected="refuted",
    examples=5,
    notes="Expected refuted: the minimizer is E_T[F(T(x))]; E_T[T(x)] only for F = identity.",
)


def _channel_variance(d: int):
    def closed_form():
        first, second = ts.normalized_channel_moments()
        var = (second - first**2).subs(sp.Symbol("d", positive=True), d)  # Var(zbar_i) = std^2
        return sp.Matrix([[var] * d])  # 1 x d
    return closed_form


def _channel_variance_with_controls(sigma, a, b):
    """Per-sample channel variances and their degree-2 Hermite controls (mean 0 exactly), for the engine to fit."""
    return ns.channel_variance_at(sigma, a, b), ns.channel_variance_controls(a, b)


def _variance_estimator(d: int):
    # up to MAX_QUADRATIC_DIM input coordinates (2d here) the engine adds every degree-2 Hermite control itself
    return ns.channel_variance_at if 2 * d <= MAX_QUADRATIC_DIM else _channel_variance_with_controls


VARIANCE_SAMPLES = {2: 65_536, 16: 131_072, 64: 6_000}  # d = 64: each draw is 64 channels and 192 + 128 controls to fit
VARIANCE_RESOLVE = {2: None, 16: 0.01, 64: None}         # d = 16: sized per example to 1% of 1/d (131072: the cap)


def _variance_claim(d: int) -> Claim:
    return Claim(
        name=f"simsiam-channel-variance-d{d}",
        params={"sigma": Real(1e-3, 1e3)},
        closed_form=_channel_variance(d),
        monte_carlo=_variance_estimator(d),
        inputs={"a": Gaussian(d), "b": Gaussian(d)},
        derivation=ts.derivation_channel_std,
        statement=ts.channel_std_statement() + r",\quad z \sim \mathcal{N}(0, \sigma^2 I_d)",
        reference=f"{SEED}: Figure 2, per-channel std of the l2-normalized output (SimSiam Sec. 4.1)",
        family=FAMILY,
        examples=4,
        samples=VARIANCE_SAMPLES[d],
        resolve=VARIANCE_RESOLVE[d],
        notes=(f"d = {d}. Per-sample 1/2 (zbar_i - zbar'_i)^2 from two independent outputs is unbiased for "
               "Var(zbar_i) = std^2 = 1/d. d = 2: 4 inputs, the engine's own degree-2 Hermite controls and RQMC "
               "(65536 = 64 x 1024 points): detectable ~0.4% of 1/d. d = 16, 64: the estimator returns the degree-2 "
               "controls a_i^2 - 1, b_i^2 - 1, a_i b_i itself (the engine's stop at degree 1 above 12 inputs, useless "
               "for this even integrand): d = 16 sized to resolve 1% of 1/d (~95000 draws), d = 64 ~3% at 6000 draws (plain: ~7% at 20000)."),
    )


SIMSIAM_CHANNEL_VARIANCE = tuple(_variance_claim(d) for d in (2, 16, 64))

SIMSIAM_CHANNEL_COLLAPSED = Claim(
    name="simsiam-channel-variance-collapsed",
    params={"c": Vector(D_OUT, norm=(1e-3, 1e3))},
    closed_form=lambda: sp.zeros(1, D_OUT),
    monte_carlo=ns.collapsed_channel_variance_samples,
    statement=r"z \equiv c \Rightarrow \mathrm{std}(z_i/\|z\|) = 0",
    reference=f"{SEED}: Figure 2, collapse (without stop-gradient) drives the std to 0",
    family=FAMILY,
    examples=4,
    samples=2_000,
    notes="Every output equals c: the estimates are exactly 0 (zero standard error, nothing random).",
)

SIMSIAM_CHANNEL_ANISOTROPIC = Claim(
    name="simsiam-channel-variance-anisotropic",
    params={"A": Matrix(D_OUT, D_OUT, norm=(0.1, 10.0))},
    closed_form=lambda: sp.Matrix([[sp.Rational(1, D_OUT)] * D_OUT]),
    monte_carlo=ns.anisotropic_channel_variance_at,
    inputs={"a": Gaussian(D_OUT), "b": Gaussian(D_OUT)},
    statement=r"z \sim \mathcal{N}(0, AA^\top) \Rightarrow \mathrm{Var}(z_i/\|z\|) = 1/d",
    reference=f"{SEED}: Figure 2's reference value applied to a non-isotropic output",
    family=FAMILY,
    expected="refuted",
    examples=3,
    samples=28_000,
    notes="Expected refuted: 1/sqrt(d) needs an isotropic (and zero-mean) output.",
)

# --------------------------------------------------------------------------- the optimal predictor

ENCODER = {"W1": Matrix(HIDDEN, D_IN, norm=(0.1, 3.0)), "W2": Matrix(D_PRED, HIDDEN)}
IMAGES = {"X_a": Matrix(K_AUG, D_IN), "X_b": Matrix(K_AUG, D_IN), "v_a": Vector(K_AUG, norm=(0.1, 3.0)),
          "v_b": Vector(K_AUG, norm=(0.1, 3.0)), **ENCODER}
PREDICTOR_REFERENCE = (f"{SEED}: slide 'Predictor: fill the gap', 'h aims to minimize E_{{z_1}}[||h(z_1) - z_2||_2^2] "
                       "... the ideal form of h is h(z_1) = E_z[z_2] = E_T[f(T(x))]'")
SHARED = (((0, 0), (1, 0)),)  # the shared-view claim: image b's first augmented view is image a's first


def _views(X_a, X_b, shared: tuple = ()):
    """The two images' views, with each shared view (m', k') set to (m, k)'s: SymPy (2K x i) or torch (2, K, i)."""
    if isinstance(X_a, sp.MatrixBase):
        K = X_a.rows
        X = sp.Matrix(sp.Matrix.vstack(X_a, X_b).tolist())  # a copy: vstack can share X_b's storage
        for (m, k), (n, j) in shared:
            X[n * K + j, :] = X[m * K + k, :]
        return X
    X = torch.stack([X_a, X_b])  # (2, K, i)
    for (m, k), (n, j) in shared:
        X = X.index_put((torch.tensor(n), torch.tensor(j)), X[m, k])
    return X


def _per_view_mean(shared: tuple = ()):
    """The slide's h(z_1) = E_T[f(T(x))] at each view (m, k) of image x_m: rows, 2K x d (SymPy)."""
    def closed_form(X_a, X_b, v_a, v_b, W1, W2):
        K = X_a.rows
        F = ts.encoder(W1, W2, _views(X_a, X_b, shared))  # 2K x d
        return sp.Matrix.vstack(*[ts.augmentation_mean(F[m * K:(m + 1) * K, :], ts.augmentation_probabilities(v)).T
                                  for m, v in enumerate((v_a, v_b)) for _ in range(K)])
    return closed_form


def _newton_predictor(shared: tuple = ()):
    def exact(X_a, X_b, v_a, v_b, W1, W2):
        return ns.optimal_predictor(_views(X_a, X_b, shared), torch.stack([v_a, v_b]), W1, W2, shared)
    return exact


PREDICTOR_STATEMENT = r"\arg\min_h \mathbb{E}_{x, T, T'}\|h(z_1) - \mathrm{sg}(z_2)\|^2 = \mathbb{E}_T[f(T(x))]"

SIMSIAM_OPTIMAL_PREDICTOR = Claim(
    name="simsiam-optimal-predictor",
    params=IMAGES,
    closed_form=_per_view_mean(),
    exact=_newton_predictor(),
    derivation=functools.partial(ts.derivation_optimal_predictor, 2, 2, 2),
    statement=PREDICTOR_STATEMENT + r",\ z_1 = f(T(x)),\ z_2 = f(T'(x))",
    reference=PREDICTOR_REFERENCE,
    family=FAMILY,
    examples=10,
    notes=(f"Two images, each with K = {K_AUG} augmented views T_k(x) (rows of X_a, X_b) of probabilities "
           f"softmax(v)_k; encoder f(x) = W2 tanh(W1 x), {D_IN} -> {HIDDEN} -> {D_PRED}; T, T' independent. The "
           "predictor is any function of z_1: a table with one output per view, minimised by one Newton step "
           "(autograd gradient and Hessian of the loss with the target detached; exact for a quadratic). "
           "Closed form: the augmentation mean of f over x's views, the same at each of them."),
)

SIMSIAM_OPTIMAL_PREDICTOR_SHARED_VIEW = Claim(
    name="simsiam-optimal-predictor-shared-view",
    params={"X_a": Matrix(2, 2), "X_b": Matrix(2, 2), "v_a": Vector(2, norm=(0.1, 3.0)), "v_b": Vector(2, norm=(0.1, 3.0)),
            "W1": Matrix(2, 2, norm=(0.1, 3.0)), "W2": Matrix(2, 2)},  # smaller than IMAGES: its refutation shrinks fast
    closed_form=_per_view_mean(SHARED),
    exact=_newton_predictor(SHARED),
    statement=PREDICTOR_STATEMENT + r"\ \text{when } T_1(x_a) = T_1(x_b)",
    reference=PREDICTOR_REFERENCE + " ('for ANY image x')",
    family=FAMILY,
    expected="refuted",
    examples=5,
    notes=("Finding: the optimum is h(z_1) = E[z_2 | z_1], which is E_T[f(T(x))] only where z_1 identifies x. "
           "Two images with K = 2 views each, encoder 2 -> 2 -> 2; image b's first view is image a's first, so the predictor sees one z_1 for both: its optimum "
           "there is the mixture (p_a1 E_T f(T(x_a)) + p_b1 E_T f(T(x_b))) / (p_a1 + p_b1) (equal image "
           "probabilities), the other views keep their image's mean."),
)

LOSS = {"h": Vector(D_PRED), "X": Matrix(K_AUG, D_IN), "v": Vector(K_AUG, norm=(0.1, 3.0)), **ENCODER}


def _printed_predictor_loss(h, X, v, W1, W2):
    return ts.predictor_loss_decomposition(h, ts.encoder(W1, W2, X), ts.augmentation_probabilities(v))


SIMSIAM_PREDICTOR_LOSS = Claim(
    name="simsiam-predictor-excess-loss",
    params=LOSS,
    closed_form=_printed_predictor_loss,
    exact=ns.predictor_loss,
    derivation=functools.partial(ts.derivation_predictor_loss, K_AUG, 2),
    statement=(r"\mathbb{E}_{T'}\|h - \mathrm{sg}(f(T'(x)))\|^2 = \|h - \mathbb{E}_T f(T(x))\|^2"
               r" + \mathbb{E}_T\|f(T(x)) - \mathbb{E}_T f(T(x))\|^2"),
    reference=PREDICTOR_REFERENCE + ": the loss at any other h exceeds the loss at the mean by ||h - mean||^2",
    family=FAMILY,
    examples=20,
    notes=(f"One image, K = {K_AUG} views of probabilities softmax(v)_k, the same encoder; h any output. Estimate: "
           "the loss by torch with the target detached; closed form: bias^2 + variance, each from SymPy."),
)


def _mean_plus(delta, X, v, W1, W2):
    """The loss at h = E_T f + delta (torch): delta is how far the predictor's output is from the mean."""
    p = torch.softmax(v, 0)  # (K,)
    mu = p @ ns.encoder(X, W1, W2)  # (K,) @ (K, d) -> (d,)
    return ns.predictor_loss(mu + delta, X, v, W1, W2)


def _loss_at_mean(X, v, W1, W2):
    F, p = ts.encoder(W1, W2, X), ts.augmentation_probabilities(v)
    return ts.predictor_loss(ts.augmentation_mean(F, p), F, p)


SIMSIAM_PREDICTOR_MEAN_IS_OPTIMAL = Claim(
    name="simsiam-predictor-mean-is-optimal",
    params={"delta": Vector(D_PRED, norm=(1e-3, 10.0)), "X": LOSS["X"], "v": LOSS["v"], **ENCODER},
    closed_form=_loss_at_mean,
    exact=_mean_plus,
    relation=">=",
    derivation=functools.partial(ts.derivation_predictor_loss, K_AUG, 2),
    statement=r"\mathbb{E}_{T'}\|h - \mathrm{sg}(f(T'(x)))\|^2 \ge \mathbb{E}_{T'}\|\mathbb{E}_T f(T(x)) - f(T'(x))\|^2",
    reference=PREDICTOR_REFERENCE,
    family=FAMILY,
    examples=20,
    notes=("The bound form: the loss at h = E_T f + delta (torch) is at least the loss at the mean (SymPy), "
           "|delta| down to 1e-3, where the bound is tight to 1e-6 of its terms."),
)

CLAIMS = (
    SIMSIAM_STOPGRAD_COSINE,
    SIMSIAM_STOPGRAD_L2,
    SIMSIAM_PREDICTOR_STOPGRAD,
    SIMSIAM_EM_MINIMIZER,
    SIMSIAM_EM_AS_PRINTED,
    *SIMSIAM_CHANNEL_VARIANCE,
    SIMSIAM_CHANNEL_COLLAPSED,
    SIMSIAM_CHANNEL_ANISOTROPIC,
    SIMSIAM_OPTIMAL_PREDICTOR,
    SIMSIAM_OPTIMAL_PREDICTOR_SHARED_VIEW,
    SIMSIAM_PREDICTOR_LOSS,
    SIMSIAM_PREDICTOR_MEAN_IS_OPTIMAL,
)
