"""Deep ReLU teacher-student networks in torch: Lemma 1's construction, autograd references, no-flip steps.

Family ``recursive-gradient``: derivation ``theory._recursive_gradient`` (the paper's equation, derived) ·
estimators ``numerics._recursive_gradient`` · claims ``verify.claims._recursive_gradient`` · tests ``tests/test_recursive_gradient.py``.

Estimators for ``theory._recursive_gradient`` (seed ``000_111be25265ff9c8a.txt``, Tian ICML 2020,
Lemma 1). Same conventions as the theory module: W_l is (n_{l-1}, n_l), h_l = f_{l-1} W_l row-wise,
f_l = relu(h_l) for l < L, linear output f_L = h_L, J_x = 1/2 ||f*_L - f_L||^2, g_l = -dJ_x/dh_l.

| code                 | paper        | meaning                                                       |
|----------------------|--------------|---------------------------------------------------------------|
| ``weights``          | W_1..W_L     | student layers, tensors (n_{l-1}, n_l)                        |
| ``weights_star``     | W*_1..W*_L   | teacher layers                                                |
| ``x``                | x            | inputs (n, d) (a single input is passed as x[None])           |
| ``V``                | V_l          | (n, C, n_l) gated Jacobians d f_L / d f_l                     |
| ``delta``            | delta        | direction of an input perturbation, (d,)                      |

``recursive_gradient`` and ``weight_update_samples`` use Lemma 1's construction (products of gated
weights); ``autograd_*`` never do: they differentiate the loss or the downstream network with autograd.
All functions compute in the dtype and on the device of ``x``; randomness only from ``generator``.
``two_layer_weight_update_at`` takes its Gaussian inputs x (n, d) as an argument (the built-in Monte Carlo claim
declares ``inputs={"x": Gaussian(d)}``, so x is engine-owned and the engine may reduce variance);
``two_layer_weight_update_samples`` draws x ~ N(0, I_d) from ``generator`` and calls it.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.func import jacrev

__all__ = [
    "autograd_backprop",
    "autograd_mixing",
    "autograd_weight_gradient",
    "forward",
    "gated_jacobians",
    "no_flip_step",
    "recursive_gradient",
    "two_layer_weight_update_at",
    "two_layer_weight_update_samples",
    "weight_update_samples",
]


def forward(weights, x: Tensor) -> tuple[list, list]:
    """(h, f) lists for l = 0..L (h[0] = None, f[0] = x); x is (n, d); linear output layer."""
    h, f = [None], [x]
    for l, W in enumerate(weights, start=1):
        h_l = f[-1] @ W  # (n, n_{l-1}) @ (n_{l-1}, n_l) -> (n, n_l)
        h.append(h_l)
        f.append(h_l if l == len(weights) else torch.relu(h_l))
    return h, f


def gated_jacobians(weights, h) -> list:
    """[None, V_1, ..., V_L], V_l (n, C, n_l): V_L = I, V_{l-1} = V_l D_l W_l^T, D_l = 1(h_l > 0) (D_L = I)."""
    L = len(weights)
    n, C = h[L].shape
    V = [None] * (L + 1)
    V[L] = torch.eye(C, dtype=h[L].dtype, device=h[L].device).expand(n, C, C)
    V[L - 1] = V[L] @ weights[L - 1].T  # (n, C, C) @ (C, n_{L-1}) -> (n, C, n_{L-1})
    for l in range(L - 1, 1, -1):
        gate = (h[l] > 0).to(h[l].dtype)  # (n, n_l)
        V[l - 1] = (V[l] * gate[:, None, :]) @ weights[l - 1].T  # (n, C, n_l) @ (n_l, n_{l-1}) -> (n, C, n_{l-1})
    return V


def recursive_gradient(weights, weights_star, x: Tensor) -> list:
    """[None, g_1, ..., g_L], each (n, n_l): g_l = D_l [A_l f*_l - B_l f_l], A_l = V_l^T V*_l, B_l = V_l^T V_l."""
    h, f = forward(weights, x)
    h_star, f_star = forward(weights_star, x)
    V, V_star = gated_jacobians(weights, h), gated_jacobians(weights_star, h_star)
    g = [None]
    for l in range(1, len(weights) + 1):
        A = V[l].transpose(1, 2) @ V_star[l]  # (n, n_l, C) @ (n, C, m_l) -> (n, n_l, m_l)
        B = V[l].transpose(1, 2) @ V[l]  # (n, n_l, n_l)
        r = (A @ f_star[l][:, :, None] - B @ f[l][:, :, None])[:, :, 0]  # (n, n_l, 1) -> (n, n_l)
        gate = torch.ones_like(h[l]) if l == len(weights) else (h[l] > 0).to(h[l].dtype)
        g.append(gate * r)
    return g


def weight_update_samples(weights, weights_star, x: Tensor) -> list:
    """[None, f_0 g_1^T, ..., f_{L-1} g_L^T] per sample, each (n, n_{l-1}, n_l); g from Lemma 1."""
    _, f = forward(weights, x)
    g = recursive_gradient(weights, weights_star, x)
    return [None] + [f[l - 1][:, :, None] * g[l][:, None, :] for l in range(1, len(g))]  # (n, a, 1) * (n, 1, b)


def two_layer_weight_update_at(W, W_star, v, v_star, x: Tensor) -> Tensor:
    """Per-sample (vec(f_0 g_1^T), f_1 g_2^T) of a two-layer net at inputs x (n, d): shape (n, d K + K).

    Parameters in the population-gradient family's orientation: W (K, d), W_star (M, d) (rows = hidden
    units), output weights v (K,), v_star (M,); so W_1 = W^T, W_2 = v as a (K, 1) column. g from Lemma 1.
    """
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != W.shape[1]:
        raise ValueError(f"x must be an (n, {W.shape[1]}) tensor of inputs, got shape {tuple(getattr(x, 'shape', ()))}.")
    updates = weight_update_samples([W.T, v[:, None]], [W_star.T, v_star[:, None]], x)  # (n, d, K), (n, K, 1)
    return torch.cat([u.reshape(x.shape[0], -1) for u in updates[1:]], dim=1)  # row-major flattening, like SymPy's list(M)


def two_layer_weight_update_samples(W, W_star, v, v_star, n: int, generator: torch.Generator) -> Tensor:
    """``two_layer_weight_update_at`` at x ~ N(0, I_d) drawn from ``generator``: shape (n, d K + K)."""
    x = torch.randn(n, W.shape[1], generator=generator, dtype=W.dtype, device=W.device)  # (n, d)
    return two_layer_weight_update_at(W, W_star, v, v_star, x)


def _requires_grad(ws) -> list[Tensor]:
    return [W.detach().clone().requires_grad_(True) for W in ws]


def autograd_backprop(weights, weights_star, x: Tensor) -> list:
    """[None, -dJ_x/dh_1, ..., -dJ_x/dh_L] by autograd, each (n, n_l), J_x = 1/2 ||f*_L - f_L||^2 summed over n."""
    with torch.no_grad():
        _, f_star = forward(weights_star, x)
    h, f = forward(_requires_grad(weights), x)  # leaf weights: every h_l has a grad_fn
    for h_l in h[1:]:
        h_l.retain_grad()
    J = ((f_star[-1] - f[-1]) ** 2).sum() / 2
    J.backward()
    return [None] + [-h_l.grad for h_l in h[1:]]


def autograd_weight_gradient(weights, weights_star, x: Tensor) -> list:
    """[None, -dJ/dW_1, ..., -dJ/dW_L] by autograd, J = 1/2 sum over the rows of x of ||f*_L - f_L||^2."""
    with torch.no_grad():
        _, f_star = forward(weights_star, x)
    ws = _requires_grad(weights)
    _, f = forward(ws, x)
    J = ((f_star[-1] - f[-1]) ** 2).sum() / 2
    grads = torch.autograd.grad(J, ws)
    return [None] + [-G for G in grads]


def _downstream(weights, l: int):
    """f_l -> f_L through layers l+1..L (ReLU then linear output), for one input f_l of shape (n_l,)."""

    def net(f_l: Tensor) -> Tensor:
        for k in range(l + 1, len(weights) + 1):
            h = f_l @ weights[k - 1]  # (n_{k-1},) @ (n_{k-1}, n_k) -> (n_k,)
            f_l = h if k == len(weights) else torch.relu(h)
        return f_l

    return net


def autograd_mixing(weights, weights_star, x: Tensor, l: int) -> tuple[Tensor, Tensor]:
    """(A_l, B_l) at one input x (d,), with V_l = d f_L / d f_l and V*_l by autograd (``jacrev``)."""
    _, f = forward(weights, x[None, :])
    _, f_star = forward(weights_star, x[None, :])
    V = jacrev(_downstream(weights, l))(f[l][0])  # (C, n_l)
    V_star = jacrev(_downstream(weights_star, l))(f_star[l][0])  # (C, m_l)
    return V.T @ V_star, V.T @ V


def _first_flip(weights, x: Tensor, delta: Tensor) -> Tensor:
    """Smallest t > 0 at which a hidden gate of the network flips along x + t delta (inf if none).

    With the gates frozen at x, h_l(x + t delta) = h_l(x) + t h'_l is linear in t (h'_1 = delta W_1,
    h'_l = (D_{l-1} h'_{l-1}) W_l): unit i crosses zero at t = -h_i / h'_i. Up to the first crossing
    the gates are indeed those at x, so the linear formula is exact there.
    """
    h, _ = forward(weights, x[None, :])
    t = torch.tensor(float("inf"), dtype=x.dtype, device=x.device)
    slope = delta[None, :]  # (1, d)
    for l in range(1, len(weights)):
        slope = slope @ weights[l - 1]  # (1, n_{l-1}) @ (n_{l-1}, n_l) -> (1, n_l)
        crossing = -h[l] / slope
        # crossing >= 0: a unit exactly at h = 0 may open at once (t_flip = 0); nan (0/0) and t < 0 never cross
        crossing = torch.where(crossing >= 0, crossing, torch.full_like(crossing, float("inf")))
        t = torch.minimum(t, crossing.min())
        slope = slope * (h[l] > 0).to(x.dtype)
    return t


def no_flip_step(weights, weights_star, x: Tensor, delta: Tensor, fraction: float = 0.5) -> Tensor:
    """t = min(1, fraction * t_flip): x + t delta has every hidden gate of both networks as at x (fraction < 1).

    With fraction > 1 the step goes past the first gate flip (used by the tests to show A_l jump).
    """
    t_flip = torch.minimum(_first_flip(weights, x, delta), _first_flip(weights_star, x, delta))
    t = torch.clamp(fraction * t_flip, max=1.0) if fraction < 1 else fraction * t_flip  # t = 0 when t_flip = 0
    if fraction < 1:
        moved = x + t * delta
        for ws in (weights, weights_star):
            h0, _ = forward(ws, x[None, :])
            h1, _ = forward(ws, moved[None, :])
            if any(((a > 0) != (b > 0)).any() for a, b in zip(h0[1:-1], h1[1:-1])):
                raise RuntimeError(f"no_flip_step: a gate flipped at t = {float(t)} (t_flip = {float(t_flip)}); this is a bug.")
    return t
