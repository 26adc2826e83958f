"""Built-in claims: Tian's closed-form population gradient (seed 000_111be25265ff9c8a.txt, ICML 2017).

Closed forms come from ``theory._population_gradient`` (derived by SymPy), estimators from
``numerics._teacher_student`` (analytic per-sample gradients, and autograd through ``TwoLayerReLU``).
"""

from __future__ import annotations

from numerics import autograd_gradient_samples, network_gradient_samples, population_gradient_samples
from theory import derivation_population_gradient, network_population_gradient, population_gradient
from verify._claim import Claim
from verify._params import Matrix, Vector

__all__ = [
    "POPULATION_GRADIENT_MC",
    "POPULATION_GRADIENT_AUTOGRAD",
    "NETWORK_GRADIENT_AUTOGRAD",
    "NETWORK_GRADIENT_MC",
    "CLAIMS",
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


def _autograd_one_node(w, w_star, n, generator):
    """Autograd per-sample gradient of a one-node ``TwoLayerReLU`` student."""
    return autograd_gradient_samples(w[None, :], w_star[None, :], n, generator)[:, 0, :]  # (n, 1, d) -> (n, d)


POPULATION_GRADIENT_MC = Claim(
    name="population-gradient-mc",
    params={"w": Vector(4), "w_star": Vector(4)},
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

CLAIMS = (POPULATION_GRADIENT_MC, POPULATION_GRADIENT_AUTOGRAD, NETWORK_GRADIENT_AUTOGRAD, NETWORK_GRADIENT_MC)
