"""Soft committee machines, g(x) = erf(x / sqrt 2): Monte Carlo estimators and robust evaluation of I2, I3, I4, epsilon_g.

Family ``committee``: derivation ``theory._committee`` (the paper's equation, derived) ·
estimators ``numerics._committee`` · claims ``verify.claims._committee`` · tests ``tests/test_committee.py``.

Estimators for ``theory._committee`` (seed ``000_111be25265ff9c8a.txt``; Saad & Solla 1995; Goldt et al.
2019). Fields are drawn through an exact square-root factor of their covariance, so that perfectly
correlated fields (rho = +-1, a singular C) and tiny or huge variances are sampled exactly:

* I2: (u, v) = L z with the Cholesky factor L = [[s_u, 0], [rho s_v, s_v sqrt((1 - rho)(1 + rho))]] of
  C = [[s_u^2, rho s_u s_v], [rho s_u s_v, s_v^2]]; at rho = +-1 the corner is exactly 0 (no division,
  no ``torch.linalg.cholesky`` of a singular matrix, no jitter).
* I3, I4, epsilon_g: fields W x, x ~ N(0, I_d), whose covariance is the Gram matrix W W^T (any rank).

Each estimator comes in two forms, one implementation: ``*_at(..., z)`` / ``*_at(..., x)`` takes the standard
Gaussian draws as an argument -- the built-in claims declare them as ``inputs=`` (``Gaussian(2)`` for I2,
``Gaussian(d)`` for the others), so they are engine-owned and the engine may pair them antithetically, fit
Hermite control variates or use RQMC points; the fields are linear maps of them -- and ``*_samples(..., n,
generator)`` draws them from ``generator`` and calls ``*_at``.

| code                | paper               | meaning                                                   |
|---------------------|---------------------|-----------------------------------------------------------|
| ``log_s_u, log_s_v``| log sqrt(C11), log sqrt(C22) | log standard deviations of the two fields         |
| ``rho``             | C12 / sqrt(C11 C22) | correlation, in [-1, 1]                                   |
| ``w1 .. w4``        | --                  | rows of a factor of C: C_ab = w_a . w_b                   |
| ``W, W_star``       | J_i, B_n            | student (K, d), teacher (M, d) weights                    |

``i2_value``, ``i3_value``, ``i4_value``, ``generalization_error_value`` evaluate the SymPy closed forms
(through the engine's lambdify) in their robust form (``theory._committee.robust``); ``naive=True``
gives the printed form as is, for showing where it fails.
"""

from __future__ import annotations

import functools
import math

import sympy as sp
import torch
from torch import Tensor

from ._compile import lambdify_torch

__all__ = [
    "erf_g",
    "erf_g_prime",
    "generalization_error_at",
    "generalization_error_samples",
    "generalization_error_value",
    "i2_at",
    "i2_cholesky",
    "i2_samples",
    "i3_at",
    "i3_samples",
    "i3_value",
    "i2_value",
    "i4_at",
    "i4_samples",
    "i4_value",
    "saad_solla_ode",
]

_SQRT2 = math.sqrt(2.0)


def erf_g(x: Tensor, kappa: float = 1 / _SQRT2) -> Tensor:
    """g(x) = erf(kappa x); Saad & Solla: kappa = 1/sqrt 2."""
    return torch.erf(kappa * x)


def erf_g_prime(x: Tensor) -> Tensor:
    """g'(x) = sqrt(2/pi) exp(-x^2/2) for g = erf(x / sqrt 2)."""
    return math.sqrt(2.0 / math.pi) * torch.exp(-x * x / 2)


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")


def i2_cholesky(log_s_u: Tensor, log_s_v: Tensor, rho: Tensor) -> Tensor:
    """The lower Cholesky factor (2, 2) of C(s_u, s_v, rho); finite and exact at rho = +-1."""
    if not bool((rho.abs() <= 1).all()):
        raise ValueError(f"rho must lie in [-1, 1], got {rho.tolist()}; it is a correlation.")
    s_u, s_v = torch.exp(log_s_u), torch.exp(log_s_v)
    corner = s_v * torch.sqrt((1 - rho) * (1 + rho))  # (1 - rho)(1 + rho): no cancellation near |rho| = 1
    zero = torch.zeros_like(s_u)
    return torch.stack([torch.stack([s_u, zero]), torch.stack([rho * s_v, corner])])  # (2, 2)


def _standard(n: int, d: int, like: Tensor, generator: torch.Generator) -> Tensor:
    _check_n(n)
    return torch.randn(n, d, generator=generator, dtype=like.dtype, device=like.device)  # (n, d)


def _check_draws(z: Tensor, d: int, like: Tensor, what: str) -> None:
    if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[1] != d:
        raise ValueError(f"{what} must be an (n, {d}) tensor of standard normal draws, got shape {tuple(getattr(z, 'shape', ()))}.")
    if z.dtype != like.dtype or z.device != like.device:
        raise ValueError(f"{what} ({z.dtype}, {z.device}) must share the parameters' dtype and device ({like.dtype}, {like.device}).")


def i2_at(log_s_u: Tensor, log_s_v: Tensor, rho: Tensor, z: Tensor, kappa: float = 1 / _SQRT2) -> Tensor:
    """Per-sample g(u) g(v), (u, v) = L z for standard normal draws z (n, 2), so (u, v) ~ N(0, C); shape (n,)."""
    L = i2_cholesky(log_s_u, log_s_v, rho)  # (2, 2)
    _check_draws(z, 2, L, "z")
    uv = z @ L.T  # (n, 2) @ (2, 2) -> (n, 2)
    return erf_g(uv[:, 0], kappa) * erf_g(uv[:, 1], kappa)  # (n,)


def i2_samples(log_s_u: Tensor, log_s_v: Tensor, rho: Tensor, n: int, generator: torch.Generator,
               kappa: float = 1 / _SQRT2) -> Tensor:
    """``i2_at`` at z ~ N(0, I_2) drawn from ``generator``; shape (n,)."""
    return i2_at(log_s_u, log_s_v, rho, _standard(n, 2, log_s_u, generator), kappa)


def _fields(vectors: tuple[Tensor, ...], x: Tensor) -> Tensor:
    W = torch.stack(vectors)  # (k, d): the factor, C = W W^T
    _check_draws(x, W.shape[1], W, "x")
    return x @ W.T  # (n, d) @ (d, k) -> (n, k)


def i3_at(w1: Tensor, w2: Tensor, w3: Tensor, x: Tensor) -> Tensor:
    """Per-sample g'(u) v g(w), (u, v, w) = (w1.x, w2.x, w3.x) at standard normal x (n, d); shape (n,)."""
    f = _fields((w1, w2, w3), x)  # (n, 3)
    return erf_g_prime(f[:, 0]) * f[:, 1] * erf_g(f[:, 2])


def i3_samples(w1: Tensor, w2: Tensor, w3: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``i3_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n,)."""
    return i3_at(w1, w2, w3, _standard(n, w1.shape[0], w1, generator))


def i4_at(w1: Tensor, w2: Tensor, w3: Tensor, w4: Tensor, x: Tensor) -> Tensor:
    """Per-sample g'(u) g'(v) g(w) g(z), fields (w1.x, .., w4.x) at standard normal x (n, d); shape (n,)."""
    f = _fields((w1, w2, w3, w4), x)  # (n, 4)
    return erf_g_prime(f[:, 0]) * erf_g_prime(f[:, 1]) * erf_g(f[:, 2]) * erf_g(f[:, 3])


def i4_samples(w1: Tensor, w2: Tensor, w3: Tensor, w4: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``i4_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n,)."""
    return i4_at(w1, w2, w3, w4, _standard(n, w1.shape[0], w1, generator))


def _check_committees(W: Tensor, W_star: Tensor) -> None:
    if W.ndim != 2 or W_star.ndim != 2 or W.shape[1] != W_star.shape[1]:
        raise ValueError(f"W and W_star must be (K, d) and (M, d) with the same d, got {tuple(W.shape)} and {tuple(W_star.shape)}.")


def generalization_error_at(W: Tensor, W_star: Tensor, x: Tensor) -> Tensor:
    """Per-sample 1/2 (sum_i g(w_i.x) - sum_n g(w*_n.x))^2 at standard normal x (n, d); shape (n,)."""
    _check_committees(W, W_star)
    f = _fields((*W, *W_star), x)  # (n, K + M)
    K = W.shape[0]
    return (erf_g(f[:, :K]).sum(1) - erf_g(f[:, K:]).sum(1)) ** 2 / 2  # (n,)


def generalization_error_samples(W: Tensor, W_star: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``generalization_error_at`` at x ~ N(0, I_d) drawn from ``generator``; shape (n,)."""
    _check_committees(W, W_star)
    return generalization_error_at(W, W_star, _standard(n, W.shape[1], W, generator))


# --------------------------------------------------------------------------- robust evaluation


def _symmetric(k: int) -> sp.Matrix:
    return sp.Matrix(k, k, lambda a, b: sp.Symbol(f"C_{min(a, b)}{max(a, b)}", real=True))


def _upper(C: Tensor) -> list[Tensor]:
    k = C.shape[-1]
    return [C[..., a, b] for a in range(k) for b in range(a, k)]  # (..., k, k) -> k(k+1)/2 tensors (...)


@functools.cache
def _compiled(which: str, naive: bool):
    from theory import _committee as tc

    k = {"i2": 2, "i3": 3, "i4": 4}[which]
    C = _symmetric(k)
    expr = getattr(tc, which)(C)
    args = [C[a, b] for a in range(k) for b in range(a, k)]
    return lambdify_torch(args, [expr if naive else tc.robust(expr)])


def _value(which: str, C: Tensor, naive: bool) -> Tensor:
    k = {"i2": 2, "i3": 3, "i4": 4}[which]
    if C.shape[-2:] != (k, k):
        raise ValueError(f"{which}_value: C must have shape (..., {k}, {k}), got {tuple(C.shape)}.")
    return _compiled(which, naive)(*_upper(C))[..., 0]  # (..., 1) -> (...)


def i2_value(C: Tensor, *, naive: bool = False) -> Tensor:
    """I2(C) for C of shape (..., 2, 2), float64; robust (finite at rho = +-1 and any scale) unless naive."""
    return _value("i2", C, naive)


def i3_value(C: Tensor, *, naive: bool = False) -> Tensor:
    """I3(C) for C of shape (..., 3, 3)."""
    return _value("i3", C, naive)


def i4_value(C: Tensor, *, naive: bool = False) -> Tensor:
    """I4(C) for C of shape (..., 4, 4); robust: finite where the last two fields are perfectly correlated."""
    return _value("i4", C, naive)


@functools.cache
def _compiled_error(K: int, M: int, naive: bool):
    from theory import _committee as tc

    Q, T = _symmetric(K), _symmetric(M).applyfunc(lambda s: sp.Symbol("T" + s.name[1:], real=True))
    R = sp.Matrix(K, M, lambda i, a: sp.Symbol(f"R_{i}{a}", real=True))
    expr = tc.order_parameter_error(Q, R, T)
    args = [Q[a, b] for a in range(K) for b in range(a, K)] + list(R) + [T[a, b] for a in range(M) for b in range(a, M)]
    return lambdify_torch(args, [expr if naive else tc.robust(expr)])


def generalization_error_value(Q: Tensor, R: Tensor, T: Tensor, *, naive: bool = False) -> Tensor:
    """epsilon_g(Q, R, T) = 1/2 sum_ik I2 + 1/2 sum_nm I2 - sum_in I2, from ``theory._committee``.

    Q (..., K, K), R (..., K, M) with the same leading (batch) shape, T (M, M); returns a tensor of that batch
    shape (0-d for unbatched Q, R)."""
    if R.ndim < 2:
        raise ValueError(f"R must be (..., K, M), got shape {tuple(R.shape)}.")
    K, M = R.shape[-2:]
    if Q.shape != (*R.shape[:-2], K, K) or T.shape != (M, M):
        raise ValueError(f"Q, R, T must be (..., K, K), (..., K, M), (M, M), got {tuple(Q.shape)}, {tuple(R.shape)}, "
                         f"{tuple(T.shape)}.")
    entries = R.flatten(-2).unbind(-1)  # (..., K, M) -> K M tensors (...)
    return _compiled_error(K, M, naive)(*_upper(Q), *entries, *_upper(T))[..., 0]  # (..., 1) -> (...)


# --------------------------------------------------------------------------- Saad & Solla's ODE
@functools.cache
def _compiled_field(K: int, M: int):
    from theory import _committee as tc

    Q, T = _symmetric(K), _symmetric(M).applyfunc(lambda s: sp.Symbol("T" + s.name[1:], real=True))
    R = sp.Matrix(K, M, lambda i, a: sp.Symbol(f"R_{i}{a}", real=True))
    eta = sp.Symbol("eta", positive=True)
    dQ, dR = tc.saad_solla_field(Q, R, T, eta)
    args = [Q[a, b] for a in range(K) for b in range(a, K)] + list(R) + [T[a, b] for a in range(M) for b in range(a, M)] + [eta]
    exprs = [dQ[a, b] for a in range(K) for b in range(a, K)] + list(dR)
    return lambdify_torch(args, exprs)  # not robust(): the ODE stays inside the domain; the clamps make cse slow (~30 s at K = M = 2)


def saad_solla_ode(Q0: Tensor, R0: Tensor, T: Tensor, eta: float, alphas: Tensor, substeps: int = 20) -> tuple[Tensor, Tensor]:
    """Integrate Saad & Solla's order-parameter ODE (``theory._committee.saad_solla_field``) with classical RK4.

    ``alphas``: increasing times (alphas[0] is the start, Q0/R0 the state there); each interval is split
    into ``substeps`` RK4 steps. Returns Q (len(alphas), K, K) and R (len(alphas), K, M), float64.
    """
    K, M = R0.shape
    field = _compiled_field(K, M)
    iu = torch.triu_indices(K, K)
    tu = _upper(T.to(torch.float64))
    eta_t = torch.tensor(float(eta), dtype=torch.float64)

    def rhs(y: Tensor) -> Tensor:
        q, r = y[: iu.shape[1]], y[iu.shape[1]:]
        return field(*q, *r, *tu, eta_t)

    y = torch.cat([Q0.to(torch.float64)[iu[0], iu[1]], R0.to(torch.float64).reshape(-1)])
    states = [y]
    for a, b in zip(alphas[:-1].tolist(), alphas[1:].tolist()):
        h = (b - a) / substeps
        for _ in range(substeps):
            k1 = rhs(y)
            k2 = rhs(y + h / 2 * k1)
            k3 = rhs(y + h / 2 * k2)
            k4 = rhs(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(y)
    Y = torch.stack(states)
    Q = torch.zeros(len(alphas), K, K, dtype=torch.float64)
    Q[:, iu[0], iu[1]] = Y[:, : iu.shape[1]]
    Q[:, iu[1], iu[0]] = Y[:, : iu.shape[1]]
    return Q, Y[:, iu.shape[1]:].reshape(len(alphas), K, M)
