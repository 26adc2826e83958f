"""Per-sample gradients of the ReLU teacher-student loss: analytic and by autograd.

Family ``population-gradient``: derivation ``theory._population_gradient`` (the paper's equation, derived) ·
estimators ``numerics._population_gradient`` · claims ``verify.claims._population_gradient`` · tests ``tests/test_population_gradient_claims.py``, ``tests/test_population_gradient_numerics.py``, ``tests/test_population_gradient_properties.py``, ``tests/test_population_gradient_theory.py``.

Estimators for ``theory._population_gradient`` (seed ``000_111be25265ff9c8a.txt``, Tian ICML 2017).
Each returns one gradient per Gaussian input x ~ N(0, I_d); their mean over samples estimates the
population gradient E[grad_W J] with J = 1/2 E[(f(x) - f*(x))^2].

Each estimator comes in two forms, one implementation: ``*_at(..., x)`` takes the Gaussian inputs x (n, d)
as an argument -- the built-in claims declare ``inputs={"x": Gaussian(d)}``, so x is engine-owned and the
engine may pair it antithetically, fit Hermite control variates or use RQMC points -- and ``*_samples(...,
n, generator)`` draws x ~ N(0, I_d) from ``generator`` and calls ``*_at``.

| code           | paper         | meaning                                                      |
|----------------|---------------|--------------------------------------------------------------|
| ``w, w_star``  | w, w*         | one student / teacher node, shape (d,)                       |
| ``w, v``       | w, v          | the two arguments of a kernel g(w, v), k(w, v), shape (d,)   |
| ``W, W_star``  | {w_j}, {w*_k} | student (K, d) and teacher (M, d) first-layer weights        |
| ``v, v_star``  | --            | output weights (K,) / (M,), default all ones                 |
| ``x``          | x             | Gaussian inputs, shape (n, d): given (``*_at``) or drawn     |
|                |               | from ``generator`` only (``*_samples``)                      |

All functions compute in the dtype and on the device of ``W`` (or ``w``); none touches the global RNG.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

__all__ = [
    "TwoLayerReLU",
    "autograd_gradient_at",
    "autograd_gradient_samples",
    "gating_kernel_at",
    "gating_kernel_samples",
    "network_gradient_at",
    "network_gradient_samples",
    "population_gradient_at",
    "population_gradient_samples",
    "population_loss_at",
    "population_loss_samples",
    "relu_kernel_at",
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


def _check_inputs(x: Tensor, W: Tensor) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != W.shape[1]:
        raise ValueError(f"x must be an (n, {W.shape[1]}) tensor of inputs, got shape {tuple(getattr(x, 'shape', ()))}.")
    if x.dtype != W.dtype or x.device != W.device:
        raise ValueError(f"x ({x.dtype}, {x.device}) must share the weights' dtype and device ({W.dtype}, {W.device}).")


def network_gradient_at(W: Tensor, W_star: Tensor, x: Tensor, v: Tensor | None = None,
                        v_star: Tensor | None = None) -> Tensor:
    """Analytic per-sample grad_{w_j} of 1/2 (f(x) - f*(x))^2 = (f - f*) v_j 1(w_j^T x > 0) x at inputs x (n, d);
    shape (n, K, d)."""
    _check_layers(W, W_star)
    _check_inputs(x, W)
    v, v_star = _output_weights("v", v, W), _output_weights("v_star", v_star, W_star)
    pre = x @ W.T  # (n, d) @ (d, K) -> (n, K)
    residual = torch.relu(pre) @ v - torch.relu(x @ W_star.T) @ v_star  # (n, K) @ (K,) - (n, M) @ (M,) -> (n,)
    gate = (pre > 0).to(W.dtype)  # (n, K)
    return residual[:, None, None] * (v * gate)[:, :, None] * x[:, None, :]  # (n, 1, 1) * (n, K, 1) * (n, 1, d) -> (n, K, d)


def network_gradient_samples(W: Tensor, W_star: Tensor, n: int, generator: torch.Generator,
                             v: Tensor | None = None, v_star: Tensor | None = None) -> Tensor:
    """``network_gradient_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n, K, d)."""
    _check_layers(W, W_star)
    return network_gradient_at(W, W_star, _gaussian(n, W, generator), v, v_star)


def population_gradient_at(w: Tensor, w_star: Tensor, x: Tensor) -> Tensor:
    """Analytic per-sample (relu(w^T x) - relu(w*^T x)) 1(w^T x > 0) x for one node at inputs x (n, d); shape (n, d)."""
    if w.ndim != 1 or w.shape != w_star.shape:
        raise ValueError(f"w and w_star must be (d,) tensors of the same shape, got {tuple(w.shape)} and {tuple(w_star.shape)}.")
    return network_gradient_at(w[None, :], w_star[None, :], x)[:, 0, :]  # (n, 1, d) -> (n, d)


def population_gradient_samples(w: Tensor, w_star: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``population_gradient_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n, d)."""
    if w.ndim != 1 or w.shape != w_star.shape:
        raise ValueError(f"w and w_star must be (d,) tensors of the same shape, got {tuple(w.shape)} and {tuple(w_star.shape)}.")
    return population_gradient_at(w, w_star, _gaussian(n, w[None, :], generator))


def _check_pair(w: Tensor, v: Tensor, names: str = "w and v") -> None:
    if w.ndim != 1 or w.shape != v.shape:
        raise ValueError(f"{names} must be (d,) tensors of the same shape, got {tuple(w.shape)} and {tuple(v.shape)}.")


def gating_kernel_at(w: Tensor, v: Tensor, x: Tensor) -> Tensor:
    """Per-sample x 1(w^T x > 0) relu(v^T x) at inputs x (n, d), whose mean is g(w, v) for x ~ N(0, I); shape (n, d)."""
    _check_pair(w, v)
    _check_inputs(x, w[None, :])
    pre = x @ w  # (n, d) @ (d,) -> (n,)
    return ((pre > 0).to(w.dtype) * torch.relu(x @ v))[:, None] * x  # (n,) -> (n, 1) * (n, d) -> (n, d)


def gating_kernel_samples(w: Tensor, v: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``gating_kernel_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n, d)."""
    _check_pair(w, v)
    return gating_kernel_at(w, v, _gaussian(n, w[None, :], generator))


def relu_kernel_at(w: Tensor, v: Tensor, x: Tensor) -> Tensor:
    """Per-sample relu(w^T x) relu(v^T x) at inputs x (n, d), whose mean is k(w, v) for x ~ N(0, I); shape (n,)."""
    _check_pair(w, v)
    _check_inputs(x, w[None, :])
    return torch.relu(x @ w) * torch.relu(x @ v)  # (n, d) @ (d,) -> (n,)


def relu_kernel_samples(w: Tensor, v: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``relu_kernel_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n,)."""
    _check_pair(w, v)
    return relu_kernel_at(w, v, _gaussian(n, w[None, :], generator))


def population_loss_at(w: Tensor, w_star: Tensor, x: Tensor) -> Tensor:
    """Per-sample 1/2 (relu(w^T x) - relu(w*^T x))^2 at inputs x (n, d), whose mean is J(w) for x ~ N(0, I); (n,)."""
    _check_pair(w, w_star, "w and w_star")
    _check_inputs(x, w[None, :])
    return (torch.relu(x @ w) - torch.relu(x @ w_star)) ** 2 / 2  # (n, d) @ (d,) -> (n,)


def population_loss_samples(w: Tensor, w_star: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``population_loss_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n,)."""
    _check_pair(w, w_star, "w and w_star")
    return population_loss_at(w, w_star, _gaussian(n, w[None, :], generator))


def autograd_gradient_samples(W: Tensor, W_star: Tensor, n: int, generator: torch.Generator,
                              v: Tensor | None = None, v_star: Tensor | None = None) -> Tensor:
    """``autograd_gradient_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n, K, d)."""
    _check_layers(W, W_star)
    return autograd_gradient_at(W, W_star, _gaussian(n, W, generator), v, v_star)


def autograd_gradient_at(W: Tensor, W_star: Tensor, x: Tensor, v: Tensor | None = None,
                         v_star: Tensor | None = None) -> Tensor:
    """Per-sample grad_W of 1/2 (f_student(x) - f_teacher(x))^2 by autograd through ``TwoLayerReLU`` at inputs
    x (n, d); (n, K, d).

    ``torch.func.grad`` differentiates the loss of one sample with respect to the student's ``W`` and
    ``vmap`` maps it over the samples. One node: pass W[None, :] and take [:, 0, :].
    """
    _check_layers(W, W_star)
    _check_inputs(x, W)
    student, teacher = TwoLayerReLU(W, v), TwoLayerReLU(W_star, v_star)
    with torch.no_grad():
        target = teacher(x)  # (n, d) -> (n,)

    def loss(params: dict[str, Tensor], x_i: Tensor, y_i: Tensor) -> Tensor:
        residual = functional_call(student, params, (x_i,)) - y_i  # (d,) -> ()
        return residual**2 / 2

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))({"W": W.detach()}, x, target)
    return per_sample["W"]  # (n, K, d)
