"""Random networks whose output covariance is an NNGP kernel: per-sample products and finite-width kernels.

Family ``kernels``: derivation ``theory._kernels`` (the paper's equation, derived) ·
estimators ``numerics._kernels`` · claims ``verify.claims._kernels`` · tests ``tests/test_kernels.py``.

Estimators for ``theory._kernels`` (seed ``003_fa032fc7f3085293.txt``, "kernels": Neal 1994, Lee et al.
2018, Williams 1997). Conventions as there: W^0_ij ~ N(0, sigma_w2 / d), W^l_ij ~ N(0, sigma_w2 / N),
biases N(0, sigma_b2).

| code                 | paper             | meaning                                                  |
|----------------------|-------------------|----------------------------------------------------------|
| ``x, x2``            | x, x'             | the two inputs, shape (d,)                               |
| ``sigma_w2, sigma_b2``| sigma_w^2, sigma_b^2 | weight / bias variances (0-d tensors or floats)     |
| ``A``                | Sigma = A A^T     | erf unit weights u = A g, g ~ N(0, I), shape (d+1, d+1)   |
| ``width, depth``     | N, L              | hidden width, number of hidden ReLU layers               |

"One hidden unit per sample": for a one-hidden-layer network f(x) = N^{-1/2} sum_i v_i h_i(x) + b with
i.i.d. units, E[f(x) f(x')] = E[v^2] E[h(x) h(x')] + sigma_b2 at every width, so one unit per sample
is an unbiased per-sample estimate of the infinite-width kernel.

The one-unit estimators come in two forms, one implementation: ``*_at(..., g)`` takes the standard normal draws
g (n, D) that the unit's weights and biases are linear maps of -- the built-in claims declare them as
``inputs={"g": Gaussian(D)}``, so they are engine-owned and the engine may pair them antithetically, fit Hermite
control variates or use RQMC points -- and ``*_samples(..., n, generator)`` draws g from ``generator`` and calls
``*_at``. ``relu_network_kernel`` draws from ``generator`` only.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["erf_kernel_at", "erf_kernel_samples", "nngp_relu_at", "nngp_relu_samples", "relu_network_kernel"]


def _check_pair(x: Tensor, x2: Tensor) -> None:
    if x.ndim != 1 or x.shape != x2.shape:
        raise ValueError(f"x and x2 must be (d,) tensors of one shape, got {tuple(x.shape)} and {tuple(x2.shape)}.")


def _check_draws(g: Tensor, D: int, like: Tensor) -> None:
    if not isinstance(g, Tensor) or g.ndim != 2 or g.shape[1] != D:
        raise ValueError(f"g must be an (n, {D}) tensor of standard normal draws, got shape {tuple(getattr(g, 'shape', ()))}.")
    if g.dtype != like.dtype or g.device != like.device:
        raise ValueError(f"g ({g.dtype}, {g.device}) must share the inputs' dtype and device ({like.dtype}, {like.device}).")


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")


def nngp_relu_at(x: Tensor, x2: Tensor, sigma_w2, sigma_b2, g: Tensor) -> Tensor:
    """f(x) f(x2) for one-unit networks f = v relu(w^T x + b0) + b1 whose (w, b0, v, b1) = (g[:, :d] sigma_w / sqrt d,
    g[:, d] sigma_b, g[:, d+1] sigma_w, g[:, d+2] sigma_b), g (n, d + 3) standard normal; shape (n,). Mean: K^1(x, x2)."""
    _check_pair(x, x2)
    d = x.shape[0]
    _check_draws(g, d + 3, x)
    sw, sb = torch.as_tensor(sigma_w2, dtype=x.dtype).sqrt(), torch.as_tensor(sigma_b2, dtype=x.dtype).sqrt()
    w, b0, v, b1 = g[:, :d] * sw / d**0.5, g[:, d] * sb, g[:, d + 1] * sw, g[:, d + 2] * sb
    pair = torch.stack([x, x2], dim=1)  # (d, 2)
    f = v[:, None] * torch.relu(w @ pair + b0[:, None]) + b1[:, None]  # (n, d) @ (d, 2) -> (n, 2)
    return f[:, 0] * f[:, 1]


def nngp_relu_samples(x: Tensor, x2: Tensor, sigma_w2, sigma_b2, n: int, generator: torch.Generator) -> Tensor:
    """``nngp_relu_at`` for n independent one-unit networks, g ~ N(0, I_{d+3}) drawn from ``generator``; shape (n,)."""
    _check_pair(x, x2)
    _check_n(n)
    draw = torch.randn(n, x.shape[0] + 3, generator=generator, dtype=x.dtype, device=x.device)  # (n, d + 3): w, b0, v, b1
    return nngp_relu_at(x, x2, sigma_w2, sigma_b2, draw)


def _check_factor(A: Tensor, x: Tensor) -> None:
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] != x.shape[0] + 1:
        raise ValueError(f"A must be (d+1, d+1) = ({x.shape[0] + 1}, {x.shape[0] + 1}) for inputs of dimension {x.shape[0]}, got {tuple(A.shape)}.")


def erf_kernel_at(A: Tensor, x: Tensor, x2: Tensor, g: Tensor) -> Tensor:
    """erf(u^T x~) erf(u^T x~') for u = A g, g (n, d+1) standard normal, x~ = (1, x); shape (n,). Mean: Williams' kernel."""
    _check_pair(x, x2)
    _check_factor(A, x)
    _check_draws(g, A.shape[1], x)
    one = torch.ones(1, dtype=x.dtype, device=x.device)
    pair = torch.stack([torch.cat([one, x]), torch.cat([one, x2])], dim=1)  # (d+1, 2): augmented inputs
    e = torch.erf(g @ A.T @ pair)  # (n, d+1) @ (d+1, d+1) @ (d+1, 2) -> (n, 2)
    return e[:, 0] * e[:, 1]


def erf_kernel_samples(A: Tensor, x: Tensor, x2: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``erf_kernel_at`` at g ~ N(0, I_{d+1}) drawn from ``generator``; shape (n,)."""
    _check_pair(x, x2)
    _check_factor(A, x)
    _check_n(n)
    g = torch.randn(n, A.shape[1], generator=generator, dtype=x.dtype, device=x.device)  # (n, d+1)
    return erf_kernel_at(A, x, x2, g)


def relu_network_kernel(x: Tensor, x2: Tensor, sigma_w2: float, sigma_b2: float, depth: int, width: int,
                        nets: int, generator: torch.Generator) -> Tensor:
    """Empirical kernel sigma_w2/N sum_i relu(z_i^{L-1}(x)) relu(z_i^{L-1}(x2)) + sigma_b2 of ``nets`` random
    width-N networks with ``depth`` = L >= 1 hidden ReLU layers; shape (nets,).

    It is E[z^L(x) z^L(x2) | hidden layers] (the output layer averaged out) and tends to K^L as N -> oo,
    with fluctuations of order N^{-1/2}.
    """
    _check_pair(x, x2)
    if depth < 1 or width < 1 or nets < 1:
        raise ValueError(f"depth, width, nets must be >= 1, got {depth}, {width}, {nets}.")
    d = x.shape[0]
    sw, sb = sigma_w2**0.5, sigma_b2**0.5
    pair = torch.stack([x, x2], dim=0)  # (2, d)
    W0 = torch.randn(nets, width, d, generator=generator, dtype=x.dtype) * (sw / d**0.5)  # (nets, N, d)
    b = torch.randn(nets, width, 1, generator=generator, dtype=x.dtype) * sb  # (nets, N, 1)
    z = W0 @ pair.T + b  # (nets, N, d) @ (d, 2) -> (nets, N, 2)
    for _ in range(depth - 1):
        # W h for W_ij ~ N(0, sigma_w2/N) given h = relu(z): rows i.i.d. N(0, sigma_w2/N h^T h) on the pair,
        # drawn through the 2 x 2 Cholesky factor: the same distribution as the N x N product, at O(N) cost
        h = torch.relu(z)  # (nets, N, 2)
        gram = h.transpose(1, 2) @ h * (sigma_w2 / width)  # (nets, 2, N) @ (nets, N, 2) -> (nets, 2, 2)
        a, c, e = gram[:, 0, 0], gram[:, 0, 1], gram[:, 1, 1]  # (nets,) each; 2 x 2 Cholesky, rank 1 allowed
        l11 = a.sqrt()
        l21 = torch.where(a > 0, c / l11.clamp_min(1e-300), torch.zeros_like(c))
        l22 = (e - l21**2).clamp_min(0.0).sqrt()
        g = torch.randn(nets, width, 2, generator=generator, dtype=x.dtype)  # (nets, N, 2)
        b = torch.randn(nets, width, 1, generator=generator, dtype=x.dtype) * sb
        u = g[:, :, 0] * l11[:, None]  # (nets, N)
        u2 = g[:, :, 0] * l21[:, None] + g[:, :, 1] * l22[:, None]  # (nets, N)
        z = torch.stack([u, u2], dim=2) + b  # (nets, N, 2)
    h = torch.relu(z)  # (nets, N, 2)
    return sigma_w2 * (h[:, :, 0] * h[:, :, 1]).mean(dim=1) + sigma_b2  # (nets,)
