"""Disentangled representations in the matrix form of the locally connected framework (Tian 2018), in SymPy.

Family ``disentangled``: derivation ``theory._disentangled`` (the paper's equation, derived) ·
estimators ``numerics._disentangled`` · claims ``verify.claims._disentangled`` · tests ``tests/test_disentangled.py``.

Source: seed ``002_d1776dabe51410e6.txt`` ("Reformulation", "Theorem 2 [Reformulation]", "Matrix Form", "Disentangled representation", "Forward
Disentanglement [Theorem 8]", "Weight update [Theorem 9]"), citing Y. Tian, *A Theoretical Framework
for Deep Locally Connected ReLU Network*, arXiv:1809.10829. The node-wise recursions of the family
``locally-connected``, written over the values of the teacher's latent variables, are the matrix form

    F_alpha = D_alpha o sum_{beta in ch(alpha)} P_alpha,beta F_beta W_beta,alpha,     Delta W_beta,alpha = (P_alpha,beta F_beta)^T G~_alpha,

and the slides print

    Theorem 8: If P_alpha,beta decomposes, F_alpha is disentangled, W_beta,alpha separates: then F_beta is also disentangled.
    Theorem 9: If P_alpha,beta decomposes, F_beta is disentangled, W_beta,alpha separates and G_alpha is also
               disentangled, then Delta W_beta,alpha also separates.

Our reading (the slides name the notions without defining them; these are the paper's, as we read them):

* Rows of F_alpha are the m_alpha values of the latent z_alpha, columns the n_alpha student nodes at alpha;
  beta is a child of alpha. P_alpha,beta[z_alpha, z_beta] = P(z_beta | z_alpha): rows sum to 1.
  G~_alpha = Lambda_alpha G_alpha with Lambda_alpha = diag P(z_alpha), so Delta W = E_{z_alpha}[...].
* K = 2 latent factors: z = (z^1, z^2), enumerated in Kronecker (row-major) order.
* **P decomposes**: P(z_beta | z_alpha) = prod_k P(z_beta^k | z_alpha^k), i.e. P_alpha,beta = P^1 (x) P^2
  (Kronecker product); for Theorem 9 also the prior: P(z_alpha) = p^1 (x) p^2 (independent factors).
* **F disentangled**: the nodes come in groups, one per factor, and a node of group k depends on z^k
  only: F = [F^1 (x) 1, 1 (x) F^2] (``disentangled``). Equivalently F equals ``disentangled_part(F)``,
  each column averaged over the factors its node does not belong to.
* **W separates**: group k of beta feeds group k of alpha only: W_beta,alpha = diag(W^1, W^2) (block diagonal).

Findings, derived here and checked against torch in ``verify/claims/_disentangled.py``:

* Theorem 8 runs the wrong way. The matrix form computes F_alpha from its children's F_beta, and
  disentanglement propagates upward: F_beta disentangled => F_alpha = [s(P^1 F^1 W^1) (x) 1, 1 (x) s(P^2 F^2 W^2)]
  (``derivation_forward``: (P^1 (x) P^2)(f (x) 1) = (P^1 f) (x) 1 because P^2's rows sum to 1; the gate s acts
  entrywise, so it keeps the structure whenever it is a function of the pre-activation, as ReLU's is).
  As printed (F_alpha disentangled => F_beta disentangled) it is false: P^1 is m_alpha^1 x m_beta^1 and
  has a null vector n when m_beta^1 > m_alpha^1; adding (n (x) v) c^T to F_beta entangles it and leaves
  F_alpha unchanged (``derivation_null_direction``).
* Theorem 8 also needs the gating D_alpha disentangled like F_alpha (true for ReLU of the pre-activation,
  not for an arbitrary D_alpha, e.g. an expected gate E[f'_j(x) | z_alpha]).
* Theorem 2 (reformulation, forward part) as printed is false with f'_j(z_alpha) = E_{x|z_alpha}[f'_j(x)]: it
  factors E[f'_j f_k | z_alpha] into E[f'_j | z_alpha] E[f_k | z_alpha], and the gate is a function of the
  children's activations. Under P(x_j | z_alpha, z_beta) = P(x_j | z_beta) the exact form keeps the gate inside,
  f_j(z_alpha) = sum_k w_jk E_{z_beta|z_alpha}[E_{x|z_beta}[f'_j f_k]] (``derivation_reformulation``); the printed
  one needs the gate and the children decorrelated given z_alpha (an assumption the slides do not state).
* Theorem 9 as printed is false: the off-diagonal blocks of Delta W are outer products of means,
  E_{z_alpha}[(P F_beta)_k] E_{z_alpha}[g_j] (``derivation_update_off_blocks``), not zero. It holds when the
  gradients are centred, E_{z_alpha}[g_j] = 0 -- what BatchNorm's backward pass gives (P^perp_{f,1} g is
  orthogonal to 1 under <.,.>_{z_alpha}) -- and the prior factorizes (``derivation_weight_update``).

| code                 | paper                          | meaning                                                    |
|----------------------|--------------------------------|------------------------------------------------------------|
| ``P1, P2``           | P_alpha,beta = P^1 (x) P^2     | factor transition matrices P(z_beta^k | z_alpha^k)          |
| ``p1, p2``           | P(z_alpha) = p^1 (x) p^2       | factor priors at alpha (Theorem 9)                          |
| ``F1, F2``           | F_beta = [F^1 (x) 1, 1 (x) F^2] | the child's factor activations, m_beta^k x n_beta^k       |
| ``W1, W2``           | W_beta,alpha = diag(W^1, W^2)  | the separable weights, n_beta^k x n_alpha^k                |
| ``G1, G2``           | G_alpha = [G^1 (x) 1, 1 (x) G^2] | the parent's factor gradients, m_alpha^k x n_alpha^k     |
| ``gate``             | D_alpha o .                    | entrywise ReLU gate: s(h) = 1(h > 0) h                      |
| ``M_ALPHA, M_BETA``  | m_alpha^k, m_beta^k            | sizes of the factors of z_alpha, z_beta: (2, 3), (3, 2)     |
| ``N_ALPHA, N_BETA``  | n_alpha^k, n_beta^k            | nodes per factor group at alpha, beta: (1, 2), (2, 2)       |
"""

from __future__ import annotations

import sympy as sp
from sympy import kronecker_product

from ._derivation import Derivation, compare
from ._locally_connected import _step

__all__ = [
    "M_ALPHA",
    "M_BETA",
    "N_ALPHA",
    "N_BETA",
    "centred",
    "derivation_forward",
    "derivation_null_direction",
    "derivation_reformulation",
    "derivation_update_off_blocks",
    "derivation_weight_update",
    "disentangled",
    "disentangled_part",
    "factorwise_forward",
    "factorwise_weight_update",
    "matrix_forward",
    "matrix_weight_update",
    "null_vector",
    "reformulation_kept",
    "reformulation_printed",
    "relu",
    "row_softmax",
    "separated",
    "softmax",
]

M_ALPHA, M_BETA = (2, 3), (3, 2)   # factor sizes of z_alpha, z_beta: P^1 is 2 x 3 (it has a null vector), P^2 is 3 x 2
N_ALPHA, N_BETA = (1, 2), (2, 2)   # nodes per factor group at alpha, beta


def softmax(a: sp.Matrix) -> sp.Matrix:
    """A distribution from logits: exp(a_i) / sum_j exp(a_j) (m x 1)."""
    e = a.applyfunc(sp.exp)
    return e / sum(e)


def row_softmax(L: sp.Matrix) -> sp.Matrix:
    """A row-stochastic matrix from logits: each row a softmax."""
    return sp.Matrix.vstack(*[softmax(L[i, :].T).T for i in range(L.shape[0])])


def relu(H: sp.Matrix) -> sp.Matrix:
    """D o H with D = 1(H > 0): the entrywise ReLU gate of the pre-activation (exact 0 for a closed gate)."""
    return H.applyfunc(lambda h: _step(h) * h)


def disentangled(A1: sp.Matrix, A2: sp.Matrix) -> sp.Matrix:
    """[A1 (x) 1, 1 (x) A2]: group 1's nodes depend on z^1 only, group 2's on z^2 only ((m1 m2) x (n1 + n2))."""
    m1, m2 = A1.shape[0], A2.shape[0]
    return sp.Matrix.hstack(kronecker_product(A1, sp.ones(m2, 1)), kronecker_product(sp.ones(m1, 1), A2))


def separated(W1: sp.Matrix, W2: sp.Matrix) -> sp.Matrix:
    """diag(W1, W2): group k of the child feeds group k of the parent only."""
    return sp.diag(W1, W2)


def disentangled_part(F: sp.Matrix, m: tuple[int, int], n: tuple[int, int]) -> sp.Matrix:
    """Each column averaged over the factor its node does not belong to: F is disentangled iff F equals this.

    Column j of group 1 as an m1 x m2 table T[z1, z2] -> its row means, repeated over z2; group 2 -> column means.
    """
    m1, m2 = m
    cols = []
    for j in range(F.shape[1]):
        T = F[:, j].reshape(m1, m2)  # (m1 m2, 1) -> (m1, m2), row-major as the Kronecker order
        if j < n[0]:
            means = [sum(T[a, :]) / m2 for a in range(m1)]
            cols.append(kronecker_product(sp.Matrix(means), sp.ones(m2, 1)))
        else:
            means = [sum(T[:, b]) / m1 for b in range(m2)]
            cols.append(kronecker_product(sp.ones(m1, 1), sp.Matrix(means)))
    return sp.Matrix.hstack(*cols)


def null_vector(P1: sp.Matrix) -> sp.Matrix:
    """n with P1 n = 0 for a 2 x 3 P1: the cross product of its rows (3 x 1)."""
    return P1.row(0).cross(P1.row(1)).T


def centred(G: sp.Matrix, p: sp.Matrix) -> sp.Matrix:
    """G - 1 p^T G: every column minus its mean under p (E_{z}[g] = 0 afterwards)."""
    return G - sp.ones(G.shape[0], 1) * (p.T * G)


# --------------------------------------------------------------------------- the matrix form and its factor-wise closed forms


def matrix_forward(P: sp.Matrix, F_beta: sp.Matrix, W: sp.Matrix, gate=relu) -> sp.Matrix:
    """F_alpha = D_alpha o (P_alpha,beta F_beta W_beta,alpha), one child; gate maps the pre-activation to F_alpha."""
    return gate(P * F_beta * W)  # (m_a, m_b) (m_b, n_b) (n_b, n_a) -> (m_a, n_a)


def factorwise_forward(P1, P2, F1, F2, W1, W2, gate=relu) -> sp.Matrix:
    """Theorem 8, corrected: F_alpha = [s(P^1 F^1 W^1) (x) 1, 1 (x) s(P^2 F^2 W^2)] -- disentangled."""
    return disentangled(gate(P1 * F1 * W1), gate(P2 * F2 * W2))


def matrix_weight_update(P: sp.Matrix, F_beta: sp.Matrix, prior: sp.Matrix, G: sp.Matrix) -> sp.Matrix:
    """Delta W_beta,alpha = (P F_beta)^T G~_alpha, G~_alpha = diag(P(z_alpha)) G_alpha: (n_beta x n_alpha)."""
    return (P * F_beta).T * sp.diag(*prior) * G  # (n_b, m_a) (m_a, m_a) (m_a, n_a) -> (n_b, n_a)


def factorwise_weight_update(P1, P2, F1, F2, p1, p2, G1, G2) -> sp.Matrix:
    """Theorem 9's separated form: diag((P^1 F^1)^T diag(p^1) G^1, (P^2 F^2)^T diag(p^2) G^2)."""
    return separated((P1 * F1).T * sp.diag(*p1) * G1, (P2 * F2).T * sp.diag(*p2) * G2)


# --------------------------------------------------------------------------- derivations (symbolic entries)


def _stochastic(name: str, rows: int, cols: int) -> sp.Matrix:
    """rows x cols with free entries, the last of each row 1 - the others: a generic row-stochastic matrix."""
    free = sp.Matrix(rows, cols - 1, sp.symbols(f"{name}_0:{rows}_0:{cols - 1}", real=True))
    last = sp.Matrix([1 - sum(free[i, :]) for i in range(rows)])
    return sp.Matrix.hstack(free, last)


def _free(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, sp.symbols(f"{name}_0:{rows}_0:{cols}", real=True))


def _factors():
    P1, P2 = _stochastic("P1", M_ALPHA[0], M_BETA[0]), _stochastic("P2", M_ALPHA[1], M_BETA[1])
    F1, F2 = _free("F1", M_BETA[0], N_BETA[0]), _free("F2", M_BETA[1], N_BETA[1])
    return P1, P2, F1, F2


_SIGMA = sp.Function("s")   # any entrywise gate: a function of the pre-activation alone


def _gate(H: sp.Matrix) -> sp.Matrix:
    return H.applyfunc(lambda h: _SIGMA(sp.expand(h)))


def derivation_forward() -> Derivation:
    """F_beta disentangled, P = P^1 (x) P^2 (rows summing to 1), W = diag(W^1, W^2), any entrywise gate s:
    s(P F_beta W) = [s(P^1 F^1 W^1) (x) 1, 1 (x) s(P^2 F^2 W^2)], every entry symbolic."""
    P1, P2, F1, F2 = _factors()
    W1, W2 = _free("W1", N_BETA[0], N_ALPHA[0]), _free("W2", N_BETA[1], N_ALPHA[1])
    derived = matrix_forward(kronecker_product(P1, P2), disentangled(F1, F2), separated(W1, W2), gate=_gate)
    printed = factorwise_forward(P1, P2, F1, F2, W1, W2, gate=_gate)
    return compare("P = P1 (x) P2 row-stochastic, F_beta = [F1 (x) 1, 1 (x) F2], W = diag(W1, W2), s any entrywise "
                   "gate: s(P F_beta W) = [s(P1 F1 W1) (x) 1, 1 (x) s(P2 F2 W2)] (F_alpha disentangled; Theorem 8 "
                   "with beta -> alpha)", derived, printed, simplify=sp.expand)


def derivation_null_direction() -> Derivation:
    """(P^1 (x) P^2)(n (x) v) = 0 for n the cross product of P^1's rows: an entangled direction of F_beta
    that F_alpha does not see (why Theorem 8 as printed fails)."""
    P1, P2, _, _ = _factors()
    v = sp.Matrix(sp.symbols(f"v0:{M_BETA[1]}", real=True))
    derived = kronecker_product(P1, P2) * kronecker_product(null_vector(P1), v)
    return compare("P = P1 (x) P2 with P1 2 x 3: P (n (x) v) = 0 for n = (row 1 of P1) x (row 2 of P1), any v",
                   derived, sp.zeros(*derived.shape), simplify=sp.expand)


def _update_symbols():
    P1, P2, F1, F2 = _factors()
    p1, p2 = _stochastic("p1", 1, M_ALPHA[0]).T, _stochastic("p2", 1, M_ALPHA[1]).T
    G1, G2 = _free("G1", M_ALPHA[0], N_ALPHA[0]), _free("G2", M_ALPHA[1], N_ALPHA[1])
    return P1, P2, F1, F2, p1, p2, G1, G2


def derivation_weight_update() -> Derivation:
    """Centred gradients (E_{z_alpha}[g_j] = 0): (P F_beta)^T Lambda G_alpha = diag((P^k F^k)^T diag(p^k) G^k_c)."""
    P1, P2, F1, F2, p1, p2, G1, G2 = _update_symbols()
    prior = kronecker_product(p1, p2)
    G = centred(disentangled(G1, G2), prior)   # centred under the joint prior
    derived = matrix_weight_update(kronecker_product(P1, P2), disentangled(F1, F2), prior, G)
    printed = factorwise_weight_update(P1, P2, F1, F2, p1, p2, centred(G1, p1), centred(G2, p2))
    return compare("P(z_alpha) = p1 (x) p2, P = P1 (x) P2, F_beta, G_alpha disentangled, G_alpha centred under "
                   "P(z_alpha): Delta W = (P F_beta)^T diag(P(z_alpha)) G_alpha = diag((P1 F1)^T diag(p1) G1c, "
                   "(P2 F2)^T diag(p2) G2c) (separates)", derived, printed, simplify=sp.expand)


def derivation_update_off_blocks() -> Derivation:
    """Uncentred: Delta W - its separated form = the off-diagonal outer products E[(P F_beta)_k] E[g_j]."""
    P1, P2, F1, F2, p1, p2, G1, G2 = _update_symbols()
    prior = kronecker_product(p1, p2)
    derived = (matrix_weight_update(kronecker_product(P1, P2), disentangled(F1, F2), prior, disentangled(G1, G2))
               - factorwise_weight_update(P1, P2, F1, F2, p1, p2, G1, G2))
    mean_f1, mean_f2 = (p1.T * P1 * F1).T, (p2.T * P2 * F2).T   # E_{z_alpha}[(P F_beta)_k], per group
    mean_g1, mean_g2 = (p1.T * G1).T, (p2.T * G2).T             # E_{z_alpha}[g_j], per group
    printed = sp.Matrix(sp.BlockMatrix([[sp.zeros(N_BETA[0], N_ALPHA[0]), mean_f1 * mean_g2.T],
                                        [mean_f2 * mean_g1.T, sp.zeros(N_BETA[1], N_ALPHA[1])]]))
    return compare("P(z_alpha) = p1 (x) p2, P = P1 (x) P2, F_beta, G_alpha disentangled: Delta W - diag(...) has "
                   "off-diagonal blocks E[(P F_beta)_k] E[g_j] (not zero unless the means vanish)",
                   derived, printed, simplify=sp.expand)


# --------------------------------------------------------------------------- Theorem 2 (reformulation), forward part
# One student node j with two children k = 0, 1. Teacher: z_alpha (2 values) -> z_beta (3 values, P(z_beta | z_alpha)
# = row_softmax(L)) -> bits x_k, independent given z_beta with P(x_k = 1 | z_beta) = sigmoid(Theta[z_beta, k]), so the
# printed assumption P(x_k | z_alpha, z_beta) = P(x_k | z_beta) holds (and P(x_j | z_beta) for j's whole field x_j =
# (x_0, x_1)). Children: f_k(x) = phi[k, x_k] (any activation of the child's own bit); parent f_j = relu(w^T f),
# gate f'_j(x) = 1(w^T f > 0). f_j(z_alpha) = E_{x|z_alpha}[f_j(x)], f'_j(z_alpha) = E_{x|z_alpha}[f'_j(x)] (the slides'
# "f_j(z_alpha) = E_{x|z_alpha}[f_j(x)]" applied to the gate).

REFORMULATION_BITS = ((0, 0), (0, 1), (1, 0), (1, 1))   # x = (x_0, x_1)


def _bit_table(Theta: sp.Matrix) -> sp.Matrix:
    """P(x | z_beta): rows z_beta (3), columns x in REFORMULATION_BITS (4)."""
    s = Theta.applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
    return sp.Matrix(Theta.shape[0], len(REFORMULATION_BITS),
                     lambda b, i: sp.Mul(*[s[b, k] if x else 1 - s[b, k] for k, x in enumerate(REFORMULATION_BITS[i])]))


def _reformulation(P_ab: sp.Matrix, Q: sp.Matrix, gates, phi: sp.Matrix, w: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(printed, kept): per z_alpha, f'_j(z_alpha) sum_k w_k E_{z_beta|z_alpha}[f_k(z_beta)] and
    sum_k w_k E_{z_beta|z_alpha}[E_{x|z_beta}[f'_j(x) f_k(x)]]. Q = P(x | z_beta), gates[i] = f'_j at bits i."""
    act = [[phi[k, x[k]] for k in range(2)] for x in REFORMULATION_BITS]   # f_k at each x
    f_beta = Q * sp.Matrix(act)                                            # (3, 4) (4, 2): f_k(z_beta)
    gf_beta = Q * sp.Matrix([[g * a for a in row] for g, row in zip(gates, act)])   # E_{x|z_beta}[f'_j f_k]
    gate_alpha = P_ab * Q * sp.Matrix(gates)                               # (2, 3) (3, 4) (4, 1): f'_j(z_alpha)
    printed = (P_ab * f_beta * w).multiply_elementwise(gate_alpha)        # (2, 1)
    kept = P_ab * gf_beta * w                                              # (2, 1)
    return printed, kept


def _parent_gates(phi: sp.Matrix, w: sp.Matrix) -> list:
    return [_step(w[0] * phi[0, x[0]] + w[1] * phi[1, x[1]]) for x in REFORMULATION_BITS]


def reformulation_printed(L, Theta, phi, w) -> sp.Matrix:
    """Theorem 2 as printed: f_j(z_alpha) = f'_j(z_alpha) sum_k w_jk E_{z_beta|z_alpha}[f_k(z_beta)] (2 x 1)."""
    return _reformulation(row_softmax(L), _bit_table(Theta), _parent_gates(phi, w), phi, w)[0]


def reformulation_kept(L, Theta, phi, w) -> sp.Matrix:
    """Theorem 2 with the gate kept inside: f_j(z_alpha) = sum_k w_jk E_{z_beta|z_alpha}[(f'_j f_k)(z_beta)] (2 x 1)."""
    return _reformulation(row_softmax(L), _bit_table(Theta), _parent_gates(phi, w), phi, w)[1]


def derivation_reformulation() -> Derivation:
    """E_{x|z_alpha}[f'_j(x) w^T f(x)] by enumeration (any P(z_beta|z_alpha), any P(x|z_beta), gates free) equals
    sum_k w_k E_{z_beta|z_alpha}[E_{x|z_beta}[f'_j f_k]]: exact under P(x_j | z_alpha, z_beta) = P(x_j | z_beta)."""
    P_ab, Q = _free("P", 2, 3), _free("Q", 3, len(REFORMULATION_BITS))
    gates = list(sp.symbols(f"d0:{len(REFORMULATION_BITS)}", real=True))
    phi, w = _free("phi", 2, 2), sp.Matrix(sp.symbols("w0:2", real=True))
    derived = sp.Matrix([sum(P_ab[a, b] * Q[b, i] * gates[i] * (w[0] * phi[0, x[0]] + w[1] * phi[1, x[1]])
                             for b in range(3) for i, x in enumerate(REFORMULATION_BITS)) for a in range(2)])
    return compare("z_alpha -> z_beta -> x: E_{x|z_alpha}[f_j(x)] = sum_k w_jk E_{z_beta|z_alpha}[E_{x|z_beta}[f'_j f_k]] "
                   "(Theorem 2 with the gate inside the expectation)", derived,
                   _reformulation(P_ab, Q, gates, phi, w)[1], simplify=sp.expand)
