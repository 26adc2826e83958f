"""Built-in claims: BatchNorm's backward pass as a projection (seed 002, Theorem 5) and BYOL's ablation (seed 000).

Family ``batchnorm``: derivation ``theory._batchnorm`` (the paper's equation, derived) ·
estimators ``numerics._batchnorm`` · claims ``verify.claims._batchnorm`` · tests ``tests/test_batchnorm.py``.

Closed forms come from ``theory._batchnorm`` (SymPy), estimators from ``numerics._batchnorm`` (autograd
through ``torch.nn.BatchNorm1d`` in training mode, or through BYOL's ``x - x.mean(0)[.detach()]``,
``x / x.std(0)[.detach()]``). All claims are ``exact=``: autograd against the closed form to float64
round-off. Parameters: ``f`` and ``g`` are features x batch, both sizes drawn per example (1..3 features, batch
m of 3..5; ``g = Matrix(rows="f", cols="f")`` has f's shape; both ends are boundary examples); row k = feature k
over the batch, drawn like a vector in R^m, so a feature is never constant in practice. The batch starts at 3:
at m = 2 a normalized feature is +-1 whatever f (a degenerate case), and hypothesis's simple draws there include
constant features (0/0). The derivations are SymPy proofs at m = 3 (``DERIVATION_M``; the tests prove m = 2..6);
the exact checks cover m = 3..5. The scale sweep stays at 2 features x 4.

A property "the gradient sums to zero over the batch" is stated as "the gradient equals its own
projection off 1" (closed form: the derived gradient minus its batch mean), so the round-off bound has
the gradient's scale; likewise "orthogonal to f_hat" is "equals its projection off f - mean(f)".
Expected refutations (statements shown false on purpose): the seed's transcription of Ioffe & Szegedy;
Theorem 5 taken verbatim with eps > 0; "with eps > 0 the backward operator is a projection"; and the
properties a detached statistic destroys.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from numerics._batchnorm import (
    backward_operator_grad,
    batchnorm_formula_grad,
    batchnorm_grad,
    normalization_grad,
    weighted_batchnorm_grad,
)
from theory._batchnorm import (
    VARIANTS,
    backward_operator,
    backward_operator_statement,
    batch_mean,
    batchnorm_backward,
    derivation_eps_backward,
    derivation_eps_decomposition,
    derivation_idempotency_gap,
    derivation_ioffe_szegedy,
    derivation_theorem5,
    derivation_weighted_theorem5,
    eps_backward_statement,
    ioffe_szegedy_backward,
    normalization_vjp,
    orthogonal_complement,
    rowwise,
    theorem5_backward,
    theorem5_statement,
    weighted_theorem5_backward,
)
from verify._claim import Claim
from verify._sweep import Sweep
from verify._params import Matrix, Real, Vector

__all__ = [
    "BATCHNORM_PROJECTION",
    "BATCHNORM_EPS",
    "BATCHNORM_IOFFE_SZEGEDY",
    "BATCHNORM_IOFFE_SZEGEDY_AS_PRINTED",
    "BATCHNORM_EPS_IS_PROJECTION",
    "BATCHNORM_EPS_IDEMPOTENT",
    "BATCHNORM_ZERO_MEAN",
    "BATCHNORM_WEIGHTED_PROJECTION",
    "BYOL_VARIANT_CLAIMS",
    "CLAIMS",
]

FAMILY = "batchnorm"
SEED_002 = "seed 002_d1776dabe51410e6.txt (Geometrical Interpretation of Batch Norm)"
SEED_000 = "seed 000_111be25265ff9c8a.txt (BYOL, 'Zero-mean gradient matters', ablation of batch components)"
FEATURES, BATCH = (1, 3), (3, 5)  # features x batch, each drawn per example (docs/every-dimension.md)
EXAMPLES = 25  # exact claims are deterministic; 25 draws + the boundary examples keep each check near 5 s
DERIVATION_M = 3  # batch size of the symbolic proofs attached to the claims (tests prove m = 2..6)
WEIGHTED_DERIVATION_M = 2  # the weighted proof at m = 3 takes several seconds: the fast tier proves it

F = Matrix(rows=FEATURES, cols=BATCH)
G = Matrix(rows="f", cols="f")  # the upstream gradient has f's shape
C1, C0 = Real(-2.0, 2.0), Real(-2.0, 2.0)
EPS = Real(1e-5, 1e-1)  # torch's default eps is the low end

THEOREM5 = theorem5_statement()  # rendered from the printed SymPy forms the derivations prove
EPS_FORMULA = eps_backward_statement()


def _derivation(fn):
    return functools.partial(fn, DERIVATION_M)


def _ones_like(col: sp.Matrix) -> sp.Matrix:
    return sp.ones(col.shape[0], 1)


def _off_ones(grad_col: sp.Matrix) -> sp.Matrix:
    """grad - mean(grad) 1: equals grad iff grad sums to zero over the batch."""
    return orthogonal_complement(grad_col, _ones_like(grad_col))


def _off_centred(grad_col: sp.Matrix, f_col: sp.Matrix) -> sp.Matrix:
    """grad minus its projection on f - mean(f) 1: equals grad iff grad is orthogonal to f_hat."""
    return orthogonal_complement(grad_col, f_col - batch_mean(f_col) * _ones_like(f_col))


# --------------------------------------------------------------------------- closed forms (features x batch)


def theorem5_closed_form(f, g, c1):
    return rowwise(theorem5_backward, f, g, c1=c1)


def weighted_closed_form(a, f, g, c1):
    p = softmax_column(a)
    return rowwise(lambda fc, gc: weighted_theorem5_backward(fc, gc, p, c1), f, g)


def softmax_column(a: sp.Matrix) -> sp.Matrix:
    """P(z_alpha) = softmax(a) (m x 1)."""
    e = a.applyfunc(sp.exp)
    return e / sum(e)


def eps_closed_form(f, g, eps):
    return rowwise(batchnorm_backward, f, g, c1=1, eps=eps)


def ioffe_szegedy_closed_form(f, g, c1, eps):
    return rowwise(ioffe_szegedy_backward, f, g, c1=c1, eps=eps)


def ioffe_szegedy_as_printed_closed_form(f, g, c1, eps):
    return rowwise(ioffe_szegedy_backward, f, g, c1=c1, eps=eps, as_printed=True)


def theorem5_with_eps_closed_form(f, g, eps):
    return rowwise(theorem5_backward, f, g, c1=1, eps=eps)


def operator_closed_form(f, g, eps):
    return rowwise(backward_operator, f, g, eps=eps)


def zero_mean_closed_form(f, g, c1, eps):
    return rowwise(lambda fc, gc: _off_ones(batchnorm_backward(fc, gc, c1, eps)), f, g)


# --------------------------------------------------------------------------- estimators


def _bn_affine(f, g, c1, c0, eps=0.0):
    return batchnorm_grad(f, g, eps, c1, c0)


def _bn_plain(f, g, eps):
    return batchnorm_grad(f, g, eps)


def _operator_twice(f, g, eps):
    return backward_operator_grad(f, g, eps, times=2)


# --------------------------------------------------------------------------- BatchNorm claims

def _scale_point(s: float) -> dict:
    """f = s * F0 for fixed F0, G0 and eps = 0.01: feature variance s^2 var0 against eps."""
    f0 = np.array([[0.9, -1.3, 0.4, 1.7], [-0.6, 1.1, 2.0, -0.8]])   # (features, batch)
    g0 = np.array([[0.5, 1.2, -0.7, 0.3], [1.0, -0.4, 0.6, -1.5]])
    return {"f": s * f0, "g": g0, "eps": 0.01}


SCALE_SWEEP = Sweep(r"input scale $s$ ($f = s f_0$, $\epsilon = 0.01$)", tuple(np.logspace(-2.5, 1.0, 15)), _scale_point)

BATCHNORM_PROJECTION = Claim(
    name="batchnorm-backward-projection",
    params={"f": F, "g": G, "c1": C1, "c0": C0},
    closed_form=theorem5_closed_form,
    exact=batchnorm_formula_grad,
    derivation=_derivation(derivation_theorem5),
    statement=THEOREM5,
    reference=f"{SEED_002}: Backward Gradient of Batch Norm [Theorem 5]",
    family=FAMILY,
    examples=EXAMPLES,
    notes="eps = 0: autograd of the written-out c1 (x - mean)/std + c0 (torch 2.13's BatchNorm1d rejects eps = 0 "
          "in training) vs (c1/sigma) P_perp g, P_perp by Gram-Schmidt on {1, f} under <a, b> = mean(a b).",
)

BATCHNORM_EPS = Claim(
    name="batchnorm-backward-eps",
    params={"f": F, "g": G, "eps": EPS},
    sweep=SCALE_SWEEP,
    closed_form=eps_closed_form,
    exact=_bn_plain,
    derivation=_derivation(derivation_eps_backward),
    statement=EPS_FORMULA,
    reference=f"{SEED_002}: Theorem 5 with sigma = sqrt(var + eps)",
    family=FAMILY,
    examples=EXAMPLES,
    notes="eps > 0, nn.BatchNorm1d(affine=False): the formula stays exact though it is no longer a projection.",
)

BATCHNORM_IOFFE_SZEGEDY = Claim(
    name="batchnorm-backward-ioffe-szegedy",
    params={"f": F, "g": G, "c1": C1, "c0": C0, "eps": EPS},
    closed_form=ioffe_szegedy_closed_form,
    exact=_bn_affine,
    derivation=_derivation(derivation_ioffe_szegedy),
    # typed (here and as printed): one line of Ioffe & Szegedy's chain rule, an indexed sum
    statement=r"\frac{\partial\ell}{\partial\sigma_B^2} = \sum_i \frac{\partial\ell}{\partial\hat{x}_i}(x_i - \mu_B)"
              r"\cdot\frac{-1}{2}(\sigma_B^2+\epsilon)^{-3/2},\ \dots",
    reference=f"{SEED_002}: 'Backward Gradient from the original paper' (Ioffe & Szegedy 2015, Alg. 1)",
    family=FAMILY,
    examples=EXAMPLES,
    notes="The original paper's chain rule, affine nn.BatchNorm1d with eps.",
)

BATCHNORM_IOFFE_SZEGEDY_AS_PRINTED = Claim(
    name="batchnorm-backward-ioffe-szegedy-as-printed",
    params={"f": F, "g": G, "c1": C1, "c0": C0, "eps": EPS},
    closed_form=ioffe_szegedy_as_printed_closed_form,
    exact=_bn_affine,
    statement=r"\frac{\partial\ell}{\partial\sigma_B^2} = \sum_i \frac{\partial\ell}{\partial\hat{x}_i}(x_i - \mu_B)"
              r"\cdot\frac{-1}{\sqrt{\sigma_B^2+\epsilon}}\cdot\frac{-1}{2(\sigma_B^2+\epsilon)^{3/2}},\ \dots",
    reference=f"{SEED_002}: 'Backward Gradient from the original paper', dl/dsigma_B^2 line as transcribed",
    family=FAMILY,
    examples=EXAMPLES,
    expected="refuted",
    notes="The seed's dl/dsigma_B^2 has an extra factor -1/sqrt(sigma_B^2 + eps); the original paper's line is "
          "(-1/2)(sigma_B^2 + eps)^(-3/2) (claim batchnorm-backward-ioffe-szegedy).",
)

BATCHNORM_EPS_IS_PROJECTION = Claim(
    name="batchnorm-backward-eps-is-projection",
    params={"f": F, "g": G, "eps": EPS},
    sweep=SCALE_SWEEP,
    closed_form=theorem5_with_eps_closed_form,
    exact=_bn_plain,
    derivation=_derivation(derivation_eps_decomposition),
    statement=theorem5_statement(eps=True),
    reference=f"{SEED_002}: Theorem 5 taken verbatim with eps > 0",
    family=FAMILY,
    examples=EXAMPLES,
    expected="refuted",
    notes="With eps > 0, J^T g = (1/sigma)(P_perp g + lam P_fhat g), lam = eps/(var + eps) (derivation): the "
          "f_hat-component is shrunk, not removed; the gap is large where var is comparable to eps.",
)

BATCHNORM_EPS_IDEMPOTENT = Claim(
    name="batchnorm-backward-eps-idempotent",
    params={"f": F, "g": G, "eps": EPS},
    closed_form=operator_closed_form,
    exact=_operator_twice,
    derivation=_derivation(derivation_idempotency_gap),
    statement=r"A^2\mathbf{g} = A\mathbf{g},\ " + backward_operator_statement(),
    reference=f"{SEED_002}: Theorem 5's 'projection' with eps > 0",
    family=FAMILY,
    examples=EXAMPLES,
    expected="refuted",
    notes="A^2 - A = -lam (1 - lam) P_fhat (derivation), lam = eps/(var + eps): at most 1/4, at var = eps. "
          "Estimator: A = sigma J^T by autograd of nn.BatchNorm1d(affine=False), applied twice.",
)

BATCHNORM_ZERO_MEAN = Claim(
    name="batchnorm-gradient-zero-mean",
    params={"f": F, "g": G, "c1": C1, "c0": C0, "eps": EPS},
    closed_form=zero_mean_closed_form,
    exact=_bn_affine,
    # typed: a property (the gradient sums to 0 over the batch), not a closed form
    statement=r"\sum_i \frac{\partial\ell}{\partial f_i} = 0\quad(\text{stated as } \nabla = \nabla - \overline{\nabla}\mathbf{1})",
    reference=f"{SEED_000}: 'After BN, Backpropagated Gradient is zero-mean in each minibatch'",
    family=FAMILY,
    examples=EXAMPLES,
    notes="Affine nn.BatchNorm1d with eps > 0: zero-mean survives eps (orthogonality to f_hat does not).",
)

BATCHNORM_WEIGHTED_PROJECTION = Claim(
    name="batchnorm-backward-projection-weighted",
    params={"a": Vector(dim=BATCH, norm=(0.1, 3.0)), "f": Matrix(rows=FEATURES, cols="a"), "g": G, "c1": C1},
    closed_form=weighted_closed_form,
    exact=weighted_batchnorm_grad,
    derivation=functools.partial(derivation_weighted_theorem5, WEIGHTED_DERIVATION_M),
    statement=THEOREM5 + r",\ \mu = \mathbb{E}_{z_\alpha}[f],\ \sigma^2 = \mathbb{E}_{z_\alpha}[(f - \mu)^2],\ "
              r"P^\perp \text{ and } J^\top \text{ under } \langle f, g\rangle_{z_\alpha} = \mathbb{E}_{z_\alpha}[f g]",
    reference=f"{SEED_002}: 'Batch Norm in Reformulation': 'projection under new inner product "
              "<f, g>_{z_alpha} = E_{z_alpha}[f(z_alpha) g(z_alpha)]'",
    family=FAMILY,
    examples=EXAMPLES,
    notes="The batch is the m values of z_alpha with P(z_alpha) = softmax(a); mu, sigma^2 are E_{z_alpha}-weighted. "
          "The gradient is taken under <.,.>_{z_alpha} (dl = <g_f, df>_p when dl = <g, dBN>_p): autograd of "
          "sum <g, BN(f)>_p gives Lambda g_f, divided by p. Closed form: (c1/sigma) P^perp_{f,1} g, Gram-Schmidt on "
          "{1, f} under <.,.>_p, so E_{z_alpha}[g_f] = 0 (the centring Theorem 9 needs, disentangled-weight-update). "
          "The attached proof is at m = 2 (seconds); the slow tier proves m = 3.",
)

# --------------------------------------------------------------------------- BYOL ablation variants

# (label, property, expected): derived by theory.variant_properties, which the tests recompute.
_VARIANT_CASES = (
    ("mu‡", "zero-mean", "refuted"),
    ("mu,sigma‡", "zero-mean", "verified"),
    ("mu,sigma‡", "orthogonal", "refuted"),
    ("mu‡,sigma", "zero-mean", "refuted"),
    ("mu‡,sigma", "orthogonal", "verified"),
)
_SLUG = {"mu‡": "mean-detached", "mu,sigma‡": "std-detached", "mu‡,sigma": "mean-detached-std-live"}
_CODE = {"mu‡": "x - x.mean(0).detach()", "mu,sigma‡": "x - x.mean(0); x / x.std(0).detach()",
         "mu‡,sigma": "x - x.mean(0).detach(); x / x.std(0)"}


def variant_claim(label: str, prop: str, expected: str) -> Claim:
    """'The gradient through BYOL variant ``label`` is zero-mean / orthogonal to f_hat', checked by autograd."""
    center, scale = VARIANTS[label]

    def closed_form(f, g):
        def per_feature(fc, gc):
            grad = normalization_vjp(fc, gc, center=center, scale=scale)
            return _off_ones(grad) if prop == "zero-mean" else _off_centred(grad, fc)
        return rowwise(per_feature, f, g)

    def exact(f, g):
        return normalization_grad(f, g, center=center, scale=scale)

    # typed, as the zero-mean claim above: properties (sums over the batch = 0), not closed forms
    what = r"\sum_i \nabla_i = 0" if prop == "zero-mean" else r"\sum_i (f_i - \bar f)\nabla_i = 0"
    return Claim(
        name=f"byol-{_SLUG[label]}-{prop}",
        params={"f": F, "g": G},
        closed_form=closed_form,
        exact=exact,
        statement=what + rf"\quad\text{{for }} \texttt{{{_CODE[label]}}}",
        reference=f"{SEED_000}: variant {label}",
        family=FAMILY,
    examples=EXAMPLES,
        expected=expected,
        notes=f"BYOL variant {label} ({_CODE[label]}, unbiased std as torch's x.std(0)); {prop} "
              f"{'holds' if expected == 'verified' else 'fails'} (theory.variant_properties).",
    )


BYOL_VARIANT_CLAIMS = tuple(variant_claim(*case) for case in _VARIANT_CASES)

CLAIMS = (
    BATCHNORM_PROJECTION,
    BATCHNORM_EPS,
    BATCHNORM_IOFFE_SZEGEDY,
    BATCHNORM_IOFFE_SZEGEDY_AS_PRINTED,
    BATCHNORM_EPS_IS_PROJECTION,
    BATCHNORM_EPS_IDEMPOTENT,
    BATCHNORM_ZERO_MEAN,
    BATCHNORM_WEIGHTED_PROJECTION,
    *BYOL_VARIANT_CLAIMS,
)
