"""SimSiam estimators: autograd through real stop-gradient (``.detach()``), the M-step by Newton's method,
and per-sample moments of the l2-normalized output (the collapse monitor).

Family ``simsiam``: derivation ``theory._simsiam`` (the paper's equation, derived) ·
estimators ``numerics._simsiam`` · claims ``verify.claims._simsiam`` · tests ``tests/test_simsiam.py``.

Estimators for ``theory._simsiam`` (seed ``001_6773eab5ac926cae.txt``; Chen & He 2021).

| code            | paper           | meaning                                                      |
|-----------------|-----------------|--------------------------------------------------------------|
| ``z1, z2``      | z_1, z_2        | projections of the two views, shape (d,)                     |
| ``A``           | h               | linear predictor h(z) = A z, shape (d, d)                    |
| ``X``           | T_k(x)          | augmented views, rows (K, d); encoder F = tanh               |
| ``v``           | --              | p_k = v_k^2 / sum v^2                                        |
| ``sigma``, ``c``| --              | output scale (isotropic), collapsed output vector (d,)       |
| ``W1, W2``      | f               | encoder f(x) = W2 tanh(W1 x), shapes (h, i), (d, h)          |
| ``X``, ``V``    | T_k(x_m), --    | augmented views of M images, (M, K, i); p_m = softmax(V_m)  |
| ``h``           | h(z_1)          | a predictor output, (d,)                                     |

No global RNG. The channel-variance estimators come in two forms, one implementation: ``*_at(..., a, b)`` takes
the standard normal draws of the two independent outputs, a and b (n, d) each -- the built-in claims declare
them as ``inputs={"a": Gaussian(d), "b": Gaussian(d)}``, so they are engine-owned and the engine may pair them
antithetically, fit Hermite control variates or use RQMC points; the outputs are the linear maps sigma a or
a A^T of them -- and ``*_samples(..., n, generator)`` draws them from ``generator`` and calls ``*_at``.
``channel_variance_controls`` gives the degree-2 Hermite controls that the engine does not build itself above
12 input coordinates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.functional import hessian

__all__ = [
    "channel_variance_at",
    "channel_variance_controls",
    "channel_variance_samples",
    "collapsed_channel_variance_samples",
    "anisotropic_channel_variance_at",
    "anisotropic_channel_variance_samples",
    "em_newton_minimizer",
    "encoder",
    "optimal_predictor",
    "predictor_loss",
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


def encoder(X: Tensor, W1: Tensor, W2: Tensor) -> Tensor:
    """f(x) = W2 tanh(W1 x) on the last axis of X: (..., i) -> (..., d)."""
    return torch.tanh(X @ W1.T) @ W2.T  # (..., i) @ (i, h) -> (..., h); (..., h) @ (h, d) -> (..., d)


def optimal_predictor(X: Tensor, V: Tensor, W1: Tensor, W2: Tensor, shared: tuple = ()) -> Tensor:
    """The predictor table minimising E_{x, T, T'}||h(f(T(x))) - sg(f(T'(x)))||^2 (images equally likely, T, T'
    independent with probabilities p_m = softmax(V_m)), by one Newton step from 0 (exact for a quadratic):
    one output row per distinct view z_1; ``shared`` pairs ((m, k), (m', k')) are one view. Returns the optimum
    at every view (m, k), rows in order (M K, d)."""
    M, K, _ = X.shape
    p = torch.softmax(V, 1)  # (M, K)
    z2 = encoder(X, W1, W2).detach()  # (M, K, d): the stop-gradient target
    alias = {b: a for a, b in shared}
    rows = sorted({alias.get((m, k), (m, k)) for m in range(M) for k in range(K)})
    index = torch.tensor([rows.index(alias.get((m, k), (m, k))) for m in range(M) for k in range(K)])  # (M K,)

    def loss(H):  # H: (rows, d)
        h = H[index].reshape(M, K, 1, -1)  # (M K, d) -> (M, K, 1, d): the predictor at view z_1 = (m, k)
        sq = ((h - z2[:, None]) ** 2).sum(-1)  # (M, K, 1, d) - (M, 1, K, d) -> (M, K, K): over views (k, k')
        return (p[:, :, None] * p[:, None, :] * sq).sum() / M

    H0 = torch.zeros(len(rows), z2.shape[-1], dtype=X.dtype, device=X.device, requires_grad=True)  # (rows, d)
    (gradient,) = torch.autograd.grad(loss(H0), H0)  # (rows, d)
    Hess = hessian(loss, H0.detach(), vectorize=True).reshape(H0.numel(), H0.numel())  # (rows, d, rows, d) -> (rows d, rows d)
    H = H0 - torch.linalg.solve(Hess, gradient.reshape(-1)).reshape(H0.shape)  # (rows d,) -> (rows, d)
    return H.detach()[index]  # (M K, d)


def predictor_loss(h: Tensor, X: Tensor, v: Tensor, W1: Tensor, W2: Tensor) -> Tensor:
    """One image's predictor loss at output h: E_T'||h - sg(f(T'(x)))||^2, X (K, i) the views, p = softmax(v); 0-d."""
    p = torch.softmax(v, 0)  # (K,)
    return (p * ((h - encoder(X, W1, W2).detach()) ** 2).sum(-1)).sum()  # (d,) - (K, d) -> (K,) -> ()


def _normalized_pair(z: Tensor, n: int) -> Tensor:
    """Unbiased per-sample variance of each channel of z/||z|| from two independent draws: 1/2 (a - b)^2."""
    zbar = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)  # (2n, d)
    return (zbar[:n] - zbar[n:]) ** 2 / 2  # (n, d)


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")


def _check_draws(a: Tensor, b: Tensor, d: int | None, like: Tensor) -> None:
    """a, b: (n, d) tensors of one shape (d: any when None), in ``like``'s dtype and on its device."""
    shapes = [tuple(getattr(e, "shape", ())) for e in (a, b)]
    if any(not isinstance(e, Tensor) or e.ndim != 2 for e in (a, b)) or shapes[0] != shapes[1] or (d is not None and shapes[0][1] != d):
        raise ValueError(f"a and b must be (n, {'d' if d is None else d}) tensors of standard normal draws of one shape, "
                         f"got {shapes[0]} and {shapes[1]}.")
    for name, e in (("a", a), ("b", b)):
        if e.dtype != like.dtype or e.device != like.device:
            raise ValueError(f"{name} ({e.dtype}, {e.device}) must share the parameters' dtype and device ({like.dtype}, {like.device}).")


def _pair(n: int, d: int, like: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    _check_n(n)
    e = torch.randn(2 * n, d, generator=generator, dtype=like.dtype, device=like.device)  # (2n, d)
    return e[:n], e[n:]


def channel_variance_at(sigma: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Per-sample unbiased estimates of Var(z_i/||z||) from two outputs z = sigma a, z' = sigma b, a and b (n, d)
    standard normal, so z, z' ~ N(0, sigma^2 I_d) independent; shape (n, d)."""
    _check_draws(a, b, None, sigma)
    return _normalized_pair(sigma * torch.cat([a, b]), a.shape[0])  # (2n, d)


def channel_variance_controls(a: Tensor, b: Tensor) -> Tensor:
    """Control variates of known mean 0 for the channel-variance estimators: the degree-2 Hermite polynomials of
    the draws that each channel's estimate 1/2 (a_i/|a| - b_i/|b|)^2 is nearly linear in -- a_i^2 - 1, b_i^2 - 1 and
    a_i b_i, per channel; shape (n, 3d). (E[a_i^2] = 1 and E[a_i b_i] = 0 for standard normal a, b, whatever
    the claim says.) The engine's own Hermite controls stop at degree 1 above ``verify._draws.MAX_QUADRATIC_DIM``
    input coordinates; these are the few degree-2 ones that matter here."""
    _check_draws(a, b, None, a)
    return torch.cat([a * a - 1, b * b - 1, a * b], dim=1)  # (n, d) x 3 -> (n, 3d)


def channel_variance_samples(sigma: Tensor, n: int, generator: torch.Generator, d: int = 4) -> Tensor:
    """``channel_variance_at`` at a, b ~ N(0, I_d) drawn from ``generator``; shape (n, d)."""
    return channel_variance_at(sigma, *_pair(n, d, sigma, generator))


def anisotropic_channel_variance_at(A: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """The same for z = A a, z' = A b: covariance A A^T; a, b (n, d) standard normal; shape (n, d)."""
    _check_draws(a, b, A.shape[1], A)
    return _normalized_pair(torch.cat([a, b]) @ A.T, a.shape[0])  # (2n, d) @ (d, d) -> (2n, d)


def anisotropic_channel_variance_samples(A: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``anisotropic_channel_variance_at`` at a, b ~ N(0, I_d) drawn from ``generator``; shape (n, d)."""
    return anisotropic_channel_variance_at(A, *_pair(n, A.shape[1], A, generator))


def collapsed_channel_variance_samples(c: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """A collapsed encoder: every output equals c (the generator is unused: nothing is random); (n, d)."""
    _check_n(n)
    z = c.expand(2 * n, c.shape[0])  # (d,) -> (2n, d)
    return _normalized_pair(z, n)
