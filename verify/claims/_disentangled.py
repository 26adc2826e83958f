"""Built-in claims: the reformulation (Theorem 2) and disentangled representations in the matrix form (Theorems 8, 9).

Family ``disentangled``: derivation ``theory._disentangled`` (the paper's equation, derived) ·
estimators ``numerics._disentangled`` · claims ``verify.claims._disentangled`` · tests ``tests/test_disentangled.py``.

Seed ``002_d1776dabe51410e6.txt`` (Tian, arXiv:1809.10829). Closed forms come from ``theory._disentangled``
(the factor-wise forms in SymPy, or a structure -- "F equals its disentangled part", "Delta W equals its
block diagonal" -- applied to the SymPy matrix form), estimators from ``numerics._disentangled`` (the matrix
form on the joint Kronecker-structured objects in torch). All claims are ``exact=``. Sizes: z_alpha has factors
of 2 and 3 values, z_beta of 3 and 2; the child has 2 + 2 nodes, the parent 1 + 2. Theorem 2: z_alpha (2 values)
-> z_beta (3) -> two bits, one parent node over two children; both sides by enumeration.
"""

from __future__ import annotations

import sympy as sp

from numerics._disentangled import (
    entangled_child,
    gated_forward,
    joint_forward,
    joint_weight_update,
    reformulated_activation,
)
from theory._disentangled import (
    M_ALPHA,
    M_BETA,
    N_ALPHA,
    N_BETA,
    centred,
    derivation_forward,
    derivation_null_direction,
    derivation_reformulation,
    derivation_update_off_blocks,
    derivation_weight_update,
    disentangled,
    disentangled_part,
    factorwise_forward,
    factorwise_weight_update,
    null_vector,
    reformulation_kept,
    reformulation_printed,
    row_softmax,
    separated,
    softmax,
)
from verify._claim import Claim
from verify._params import Matrix, Vector

__all__ = [
    "CLAIMS",
    "REFORMULATION",
    "REFORMULATION_AS_PRINTED",
    "DISENTANGLED_FORWARD",
    "DISENTANGLED_FORWARD_ANY_GATING",
    "DISENTANGLED_FORWARD_AS_PRINTED",
    "DISENTANGLED_WEIGHT_UPDATE",
    "DISENTANGLED_WEIGHT_UPDATE_AS_PRINTED",
]

FAMILY = "disentangled"
SEED = "seed 002_d1776dabe51410e6.txt (Tian, arXiv:1809.10829)"
THEOREM8 = f"{SEED}: 'Forward Disentanglement [Theorem 8]: If P_ab decomposes, F_a is disentangled, W_ba separates: Then F_b is also disentangled.'"
THEOREM9 = (f"{SEED}: 'Weight update [Theorem 9]: If P_ab decomposes, F_b is disentangled, W_ba separates and G_a is also "
            "disentangled, then Delta W_ba also separates.'")
EXAMPLES = 20  # deterministic exact claims: 20 draws + the boundary examples
REFUTED_EXAMPLES = 10  # an expected refutation fails at its first example; fewer draws keep hypothesis's shrinking short

LOGITS = (0.1, 4.0)   # softmax logits: rows of P^k from near-uniform to near-deterministic
TRANSITIONS = {"L1": Matrix(M_ALPHA[0], M_BETA[0], norm=LOGITS), "L2": Matrix(M_ALPHA[1], M_BETA[1], norm=LOGITS)}
CHILD = {"F1": Matrix(M_BETA[0], N_BETA[0]), "F2": Matrix(M_BETA[1], N_BETA[1])}
WEIGHTS = {"W1": Matrix(N_BETA[0], N_ALPHA[0]), "W2": Matrix(N_BETA[1], N_ALPHA[1])}
PRIORS = {"a1": Vector(M_ALPHA[0], norm=LOGITS), "a2": Vector(M_ALPHA[1], norm=LOGITS)}
GRADIENTS = {"G1": Matrix(M_ALPHA[0], N_ALPHA[0]), "G2": Matrix(M_ALPHA[1], N_ALPHA[1])}

# typed (all): structural statements (Kronecker products, block diagonals), not one closed form
FORWARD = (r"P_{\alpha\beta} = P^1 \otimes P^2,\ F_\beta = [F^1_\beta \otimes \mathbf{1}, \mathbf{1} \otimes F^2_\beta],\ "
           r"W_{\beta\alpha} = \mathrm{diag}(W^1, W^2) \Rightarrow F_\alpha = D_\alpha \circ P_{\alpha\beta} F_\beta W_{\beta\alpha}"
           r" = [\sigma(P^1 F^1_\beta W^1) \otimes \mathbf{1}, \mathbf{1} \otimes \sigma(P^2 F^2_\beta W^2)]")
AS_PRINTED = (r"P_{\alpha\beta} = P^1 \otimes P^2,\ F_\alpha \text{ disentangled},\ W_{\beta\alpha} \text{ separates}"
              r" \Rightarrow F_\beta = \Pi_{\mathrm{dis}} F_\beta")
ANY_GATING = (r"F_\alpha = D_\alpha \circ [H^1 \otimes \mathbf{1}, \mathbf{1} \otimes H^2] = \Pi_{\mathrm{dis}} F_\alpha"
              r"\ \text{for any gating } D_\alpha")
UPDATE = (r"\Delta W_{\beta\alpha} = (P_{\alpha\beta} F_\beta)^\top \Lambda_\alpha G_\alpha = \mathrm{diag}\big("
          r"(P^1 F^1_\beta)^\top \Lambda^1 G^1_\alpha, (P^2 F^2_\beta)^\top \Lambda^2 G^2_\alpha\big)")


def _factors(L1, L2, F1, F2):
    return row_softmax(L1), row_softmax(L2), F1, F2


# --------------------------------------------------------------------------- closed forms


def _forward(L1, L2, F1, F2, W1, W2):
    """Theorem 8, corrected: F_alpha = [relu(P^1 F^1 W^1) (x) 1, 1 (x) relu(P^2 F^2 W^2)] (6 x 3)."""
    P1, P2, F1, F2 = _factors(L1, L2, F1, F2)
    return factorwise_forward(P1, P2, F1, F2, W1, W2)


def _joint(L1, L2, F1, F2):
    P1, P2, F1, F2 = _factors(L1, L2, F1, F2)
    return P1, sp.kronecker_product(P1, P2), disentangled(F1, F2)


def _as_printed(L1, F1, F2, c, v):
    """Pi F_beta for F_beta = [F^1 (x) 1, 1 (x) F^2] + (n (x) v) c^T: 'F_beta equals its disentangled part' (6 x 4)."""
    F_beta = disentangled(F1, F2) + sp.kronecker_product(null_vector(row_softmax(L1)), v) * c.T  # (6 x 1)(1 x 4)
    return disentangled_part(F_beta, M_BETA, N_BETA)


def _any_gating(H1, H2, Dl):
    """Pi (D o [H^1 (x) 1, 1 (x) H^2]), D = sigmoid(Dl) any gating in (0, 1): 'F_alpha equals its disentangled part'."""
    D = Dl.applyfunc(lambda x: 1 / (1 + sp.exp(-x)))
    return disentangled_part(D.multiply_elementwise(disentangled(H1, H2)), M_ALPHA, N_ALPHA)


def _update(a1, a2, L1, L2, F1, F2, G1, G2, *, centre: bool):
    P1, P2, F1, F2 = _factors(L1, L2, F1, F2)
    p1, p2 = softmax(a1), softmax(a2)
    if centre:
        G1, G2 = centred(G1, p1), centred(G2, p2)
    return factorwise_weight_update(P1, P2, F1, F2, p1, p2, G1, G2)


def _update_centred(a1, a2, L1, L2, F1, F2, G1, G2):
    """Theorem 9 with E_{z_alpha}[g_j] = 0: diag((P^k F^k)^T diag(p^k) G^k_c) (4 x 3)."""
    return _update(a1, a2, L1, L2, F1, F2, G1, G2, centre=True)


def _update_as_printed(a1, a2, L1, L2, F1, F2, G1, G2):
    """Theorem 9 as printed: Delta W = diag((P^k F^k)^T diag(p^k) G^k), no centring (4 x 3)."""
    return _update(a1, a2, L1, L2, F1, F2, G1, G2, centre=False)


def _centred_update_estimator(a1, a2, L1, L2, F1, F2, G1, G2):
    return joint_weight_update(a1, a2, L1, L2, F1, F2, G1, G2, centre=True)


# --------------------------------------------------------------------------- claims

DISENTANGLED_FORWARD = Claim(
    name="disentangled-forward",
    params={**TRANSITIONS, **CHILD, **WEIGHTS},
    closed_form=_forward,
    exact=joint_forward,
    derivation=derivation_forward,
    statement=FORWARD,
    reference=THEOREM8 + " Read child to parent: F_beta disentangled => F_alpha disentangled.",
    family=FAMILY,
    examples=EXAMPLES,
    notes="Theorem 8 in the direction of the matrix form (F_alpha from its child F_beta). Estimator: relu(P F_beta W) "
          "on the joint 6 x 6 P = P^1 (x) P^2 (torch.kron, rows softmaxed), F_beta = [F^1 (x) 1, 1 (x) F^2], "
          "W = block_diag(W^1, W^2); closed form: the factor-wise relu(P^k F^k W^k), each repeated over the other "
          "factor. The derivation proves it for any entrywise gate, every entry symbolic; it uses that P^2's rows "
          "sum to 1.",
)

DISENTANGLED_FORWARD_AS_PRINTED = Claim(
    name="disentangled-forward-as-printed",
    params={"L1": TRANSITIONS["L1"], **CHILD, "c": Vector(sum(N_BETA)), "v": Vector(M_BETA[1])},
    closed_form=_as_printed,
    exact=entangled_child,
    derivation=derivation_null_direction,
    statement=AS_PRINTED,
    reference=THEOREM8,
    family=FAMILY,
    examples=REFUTED_EXAMPLES,
    expected="refuted",
    notes="As printed, Theorem 8 infers the child's F_beta from the parent's F_alpha, against the matrix form "
          "F_alpha = D o P F_beta W. Counterexamples: F_beta = [F^1 (x) 1, 1 (x) F^2] + (n (x) v) c^T with n the "
          "null vector of the 2 x 3 P^1 (cross product of its rows). P (n (x) v) = 0 (derivation), so for every "
          "W F_alpha is that of the disentangled [F^1 (x) 1, 1 (x) F^2] -- disentangled by disentangled-forward "
          "(tests/test_disentangled.py checks the two F_alpha agree) -- while F_beta depends on both factors: "
          "it differs from Pi_dis F_beta, each column averaged over the factor its node does not belong to. "
          "Neither P^2 nor W is drawn: F_beta does not depend on them. Corrected: disentangled-forward.",
)

DISENTANGLED_FORWARD_ANY_GATING = Claim(
    name="disentangled-forward-any-gating",
    params={"H1": Matrix(M_ALPHA[0], N_ALPHA[0]), "H2": Matrix(M_ALPHA[1], N_ALPHA[1]),
            "Dl": Matrix(M_ALPHA[0] * M_ALPHA[1], sum(N_ALPHA), norm=LOGITS)},
    closed_form=_any_gating,
    exact=gated_forward,
    statement=ANY_GATING,
    reference=THEOREM8 + " (the gating D_alpha, which the statement does not constrain)",
    family=FAMILY,
    examples=REFUTED_EXAMPLES,
    expected="refuted",
    notes="Theorem 8 (child to parent) needs the gating disentangled too. Where P decomposes, F_beta is "
          "disentangled and W separates, the pre-activation P F_beta W is [H^1 (x) 1, 1 (x) H^2] (derivation of "
          "disentangled-forward); here H^1, H^2 are drawn directly and D_alpha arbitrary in (0, 1) (sigmoid of free "
          "logits, as an expected gate E[f'_j(x) | z_alpha] may be): D o H depends on both factors. With D_alpha "
          "the ReLU gate of the pre-activation (disentangled-forward) it holds.",
)

DISENTANGLED_WEIGHT_UPDATE = Claim(
    name="disentangled-weight-update",
    params={**PRIORS, **TRANSITIONS, **CHILD, **GRADIENTS},
    closed_form=_update_centred,
    exact=_centred_update_estimator,
    derivation=derivation_weight_update,
    statement=UPDATE + r",\ \mathbb{E}_{z_\alpha}[g_j] = 0",
    reference=THEOREM9 + " With centred gradients, E_{z_alpha}[g_j] = 0.",
    family=FAMILY,
    examples=EXAMPLES,
    notes="Prior P(z_alpha) = p^1 (x) p^2 (Lambda = diag), G~ = Lambda G, and G_alpha's columns centred under "
          "P(z_alpha) (as BatchNorm's backward P^perp_{f,1} g leaves them). Estimator: (P F_beta)^T diag(prior) G "
          "on the joint objects; closed form: the block diagonal of the factor-wise (P^k F^k)^T diag(p^k) G^k_c, "
          "G^k_c centred under p^k. W_beta,alpha does not enter Delta W.",
)

DISENTANGLED_WEIGHT_UPDATE_AS_PRINTED = Claim(
    name="disentangled-weight-update-as-printed",
    params={**PRIORS, **TRANSITIONS, **CHILD, **GRADIENTS},
    closed_form=_update_as_printed,
    exact=joint_weight_update,
    derivation=derivation_update_off_blocks,
    statement=UPDATE,
    reference=THEOREM9,
    family=FAMILY,
    examples=REFUTED_EXAMPLES,
    expected="refuted",
    notes="Without centring, Delta W's off-diagonal blocks are E[(P F_beta)_k] E[g_j] (derivation): group 1 of "
          "beta and group 2 of alpha meet through the means of functions of independent factors, which vanish "
          "only if one of the means does. The diagonal blocks agree. Corrected: disentangled-weight-update.",
)

THEOREM2 = (f"{SEED}: 'Theorem 2 [Reformulation]: f_j(z_a) = f'_j(z_a) sum_k w_jk E_(z_b|z_a)[f_k(z_b)]', "
            "assumption P(x_k|z_a, z_b) = P(x_k|z_b)")
REFORMULATION_PARAMS = {"L": Matrix(2, 3, norm=LOGITS), "Theta": Matrix(3, 2, norm=(0.5, 4.0)), "phi": Matrix(2, 2),
                        "w": Vector(2)}
# typed (both): conditional expectations over a generative model, not one closed form
REFORMULATION_PRINTED = (r"f_j(z_\alpha) = f'_j(z_\alpha) \sum_{k \in \mathrm{ch}(j)} w_{jk}\,"
                         r"\mathbb{E}_{z_\beta|z_\alpha}\left[f_k(z_\beta)\right]")
REFORMULATION_KEPT = (r"f_j(z_\alpha) = \sum_{k \in \mathrm{ch}(j)} w_{jk}\,\mathbb{E}_{z_\beta|z_\alpha}\left["
                      r"\mathbb{E}_{\mathbf{x}|z_\beta}[f'_j(\mathbf{x}) f_k(\mathbf{x})]\right]")

REFORMULATION = Claim(
    name="reformulation-forward",
    params=REFORMULATION_PARAMS,
    closed_form=reformulation_kept,
    exact=reformulated_activation,
    derivation=derivation_reformulation,
    statement=REFORMULATION_KEPT,
    reference=THEOREM2 + " (forward part, the gate kept inside the expectation)",
    family=FAMILY,
    examples=EXAMPLES,
    notes="z_alpha (2 values) -> z_beta (3, P(z_beta|z_alpha) = softmax rows of L) -> two bits x_k, independent given "
          "z_beta (sigmoid(Theta)); children f_k(x) = phi[k, x_k], parent relu(w^T f). Estimator: E[relu(w^T f) | "
          "z_alpha] by enumerating (z_beta, x). Exact with the gate inside E_{x|z_beta}: what the assumption "
          "P(x_j | z_alpha, z_beta) = P(x_j | z_beta) gives (derivation, any distributions, gates free).",
)

REFORMULATION_AS_PRINTED = Claim(
    name="reformulation-forward-as-printed",
    params=REFORMULATION_PARAMS,
    closed_form=reformulation_printed,
    exact=reformulated_activation,
    statement=REFORMULATION_PRINTED,
    reference=THEOREM2,
    family=FAMILY,
    examples=REFUTED_EXAMPLES,
    expected="refuted",
    notes="With f'_j(z_alpha) = E_{x|z_alpha}[f'_j(x)] the printed form factors E[f'_j f_k | z_alpha] into "
          "E[f'_j | z_alpha] E[f_k | z_alpha]: false whenever the gate and the children's activations are correlated "
          "given z_alpha -- the gate is a function of them -- although the printed assumptions hold in this model "
          "(z_beta = the latent the bits depend on). It holds when that conditional covariance vanishes (a "
          "decorrelation assumption the slides do not state), e.g. a gate fixed given z_alpha. Corrected: "
          "reformulation-forward.",
)

CLAIMS = (
    REFORMULATION,
    REFORMULATION_AS_PRINTED,
    DISENTANGLED_FORWARD,
    DISENTANGLED_FORWARD_AS_PRINTED,
    DISENTANGLED_FORWARD_ANY_GATING,
    DISENTANGLED_WEIGHT_UPDATE,
    DISENTANGLED_WEIGHT_UPDATE_AS_PRINTED,
)
