"""Built-in claims: Tian's closed-form population gradient (seed 000_111be25265ff9c8a.txt, ICML 2017).

Family ``population-gradient``: derivation ``theory._population_gradient`` (the paper's equation, derived) ·
estimators ``numerics._population_gradient`` · claims ``verify.claims._population_gradient`` · tests ``tests/test_population_gradient_claims.py``, ``tests/test_population_gradient_numerics.py``, ``tests/test_population_gradient_properties.py``, ``tests/test_population_gradient_theory.py``.

Closed forms come from ``theory._population_gradient`` (derived by SymPy), estimators from
``numerics._population_gradient`` (analytic per-sample gradients, and autograd through ``TwoLayerReLU``).
Besides the gradient: the two kernels it is built from (gating kernel g, ReLU kernel k), the population
loss J they give, and the K-student / M-teacher network with general output weights v, v*.

Every Monte Carlo claim here declares its Gaussian input, ``inputs={"x": Gaussian(4)}``: x ~ N(0, I_4) is
engine-owned and the estimators are the ``*_at(..., x)`` forms, so the engine reduces the variance. The claims
with one weight vector and a kernel partner (population-gradient-autograd, gating-kernel-mc, relu-kernel-mc,
population-loss-mc) are stated for every dimension: d is drawn per example in 2..8 (``Vector(dim=EVERY_D)``, the
second vector and x ~ N(0, I_d) share it; both ends are boundary examples), which the derivations allow: they are
proven in the plane of the two vectors, so for any d. population-gradient-mc keeps d = 4 as the fixed-size twin
of population-gradient-autograd (its mutation certificate, ``tests/test_mutants.py``, needs fixed sizes); the
network claims keep d = 4 (a matrix's columns can share only a Vector's dimension). The design
is ``ANTITHETIC`` = ("antithetic", "control_variates") except for relu-kernel-mc: x is paired with -x and the
engine's Hermite controls (degree 2 in the d inputs) are fitted on a pilot batch. A pair mean of ReLU products
is smooth (relu(t) + relu(-t) = |t|), so the quadratic controls absorb most of it. The default "auto" also
weighs RQMC; on these cheap estimators it reaches the same resolution in about the same time (measured at seed 0,
2026-12-02) and picks it at a few examples only, so the simpler fixed design is kept. relu-kernel-mc keeps "auto": at w orthogonal to v its pair means |w.x| |v.x| / 4
are products of independent factors that the quadratic controls miss, and RQMC resolves them with a quarter of
the draws. Every Monte Carlo claim here sizes each example with ``resolve=`` (samples= is then the cap,
min_samples the floor); an example whose samples are all exactly 0 (w = w*, v = -c w) stops where the SE = 0
allowance reaches the resolution (``_stats.draws_needed``). ``tests/test_slow.py`` checks the n^-1/2 law of the
detectable discrepancy on population-gradient-mc with ``resolve=None`` (a fixed sample count), since a
resolve-sized check holds its resolution fixed by design.
"""

from __future__ import annotations

import numpy as np

from numerics import (
    autograd_gradient_at,
    network_gradient_at,
    population_gradient_at,
)
from numerics._population_gradient import (
    gating_kernel_at,
    population_loss_at,
    relu_kernel_at,
)
from theory import (
    derivation_population_gradient,
    network_population_gradient,
    population_gradient,
)
from theory._population_gradient import (
    derivation_kernel,
    gating_kernel_statement,
    population_gradient_statement,
    relu_kernel_statement,
    derivation_loss_gradient,
    derivation_loss_kernel,
    gating_kernel,
    population_loss,
    relu_kernel,
)
from verify._claim import Claim
from verify._draws import Gaussian
from verify._sweep import Sweep
from verify._params import Matrix, Vector

__all__ = [
    "CLAIMS",
    "GATING_KERNEL_MC",
    "NETWORK_GRADIENT_AUTOGRAD",
    "NETWORK_GRADIENT_MC",
    "NETWORK_WEIGHTED_GRADIENT_AUTOGRAD",
    "NETWORK_WEIGHTED_GRADIENT_MC",
    "POPULATION_GRADIENT_AUTOGRAD",
    "POPULATION_GRADIENT_MC",
    "POPULATION_LOSS_MC",
    "RELU_KERNEL_MC",
]

REFERENCE = "seed 000_111be25265ff9c8a.txt (Tian, ICML 2017): closed-form population gradient"
FAMILY = "population-gradient"
STATEMENT = population_gradient_statement()  # rendered from the printed SymPy form the derivation proves
# sums over hidden units stay typed (an indexed sum SymPy cannot render from the K x d closed form); g is rendered
NETWORK_STATEMENT = (
    r"\mathbb{E}\left[\nabla_{\mathbf{w}_j} J\right] = \sum_{j'} g(\mathbf{w}_j, \mathbf{w}_{j'})"
    r" - \sum_k g(\mathbf{w}_j, \mathbf{w}^*_k),\quad " + gating_kernel_statement(r"g(\mathbf{w}, \mathbf{v})")
)

GATING_STATEMENT = gating_kernel_statement()
RELU_STATEMENT = relu_kernel_statement()
# J's definition and the kernel identities it expands to are notation, not one closed form: typed
LOSS_STATEMENT = (
    r"J(\mathbf{w}) = \tfrac{1}{2}\mathbb{E}\left[(\mathrm{relu}(\mathbf{w}^\top\mathbf{x})"
    r" - \mathrm{relu}(\mathbf{w}^{*\top}\mathbf{x}))^2\right] = \tfrac{1}{2}k(\mathbf{w}, \mathbf{w})"
    r" - k(\mathbf{w}, \mathbf{w}^*) + \tfrac{1}{2}k(\mathbf{w}^*, \mathbf{w}^*),\quad \nabla_{\mathbf{w}} J"
    r" = g(\mathbf{w}, \mathbf{w}) - g(\mathbf{w}, \mathbf{w}^*)"
)
# an indexed sum over hidden units with output weights (no single SymPy form to render): typed
WEIGHTED_STATEMENT = (
    r"\mathbb{E}\left[\nabla_{\mathbf{w}_j} J\right] = v_j\Big[\sum_{j'} v_{j'}\,g(\mathbf{w}_j, \mathbf{w}_{j'})"
    r" - \sum_k v^*_k\,g(\mathbf{w}_j, \mathbf{w}^*_k)\Big],\quad J = \tfrac{1}{2}\mathbb{E}\Big[\Big(\sum_j v_j"
    r"\,\mathrm{relu}(\mathbf{w}_j^\top\mathbf{x}) - \sum_k v^*_k\,\mathrm{relu}(\mathbf{w}^{*\top}_k\mathbf{x})\Big)^2\Big]"
)
KERNEL_REFERENCE = "seed 000_111be25265ff9c8a.txt (Tian, ICML 2017): the kernels of the closed-form population gradient"


def _theta_point(theta: float) -> dict:
    """w = e1, w* = (cos theta, sin theta, 0, 0): the gradient's components as the angle opens."""
    return {"w": np.array([1.0, 0.0, 0.0, 0.0]), "w_star": np.array([np.cos(theta), np.sin(theta), 0.0, 0.0])}


THETA_SWEEP = Sweep(r"$\theta$ (angle between $w$ and $w^*$; $\|w\| = \|w^*\| = 1$)", tuple(np.linspace(0.0, np.pi, 13)),
                    _theta_point)


X = {"x": Gaussian(4)}  # the engine-owned Gaussian input x ~ N(0, I_4) of the claims at d = 4
EVERY_D = (2, 8)  # the claims stated for every dimension: d drawn per example in 2..8 (docs/every-dimension.md)
X_EVERY_D = {"x": Gaussian(dim="w")}  # x ~ N(0, I_d), d = w's dimension at the example
ANTITHETIC = ("antithetic", "control_variates")  # the sampling design of the Monte Carlo claims here (see above)


def _autograd_one_node(w, w_star, x):
    """Autograd per-sample gradient of a one-node ``TwoLayerReLU`` student."""
    return autograd_gradient_at(w[None, :], w_star[None, :], x)[:, 0, :]  # (n, 1, d) -> (n, d)


POPULATION_GRADIENT_MC = Claim(
    name="population-gradient-mc",
    params={"w": Vector(4), "w_star": Vector(4)},
    sweep=THETA_SWEEP,
    closed_form=population_gradient,
    monte_carlo=population_gradient_at,
    inputs=X,
    derivation=derivation_population_gradient,
    statement=STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.008,
    samples=300_000,
    min_samples=16_384,
    notes="Estimator: analytic per-sample (relu(w^T x) - relu(w*^T x)) 1(w^T x > 0) x, x ~ N(0, I_4).",
)

POPULATION_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-autograd",
    params={"w": Vector(dim=EVERY_D), "w_star": Vector(dim="w")},
    sweep=THETA_SWEEP,
    closed_form=population_gradient,
    monte_carlo=_autograd_one_node,
    inputs=X_EVERY_D,
    derivation=derivation_population_gradient,
    statement=STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.008,
    samples=300_000,
    min_samples=16_384,
    notes=("Every d in 2..8 (the sweep at d = 4); estimator: per-sample autograd gradient of 1/2 (f(x) - f*(x))^2 "
           "for one-node TwoLayerReLU nets, x ~ N(0, I_d). The derivation is in the plane of w, w* (any d)."),
)

NETWORK_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-network-autograd",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4)},
    closed_form=network_population_gradient,
    monte_carlo=autograd_gradient_at,
    inputs=X,
    statement=NETWORK_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.0085,
    samples=300_000,
    min_samples=16_384,
    notes="K = 3 students, M = 2 teachers, output weights 1; per-sample autograd gradient w.r.t. W.",
)

NETWORK_GRADIENT_MC = Claim(
    name="population-gradient-network-mc",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4)},
    closed_form=network_population_gradient,
    monte_carlo=network_gradient_at,
    inputs=X,
    statement=NETWORK_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.0085,
    samples=300_000,
    min_samples=16_384,
    notes="K = 3 students, M = 2 teachers, output weights 1; analytic per-sample gradient w.r.t. W.",
)



def _weighted_network(W, W_star, v, v_star):
    """The network's closed form with the output weights passed by name (Vector params -> K x 1, M x 1)."""
    return network_population_gradient(W, W_star, v=v, v_star=v_star)


def _weighted_network_mc(W, W_star, v, v_star, x):
    return network_gradient_at(W, W_star, x, v=v, v_star=v_star)  # (n, K, d)


def _weighted_network_autograd(W, W_star, v, v_star, x):
    return autograd_gradient_at(W, W_star, x, v=v, v_star=v_star)  # (n, K, d)


GATING_KERNEL_MC = Claim(
    name="gating-kernel-mc",
    params={"w": Vector(dim=EVERY_D), "v": Vector(dim="w")},
    closed_form=gating_kernel,
    monte_carlo=gating_kernel_at,
    inputs=X_EVERY_D,
    derivation=derivation_kernel,
    statement=GATING_STATEMENT,
    reference=KERNEL_REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.008,
    samples=300_000,
    min_samples=8192,
    notes="g(w, v) = E[x 1(w^T x > 0) relu(v^T x)], every d in 2..8; estimator: per-sample x 1(w^T x > 0) relu(v^T x), x ~ N(0, I_d).",
)

RELU_KERNEL_MC = Claim(
    name="relu-kernel-mc",
    params={"w": Vector(dim=EVERY_D), "v": Vector(dim="w")},
    closed_form=relu_kernel,
    monte_carlo=relu_kernel_at,
    inputs=X_EVERY_D,
    derivation=derivation_loss_kernel,
    statement=RELU_STATEMENT,
    reference=KERNEL_REFERENCE,
    family=FAMILY,
    variance_reduction="auto",  # RQMC pays at w orthogonal to v (independent ReLUs): see the module docstring
    resolve=0.008,
    samples=131_072,
    min_samples=8192,
    notes="k(w, v), half the arc-cosine kernel of degree 1 (Cho & Saul 2009), every d in 2..8; estimator: relu(w^T x) relu(v^T x).",
)

POPULATION_LOSS_MC = Claim(
    name="population-loss-mc",
    params={"w": Vector(dim=EVERY_D), "w_star": Vector(dim="w")},
    closed_form=population_loss,
    monte_carlo=population_loss_at,
    inputs=X_EVERY_D,
    derivation=derivation_loss_gradient,
    statement=LOSS_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    variance_reduction=ANTITHETIC,
    resolve=0.004,
    samples=262_144,
    min_samples=8192,
    notes=("Every d in 2..8; estimator: 1/2 (relu(w^T x) - relu(w*^T x))^2; the derivation shows sp.diff of this loss is the gradient. "
           "Sized to resolve 0.4% of the terms: this scalar estimator is cheap, sampling to 0.8% was about a third "
           "of an example's time, so 0.4% costs ~30% more time for twice the resolution."),
)

NETWORK_WEIGHTED_GRADIENT_MC = Claim(
    name="population-gradient-network-weighted-mc",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4), "v": Vector(3), "v_star": Vector(2)},
    closed_form=_weighted_network,
    monte_carlo=_weighted_network_mc,
    inputs=X,
    statement=WEIGHTED_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=15,
    variance_reduction=ANTITHETIC,
    resolve=0.0085,
    samples=300_000,
    min_samples=16_384,
    notes="K = 3 students, M = 2 teachers, general (signed) output weights v, v*; analytic per-sample gradient w.r.t. W.",
)

NETWORK_WEIGHTED_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-network-weighted-autograd",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4), "v": Vector(3), "v_star": Vector(2)},
    closed_form=_weighted_network,
    monte_carlo=_weighted_network_autograd,
    inputs=X,
    statement=WEIGHTED_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=15,
    variance_reduction=ANTITHETIC,
    resolve=0.0085,
    samples=300_000,
    min_samples=16_384,
    notes="K = 3 students, M = 2 teachers, general output weights; per-sample autograd through TwoLayerReLU(W, v).",
)

CLAIMS = (
    POPULATION_GRADIENT_MC,
    POPULATION_GRADIENT_AUTOGRAD,
    NETWORK_GRADIENT_AUTOGRAD,
    NETWORK_GRADIENT_MC,
    GATING_KERNEL_MC,
    RELU_KERNEL_MC,
    POPULATION_LOSS_MC,
    NETWORK_WEIGHTED_GRADIENT_MC,
    NETWORK_WEIGHTED_GRADIENT_AUTOGRAD,
)
