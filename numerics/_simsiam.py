"""SimSiam estimators: autograd through real stop-gradient (``.detach()``), the M-step by Newton's method,
and per-sample moments of the l2-normalized output (the collapse monitor).

Estimators for ``theory._simsiam`` (seed ``001_6773eab5ac926cae.txt``; Chen & He 2021).

| code            | paper           | meaning                                                      |
|-----------------|-----------------|--------------------------------------------------------------|
| ``z1, z2``      | z_1, z_2        | projections of the two views, shape (d,)                     |
| ``A``           | h               | linear predictor h(z) = A z, shape (d, d)                    |
| ``X``           | T_k(x)          | augmented views, rows (K, d); encoder F = tanh               |
| ``v``           | --              | p_k = v_k^2 / sum v^2                                        |
| ``sigma``, ``c``| --              | output scale (isotropic), collapsed output vector (d,)       |

No global RNG: Monte Carlo draws come from ``generator`` only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.functional import hessian

__all__ = [
    "channel_variance_samples",
    "collapsed_channel_variance_samples",
    "anisotropic_channel_variance_samples",
    "em_newton_minimizer",
    "negative_cosine",
    "squared_l2",
    "stop_gradient_gradient",
]


def negative_cosine(a: Tensor, b: Tensor) -> Tensor:
    """D(a, b) = -cos(a, b) via ``F.cosine_similarity``."""
    return -F.cosine_similarity(a, b, dim=-1)


def squared_l2(a: Tensor, b: Tensor) -> Tensor:
    return ((a - b) ** 2).sum(-1)


DISTANCES = {"cosine": negative_cosine, "l2": squared_l2}


def stop_gradient_gradient(z1: Tensor, z2: Tensor, distance: str = "cosine", A: Tensor | None = None) -> Tensor:
    """Autograd of 1/2 D(h(z1), z2.detach()) + 1/2 D(h(z2), z1.detach()) w.r.t. (z1, z2); shape (2d,)."""
    D = DISTANCES[distance]
    a = z1.detach().clone().requires_grad_(True)
    b = z2.detach().clone().requires_grad_(True)
    h = (lambda z: z) if A is None else (lambda z: A @ z)  # (d, d) @ (d,) -> (d,)
    loss = D(h(a), b.detach()) / 2 + D(h(b), a.detach()) / 2
    g1, g2 = torch.autograd.grad(loss, (a, b))
    return torch.cat([g1, g2])  # (d,), (d,) -> (2d,)


def em_newton_minimizer(X: Tensor, v: Tensor, encoder=torch.tanh) -> Tensor:
    """argmin_eta sum_k p_k ||F(X_k) - eta||^2 by one Newton step from eta = 0 (exact for a quadratic); (d,)."""
    p = v**2 / (v**2).sum()  # (K,)
    f = encoder(X)  # (K, d)

    def loss(eta):
        return (p * ((f - eta) ** 2).sum(-1)).sum()  # (K, d) - (d,) -> (K,) -> ()

    eta0 = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)  # (d,)
    (gradient,) = torch.autograd.grad(loss(eta0), eta0)  # (d,)
    H = hessian(loss, eta0.detach())  # (d, d)
    return (eta0 - torch.linalg.solve(H, gradient)).detach()  # (d, d) \ (d,) -> (d,)


def _normalized_pair(z: Tensor, n: int) -> Tensor:
    """Unbiased per-sample variance of each channel of z/||z|| from two independent draws: 1/2 (a - b)^2."""
    zbar = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)  # (2n, d)
    return (zbar[:n] - zbar[n:]) ** 2 / 2  # (n, d)


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")


def channel_variance_samples(sigma: Tensor, n: int, generator: torch.Generator, d: int = 4) -> Tensor:
    """Per-sample unbiased estimates of Var(z_i/||z||), z ~ N(0, sigma^2 I_d); shape (n, d)."""
    _check_n(n)
    z = sigma * torch.randn(2 * n, d, generator=generator, dtype=sigma.dtype, device=sigma.device)  # (2n, d)
    return _normalized_pair(z, n)


def anisotropic_channel_variance_samples(A: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """The same for z = A e, e ~ N(0, I): covariance A A^T; shape (n, d)."""
    _check_n(n)
    e = torch.randn(2 * n, A.shape[1], generator=generator, dtype=A.dtype, device=A.device)  # (2n, d)
    return _normalized_pair(e @ A.T, n)  # (2n, d) @ (d, d) -> (2n, d)


def collapsed_channel_variance_samples(c: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """A collapsed encoder: every output equals c (the generator is unused: nothing is random); (n, d)."""
    _check_n(n)
    z = c.expand(2 * n, c.shape[0])  # (d,) -> (2n, d)
    return _normalized_pair(z, n)
