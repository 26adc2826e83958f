"""BatchNorm and BYOL's normalisation variants, differentiated by autograd (the reference for exact claims).

Family ``batchnorm``: derivation ``theory._batchnorm`` (the paper's equation, derived) ·
estimators ``numerics._batchnorm`` · claims ``verify.claims._batchnorm`` · tests ``tests/test_batchnorm.py``.

Estimators for ``theory._batchnorm`` (seed ``002_d1776dabe51410e6.txt``, Theorem 5; seed
``000_111be25265ff9c8a.txt``, BYOL ablation). Inputs are laid out *features x batch*, row k = feature k
over the batch, as the claims draw them; torch's ``BatchNorm1d`` wants batch x features, so each
function transposes in and out.

| code       | paper                 | meaning                                                      |
|------------|-----------------------|--------------------------------------------------------------|
| ``f``      | f (Ioffe: x)          | pre-BN activations, shape (F, m): F features, batch of m      |
| ``g``      | g (Ioffe: dl/dy)      | gradient arriving at the normalisation's output, shape (F, m) |
| ``c1, c0`` | c1, c0 (gamma, beta)  | BN scale and shift (one value for every feature), 0-d tensors |
| ``eps``    | epsilon               | BN's eps, 0-d tensor or float                                 |

Each function returns dl/df for l = sum(g * output), i.e. J^T g, shape (F, m), in f's dtype and device.
Deterministic: no randomness at all.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["batchnorm_grad", "batchnorm_formula_grad", "backward_operator_grad", "normalization_grad", "normalize",
           "weighted_batchnorm_grad", "BatchComponents"]

_MODES = ("none", "batch", "detached")


def _check(f: Tensor, g: Tensor) -> None:
    if f.ndim != 2 or f.shape != g.shape or f.shape[1] < 2:
        raise ValueError(f"f and g must be (F, m) tensors of the same shape with a batch m >= 2, got "
                         f"{tuple(f.shape)} and {tuple(g.shape)}; one feature is f[None, :].")


def batchnorm_grad(f: Tensor, g: Tensor, eps, c1: Tensor | None = None, c0: Tensor | None = None) -> Tensor:
    """J^T g of ``nn.BatchNorm1d(F, eps)`` in training mode by autograd; affine iff c1 is given."""
    _check(f, g)
    affine = c1 is not None
    bn = nn.BatchNorm1d(f.shape[0], eps=float(eps), affine=affine, track_running_stats=False).to(f.device, f.dtype)
    if affine:
        with torch.no_grad():
            bn.weight.fill_(float(c1))
            bn.bias.fill_(0.0 if c0 is None else float(c0))
    bn.train()
    x = f.detach().T.clone().requires_grad_(True)  # (F, m) -> (m, F)
    (bn(x) * g.T).sum().backward()  # (m, F) * (m, F) -> scalar
    return x.grad.T  # (m, F) -> (F, m)


def batchnorm_formula_grad(f: Tensor, g: Tensor, c1: Tensor, c0: Tensor, eps=0.0) -> Tensor:
    """J^T g of c1 (x - x.mean(0)) / sqrt(x.var(0, unbiased=False) + eps) + c0 by autograd.

    The written-out forward pass: torch 2.13's ``BatchNorm1d`` rejects eps = 0 in training mode
    ("batch_norm eps must be positive during training"), and Theorem 5 is the eps = 0 statement.
    """
    _check(f, g)
    x = f.detach().T.clone().requires_grad_(True)  # (F, m) -> (m, F)
    y = c1 * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + c0  # (m, F) - (F,) -> (m, F)
    (y * g.T).sum().backward()
    return x.grad.T  # (m, F) -> (F, m)


def weighted_batchnorm_grad(f: Tensor, g: Tensor, a: Tensor, c1: Tensor) -> Tensor:
    """The gradient under <u, v>_p = sum_i p_i u_i v_i of BN with p-weighted statistics, p = softmax(a) (m,).

    BN over the m values of a latent z_alpha with probabilities p (seed 002, 'Batch Norm in Reformulation'):
    mu = E_p[x], sigma^2 = E_p[(x - mu)^2]. The loss l = sum_features <g, BN(x)>_p is differentiated by autograd;
    its Euclidean gradient is Lambda g_f, so g_f = x.grad / p.
    """
    _check(f, g)
    p = torch.softmax(a, dim=0)  # (m,)
    x = f.detach().T.clone().requires_grad_(True)  # (F, m) -> (m, F)
    mu = (p[:, None] * x).sum(0)  # (m, 1) * (m, F) -> (F,)
    sigma = torch.sqrt((p[:, None] * (x - mu) ** 2).sum(0))  # (F,)
    y = c1 * (x - mu) / sigma  # (m, F)
    (p[:, None] * g.T * y).sum().backward()
    return (x.grad / p[:, None]).T  # (m, F) / (m, 1) -> (m, F) -> (F, m)


def backward_operator_grad(f: Tensor, g: Tensor, eps, *, times: int = 1) -> Tensor:
    """A^times g with A g = sigma J^T g (BN without affine), sigma = sqrt(var + eps) per feature.

    times=2 gives A(A g), the estimator for "A is idempotent".
    """
    _check(f, g)
    sigma = torch.sqrt(f.var(dim=1, unbiased=False, keepdim=True) + eps)  # (F, m) -> (F, 1)
    for _ in range(times):
        g = sigma * batchnorm_grad(f, g, eps)  # (F, 1) * (F, m) -> (F, m)
    return g


def normalize(x: Tensor, *, center: str, scale: str, dim: int = 0) -> Tensor:
    """BYOL's normalisation variants (seed 000): x - x.mean(dim)[.detach()], then / x.std(dim)[.detach()].

    center / scale: "none", "batch" (live statistic) or "detached" (``.detach()``); ``dim`` is the batch dimension;
    ``x.std`` is torch's default, unbiased (Bessel-corrected) standard deviation, as in the seed's code. The one
    implementation: the claims differentiate it (``normalization_grad``) and the ssl-ablations experiment trains
    it (``BatchComponents``).
    """
    if center not in _MODES or scale not in _MODES:
        raise ValueError(f"center={center!r}, scale={scale!r}: each must be one of {_MODES}.")
    if center != "none":
        mu = x.mean(dim, keepdim=True)
        x = x - (mu.detach() if center == "detached" else mu)
    if scale != "none":
        s = x.std(dim, keepdim=True)
        x = x / (s.detach() if scale == "detached" else s)
    return x


class BatchComponents(nn.Module):
    """``normalize`` as a layer over a batch of rows, (..., B, n) -> (..., B, n) (the batch is dimension -2)."""

    def __init__(self, center: str = "batch", scale: str = "batch"):
        super().__init__()
        if center not in _MODES or scale not in _MODES:
            raise ValueError(f"BatchComponents(center={center!r}, scale={scale!r}): each must be one of {_MODES}")
        self.center, self.scale = center, scale

    def forward(self, x: Tensor) -> Tensor:
        return normalize(x, center=self.center, scale=self.scale, dim=-2)


def normalization_grad(f: Tensor, g: Tensor, *, center: str, scale: str) -> Tensor:
    """J^T g of BYOL's normalisation variants (``normalize`` over the batch), by autograd; (F, m) -> (F, m)."""
    _check(f, g)
    x0 = f.detach().T.clone().requires_grad_(True)  # (F, m) -> (m, F): batch first, as in the seed's code
    (normalize(x0, center=center, scale=scale, dim=0) * g.T).sum().backward()
    return x0.grad.T  # (m, F) -> (F, m)
