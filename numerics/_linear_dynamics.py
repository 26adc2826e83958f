"""Gradient descent and gradient flow on linear models: the simulations behind ``theory._linear_dynamics``.

Family ``linear-dynamics``: derivation ``theory._linear_dynamics`` (the paper's equation, derived) ·
estimators ``numerics._linear_dynamics`` · claims ``verify.claims._linear_dynamics`` · tests ``tests/test_linear_dynamics.py``.

Seed ``003_fa032fc7f3085293.txt``; Saxe et al. 2014 (two-layer linear network, whitened inputs), Ali,
Kolter & Tibshirani 2019 (least squares: gradient flow vs ridge), Soudry et al. 2018 (logistic
regression on separable data). Everything is float64 and deterministic; no closed form is typed here.

| code             | paper       | meaning                                           |
|------------------|-------------|---------------------------------------------------|
| ``W1, W2``       | W^21, W^32  | first (h x d) and second (m x h) layer            |
| ``Sigma_yx``     | Sigma^31    | input-output correlation (m x d)                  |
| ``X, y``         | X, y        | design (n x d) and targets (n,)                   |
| ``w``            | w           | linear model / classifier weights (d,)            |
"""

from __future__ import annotations

import mpmath
import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.special import expit
from torch import Tensor

__all__ = [
    "deep_linear_gd", "deep_linear_gradient", "direction_error", "exp_loss_minus_gradient", "gradient_flow_least_squares",
    "half_crossing_times", "least_squares_gd", "logistic_flow_log_time", "logistic_gd", "ridge_solution",
]


def _check_step(eta, steps):
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}.")
    if not float(eta) > 0:
        raise ValueError(f"eta must be > 0, got {float(eta)!r}; it is the gradient-descent step size.")


# --------------------------------------------------------------------------- two-layer linear network


def deep_linear_gradient(W1: Tensor, W2: Tensor, Sigma_yx: Tensor) -> tuple[Tensor, Tensor]:
    """(dL/dW1, dL/dW2) of L = 1/2 ||Sigma_yx - W2 W1||_F^2 (whitened inputs): (-W2^T E, -E W1^T)."""
    E = Sigma_yx - W2 @ W1  # (m, h) @ (h, d) -> (m, d)
    return -W2.T @ E, -E @ W1.T  # (h, m) @ (m, d) -> (h, d); (m, d) @ (d, h) -> (m, h)


def deep_linear_gd(W1: Tensor, W2: Tensor, Sigma_yx: Tensor, eta, steps: int, every: int | None = None):
    """``steps`` simultaneous GD steps on (W1, W2). Returns (W1, W2), or with ``every`` the products
    W2 W1 after 0, every, 2 every, ... steps as a (len, m, d) tensor."""
    _check_step(eta, steps)
    if W2.shape[1] != W1.shape[0] or Sigma_yx.shape != (W2.shape[0], W1.shape[1]):
        raise ValueError(f"shapes do not chain: W1 {tuple(W1.shape)}, W2 {tuple(W2.shape)}, Sigma_yx {tuple(Sigma_yx.shape)}; "
                         "need W1 (h, d), W2 (m, h), Sigma_yx (m, d).")
    products = []
    for i in range(steps + 1):
        if every and i % every == 0:
            products.append(W2 @ W1)  # (m, d)
        if i == steps:
            break
        g1, g2 = deep_linear_gradient(W1, W2, Sigma_yx)
        W1, W2 = W1 - eta * g1, W2 - eta * g2
    return torch.stack(products) if every else (W1, W2)  # (len, m, d)


def half_crossing_times(values: Tensor, levels: Tensor, dt: float) -> Tensor:
    """First time each column of ``values`` (T, k), sampled every ``dt``, reaches its level (k,), linearly
    interpolated between samples; +inf where it never does."""
    above = values >= levels  # (T, k)
    out = torch.full((values.shape[1],), float("inf"), dtype=values.dtype, device=values.device)
    for j in range(values.shape[1]):
        hit = torch.nonzero(above[:, j])
        if hit.numel() == 0:
            continue
        i = int(hit[0, 0])
        if i == 0:
            out[j] = 0.0
            continue
        v0, v1 = values[i - 1, j], values[i, j]
        out[j] = dt * ((i - 1) + (levels[j] - v0) / (v1 - v0))
    return out


# --------------------------------------------------------------------------- least squares


def least_squares_gd(X: Tensor, y: Tensor, eta, steps: int, w0: Tensor | None = None) -> Tensor:
    """``steps`` GD steps on 1/2 ||X w - y||^2 from w0 (default 0); returns w, shape (d,)."""
    _check_step(eta, steps)
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device) if w0 is None else w0.clone()
    for _ in range(steps):
        w = w - eta * (X.T @ (X @ w - y))  # (d, n) @ (n,) -> (d,)
    return w


def gradient_flow_least_squares(X: Tensor, y: Tensor, t) -> Tensor:
    """w(t) for dw/dt = -X^T (X w - y), w(0) = 0: [w(t); 1] = expm(t [[-X^T X, X^T y], [0, 0]]) [0; 1].

    The exponential is mpmath's at 30 digits, rounded once to float64, so the estimate is correct to
    float64 rounding whatever the conditioning. Not ``torch.linalg.matrix_exp``: in torch 2.13 (float64,
    CPU) it has relative errors up to ~4e-12 for 1-norms in about [0.01, 0.07]; scipy's expm is ~1e-14
    off for ||tM|| ~ 10, just above the exact claims' round-off bound.
    """
    d = X.shape[1]
    M = torch.zeros(d + 1, d + 1, dtype=X.dtype, device=X.device)
    M[:d, :d] = -X.T @ X  # (d, n) @ (n, d) -> (d, d)
    M[:d, d] = X.T @ y  # (d,)
    tM = (t * M).detach().cpu().numpy()  # (d + 1, d + 1)
    with mpmath.workdps(30):
        E = mpmath.expm(mpmath.matrix(tM.tolist()))
        column = [float(E[i, d]) for i in range(d)]  # last column, first d rows
    return torch.tensor(column, dtype=X.dtype, device=X.device)  # (d,)


def ridge_solution(X: Tensor, y: Tensor, mu) -> Tensor:
    """argmin 1/2 ||X w - y||^2 + mu/2 ||w||^2 = (X^T X + mu I)^{-1} X^T y, shape (d,)."""
    A = X.T @ X + mu * torch.eye(X.shape[1], dtype=X.dtype, device=X.device)  # (d, d)
    return torch.linalg.solve(A, X.T @ y)


# --------------------------------------------------------------------------- separable classification


def exp_loss_minus_gradient(X: Tensor, w: Tensor) -> Tensor:
    """-grad_w sum_n exp(-x_n^T w) by autograd; X (n, d) with labels absorbed, w (d,)."""
    w = w.detach().clone().requires_grad_(True)
    loss = torch.exp(-(X @ w)).sum()  # (n, d) @ (d,) -> (n,) -> ()
    (g,) = torch.autograd.grad(loss, w)
    return -g


def _logistic_minus_gradient(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    margins = X @ w  # (n, d) @ (d,) -> (n,)
    return X.T @ expit(-margins)  # (d, n) @ (n,) -> (d,); expit: no cancellation at large margins


def logistic_gd(X: np.ndarray, eta: float, checkpoints) -> np.ndarray:
    """Constant-step GD on sum_n log(1 + exp(-x_n^T w)) from 0; w after each step count in ``checkpoints``
    (increasing), shape (len, d)."""
    checkpoints = [int(c) for c in checkpoints]
    w = np.zeros(X.shape[1])
    out, done = [], 0
    for c in checkpoints:
        for _ in range(c - done):
            w = w + eta * _logistic_minus_gradient(X, w)
        done = c
        out.append(w.copy())
    return np.stack(out)


def logistic_flow_log_time(X: np.ndarray, log_t: np.ndarray, w1: np.ndarray | None = None) -> np.ndarray:
    """Gradient flow on the logistic loss in the variable u = log t (dw/du = t * (-grad L)), from w(t=1) = w1
    (default 0), by DOP853 at rtol 1e-12; w at each u in ``log_t``, shape (len, d). In u the solution is
    smooth and non-stiff (dw/du -> w_hat), so t = e^1000 is as cheap as t = e^10."""
    w1 = np.zeros(X.shape[1]) if w1 is None else np.asarray(w1, dtype=np.float64)
    def rhs(u, w):  # e^u X^T sigma(-X w), as exp(u - log(1 + e^m)): no overflow at u > 709
        return X.T @ np.exp(u - np.logaddexp(0.0, X @ w))  # (d, n) @ (n,) -> (d,)

    sol = solve_ivp(rhs, (0.0, float(log_t[-1])), w1,
                    method="DOP853", t_eval=log_t, rtol=1e-12, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"logistic_flow_log_time: the ODE solver failed: {sol.message}")
    return sol.y.T  # (d, len) -> (len, d)


def direction_error(w: np.ndarray, w_hat: np.ndarray) -> np.ndarray:
    """|| w/||w|| - w_hat/||w_hat|| || for each row of w (len, d)."""
    unit = w / np.linalg.norm(w, axis=-1, keepdims=True)  # (len, d)
    return np.linalg.norm(unit - w_hat / np.linalg.norm(w_hat), axis=-1)
