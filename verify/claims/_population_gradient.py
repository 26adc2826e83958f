"""Built-in claims: Tian's closed-form population gradient (seed 000_111be25265ff9c8a.txt, ICML 2017).

Closed forms come from ``theory._population_gradient`` (derived by SymPy), estimators from
``numerics._teacher_student`` (analytic per-sample gradients, and autograd through ``TwoLayerReLU``).
Besides the gradient: the two kernels it is built from (gating kernel g, ReLU kernel k), the population
loss J they give, and the K-student / M-teacher network with general output weights v, v*.
"""

from __future__ import annotations

import numpy as np

from numerics import (
    autograd_gradient_samples,
    network_gradient_samples,
    population_gradient_samples,
)
from numerics._teacher_student import (
    gating_kernel_samples,
    population_loss_samples,
    relu_kernel_samples,
)
from theory import (
    derivation_population_gradient,
    network_population_gradient,
    population_gradient,
)
from theory._population_gradient import (
    derivation_kernel,
    derivation_loss_gradient,
    derivation_loss_kernel,
    gating_kernel,
    population_loss,
    relu_kernel,
)
from verify._claim import Claim
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
STATEMENT = (
    r"\mathbb{E}\left[\nabla_{\mathbf{w}} J\right] = \frac{1}{2}(\mathbf{w} - \mathbf{w}^*)"
    r" + \frac{1}{2\pi}\left(\theta\,\mathbf{w}^* - \frac{\|\mathbf{w}^*\|}{\|\mathbf{w}\|}\sin\theta\,\mathbf{w}\right)"
)
NETWORK_STATEMENT = (
    r"\mathbb{E}\left[\nabla_{\mathbf{w}_j} J\right] = \sum_{j'} g(\mathbf{w}_j, \mathbf{w}_{j'})"
    r" - \sum_k g(\mathbf{w}_j, \mathbf{w}^*_k),\quad g(\mathbf{w}, \mathbf{v}) = \frac{1}{2\pi}"
    r"\left[(\pi - \theta)\mathbf{v} + \|\mathbf{v}\|\sin\theta\,\frac{\mathbf{w}}{\|\mathbf{w}\|}\right]"
)

GATING_STATEMENT = (
    r"\mathbb{E}\left[\mathbf{x}\,\mathbb{1}(\mathbf{w}^\top\mathbf{x} > 0)\,\mathbb{1}(\mathbf{v}^\top\mathbf{x} > 0)\,"
    r"\mathbf{x}^\top\right]\mathbf{v} = \frac{1}{2\pi}\left[(\pi - \theta)\mathbf{v}"
    r" + \|\mathbf{v}\|\sin\theta\,\frac{\mathbf{w}}{\|\mathbf{w}\|}\right]"
)
RELU_STATEMENT = (
    r"\mathbb{E}\left[\mathrm{relu}(\mathbf{w}^\top\mathbf{x})\,\mathrm{relu}(\mathbf{v}^\top\mathbf{x})\right]"
    r" = \frac{\|\mathbf{w}\|\|\mathbf{v}\|}{2\pi}\left(\sin\theta + (\pi - \theta)\cos\theta\right)"
)
LOSS_STATEMENT = (
    r"J(\mathbf{w}) = \tfrac{1}{2}\mathbb{E}\left[(\mathrm{relu}(\mathbf{w}^\top\mathbf{x})"
    r" - \mathrm{relu}(\mathbf{w}^{*\top}\mathbf{x}))^2\right] = \tfrac{1}{2}k(\mathbf{w}, \mathbf{w})"
    r" - k(\mathbf{w}, \mathbf{w}^*) + \tfrac{1}{2}k(\mathbf{w}^*, \mathbf{w}^*),\quad \nabla_{\mathbf{w}} J"
    r" = g(\mathbf{w}, \mathbf{w}) - g(\mathbf{w}, \mathbf{w}^*)"
)
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


def _autograd_one_node(w, w_star, n, generator):
    """Autograd per-sample gradient of a one-node ``TwoLayerReLU`` student."""
    return autograd_gradient_samples(w[None, :], w_star[None, :], n, generator)[:, 0, :]  # (n, 1, d) -> (n, d)


POPULATION_GRADIENT_MC = Claim(
    name="population-gradient-mc",
    params={"w": Vector(4), "w_star": Vector(4)},
    sweep=THETA_SWEEP,
    closed_form=population_gradient,
    monte_carlo=population_gradient_samples,
    derivation=derivation_population_gradient,
    statement=STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    notes="Estimator: analytic per-sample (relu(w^T x) - relu(w*^T x)) 1(w^T x > 0) x, x ~ N(0, I_4).",
)

POPULATION_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-autograd",
    params={"w": Vector(4), "w_star": Vector(4)},
    sweep=THETA_SWEEP,
    closed_form=population_gradient,
    monte_carlo=_autograd_one_node,
    derivation=derivation_population_gradient,
    statement=STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    notes="Estimator: per-sample autograd gradient of 1/2 (f(x) - f*(x))^2 for one-node TwoLayerReLU nets.",
)

NETWORK_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-network-autograd",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4)},
    closed_form=network_population_gradient,
    monte_carlo=autograd_gradient_samples,
    statement=NETWORK_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    notes="K = 3 students, M = 2 teachers, output weights 1; per-sample autograd gradient w.r.t. W.",
)

NETWORK_GRADIENT_MC = Claim(
    name="population-gradient-network-mc",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4)},
    closed_form=network_population_gradient,
    monte_carlo=network_gradient_samples,
    statement=NETWORK_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    notes="K = 3 students, M = 2 teachers, output weights 1; analytic per-sample gradient w.r.t. W.",
)



def _weighted_network(W, W_star, v, v_star):
    """The network's closed form with the output weights passed by name (Vector params -> K x 1, M x 1)."""
    return network_population_gradient(W, W_star, v=v, v_star=v_star)


def _weighted_network_mc(W, W_star, v, v_star, n, generator):
    return network_gradient_samples(W, W_star, n, generator, v=v, v_star=v_star)  # (n, K, d)


def _weighted_network_autograd(W, W_star, v, v_star, n, generator):
    return autograd_gradient_samples(W, W_star, n, generator, v=v, v_star=v_star)  # (n, K, d)


GATING_KERNEL_MC = Claim(
    name="gating-kernel-mc",
    params={"w": Vector(4), "v": Vector(4)},
    closed_form=gating_kernel,
    monte_carlo=gating_kernel_samples,
    derivation=derivation_kernel,
    statement=GATING_STATEMENT,
    reference=KERNEL_REFERENCE,
    family=FAMILY,
    notes="g(w, v) = E[x 1(w^T x > 0) relu(v^T x)]; estimator: per-sample x 1(w^T x > 0) relu(v^T x), x ~ N(0, I_4).",
)

RELU_KERNEL_MC = Claim(
    name="relu-kernel-mc",
    params={"w": Vector(4), "v": Vector(4)},
    closed_form=relu_kernel,
    monte_carlo=relu_kernel_samples,
    derivation=derivation_loss_kernel,
    statement=RELU_STATEMENT,
    reference=KERNEL_REFERENCE,
    family=FAMILY,
    notes="k(w, v), half the arc-cosine kernel of degree 1 (Cho & Saul 2009); estimator: relu(w^T x) relu(v^T x).",
)

POPULATION_LOSS_MC = Claim(
    name="population-loss-mc",
    params={"w": Vector(4), "w_star": Vector(4)},
    closed_form=population_loss,
    monte_carlo=population_loss_samples,
    derivation=derivation_loss_gradient,
    statement=LOSS_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    notes="Estimator: 1/2 (relu(w^T x) - relu(w*^T x))^2; the derivation shows sp.diff of this loss is the gradient.",
)

NETWORK_WEIGHTED_GRADIENT_MC = Claim(
    name="population-gradient-network-weighted-mc",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4), "v": Vector(3), "v_star": Vector(2)},
    closed_form=_weighted_network,
    monte_carlo=_weighted_network_mc,
    statement=WEIGHTED_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=15,
    notes="K = 3 students, M = 2 teachers, general (signed) output weights v, v*; analytic per-sample gradient w.r.t. W.",
)

NETWORK_WEIGHTED_GRADIENT_AUTOGRAD = Claim(
    name="population-gradient-network-weighted-autograd",
    params={"W": Matrix(3, 4), "W_star": Matrix(2, 4), "v": Vector(3), "v_star": Vector(2)},
    closed_form=_weighted_network,
    monte_carlo=_weighted_network_autograd,
    statement=WEIGHTED_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=15,
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
