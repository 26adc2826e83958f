"""Built-in claims: NNGP kernels of infinitely wide random networks (seed 003_fa032fc7f3085293.txt, "kernels").

Family ``kernels``: derivation ``theory._kernels`` (the paper's equation, derived) ·
estimators ``numerics._kernels`` · claims ``verify.claims._kernels`` · tests ``tests/test_kernels.py``.

Closed forms from ``theory._kernels`` (the arc-cosine step reuses the derived ``relu_kernel``; the erf
kernel is derived through Price's theorem), estimators from ``numerics._kernels``: per-sample products
f(x) f(x') of one-hidden-unit random networks, whose mean is the infinite-width kernel exactly. The unit's
weights and biases are linear maps of standard normal draws g that the claims declare as ``inputs=`` (engine-
owned, so the engine reduces the variance: antithetic pairs with Hermite controls for the ReLU kernel, "auto" --
which picks RQMC on the pilot -- for the smooth erf kernel). The
deep recursion (depth 2, 3) is checked against finite-width networks in ``tests/test_kernels.py``, where
|empirical kernel - K^L| falls like N^{-1/2} (asserted slope band).
"""

from __future__ import annotations

from numerics._kernels import erf_kernel_at, nngp_relu_at
from theory._kernels import (
    derivation_arccos_step,
    derivation_erf_kernel,
    erf_kernel,
    erf_kernel_statement,
    nngp_relu,
    nngp_relu_statement,
)
from verify._claim import Claim
from verify._draws import Gaussian
from verify._params import Matrix, Real, Vector

__all__ = ["CLAIMS", "NNGP_ERF_MC", "NNGP_RELU_MC"]

FAMILY = "kernels"
EXAMPLES = 8
REFERENCE = ("seed 003_fa032fc7f3085293.txt (dl theory notes, 'kernels': ker(x, x') = E_theta[f(theta, x) f(theta, x')]; "
             "Lee et al. 2018 eq. 4 with Cho & Saul 2009; Williams 1997 eq. 11)")

RELU_STATEMENT = nngp_relu_statement()  # rendered from the printed SymPy forms the derivation proves
ERF_STATEMENT = erf_kernel_statement()

def _nngp_one_layer(x, x2, sigma_w2, sigma_b2):
    return nngp_relu(x, x2, sigma_w2, sigma_b2, depth=1)


NNGP_RELU_MC = Claim(
    name="nngp-relu-mc",
    params={"x": Vector(3), "x2": Vector(3), "sigma_w2": Real(0.5, 3.0), "sigma_b2": Real(0.0, 1.0)},
    closed_form=_nngp_one_layer,
    monte_carlo=nngp_relu_at,
    inputs={"g": Gaussian(3 + 3)},  # (w, b0, v, b1) of the one unit: d = 3 weights and three scalars
    derivation=derivation_arccos_step,
    statement=RELU_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=EXAMPLES,
    variance_reduction=("antithetic", "control_variates"),
    resolve=0.035,
    samples=65_536,
    notes=("One hidden ReLU layer, one unit per sample: f = v relu(w^T x + b0) + b1, w ~ N(0, sigma_w2/d I), "
           "v ~ N(0, sigma_w2), b ~ N(0, sigma_b2), all linear maps of g ~ N(0, I_6). The product f(x) f(x') is "
           "heavy-tailed (4th moments of Gaussians): antithetic pairs and the degree-2 Hermite controls leave a "
           "detectable discrepancy of ~4-9% of the kernel's |terms| per example at <= 65536 draws (each sized to 3.5%; "
           "the pilot underestimates heavy tails), largest at the norm-10 ends."),
)

NNGP_ERF_MC = Claim(
    name="nngp-erf-mc",
    params={"A": Matrix(3, 3), "x": Vector(2), "x2": Vector(2)},
    closed_form=erf_kernel,
    monte_carlo=erf_kernel_at,
    inputs={"g": Gaussian(3)},  # u = A g
    derivation=derivation_erf_kernel,
    statement=ERF_STATEMENT,
    reference=REFERENCE,
    family=FAMILY,
    examples=EXAMPLES,
    resolve=0.03,
    samples=131_072,
    notes=("u = A g, Sigma = A A^T (3 x 3), x~ = (1, x), x in R^2; per-sample erf(u^T x~) erf(u^T x~'), bounded by 1 and "
           "even in g: RQMC (chosen by 'auto' on the pilot) resolves each example to ~3% of the terms; the norm-10 "
           "ends, where erf is nearly a sign function, need the most draws."),
)

CLAIMS = (NNGP_RELU_MC, NNGP_ERF_MC)
