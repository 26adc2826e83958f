"""The matrix form of the locally connected framework in torch, on full Kronecker-structured objects.

Family ``disentangled``: derivation ``theory._disentangled`` (the paper's equation, derived) ·
estimators ``numerics._disentangled`` · claims ``verify.claims._disentangled`` · tests ``tests/test_disentangled.py``.

Estimators for seed ``002_d1776dabe51410e6.txt`` (Tian, arXiv:1809.10829; Theorems 2, 8, 9). For Theorem 2,
``reformulated_activation`` enumerates the generative model z_alpha -> z_beta -> x. Each builds the
*joint* objects a decomposable, disentangled, separable setting implies -- P_alpha,beta = P^1 (x) P^2 over all
m_alpha x m_beta latent pairs, F_beta = [F^1 (x) 1, 1 (x) F^2], W = diag(W^1, W^2) -- and runs the matrix
form on them (``torch.relu``, matrix products, ``torch.kron``): nothing here uses the factor-wise closed
forms of ``theory._disentangled``.

| code              | paper                       | meaning                                                        |
|-------------------|-----------------------------|----------------------------------------------------------------|
| ``L1, L2``        | P^1, P^2                    | logits of the factor transitions (rows softmaxed), (m_a^k, m_b^k) |
| ``a1, a2``        | p^1, p^2                    | logits of the factor priors at alpha, (m_a^k,)                  |
| ``F1, F2``        | F^1, F^2                    | the child's factor activations, (m_b^k, n_b^k)                  |
| ``W1, W2``        | W^1, W^2                    | the separable weights' blocks, (n_b^k, n_a^k)                   |
| ``G1, G2``        | G^1, G^2                    | the parent's factor gradients, (m_a^k, n_a^k)                   |
| ``c, v``          | --                          | an entangled direction (n (x) v) c^T added to F_beta            |
| ``H1, H2``        | H^1, H^2                    | a disentangled pre-activation's factors, (m_a^k, n_a^k)         |
| ``Dl``            | D_alpha                     | logits of an arbitrary gating in (0, 1), (m_a, n_a)             |

All functions compute in the dtype and on the device of their first tensor; each returns its closed form's
shape: (m_a, n_a), (m_b, n_b) or (n_b, n_a).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["entangled_child", "gated_forward", "joint_forward", "joint_weight_update", "reformulated_activation"]


def _disentangled(A1: Tensor, A2: Tensor) -> Tensor:
    """[A1 (x) 1, 1 (x) A2]: (m1, n1), (m2, n2) -> (m1 m2, n1 + n2)."""
    ones1 = torch.ones(A1.shape[0], 1, dtype=A1.dtype, device=A1.device)
    ones2 = torch.ones(A2.shape[0], 1, dtype=A2.dtype, device=A2.device)
    return torch.cat([torch.kron(A1, ones2), torch.kron(ones1, A2)], dim=1)


def _joint(L1: Tensor, L2: Tensor, F1: Tensor, F2: Tensor) -> tuple[Tensor, Tensor]:
    """(P_alpha,beta = P^1 (x) P^2 (m_a, m_b), F_beta (m_b, n_b)) from the factors."""
    P = torch.kron(torch.softmax(L1, dim=1), torch.softmax(L2, dim=1))  # (m_a1, m_b1) (x) (m_a2, m_b2) -> (m_a, m_b)
    return P, _disentangled(F1, F2)


def joint_forward(L1, L2, F1, F2, W1, W2, F_beta: Tensor | None = None) -> Tensor:
    """F_alpha = relu(P_alpha,beta F_beta W_beta,alpha) on the joint objects: (m_a, n_a).

    F_beta defaults to [F^1 (x) 1, 1 (x) F^2]; pass another (m_b, n_b) child activation to replace it.
    """
    P, disentangled_beta = _joint(L1, L2, F1, F2)
    F_beta = disentangled_beta if F_beta is None else F_beta
    W = torch.block_diag(W1, W2)  # (n_b, n_a)
    return torch.relu(P @ F_beta @ W)  # (m_a, m_b) (m_b, n_b) (n_b, n_a) -> (m_a, n_a)


def entangled_child(L1, F1, F2, c, v) -> Tensor:
    """F_beta = [F^1 (x) 1, 1 (x) F^2] + (n (x) v) c^T, n a null vector of P^1: (m_b, n_b).

    n = cross product of P^1's two rows (P^1 is 2 x 3), so P^1 n = 0 up to round-off and the added
    direction, which depends on both factors, does not reach F_alpha (``joint_forward(..., F_beta=...)``).
    """
    P1 = torch.softmax(L1, dim=1)  # (2, 3)
    n = torch.linalg.cross(P1[0], P1[1])  # (3,)
    return _disentangled(F1, F2) + torch.kron(n[:, None], v[:, None]) @ c[None, :]  # (m_b, 1) (1, n_b) -> (m_b, n_b)


def gated_forward(H1, H2, Dl) -> Tensor:
    """F_alpha = D_alpha o [H^1 (x) 1, 1 (x) H^2] with an arbitrary gating D_alpha = sigmoid(Dl) in (0, 1): (m_a, n_a)."""
    return torch.sigmoid(Dl) * _disentangled(H1, H2)


def joint_weight_update(a1, a2, L1, L2, F1, F2, G1, G2, *, centre: bool = False) -> Tensor:
    """Delta W = (P F_beta)^T diag(P(z_alpha)) G_alpha on the joint objects, P(z_alpha) = p^1 (x) p^2: (n_b, n_a).

    centre: G_alpha's columns first made zero-mean under P(z_alpha) (as BatchNorm's backward leaves them).
    """
    P, F_beta = _joint(L1, L2, F1, F2)
    prior = torch.kron(torch.softmax(a1, dim=0), torch.softmax(a2, dim=0))  # (m_a,)
    G = _disentangled(G1, G2)  # (m_a, n_a)
    if centre:
        G = G - prior @ G  # (m_a, n_a) - (n_a,): E_{z_alpha}[g_j] = 0
    return (P @ F_beta).T @ (prior[:, None] * G)  # (n_b, m_a) (m_a, n_a) -> (n_b, n_a)


def reformulated_activation(L, Theta, phi, w) -> Tensor:
    """f_j(z_alpha) = E_{x|z_alpha}[relu(w^T f(x))] by enumerating (z_beta, x): (2,) (Theorem 2's left side).

    z_beta | z_alpha ~ row softmax(L) (2, 3); bits x_k | z_beta independent Bernoulli(sigmoid(Theta[z_beta, k]))
    (3, 2); child activations f_k(x) = phi[k, x_k] (2, 2); parent relu(w^T f) (w: (2,)).
    """
    bits = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], device=L.device)  # (4, 2)
    s = torch.sigmoid(Theta)  # (3, 2)
    p_x = torch.where(bits[None, :, :] > 0, s[:, None, :], 1 - s[:, None, :]).prod(dim=2)  # (3, 4, 2) -> (3, 4)
    f = torch.stack([phi[0, bits[:, 0]], phi[1, bits[:, 1]]], dim=1)  # (4, 2): f_k at each x
    f_j = torch.relu(f @ w)  # (4,)
    return torch.softmax(L, dim=1) @ p_x @ f_j  # (2, 3) (3, 4) (4,) -> (2,)
