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
| ``U``       | U              | (n, n) factor, X = U U^T (Gunasekar et al. 2017)               |
| ``A``       | A_i            | (m, n, n) symmetric measurement matrices                       |
| ``y``       | y              | (m,) observations <A_i, X>                                     |
| ``alpha``   | alpha          | initialisation scale, U(0) = alpha I                           |
| ``s``       | s              | (m,) integrated residuals: U(s) = alpha exp(-2 sum_i s_i A_i)  |

Gunasekar's flow limit is found as the paper's proof characterises it: X = alpha^2 exp(sum_i nu_i A_i) fitting
<A_i, X> = y_i, nu by damped Newton on the strictly convex dual alpha^2 tr exp(A*(nu)) - y.nu (torch.linalg.matrix_exp,
autograd derivatives); ``gradient_flow_factor`` integrates the flow itself (scipy, for the tests).
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
    "sensing_loss",
    "sensing_velocity",
    "exponential_curve",
    "flow_limit_dual_newton",
    "min_nuclear_norm_commuting",
    "gradient_flow_factor",
    "gradient_descent_factor",
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


def sensing_loss(U: Tensor, A: Tensor, y: Tensor) -> Tensor:
    """L(U) = 1/2 sum_i (<A_i, U U^T> - y_i)^2; a 0-d tensor."""
    r = (A * (U @ U.T)).sum((-2, -1)) - y  # (m, n, n) * (n, n) -> (m,)
    return (r**2).sum() / 2


def sensing_velocity(U: Tensor, A: Tensor, y: Tensor) -> Tensor:
    """-grad_U L by autograd: the gradient flow's velocity at U, (n, n)."""
    return -grad(sensing_loss)(U, A, y)


def exponential_curve(alpha: Tensor, s: Tensor, A: Tensor) -> Tensor:
    """U(s) = alpha exp(-2 sum_i s_i A_i) by torch.linalg.matrix_exp, (n, n)."""
    return alpha * torch.linalg.matrix_exp(-2 * torch.einsum("i,ijk->jk", s, A))  # (m,), (m, n, n) -> (n, n)


def _exp_and_frechet(alpha: Tensor, nu: Tensor, A: Tensor) -> tuple[Tensor, Tensor]:
    """alpha^2 exp(M), M = sum_i nu_i A_i symmetric, by torch.linalg.eigh, and the Hessian of alpha^2 tr exp(M) in nu,
    H_ij = alpha^2 sum_kl (V^T A_i V)_kl (V^T A_j V)_kl (e^l_k - e^l_l) / (l_k - l_l) (Daleckii-Krein: divided
    differences of exp, e^l_k where l_k = l_l). Shapes (n, n), (m, m)."""
    lam, V = torch.linalg.eigh(torch.einsum("i,ijk->jk", nu, A))  # (n,), (n, n)
    e = torch.exp(lam)  # (n,)
    diff = lam[:, None] - lam[None, :]  # (n, n)
    safe = torch.where(diff == 0, torch.ones_like(diff), diff)
    divided = e[None, :] * torch.where(diff == 0, torch.ones_like(diff), torch.expm1(diff) / safe)  # (n, n)
    At = V.T @ A @ V  # (n, n) @ (m, n, n) @ (n, n) -> (m, n, n)
    H = alpha**2 * torch.einsum("ikl,jkl,kl->ij", At, At, divided)  # (m, m)
    return alpha**2 * (V * e) @ V.T, H  # (n, n) * (n,) @ (n, n) -> (n, n)


def flow_limit_dual_newton(alpha: Tensor, A: Tensor, y: Tensor, iterations: int = 200) -> Tensor:
    """X = alpha^2 exp(sum_i nu_i A_i) with <A_i, X> = y_i: damped Newton on the strictly convex dual
    phi(nu) = alpha^2 tr exp(A*(nu)) - y.nu (gradient <A_i, X> - y_i, Hessian by ``_exp_and_frechet``), with
    backtracking, until no step shrinks the gradient (round-off). Returns X, (n, n)."""
    def phi(nu):
        return alpha**2 * torch.exp(torch.linalg.eigvalsh(torch.einsum("i,ijk->jk", nu, A))).sum() - y @ nu

    nu = torch.zeros_like(y)  # (m,)
    X, H = _exp_and_frechet(alpha, nu, A)
    g = (A * X).sum((-2, -1)) - y  # (m,)
    for _ in range(iterations):
        step, t = torch.linalg.solve(H, g), 1.0  # (m,)
        while True:  # accept a step that shrinks the gradient, or (far from the fit) decreases phi enough
            new = nu - t * step
            X_new, H_new = _exp_and_frechet(alpha, new, A)
            g_new = (A * X_new).sum((-2, -1)) - y
            shrinks = g_new.norm() < g.norm()
            if shrinks or phi(new) <= phi(nu) - 0.25 * t * (g @ step):
                break
            t /= 2
            if t < 1e-12:
                return X
        if not shrinks and g.norm() <= 1e-10 * y.norm():  # at the round-off floor: phi's changes are noise
            return X
        nu, X, H, g = new, X_new, H_new, g_new
    return X


def min_nuclear_norm_commuting(Q: Tensor, a: Tensor, y: Tensor) -> Tensor:
    """min ||X||_* over X >= 0 with <A_i, X> = y_i, A_i = Q diag(a_i) Q^T: in the common eigenbasis an LP over the
    eigenvalues x >= 0 (off-diagonal parts change neither the trace nor the measurements), min 1.x s.t. a x = y,
    solved by scipy's HiGHS; a 0-d tensor."""
    from scipy.optimize import linprog

    res = linprog(c=[1.0] * a.shape[1], A_eq=a.cpu().numpy(), b_eq=y.detach().cpu().numpy(), bounds=(0, None),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"min_nuclear_norm_commuting: linprog failed: {res.message}")
    x = torch.tensor(res.x, dtype=y.dtype, device=y.device)  # (n,)
    return torch.linalg.matrix_norm(Q @ torch.diag(x) @ Q.T, ord="nuc")  # (n, n) -> ()


def gradient_flow_factor(U0: Tensor, A: Tensor, y: Tensor, T: float, rtol: float = 1e-12) -> Tensor:
    """U(T) of the gradient flow U' = -grad L from U0 (scipy DOP853, autograd field); (n, n)."""
    from scipy.integrate import solve_ivp

    n = U0.shape[0]

    def rhs(_, u):
        U = torch.tensor(u, dtype=U0.dtype).reshape(n, n)
        return sensing_velocity(U, A.cpu(), y.cpu()).reshape(-1).numpy()

    sol = solve_ivp(rhs, (0.0, T), U0.detach().cpu().reshape(-1).numpy(), method="DOP853", rtol=rtol, atol=1e-14)
    if not sol.success:
        raise RuntimeError(f"gradient_flow_factor: solve_ivp failed: {sol.message}")
    return torch.tensor(sol.y[:, -1], dtype=U0.dtype).reshape(n, n)


def gradient_descent_factor(U0: Tensor, A: Tensor, y: Tensor, eta: float, steps: int) -> Tensor:
    """U after ``steps`` gradient-descent steps U <- U - eta grad L(U) (autograd); (n, n)."""
    g = grad(sensing_loss)
    U = U0
    for _ in range(steps):
        U = U - eta * g(U, A, y)
    return U
