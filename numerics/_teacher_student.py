"""Per-sample gradients of the ReLU teacher-student loss: analytic and by autograd.

Estimators for ``theory._population_gradient`` (seed ``000_111be25265ff9c8a.txt``, Tian ICML 2017).
Each returns one gradient per Gaussian input x ~ N(0, I_d); their mean over samples estimates the
population gradient E[grad_W J] with J = 1/2 E[(f(x) - f*(x))^2].

| code           | paper         | meaning                                                      |
|----------------|---------------|--------------------------------------------------------------|
| ``w, w_star``  | w, w*         | one student / teacher node, shape (d,)                       |
| ``w, v``       | w, v          | the two arguments of a kernel g(w, v), k(w, v), shape (d,)   |
| ``W, W_star``  | {w_j}, {w*_k} | student (K, d) and teacher (M, d) first-layer weights        |
| ``v, v_star``  | --            | output weights (K,) / (M,), default all ones                 |
| ``x``          | x             | Gaussian inputs, shape (n, d), drawn from ``generator`` only |

All functions compute in the dtype and on the device of ``W`` (or ``w``); none touches the global RNG.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

__all__ = [
    "TwoLayerReLU",
    "autograd_gradient_samples",
    "gating_kernel_samples",
    "network_gradient_samples",
    "population_gradient_samples",
    "population_loss_samples",
    "relu_kernel_samples",
]


class TwoLayerReLU(nn.Module):
    """f(x) = relu(x @ W.T) @ v: first layer ``W`` (K, d) trained, output weights ``v`` (K,) fixed (buffer)."""

    def __init__(self, W: Tensor, v: Tensor | None = None):
        super().__init__()
        if not isinstance(W, Tensor) or W.ndim != 2:
            raise ValueError(f"TwoLayerReLU: W must be a (K, d) tensor, got shape {tuple(getattr(W, 'shape', ()))}; for one node use W[None, :].")
        self.W = nn.Parameter(W.detach().clone())
        self.register_buffer("v", _output_weights("v", v, W))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x @ self.W.T) @ self.v  # (..., d) @ (d, K) -> (..., K); (..., K) @ (K,) -> (...)


def _output_weights(name: str, v: Tensor | None, W: Tensor) -> Tensor:
    K = W.shape[0]
    if v is None:
        return torch.ones(K, dtype=W.dtype, device=W.device)
    if tuple(v.shape) != (K,):
        raise ValueError(f"{name} has shape {tuple(v.shape)} but the layer has {K} hidden units; pass a ({K},) tensor or None for all ones.")
    return v.detach().to(dtype=W.dtype, device=W.device).clone()


def _check_layers(W: Tensor, W_star: Tensor) -> None:
    if W.ndim != 2 or W_star.ndim != 2 or W.shape[1] != W_star.shape[1]:
        raise ValueError(f"W and W_star must be (K, d) and (M, d) tensors with the same d, got {tuple(W.shape)} and {tuple(W_star.shape)}.")
    if W.dtype != W_star.dtype or W.device != W_star.device:
        raise ValueError(f"W ({W.dtype}, {W.device}) and W_star ({W_star.dtype}, {W_star.device}) must share dtype and device; convert one with .to().")


def _gaussian(n: int, W: Tensor, generator: torch.Generator) -> Tensor:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")
    return torch.randn(n, W.shape[1], generator=generator, dtype=W.dtype, device=W.device)  # (n, d)


def network_gradient_samples(W: Tensor, W_star: Tensor, n: int, generator: torch.Generator,
                             v: Tensor | None = None, v_star: Tensor | None = None) -> Tensor:
    """Analytic per-sample grad_{w_j} of 1/2 (f(x) - f*(x))^2 = (f - f*) v_j 1(w_j^T x > 0) x; shape (n, K, d)."""
    _check_layers(W, W_star)
    v, v_star = _output_weights("v", v, W), _output_weights("v_star", v_star, W_star)
    x = _gaussian(n, W, generator)  # (n, d)
    pre = x @ W.T  # (n, d) @ (d, K) -> (n, K)
    residual = torch.relu(pre) @ v - torch.relu(x @ W_star.T) @ v_star  # (n, K) @ (K,) - (n, M) @ (M,) -> (n,)
    gate = (pre > 0).to(W.dtype)  # (n, K)
    return residual[:, None, None] * (v * gate)[:, :, None] * x[:, None, :]  # (n, 1, 1) * (n, K, 1) * (n, 1, d) -> (n, K, d)


def population_gradient_samples(w: Tensor, w_star: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Analytic per-sample (relu(w^T x) - relu(w*^T x)) 1(w^T x > 0) x for one node; shape (n, d)."""
    if w.ndim != 1 or w.shape != w_star.shape:
        raise ValueError(f"w and w_star must be (d,) tensors of the same shape, got {tuple(w.shape)} and {tuple(w_star.shape)}.")
    return network_gradient_samples(w[None, :], w_star[None, :], n, generator)[:, 0, :]  # (n, 1, d) -> (n, d)


def _check_pair(w: Tensor, v: Tensor, names: str = "w and v") -> None:
    if w.ndim != 1 or w.shape != v.shape:
        raise ValueError(f"{names} must be (d,) tensors of the same shape, got {tuple(w.shape)} and {tuple(v.shape)}.")


def gating_kernel_samples(w: Tensor, v: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Per-sample x 1(w^T x > 0) relu(v^T x), whose mean is g(w, v); shape (n, d)."""
    _check_pair(w, v)
    x = _gaussian(n, w[None, :], generator)  # (n, d)
    pre = x @ w  # (n, d) @ (d,) -> (n,)
    return ((pre > 0).to(w.dtype) * torch.relu(x @ v))[:, None] * x  # (n,) -> (n, 1) * (n, d) -> (n, d)


def relu_kernel_samples(w: Tensor, v: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Per-sample relu(w^T x) relu(v^T x), whose mean is k(w, v); shape (n,)."""
    _check_pair(w, v)
    x = _gaussian(n, w[None, :], generator)  # (n, d)
    return torch.relu(x @ w) * torch.relu(x @ v)  # (n, d) @ (d,) -> (n,)


def population_loss_samples(w: Tensor, w_star: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Per-sample 1/2 (relu(w^T x) - relu(w*^T x))^2, whose mean is J(w); shape (n,)."""
    _check_pair(w, w_star, "w and w_star")
    x = _gaussian(n, w[None, :], generator)  # (n, d)
    return (torch.relu(x @ w) - torch.relu(x @ w_star)) ** 2 / 2  # (n, d) @ (d,) -> (n,)


def autograd_gradient_samples(W: Tensor, W_star: Tensor, n: int, generator: torch.Generator,
                              v: Tensor | None = None, v_star: Tensor | None = None) -> Tensor:
    """Per-sample grad_W of 1/2 (f_student(x) - f_teacher(x))^2 by autograd through ``TwoLayerReLU``; (n, K, d).

    ``torch.func.grad`` differentiates the loss of one sample with respect to the student's ``W`` and
    ``vmap`` maps it over the samples. One node: pass W[None, :] and take [:, 0, :].
    """
    _check_layers(W, W_star)
    student, teacher = TwoLayerReLU(W, v), TwoLayerReLU(W_star, v_star)
    x = _gaussian(n, W, generator)  # (n, d)
    with torch.no_grad():
        target = teacher(x)  # (n, d) -> (n,)

    def loss(params: dict[str, Tensor], x_i: Tensor, y_i: Tensor) -> Tensor:
        residual = functional_call(student, params, (x_i,)) - y_i  # (d,) -> ()
        return residual**2 / 2

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))({"W": W.detach()}, x, target)
    return per_sample["W"]  # (n, K, d)
