"""Torch estimators for the optimisation family: gradient descent run on a PL quadratic, and the rescale
symmetry of a two-layer ReLU network (Karimi et al. 2016; Kunin et al. 2021; seed 003_fa032fc7f3085293.txt).

Family ``optimization``: derivation ``theory._optimization`` (the paper's equation, derived) ·
estimators ``numerics._optimization`` · claims ``verify.claims._optimization`` · tests ``tests/test_optimization.py``.

Autograd is the reference: gradients come from ``torch.func.grad`` of the objective, never from a typed
formula. The quadratic objective f(x) = 1/2 x^T diag(lam) x is the theory's SymPy form, lambdified once
(``objective``); the network loss is the model itself, written as torch code.

| code        | paper          | meaning                                                        |
|-------------|----------------|----------------------------------------------------------------|
| ``lam``     | eig(A)         | (d,) eigenvalues of the quadratic; L = max, mu = min           |
| ``x0``      | x_0            | (d,) starting point of gradient descent                        |
| ``t``       | t              | number of steps (a 0-d float64 tensor holding an integer)      |
| ``W1, W2``  | theta_A1/A2    | (h, d), (k, h): f(x) = W2 relu(W1 x)                            |
| ``X, Y``    | data           | (N, d), (N, k)                                                  |
| ``eta``     | eta            | gradient-descent step size                                     |
"""

from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import Tensor
from torch.func import grad

from ._compile import lambdify_torch

__all__ = [
    "objective",
    "gradient_descent_gap",
    "gradient_norm_sq",
    "two_layer_loss",
    "unit_norm_rates",
    "rescale_step",
]


@functools.cache
def objective(d: int) -> Callable[[Tensor, Tensor], Tensor]:
    """(x (d,), lam (d,)) -> f(x) = ``theory._optimization.quadratic``, lambdified once per d; a 0-d tensor."""
    import sympy as sp

    from theory._optimization import quadratic

    x, lam = sp.Matrix(sp.symbols(f"x_0:{d}", real=True)), sp.Matrix(sp.symbols(f"lam_0:{d}", real=True))
    f = lambdify_torch([*x, *lam], [quadratic(x, lam)])
    return lambda xv, lv: f(*xv, *lv)[..., 0]


def gradient_descent_gap(x0: Tensor, lam: Tensor, L: Tensor, t: Tensor) -> Tensor:
    """f(x_t) - f* after int(t) steps x <- x - grad f(x) / L (autograd), f* = 0; a 0-d tensor."""
    f = objective(x0.shape[0])
    g = grad(f)
    x = x0
    for _ in range(int(t)):
        x = x - g(x, lam) / L
    return f(x, lam)


def gradient_norm_sq(x: Tensor, lam: Tensor) -> Tensor:
    """||grad f(x)||^2 by autograd; a 0-d tensor."""
    g = grad(objective(x.shape[0]))(x, lam)
    return g @ g


def two_layer_loss(W1: Tensor, W2: Tensor, X: Tensor, Y: Tensor) -> Tensor:
    """L = 1/(2N) sum_n ||W2 relu(W1 x_n) - y_n||^2; a 0-d tensor."""
    F = torch.relu(X @ W1.T) @ W2.T  # (N, d) @ (d, h) -> (N, h); (N, h) @ (h, k) -> (N, k)
    return ((F - Y) ** 2).sum() / (2 * X.shape[0])


def unit_norm_rates(W1: Tensor, W2: Tensor, X: Tensor, Y: Tensor) -> tuple[Tensor, Tensor]:
    """(d/dt ||w_{1,i}||^2, d/dt ||w_{2,i}||^2) along theta' = -grad L by autograd, each (h,)."""
    G1, G2 = grad(two_layer_loss, argnums=(0, 1))(W1, W2, X, Y)  # (h, d), (k, h)
    return -2 * (W1 * G1).sum(1), -2 * (W2 * G2).sum(0)  # row i of W1, column i of W2


def rescale_step(W1: Tensor, W2: Tensor, X: Tensor, Y: Tensor, eta: Tensor) -> Tensor:
    """Q_i = ||w_{1,i}||^2 - ||w_{2,i}||^2 after one gradient-descent step of size eta (autograd); (h,)."""
    G1, G2 = grad(two_layer_loss, argnums=(0, 1))(W1, W2, X, Y)
    V1, V2 = W1 - eta * G1, W2 - eta * G2
    return (V1**2).sum(1) - (V2**2).sum(0)
