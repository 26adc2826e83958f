"""Autograd estimators for the covariance operator of SimCLR (Tian, Yu, Chen & Ganguli 2020).

Family ``covariance-operator``: derivation ``theory._covariance_operator`` (the paper's equation, derived) ·
estimators ``numerics._covariance_operator`` · claims ``verify.claims._covariance_operator`` · tests ``tests/test_covariance_operator.py``.

Estimators for ``theory._covariance_operator`` (seed ``000_111be25265ff9c8a.txt``, "The Covariance
Operator", Theorem 4, the one-neuron example). Autograd is the reference: J_l, d f_L / d W_l and the
gradient of the enumerated loss all come from ``torch.func``; nothing here retypes a closed form (the
Theorem 4 right-hand side for ``solve_ivp`` is the theory's SymPy field, lambdified by the engine).

| code           | paper          | meaning                                                             |
|----------------|----------------|---------------------------------------------------------------------|
| ``Ws``         | W_1..W_L       | layer weights, W_l of shape (n_l, n_{l-1}); no biases               |
| ``slope``      | --             | activation max(z, slope z): 0 = ReLU, 1 = linear                    |
| ``connection`` | K_l(x)         | f_{l-1} (x) J_l^T, shape (n_{l-1} n_l, n_L)                          |
| ``vec``        | vec            | column stacking: vec(W)[j n_l + i] = W[i, j]                        |
| ``X, D``       | x, p_aug       | samples (N, d) uniform, augmentation offsets (A, d): x' = X_i + D_a |
| ``w1_0, w1_1`` | w_{1,j}        | first-layer weights of the two-unit local net of Theorem 4, (2,)    |
| ``w2``         | w_{2,j}        | its output weights, (2,)                                            |
| ``theta``      | --             | Theorem 4 state (w2_0, w2_1, w1_0, w1_1), shape (6,)                |

Randomness only from the ``generator`` argument. The sampled-pair estimator's randomness is discrete (uniform
sample and augmentation indices, no Gaussian), so its claim keeps drawing from ``generator``.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.func import grad, jacrev, vmap

from ._compile import lambdify_torch

__all__ = [
    "vec",
    "deep_forward",
    "connection",
    "weight_jacobian",
    "simclr_loss",
    "simclr_gradient",
    "augment_mean_connections",
    "covariance_operator_samples",
    "second_moment_forms",
    "negative_squared_distance",
    "pair_gradient_samples",
    "pair_gradients_samples",
    "theorem4_data",
    "theorem4_flow",
    "theorem4_gradient_descent",
    "theorem4_ode",
    "theorem4_rhs",
    "one_neuron_covariance_enumerated",
]


def vec(W: Tensor) -> Tensor:
    """Column stacking: (n_l, n_{l-1}) -> (n_l n_{l-1},)."""
    return W.T.reshape(-1)  # (n_{l-1}, n_l) row-major = columns of W (reshape copies: W.T is not contiguous)


def _act(z: Tensor, slope: float) -> Tensor:
    return torch.nn.functional.leaky_relu(z, slope)  # autograd: derivative slope at z = 0, like H(0) = 0


def _check(Ws: Sequence[Tensor], layer: int | None = None) -> None:
    if not Ws:
        raise ValueError("Ws is empty; pass [W_1, ..., W_L] with W_l of shape (n_l, n_{l-1}).")
    for l in range(1, len(Ws)):
        if Ws[l].shape[1] != Ws[l - 1].shape[0]:
            raise ValueError(f"W_{l + 1} has shape {tuple(Ws[l].shape)} but W_{l} has {Ws[l - 1].shape[0]} rows; W_l must be (n_l, n_(l-1)).")
    if layer is not None and not 1 <= layer <= len(Ws):
        raise ValueError(f"layer must be in 1..{len(Ws)}, got {layer!r}.")


def _above(z: Tensor, Ws: Sequence[Tensor], layer: int, slope: float) -> Tensor:
    """f_L as a function of z_l: (n_l,) -> (n_L,)."""
    L = len(Ws)
    f = z if layer == L else _act(z, slope)
    for k in range(layer + 1, L + 1):
        z = Ws[k - 1] @ f  # (n_k, n_{k-1}) @ (n_{k-1},) -> (n_k,)
        f = z if k == L else _act(z, slope)
    return f


def _below(x: Tensor, Ws: Sequence[Tensor], layer: int, slope: float) -> Tensor:
    """f_{l-1}(x): (d,) -> (n_{l-1},)."""
    f = x
    for k in range(1, layer):
        f = _act(Ws[k - 1] @ f, slope)  # (n_k, n_{k-1}) @ (n_{k-1},) -> (n_k,)
    return f


def deep_forward(x: Tensor, Ws: Sequence[Tensor], slope: float = 0.0) -> Tensor:
    """f_L(x) for x of shape (d,): hidden layers max(z, slope z), linear output; shape (n_L,)."""
    _check(Ws)
    return _above(Ws[0] @ x, Ws, 1, slope)  # (n_1, d) @ (d,) -> (n_1,)


def connection(x: Tensor, Ws: Sequence[Tensor], layer: int, slope: float = 0.0) -> Tensor:
    """K_l(x) = f_{l-1}(x) (x) J_l(x)^T with J_l = d f_L / d z_l by autograd; (n_{l-1} n_l, n_L)."""
    _check(Ws, layer)
    f_prev = _below(x, Ws, layer, slope)  # (n_{l-1},)
    z = Ws[layer - 1] @ f_prev  # (n_l,)
    J = jacrev(_above)(z, Ws, layer, slope)  # (n_L, n_l)
    return (f_prev[:, None, None] * J.T[None, :, :]).reshape(-1, J.shape[0])  # (n_{l-1}, 1, 1) * (1, n_l, n_L) -> (n_{l-1} n_l, n_L): f (x) J^T


def weight_jacobian(x: Tensor, Ws: Sequence[Tensor], layer: int, slope: float = 0.0) -> Tensor:
    """(d f_L / d vec(W_l))^T by autograd with respect to W_l; (n_{l-1} n_l, n_L)."""
    _check(Ws, layer)

    def f(W):
        return deep_forward(x, [*Ws[: layer - 1], W, *Ws[layer:]], slope)

    jac = jacrev(f)(Ws[layer - 1])  # (n_L, n_l, n_{l-1}): jac[o, i, j] = d f_o / d W[i, j]
    return jac.permute(2, 1, 0).reshape(-1, jac.shape[0])  # [j, i, o] -> (n_{l-1} n_l, n_L), row j n_l + i


def _augmented(X: Tensor, D: Tensor) -> Tensor:
    if X.ndim != 2 or D.ndim != 2 or X.shape[1] != D.shape[1]:
        raise ValueError(f"X (N, d) and D (A, d) must share d, got {tuple(X.shape)} and {tuple(D.shape)}.")
    return X[:, None, :] + D[None, :, :]  # (N, 1, d) + (1, A, d) -> (N, A, d)


def simclr_loss(Ws: Sequence[Tensor], X: Tensor, D: Tensor, slope: float = 0.0) -> Tensor:
    """L_simp = E[1/2 |f(x1) - f(x2)|^2] - E[1/2 |f(x1) - f(x')|^2], enumerated exactly.

    x1 = X_i + D_a, x2 = X_i + D_b with a, b independent uniform; x' = X_j + D_b, (j, b) independent of (i, a).
    """
    pts = _augmented(X, D)  # (N, A, d)
    F = vmap(vmap(lambda x: deep_forward(x, Ws, slope)))(pts)  # (N, A, n_L)
    pos = ((F[:, :, None, :] - F[:, None, :, :]) ** 2).sum(-1).mean() / 2  # (N, A, A, n_L) -> ()
    flat = F.reshape(-1, F.shape[-1])  # (N A, n_L)
    neg = ((flat[:, None, :] - flat[None, :, :]) ** 2).sum(-1).mean() / 2  # (NA, NA, n_L) -> ()
    return pos - neg


def simclr_gradient(Ws: Sequence[Tensor], X: Tensor, D: Tensor, layer: int, slope: float = 0.0) -> Tensor:
    """-d L_simp / d vec(W_l) by autograd through the network (gates moving with W_l); (n_l n_{l-1},)."""
    _check(Ws, layer)

    def loss(W):
        return simclr_loss([*Ws[: layer - 1], W, *Ws[layer:]], X, D, slope)

    return -vec(grad(loss)(Ws[layer - 1]))


def augment_mean_connections(Ws: Sequence[Tensor], X: Tensor, D: Tensor, layer: int, slope: float = 0.0) -> Tensor:
    """K_bar_l(x_i) = mean_a K_l(x_i + D_a) for every sample i, K from autograd; (N, p, n_L)."""
    pts = _augmented(X, D)  # (N, A, d)
    K = vmap(vmap(lambda p: connection(p, Ws, layer, slope)))(pts)  # (N, A, p, n_L)
    return K.mean(1)  # (N, p, n_L)


def covariance_operator_samples(Ws: Sequence[Tensor], X: Tensor, D: Tensor, layer: int, slope: float = 0.0) -> Tensor:
    """V_x[K_bar_l(x)] (p, p), K from autograd, exact enumeration; for the PSD property and cross-checks."""
    K_bar = augment_mean_connections(Ws, X, D, layer, slope)  # (N, p, n_L)
    mean = K_bar.mean(0)  # (p, n_L)
    return torch.einsum("npo,nqo->pq", K_bar, K_bar) / K_bar.shape[0] - mean @ mean.T  # (p, p)


def second_moment_forms(Ws: Sequence[Tensor], X: Tensor, D: Tensor, vs: Sequence[Tensor], slope: float = 0.0) -> Tensor:
    """v_l^T E_x[K_bar_l K_bar_l^T] v_l = mean_i |K_bar_l(x_i)^T v_l|^2 for l = 1..len(vs), autograd K; (len(vs),).

    A mean of squares: nothing cancels, so its float64 error is relative (the PSD claim's left side)."""
    forms = []
    for layer, v in enumerate(vs, start=1):
        K_bar = augment_mean_connections(Ws, X, D, layer, slope)  # (N, p, n_L)
        forms.append(((K_bar.transpose(1, 2) @ v) ** 2).sum(1).mean())  # (N, n_L, p) @ (p,) -> (N, n_L) -> ()
    return torch.stack(forms)


def negative_squared_distance(a: Tensor, b: Tensor) -> Tensor:
    """-|u - v|^2 for u = a/|a|, v = b/|b| (InfoNCE's -r on the unit sphere); a 0-d tensor."""
    u, v = a / torch.linalg.vector_norm(a), b / torch.linalg.vector_norm(b)
    return -((u - v) ** 2).sum()


def pair_gradients_samples(Ws: Sequence[Tensor], X: Tensor, D: Tensor, layers: Sequence[int], n: int,
                           generator: torch.Generator, slope: float = 0.0) -> Tensor:
    """Per-sample -d/dvec(W_l) [1/2|f(x1) - f(x2)|^2 - 1/2|f(x1) - f(x')|^2] for each l in ``layers``, all from one
    sampled (i, a, b, j, c) per sample and one autograd pass; the vecs side by side, (n, sum_l n_{l-1} n_l)."""
    layers = tuple(layers)
    if not layers:
        raise ValueError("layers is empty; pass e.g. (1, 2).")
    for layer in layers:
        _check(Ws, layer)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}.")
    N, A = X.shape[0], D.shape[0]
    i, j = (torch.randint(N, (n,), generator=generator, device=X.device) for _ in range(2))
    a, b, c = (torch.randint(A, (n,), generator=generator, device=X.device) for _ in range(3))
    x1, x2, xn = X[i] + D[a], X[i] + D[b], X[j] + D[c]  # (n, d) each

    def loss(chosen, u1, u2, un):
        net = list(Ws)
        for layer, W in zip(layers, chosen):
            net[layer - 1] = W
        f1, f2, fn = (deep_forward(u, net, slope) for u in (u1, u2, un))
        return ((f1 - f2) ** 2).sum() / 2 - ((f1 - fn) ** 2).sum() / 2

    gs = vmap(grad(loss), in_dims=(None, 0, 0, 0))(tuple(Ws[l - 1] for l in layers), x1, x2, xn)  # each (n, n_l, n_{l-1})
    return torch.cat([-g.transpose(1, 2).reshape(n, -1) for g in gs], dim=1)  # column-stacking vec per sample and layer


def pair_gradient_samples(Ws: Sequence[Tensor], X: Tensor, D: Tensor, layer: int, n: int, generator: torch.Generator,
                          slope: float = 0.0) -> Tensor:
    """Per-sample -d/dvec(W_l) [1/2|f(x1) - f(x2)|^2 - 1/2|f(x1) - f(x')|^2] with sampled (i, a, b, j, c); (n, p)."""
    return pair_gradients_samples(Ws, X, D, (layer,), n, generator, slope)


# --------------------------------------------------------------------------- Theorem 4


def theorem4_data(dtype=torch.float64, device=None) -> list[Tensor]:
    """The theory's two receptive-field tables as tensors: [j] -> (Z=2, Z'=3, 2)."""
    from theory._covariance_operator import THEOREM4_DATA

    return [torch.tensor([[[float(v) for v in t[a, :]] for a in range(t.rows)] for t in blocks], dtype=dtype, device=device)
            for blocks in THEOREM4_DATA]


def _theorem4_half_loss(theta: Tensor, data: Sequence[Tensor]) -> Tensor:
    """1/2 L_simp of f = sum_j w2_j relu(w1_j^T x_j), enumerated over z = (z_0, z_1), z' = (z'_0, z'_1)."""
    w2, w1 = theta[:2], (theta[2:4], theta[4:6])
    h = [torch.relu(data[j] @ w1[j]) for j in range(2)]  # (Z, Z') per unit
    F = w2[0] * h[0][:, None, :, None] + w2[1] * h[1][None, :, None, :]  # (Z0, Z1, Z'0, Z'1)
    F = F.reshape(F.shape[0] * F.shape[1], -1)  # (Z0 Z1, Z'0 Z'1): rows = z, columns = z'
    pos = ((F[:, :, None] - F[:, None, :]) ** 2).mean() / 2  # (z, z'a, z'b)
    flat = F.reshape(-1)
    neg = ((flat[:, None] - flat[None, :]) ** 2).mean() / 2
    return (pos - neg) / 2


def theorem4_flow(w1_0: Tensor, w1_1: Tensor, w2: Tensor) -> Tensor:
    """-d(1/2 L_simp)/d theta by autograd on the actual two-unit network, ordered like ``theorem4_field``; (6,)."""
    theta = torch.cat([w2, w1_0, w1_1])  # (6,)
    return -grad(_theorem4_half_loss)(theta, theorem4_data(theta.dtype, theta.device))


def theorem4_gradient_descent(theta0: Tensor, eta: float, steps: int) -> Tensor:
    """Gradient descent on 1/2 L_simp, theta <- theta - eta grad; returns the final theta (6,)."""
    data = theorem4_data(theta0.dtype, theta0.device)
    g = grad(_theorem4_half_loss)
    theta = theta0.clone()
    for _ in range(steps):
        theta = theta - eta * g(theta, data)
    return theta


@functools.cache
def theorem4_rhs() -> Callable[[np.ndarray], np.ndarray]:
    """theta (6,) -> Theorem 4's field (``theory._covariance_operator.theorem4_field``, lambdified once), numpy (6,)."""
    import sympy as sp

    from theory._covariance_operator import theorem4_field

    s = sp.Matrix(sp.symbols("s_0:6", real=True))  # (w2_0, w2_1, w1_0, w1_1)
    field = lambdify_torch(list(s), list(theorem4_field(s[2:4, :], s[4:6, :], s[0:2, :])))
    return lambda y: field(*torch.as_tensor(np.asarray(y), dtype=torch.float64)).numpy()


def _place(y: np.ndarray, j: int, x: np.ndarray, value: float) -> np.ndarray:
    """theta with w1_j moved along x so that w1_j^T x = value (the smallest move)."""
    v = y.copy()
    v[2 + 2 * j: 4 + 2 * j] += (value - v[2 + 2 * j: 4 + 2 * j] @ x) * x / (x @ x)
    return v


def theorem4_ode(theta0, horizon: float, growth: float = math.inf, grid: int = 1, rtol: float = 1e-12,
                 atol: float = 1e-14, max_crossings: int = 100) -> dict:
    """Theorem 4's ODE from theta0 (6,), cell by cell between gate flips, on ``grid`` + 1 times in [0, T].

    Inside a cell (no gate w1_j^T x changes sign) the field is a polynomial and scipy's DOP853 integrates it;
    a terminal event fires when a gate comes within delta (1e-9 relative) of its boundary. There the flow's
    d/dt (w1_j^T x) is evaluated just inside both sides: the same sign on both is a transversal crossing,
    and the state is moved 3 delta across (an O(1e-9) error); opposite signs make a sliding mode (Filippov)
    that the classical ODE cannot follow. T = the first of: a sliding boundary (``reason`` "sliding"),
    |theta| = growth |theta0| ("growth"), ``horizon`` ("horizon"), ``max_crossings`` ("chattering").
    Returns {"T", "reason", "crossings", "t" (P,), "theta" (P, 6)} (numpy; cached per argument list).
    """
    theta0 = tuple(float(v) for v in np.asarray(torch.as_tensor(theta0).detach().cpu(), dtype=float).reshape(-1))
    return _theorem4_ode(theta0, float(horizon), float(growth), int(grid), float(rtol), float(atol), int(max_crossings))


@functools.cache
def _theorem4_ode(theta0: tuple, horizon: float, growth: float, grid: int, rtol: float, atol: float,
                  max_crossings: int) -> dict:
    from scipy.integrate import solve_ivp

    rhs = theorem4_rhs()
    gates = [(j, x) for j, d in enumerate(theorem4_data()) for x in d.reshape(-1, 2).numpy()]  # 12 (unit, x)
    scale = float(np.linalg.norm(theta0))

    def grow(_, y):
        return float(np.linalg.norm(y)) - growth * scale
    grow.terminal, grow.direction = True, 1

    def near(j, x, side, delta):  # fires when side * w1_j^T x falls to delta
        def event(_, y):
            return side * float(y[2 + 2 * j: 4 + 2 * j] @ x) - delta
        event.terminal, event.direction = True, -1
        return event

    t, y, pieces, crossings, reason = 0.0, np.asarray(theta0, float), [], 0, "horizon"
    bounded = math.isfinite(growth)
    while True:
        deltas = [1e-9 * max(1.0, float(np.linalg.norm(y[2 + 2 * j: 4 + 2 * j]))) * float(np.linalg.norm(x))
                  for j, x in gates]
        sides = [1.0 if y[2 + 2 * j: 4 + 2 * j] @ x > 0 else -1.0 for j, x in gates]
        events = [grow] * bounded + [near(j, x, s, d) for (j, x), s, d in zip(gates, sides, deltas)]
        sol = solve_ivp(lambda _, v: rhs(v), (t, horizon), y, method="DOP853", rtol=rtol, atol=atol, events=events,
                        dense_output=True)
        if sol.status < 0:
            raise RuntimeError(f"theorem4_ode: solve_ivp failed at t = {t}: {sol.message}")
        pieces.append((sol.t[-1], sol.sol))
        if sol.status == 0:
            T = horizon
            break
        hit = next(i for i, te in enumerate(sol.t_events) if len(te))
        t, y = float(sol.t_events[hit][0]), sol.y_events[hit][0]
        if bounded and hit == 0:
            T, reason = t, "growth"
            break
        g = hit - bounded
        (j, x), side, delta = gates[g], sides[g], deltas[g]
        rates = [float(rhs(_place(y, j, x, s * delta))[2 + 2 * j: 4 + 2 * j] @ x) for s in (1.0, -1.0)]  # open, closed
        if rates[0] * rates[1] <= 0:
            T, reason = t, "sliding"
            break
        if crossings == max_crossings:
            T, reason = t, "chattering"
            break
        crossings += 1
        y = _place(y, j, x, -2 * side * delta)  # across the boundary, 2 delta beyond it
    times = np.linspace(0.0, T, grid + 1)
    path = np.stack([next((sol for end, sol in pieces if tk <= end), pieces[-1][1])(tk) for tk in times])  # (P, 6)
    return {"T": T, "reason": reason, "crossings": crossings, "t": times, "theta": path}


def theorem4_trajectories(theta0: Tensor, eta: float, steps: int, every: int = 10) -> dict:
    """Gradient descent on 1/2 L_simp and Theorem 4's ODE (``theorem4_ode``) at the same times t = k * eta,
    every ``every`` steps. Returns {"t": (P,), "gd": (P, 6), "ode": (P, 6)} as numpy arrays, theta ordered
    (w2_0, w2_1, w1_0, w1_1); RuntimeError where the ODE ends (a sliding gate boundary) before the last step.
    """
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every})")
    data = theorem4_data(theta0.dtype, theta0.device)
    g = grad(_theorem4_half_loss)
    theta, path = theta0.clone(), [theta0.detach().cpu().numpy().copy()]
    for k in range(1, steps + 1):
        theta = theta - eta * g(theta, data)
        if k % every == 0:
            path.append(theta.detach().cpu().numpy().copy())
    t = np.arange(len(path)) * every * eta  # (P,)
    ode = theorem4_ode(theta0, float(t[-1]), grid=len(path) - 1)
    if ode["reason"] != "horizon":
        raise RuntimeError(f"theorem4_trajectories: the ODE ends at t = {ode['T']:.6g} ({ode['reason']}), "
                           f"before t = {t[-1]:.6g}")
    return {"t": t, "gd": np.stack(path), "ode": ode["theta"]}  # (P,), (P, 6), (P, 6)


# --------------------------------------------------------------------------- one-neuron example


def one_neuron_covariance_enumerated(w: Tensor, X: Tensor, d: int = 6, slope: float = 0.0) -> Tensor:
    """V_{z0}[K_bar(z0)] by enumerating every translation of "11" and "101" in a circular world of d pixels.

    The neuron sees pixels (0, 1); its input is X[2a + b] for window content ab; K = d sigma(w^T x)/dw by
    autograd. Returns (m, m).
    """
    from theory._covariance_operator import ONE_NEURON_OBJECTS

    if X.shape[0] != 4 or w.shape != X.shape[1:]:
        raise ValueError(f"X must be (4, m) rows x_00, x_01, x_10, x_11 and w (m,), got {tuple(X.shape)} and {tuple(w.shape)}.")
    if d < max(map(len, ONE_NEURON_OBJECTS)) + 1:
        raise ValueError(f"d = {d} is too small: the objects need d >= 4 pixels so the window never sees both ends.")
    K_bar = []
    for obj in ONE_NEURON_OBJECTS:
        K = []
        for shift in range(d):
            world = [0] * d
            for k, v in enumerate(obj):
                world[(shift + k) % d] = v
            x = X[2 * world[0] + world[1]]  # (m,)
            K.append(grad(lambda v, x=x: _act(v @ x, slope))(w))  # (m,)
        K_bar.append(torch.stack(K).mean(0))  # (d, m) -> (m,)
    K_bar = torch.stack(K_bar)  # (2, m)
    mean = K_bar.mean(0)  # (m,)
    return K_bar.T @ K_bar / 2 - torch.outer(mean, mean)  # (m, m)
