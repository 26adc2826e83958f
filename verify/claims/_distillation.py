"""Built-in claims: the cross-entropy distillation gradient (seed 004_e20defa2be8d861e.txt, Born Again Networks
blog; Hinton et al. 2015, eqs. 2-3), its high-temperature limit, the minibatch decomposition, CWTM and DKPP.

Family ``distillation``: derivation ``theory._distillation`` (the paper's equation, derived) ·
estimators ``numerics._distillation`` · claims ``verify.claims._distillation`` · tests ``tests/test_distillation.py``.

Closed forms come from ``theory._distillation`` (SymPy), estimators from ``numerics._distillation``
(autograd of ``F.cross_entropy`` / ``F.kl_div``, forward-mode autograd for the T -> oo expansion). All
claims are ``exact=``: they hold to float64 round-off. The single-sample claims are stated for every class count
n in 2..10 (2..6 for the first correction; drawn per example, the closed form built once per n); their derivations are SymPy proofs at a fixed
n (4, or 3 for the first correction: ``derivation_*(n)``), which the exact checks extend to the other n. The
minibatch claims keep b = 3, n = 4. Scalar identities whose value is 0 are stated with
their unsimplified closed form (e.g. sum_i (q_i - p_i)/T), so the round-off bound has the terms' scale.
"""

from __future__ import annotations

import sympy as sp
import torch

from numerics import _distillation as nd
from theory import _distillation as td
from verify._claim import Claim
from verify._limit import Limit
from verify._params import Matrix, Real, Vector

__all__ = [
    "KD_GRADIENT_CROSS_ENTROPY", "KD_GRADIENT_KL_DIV", "KD_GRADIENT_ONE_HOT", "KD_GRADIENT_SUMS_TO_ZERO",
    "HINTON_LIMIT_ZERO_MEAN", "HINTON_LIMIT_UNCENTRED", "HINTON_FIRST_CORRECTION", "HINTON_LIMIT_ORDER",
    "HINTON_LIMIT_ORDER_2", "KD_BATCH_GRADIENT", "KD_BATCH_TERMS_CANCEL", "CWTM_GRADIENT", "CWTM_IS_NOT_KD_TRUE_LABEL",
    "DKPP_GRADIENT", "DKPP_ARGMAX_COLUMN", "DKPP_DARK_KNOWLEDGE_SUM", "DKPP_IS_NOT_KD", "CLAIMS",
]

SEED = "seed 004_e20defa2be8d861e.txt (Born Again Neural Networks blog, Section 3)"
HINTON = "Hinton, Vinyals & Dean 2015 (arXiv:1503.02531), Sec. 2.1 eqs. 2-3, cited in seed 004 as [2]"
FAMILY = "distillation"
CLASSES = (2, 10)  # single-sample claims: the class count n drawn per example in 2..10 (docs/every-dimension.md)
B, NB = 3, 4  # minibatch size, classes, batch claims

LOGITS = Vector(dim=CLASSES, norm=(0.1, 10.0))  # the student's logits z
TEACHER_LOGITS = Vector(dim="z", norm=(0.1, 10.0))  # the teacher's logits t, as many classes as z
# the 1/T coefficient's SymPy form grows with n (0.15 s to compile at n = 3, 0.57 s at n = 10): n in 2..6 keeps its
# check near its d = 5 time
FIRST_CORRECTION_LOGITS = Vector(dim=(2, 6), norm=(0.1, 10.0))
TEMPERATURE = Real(0.5, 20.0)
BATCH = Matrix(B, NB, norm=(0.1, 10.0))


# --------------------------------------------------------------------------- single sample


KD_GRADIENT_CROSS_ENTROPY = Claim(
    name="kd-gradient-cross-entropy",
    params={"z": LOGITS, "t": TEACHER_LOGITS, "T": TEMPERATURE},
    closed_form=td.distillation_gradient,
    exact=nd.kd_gradient,
    derivation=td.derivation_gradient,
    statement=td.kd_gradient_statement(r"\frac{\partial}{\partial z_i}\Big(-\sum_k p_k \log q_k\Big)", "q_i", "p_i")
              + r",\quad q = \mathrm{softmax}(z/T),\ p = \mathrm{softmax}(t/T)",
    reference=f"{SEED}: dL/dz_i = q_i - p_i; the 1/T of {HINTON}",
    family=FAMILY,
    notes="Estimator: autograd of F.cross_entropy(z/T, softmax(t/T)) (probability targets), n = 2..10 classes.",
)

KD_GRADIENT_KL_DIV = Claim(
    name="kd-gradient-kl-div",
    params={"z": LOGITS, "t": TEACHER_LOGITS, "T": TEMPERATURE},
    closed_form=td.distillation_gradient,
    exact=nd.kl_gradient,
    statement=td.kd_gradient_statement(r"\nabla_z\,\mathrm{KL}(p\,\|\,q)"),
    reference=f"{SEED}: the same gradient, the loss minus the teacher's entropy",
    family=FAMILY,
    notes="Estimator: autograd of F.kl_div(log_softmax(z/T), log_softmax(t/T), log_target=True).",
)

KD_GRADIENT_ONE_HOT = Claim(
    name="kd-gradient-one-hot",
    params={"z": LOGITS, "T": TEMPERATURE},
    closed_form=td.one_hot_gradient,
    exact=nd.one_hot_gradient,
    statement=td.kd_gradient_statement(r"\nabla_z\Big(-\log q_*\Big)", "q", "y") + r",\quad y = e_*,\ * = n",
    reference=f"{SEED}: a one-hot teacher distribution; the true label is class n",
    family=FAMILY,
    notes="Estimator: autograd of F.cross_entropy(z/T, n - 1) with a class-index target.",
)

KD_GRADIENT_SUMS_TO_ZERO = Claim(
    name="kd-gradient-sums-to-zero",
    params={"z": LOGITS, "t": TEACHER_LOGITS, "T": TEMPERATURE},
    closed_form=td.gradient_sum,
    exact=lambda z, t, T: nd.kd_gradient(z, t, T).sum(),  # (n,) -> ()
    derivation=td.derivation_gradient_sum,
    statement=r"\sum_i \frac{\partial \mathcal{L}}{\partial z_i} = \frac{1}{T}\sum_i (q_i - p_i) = 0",  # typed: an indexed sum
    reference=f"{SEED}: sum_k p_k = 1 in the derivation's second-to-last line",
    family=FAMILY,
    notes="Closed form: sum_i (q_i - p_i)/T unsimplified (value 0, terms of size 2/T set the round-off bound).",
)


def _limit_of_centred(z, t):
    return td.hinton_limit(td.centre(z), td.centre(t))


def _limit(z, t):
    return nd.high_temperature_coefficient(z, t, 0)


HINTON_LIMIT_ZERO_MEAN = Claim(
    name="hinton-limit-zero-mean",
    params={"z": LOGITS, "t": TEACHER_LOGITS},
    closed_form=_limit_of_centred,
    exact=_limit,
    derivation=td.derivation_hinton_limit,
    statement=td.hinton_limit_statement() + r"\ \text{for zero-mean } z, t",
    reference=f"{HINTON}: high-temperature limit (softmax is shift invariant: z, t are centred)",
    family=FAMILY,
    notes="Estimator: the exact limit d/d(1/T) at 1/T = 0 of the F.cross_entropy gradient (torch.func.jvp); "
          "the closed form centres z and t (the zero-mean assumption).",
)

HINTON_LIMIT_UNCENTRED = Claim(
    name="hinton-limit-uncentred",
    params={"z": LOGITS, "t": TEACHER_LOGITS},
    closed_form=td.hinton_limit,
    exact=_limit,
    derivation=td.derivation_centred_limit,
    statement=td.hinton_limit_statement() + r"\ \text{for any } z, t",
    reference=f"{HINTON}: the limit without the zero-mean assumption",
    family=FAMILY,
    expected="refuted",
    notes="Finding: false unless mean(z) = mean(t); the limit is (z - t - (mean z - mean t) 1)/n "
          "(derivation_centred_limit).",
)

HINTON_FIRST_CORRECTION = Claim(
    name="hinton-first-correction",
    params={"z": FIRST_CORRECTION_LOGITS, "t": TEACHER_LOGITS},
    closed_form=lambda z, t: td.high_temperature_coefficient(z, t, 1),
    exact=lambda z, t: nd.high_temperature_coefficient(z, t, 1),
    derivation=td.derivation_first_correction,
    # the expansion's shape (P, O(T^-2)) is notation, typed; its coefficient c_1 is rendered
    statement=r"T^2 \nabla_z \mathcal{L} = \frac{P(z - t)}{n} + \frac{c_1}{T} + O(T^{-2}),\ "
              + td.first_correction_statement(),
    reference=f"{HINTON}: the error of the high-temperature approximation is O(1/T), with this coefficient",
    family=FAMILY,
    notes="Closed form: Taylor coefficient derived by sp.diff in 1/T; estimator: two nested torch.func.jvp. "
          "c_1 is nonzero for generic zero-mean logits (n >= 3): the O(1/T) is tight. Classes n in 2..6.",
)


def _scaled_gradient(z, t, T):
    """T^2 dCE/dz at temperature T: autograd of F.cross_entropy, then scaled (the quantity whose limit eq. 3 states)."""
    return T * T * nd.kd_gradient(z, t, T)


def _limit_order_claim(name: str, order: int, **extra) -> Claim:
    """Hinton's limit as an order statement: T^2 dCE/dz - P(z - t)/n = O(T^-order) as T -> oo (a ladder from the
    drawn T toward oo, every rung checked; ``verify._limit``)."""
    return Claim(
        name=name,
        # T from 8..32 over 8 rungs (to 32 x 128 = 4096): a component whose 1/T coefficient is small against the 1/T^2
        # one changes sign on the ladder near T = |c_2 / c_1| and its local order is only near 1 well beyond that
        params={"z": LOGITS, "t": TEACHER_LOGITS, "T": Real(8.0, 32.0)},
        closed_form=_limit_of_centred,
        exact=_scaled_gradient,
        limit=Limit("T", to=sp.oo, order=order, rungs=8),
        derivation=td.derivation_hinton_limit,
        statement=rf"T^2 \nabla_z \mathcal{{L}} - \frac{{P(z - t)}}{{n}} = O(T^{{-{order}}}),\ T \to \infty",
        reference=f"{HINTON}: the high-temperature approximation, as an asymptotic order",
        family=FAMILY,
        examples=12,
        **extra,
    )


HINTON_LIMIT_ORDER = _limit_order_claim(
    "hinton-limit-order", 1,
    notes="Eq. 3 read as an asymptotic statement rather than at T = oo: the estimand is T^2 times the autograd "
          "gradient at finite T (8..32, then a ladder T, 2T, ..., 128T), the closed form the centred limit P(z - t)/n; the "
          "engine measures the order of their difference on the ladder. Order 1: the first correction c_1/T "
          "(hinton-first-correction) is the leading error term.")

HINTON_LIMIT_ORDER_2 = _limit_order_claim(
    "hinton-limit-order-2", 2, expected="refuted",
    notes="The approximation is not O(T^-2): c_1 is nonzero for generic logits with n >= 3 classes "
          "(hinton-first-correction), so the measured order is 1 and the order-2 statement is refuted. (At n = 2, c_1 "
          "vanishes and the error is O(T^-2): the shrunk counterexample has 3 classes.)")


# --------------------------------------------------------------------------- minibatch, CWTM, DKPP
# Statements here stay typed: sums over the batch index s and classes i (SymPy renders only a fixed b, n),
# or identities between two gradients.


KD_BATCH_GRADIENT = Claim(
    name="kd-batch-gradient",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=td.batch_gradient,
    exact=nd.batch_kd_gradient,
    statement=r"\frac{\partial}{\partial z_{i,s}} \frac{1}{b}\sum_{s} \mathcal{L}(x_s, t_s) = \frac{q_{i,s} - p_{i,s}}{b}",
    reference=f"{SEED}: minibatch loss (1/b) sum_s L(x_s, t_s)",
    family=FAMILY,
    notes="b = 3, n = 4; autograd of F.cross_entropy with probability targets, mean reduction.",
)

KD_BATCH_TERMS_CANCEL = Claim(
    name="kd-batch-true-label-cancels-dark-knowledge",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=td.true_label_term,
    exact=lambda Z, Tt: -nd.batch_kd_gradient(Z, Tt)[:, :-1].sum(),  # (b, n) -> (b, n-1) -> ()
    derivation=td.derivation_batch_terms_cancel,
    statement=r"\frac{1}{b}\sum_s (q_{*,s} - p_{*,s}) = -\frac{1}{b}\sum_s\sum_{i=1}^{n-1} (q_{i,s} - p_{i,s})",
    reference=f"{SEED}: the minibatch display; its two terms are negatives of each other",
    family=FAMILY,
    notes="Finding: the seed's summed decomposition is identically 0; the true-label term equals minus the "
          "dark-knowledge term. Estimator: minus the autograd gradient summed over the non-true columns.",
)


def _argmax_column(G: sp.Matrix, Tt: sp.Matrix) -> sp.Matrix:
    """Row s: G[s, argmax t_s], as Piecewise-weighted sums; b x 1."""
    return sp.Matrix([sp.Add(*[a * G[s, i] for i, a in enumerate(td.teacher_argmax(Tt[s, :].T))]) for s in range(G.shape[0])])


def _gather_argmax(G: torch.Tensor, Tt: torch.Tensor) -> torch.Tensor:
    return G.gather(1, nd.teacher_argmax(Tt)[:, None])[:, 0]  # (b, n) -> (b, 1) -> (b,)


def _dark_sum(G: sp.Matrix, Tt: sp.Matrix) -> sp.Expr:
    """sum_s sum_{i != argmax t_s} G[s, i], unsimplified."""
    return sp.Add(*[(1 - a) * G[s, i] for s in range(G.shape[0]) for i, a in enumerate(td.teacher_argmax(Tt[s, :].T))])


def _dark_sum_numeric(G: torch.Tensor, Tt: torch.Tensor) -> torch.Tensor:
    return G.sum() - _gather_argmax(G, Tt).sum()  # () - ()


CWTM_GRADIENT = Claim(
    name="cwtm-gradient",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=td.cwtm_gradient,
    exact=nd.cwtm_gradient,
    derivation=td.derivation_cwtm_gradient,
    statement=r"\nabla_{z_s} \mathcal{L}_{\mathrm{CWTM}} = \frac{1}{b}\,\frac{p_{*,s}}{\sum_u p_{*,u}}\,(q_s - y_s),"
              r"\ * = \arg\max t_s",
    reference=f"{SEED}: importance weighting (1/b) sum_s p_*,s / sum_u p_*,u (q_*,s - y_*,s); CWTM",
    family=FAMILY,
    notes="Estimator: autograd of (1/b) sum_s w_s F.cross_entropy(z_s, argmax t_s), weights from the teacher.",
)

CWTM_IS_NOT_KD_TRUE_LABEL = Claim(
    name="cwtm-equals-kd-true-label-term",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=lambda Z, Tt: _argmax_column(td.cwtm_gradient(Z, Tt), Tt),
    exact=lambda Z, Tt: _gather_argmax(nd.batch_kd_gradient(Z, Tt), Tt),
    statement=r"\frac{1}{b}(q_{*,s} - p_{*,s}) = \frac{1}{b}\,\frac{p_{*,s}}{\sum_u p_{*,u}}(q_{*,s} - y_{*,s})",
    reference=f"{SEED}: KD's true-label term read as importance weighting",
    family=FAMILY,
    expected="refuted",
    notes="The seed notes the two differ (q_* is weighted in one, not the other); the suite shows they do.",
)

DKPP_ARGMAX_COLUMN = Claim(
    name="dkpp-argmax-column-unchanged",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=lambda Z, Tt: _argmax_column(td.batch_gradient(Z, Tt), Tt),
    exact=lambda Z, Tt: _gather_argmax(nd.dkpp_gradient(Z, Tt), Tt),
    statement=r"\partial \mathcal{L}_{\mathrm{DKPP}}/\partial z_{*,s} = (q_{*,s} - p_{*,s})/b",
    reference=f"{SEED}: DKPP permutes the non-argmax teacher predictions",
    family=FAMILY,
    notes="Closed form: the KD gradient at the teacher's argmax; estimator: autograd of the DKPP loss there.",
)

DKPP_DARK_KNOWLEDGE_SUM = Claim(
    name="dkpp-dark-knowledge-sum-unchanged",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=lambda Z, Tt: _dark_sum(td.batch_gradient(Z, Tt), Tt),
    exact=lambda Z, Tt: _dark_sum_numeric(nd.dkpp_gradient(Z, Tt), Tt),
    statement=r"\frac{1}{b}\sum_s\sum_{i\ne *}(q_{i,s} - \tilde p_{i,s}) = \frac{1}{b}\sum_s\sum_{i\ne *}(q_{i,s} - p_{i,s})",
    reference=f"{SEED}: the dark-knowledge term, under DKPP",
    family=FAMILY,
    notes="Finding: the seed's scalar dark-knowledge term cannot tell DKPP from KD (a permutation keeps the sum).",
)

DKPP_GRADIENT = Claim(
    name="dkpp-gradient",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=td.dkpp_gradient,
    exact=nd.dkpp_gradient,
    statement=r"\nabla_{z_s} \mathcal{L}_{\mathrm{DKPP}} = (q_s - \tilde p_s)/b,\ \tilde p_{i} = p_{\sigma(i)},\ \sigma(*) = *",
    reference=f"{SEED}: Dark Knowledge with Permuted Predictions",
    family=FAMILY,
    notes="sigma: the non-argmax classes shifted cyclically in index order (the BAN paper draws a random permutation).",
)

DKPP_IS_NOT_KD = Claim(
    name="dkpp-equals-kd",
    params={"Z": BATCH, "Tt": BATCH},
    closed_form=td.batch_gradient,
    exact=nd.dkpp_gradient,
    statement=r"\nabla_Z \mathcal{L}_{\mathrm{DKPP}} = \nabla_Z \mathcal{L}_{\mathrm{KD}}",
    reference=f"{SEED}: DKPP changes the per-class dark knowledge",
    family=FAMILY,
    expected="refuted",
    notes="Shows DKPP's per-logit gradient differs from KD's in the non-argmax columns (checked against "
          "theory.dkpp_gradient in the tests).",
)

CLAIMS = (
    KD_GRADIENT_CROSS_ENTROPY, KD_GRADIENT_KL_DIV, KD_GRADIENT_ONE_HOT, KD_GRADIENT_SUMS_TO_ZERO,
    HINTON_LIMIT_ZERO_MEAN, HINTON_LIMIT_UNCENTRED, HINTON_FIRST_CORRECTION, HINTON_LIMIT_ORDER, HINTON_LIMIT_ORDER_2,
    KD_BATCH_GRADIENT, KD_BATCH_TERMS_CANCEL, CWTM_GRADIENT, CWTM_IS_NOT_KD_TRUE_LABEL,
    DKPP_GRADIENT, DKPP_ARGMAX_COLUMN, DKPP_DARK_KNOWLEDGE_SUM, DKPP_IS_NOT_KD,
)
