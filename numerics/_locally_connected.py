"""The locally connected ReLU net of ``theory._locally_connected`` in torch: autograd and brute-force enumeration.

Family ``locally-connected``: derivation ``theory._locally_connected`` (the paper's equation, derived) ·
estimators ``numerics._locally_connected`` · claims ``verify.claims._locally_connected`` · tests ``tests/test_locally_connected.py``.

Estimators for seed ``002_d1776dabe51410e6.txt`` (Tian, arXiv:1809.10829). The network is built as
dense layers with masked weights (the compact n_l x 2 weights scattered into n_l x n_{l-1} matrices),
so nothing here runs the node-wise recursions f_j = f'_j sum w_jk f_k or g_k = f'_k sum w_jk g_j:
activations come from ``torch.relu``, gradients from autograd.

| code                 | paper        | meaning                                                        |
|----------------------|--------------|----------------------------------------------------------------|
| ``W_1, W_2, W_3``    | w_jk         | compact weights (n_l, 2), row j = node j's weights on ch(j)    |
| ``x, y``             | x, y         | inputs (n, 4), targets (n,)                                    |
| ``a, Theta, c``      | P(z), P(x|z) | class logits (3,), bit logits (3, 4), class labels (3,)        |

All functions compute in the dtype and on the device of ``W_1``.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from theory._locally_connected import CHILDREN, CLASSES, INPUTS, LAYERS, field

__all__ = [
    "autograd_forward_backward",
    "autograd_weight_update",
    "dense_weights",
    "enumerated_marginalized_gradient",
    "forward",
]


def dense_weights(weights) -> list[Tensor]:
    """Compact (n_l, 2) weights -> dense (n_l, n_{l-1}) matrices, zero outside each node's children."""
    dense, width = [], INPUTS
    for W, children in zip(weights, CHILDREN):
        rows = torch.arange(len(children), device=W.device).repeat_interleave(2)  # (2 n_l,)
        cols = torch.tensor([c for ch in children for c in ch], device=W.device)  # (2 n_l,)
        D = torch.zeros(len(children), width, dtype=W.dtype, device=W.device)
        dense.append(D.index_put((rows, cols), W.reshape(-1)))  # (n_l, 2) -> (2 n_l,) scattered
        width = len(children)
    return dense


def forward(weights, x: Tensor) -> tuple[list, Tensor]:
    """(pre-activations per layer, output (n,)) for inputs x (n, 4); ReLU hidden layers, linear top."""
    hs, f = [], x
    for l, D in enumerate(dense_weights(weights), start=1):
        h = f @ D.T  # (n, n_{l-1}) @ (n_{l-1}, n_l) -> (n, n_l)
        hs.append(h)
        f = h if l == LAYERS else torch.relu(h)
    return hs, f[:, 0]


def _gradients(weights, x: Tensor, y: Tensor) -> tuple[list, Tensor]:
    """(per-layer -dl/dh (n, n_l) each, activations (n, 3 + 2 + 1)) for l = 1/2 (f_top - y)^2 per sample."""
    hs, out = forward(weights, x)
    for h in hs:
        h.retain_grad()
    ((out - y) ** 2 / 2).sum().backward()  # samples independent: d/dh of the sum is per-sample
    acts = torch.cat([torch.relu(h) for h in hs[:-1]] + [hs[-1]], dim=1)
    return [-h.grad for h in hs], acts


def autograd_forward_backward(W_1, W_2, W_3, x, y) -> Tensor:
    """[f of layers 1..3; g of layers 1..3] for one input x (4,) and target y: (12,), g by autograd."""
    weights = [W.detach().clone().requires_grad_(True) for W in (W_1, W_2, W_3)]
    g, acts = _gradients(weights, x[None, :], y.reshape(1))
    return torch.cat([acts[0].detach()] + [g_l[0] for g_l in g])  # (6,) + (3,) + (2,) + (1,)


def autograd_weight_update(W_1, W_2, W_3, X, Y) -> Tensor:
    """-d/dw of the mean loss 1/N sum_n 1/2 (f_top(x_n) - y_n)^2 over the rows of X (N, 4): flattened (12,)."""
    weights = [W.detach().clone().requires_grad_(True) for W in (W_1, W_2, W_3)]
    _, out = forward(weights, X)
    loss = ((out - Y) ** 2 / 2).mean()
    return -torch.cat([G.reshape(-1) for G in torch.autograd.grad(loss, weights)])  # (6,) + (4,) + (2,)


def enumerated_marginalized_gradient(W_1, W_2, W_3, a, Theta, c) -> Tensor:
    """E[g_k(x) | x_k = bits] by enumerating all (z, x) pairs: (28,), in the closed form's order.

    Joint P(z, b) = softmax(a)_z prod_i Bernoulli(b_i; sigmoid(Theta_zi)), x = 2 b - 1, label c_z;
    per-pair g_k(x, z) by autograd of 1/2 (f_top(x) - c_z)^2; conditional means by direct summation.
    """
    bits = torch.tensor(list(itertools.product((0, 1), repeat=INPUTS)), dtype=W_1.dtype, device=W_1.device)  # (16, 4)
    theta = torch.sigmoid(Theta)  # (3, 4)
    p_b_given_z = torch.where(bits[None, :, :] > 0, theta[:, None, :], 1 - theta[:, None, :]).prod(dim=2)  # (3, 16)
    joint = (torch.softmax(a, dim=0)[:, None] * p_b_given_z).reshape(-1)  # (3, 16) -> (48,), z-major
    x = (2 * bits - 1).repeat(CLASSES, 1)  # (48, 4)
    y = c.repeat_interleave(2**INPUTS)  # (48,)
    weights = [W.detach().clone().requires_grad_(True) for W in (W_1, W_2, W_3)]
    g, _ = _gradients(weights, x, y)
    out = []
    for l in range(1, LAYERS):
        for k in range(len(CHILDREN[l - 1])):
            R_k = field(l, k)
            for beta in itertools.product((0, 1), repeat=len(R_k)):
                match = (bits[:, list(R_k)] == torch.tensor(beta, dtype=bits.dtype, device=bits.device)).all(dim=1)  # (16,)
                weight = joint * match.repeat(CLASSES).to(joint.dtype)  # (48,)
                out.append((weight * g[l - 1][:, k]).sum() / weight.sum())
    return torch.stack(out)
