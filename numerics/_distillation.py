"""Distillation gradients by autograd through ``torch.nn.functional``: KD, one-hot, CWTM, DKPP, T -> oo.

Family ``distillation``: derivation ``theory._distillation`` (the paper's equation, derived) ·
estimators ``numerics._distillation`` · claims ``verify.claims._distillation`` · tests ``tests/test_distillation.py``.

Estimators for ``theory._distillation`` (seed ``004_e20defa2be8d861e.txt``, Born Again Networks blog;
Hinton et al. 2015, eqs. 2-3). Every gradient here is autograd of a torch loss -- ``F.cross_entropy``
with probability or class-index targets, or ``F.kl_div`` -- never the closed form retyped.

| code       | paper          | meaning                                                       |
|------------|----------------|---------------------------------------------------------------|
| ``z, t``   | z, t           | student / teacher logits, shape (n,)                          |
| ``Z, Tt``  | {z_s}, {t_s}   | minibatch of logits, shape (b, n), row = sample               |
| ``T``      | T              | temperature, 0-d tensor or float                              |
| ``label``  | *              | true class index (default the last, as in the seed)           |
| ``order``  | k              | coefficient of T^-k in the expansion of T^2 grad              |

All functions compute in the dtype and on the device of the student logits; none draws random numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import grad, jvp

__all__ = [
    "kd_loss",
    "kd_gradient",
    "kl_gradient",
    "one_hot_gradient",
    "high_temperature_coefficient",
    "batch_kd_gradient",
    "teacher_argmax",
    "cwtm_loss",
    "cwtm_gradient",
    "dkpp_targets",
    "dkpp_gradient",
]


def _check_pair(z: Tensor, t: Tensor, batch: bool = False) -> None:
    want = 2 if batch else 1
    if z.ndim != want or z.shape != t.shape or z.shape[-1] < 2:
        shape = "(b, n)" if batch else "(n,)"
        raise ValueError(f"student and teacher logits must both have shape {shape} with n >= 2 classes, got "
                         f"{tuple(z.shape)} and {tuple(t.shape)}.")


def kd_loss(z: Tensor, t: Tensor, T) -> Tensor:
    """Mean over rows of CE(softmax(z/T), softmax(t/T)) by ``F.cross_entropy`` with probability targets."""
    z2, t2 = torch.atleast_2d(z), torch.atleast_2d(t)  # (n,) -> (1, n); (b, n) unchanged
    return F.cross_entropy(z2 / T, torch.softmax(t2 / T, dim=-1))


def _grad_wrt_student(loss_fn, z: Tensor, *args) -> Tensor:
    z = z.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(z, *args), z)
    return g.detach()


def kd_gradient(z: Tensor, t: Tensor, T) -> Tensor:
    """d/dz of ``kd_loss`` (one sample (n,) or a batch mean (b, n)): autograd of ``F.cross_entropy``."""
    _check_pair(z, t, batch=z.ndim == 2)
    return _grad_wrt_student(kd_loss, z, t, T)


def _kl_loss(z: Tensor, t: Tensor, T) -> Tensor:
    z2, t2 = torch.atleast_2d(z), torch.atleast_2d(t)  # (n,) -> (1, n)
    return F.kl_div(F.log_softmax(z2 / T, dim=-1), F.log_softmax(t2 / T, dim=-1), reduction="batchmean", log_target=True)


def kl_gradient(z: Tensor, t: Tensor, T) -> Tensor:
    """d/dz of KL(softmax(t/T) || softmax(z/T)) by ``F.kl_div`` (= CE minus the teacher's entropy)."""
    _check_pair(z, t, batch=z.ndim == 2)
    return _grad_wrt_student(_kl_loss, z, t, T)


def one_hot_gradient(z: Tensor, T, label: int = -1) -> Tensor:
    """d/dz of ``F.cross_entropy(z/T, label)`` with a class-index target (default the last class); (n,)."""
    if z.ndim != 1 or z.shape[0] < 2:
        raise ValueError(f"z must have shape (n,) with n >= 2, got {tuple(z.shape)}.")
    target = torch.tensor([label % z.shape[0]], device=z.device)  # (1,) class index

    def loss(u: Tensor) -> Tensor:
        return F.cross_entropy(u[None, :] / T, target)  # (n,) -> (1, n)

    return _grad_wrt_student(loss, z)


def high_temperature_coefficient(z: Tensor, t: Tensor, order: int = 0) -> Tensor:
    """c_order in T^2 dCE/dz = sum_k c_k T^-k, by forward-mode autograd; shape (n,).

    With epsilon = 1/T, T^2 dCE/dz = g(epsilon)/epsilon where g(epsilon) = d CE(u, softmax(epsilon t))/du at
    u = epsilon z (the gradient w.r.t. the tempered logits; F.cross_entropy), and g(0) = 0. Hence
    c_k = g^{(k+1)}(0)/(k+1)!: ``order + 1`` nested ``torch.func.jvp`` calls in epsilon at epsilon = 0.
    c_0 is the exact T -> oo limit, without evaluating at any finite temperature.
    """
    _check_pair(z, t)
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}.")
    ce_grad = grad(lambda u, p: F.cross_entropy(u[None, :], p[None, :]))  # d/du, u: (n,)

    def g(eps: Tensor) -> Tensor:
        return ce_grad(eps * z, torch.softmax(eps * t, dim=-1))  # (n,)

    def derivative(f, k: int):
        if k == 0:
            return f
        inner = derivative(f, k - 1)
        return lambda eps: jvp(inner, (eps,), (torch.ones_like(eps),))[1]

    zero = torch.zeros((), dtype=z.dtype, device=z.device)
    return derivative(g, order + 1)(zero) / math.factorial(order + 1)


def batch_kd_gradient(Z: Tensor, Tt: Tensor) -> Tensor:
    """d/dZ of (1/b) sum_s CE(z_s, softmax(t_s)) (T = 1, the seed's minibatch loss); shape (b, n)."""
    _check_pair(Z, Tt, batch=True)
    return _grad_wrt_student(kd_loss, Z, Tt, 1.0)


def teacher_argmax(Tt: Tensor) -> Tensor:
    """The teacher's argmax class per row, shape (b,) (first index on ties)."""
    return torch.argmax(Tt, dim=-1)


def cwtm_loss(Z: Tensor, Tt: Tensor) -> Tensor:
    """Confidence Weighted by Teacher Max: (1/b) sum_s w_s CE(z_s, argmax t_s), w_s = p_{*,s}/sum_u p_{*,u}."""
    _check_pair(Z, Tt, batch=True)
    with torch.no_grad():
        top = torch.softmax(Tt, dim=-1).amax(dim=-1)  # (b, n) -> (b,): p_* at the argmax
        w = top / top.sum()  # (b,)
    per_sample = F.cross_entropy(Z, teacher_argmax(Tt), reduction="none")  # (b, n), (b,) -> (b,)
    return (w * per_sample).mean()


def cwtm_gradient(Z: Tensor, Tt: Tensor) -> Tensor:
    """d/dZ of ``cwtm_loss`` by autograd; shape (b, n)."""
    return _grad_wrt_student(cwtm_loss, Z, Tt)


def dkpp_targets(Tt: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """softmax(Tt) with each row's non-argmax entries permuted; shape (b, n).

    Without ``generator``: a cyclic shift in index order (``theory._distillation.dkpp_targets``, deterministic).
    With one: an independent uniformly random permutation per row, as the BAN paper draws it.
    """
    p = torch.softmax(Tt, dim=-1)  # (b, n)
    b, n = p.shape
    out = p.clone()
    for s, a in enumerate(teacher_argmax(Tt).tolist()):
        others = [i for i in range(n) if i != a]
        if generator is None:
            source = others[1:] + others[:1]  # p~_{others[k]} = p_{others[k+1]}
        else:
            source = [others[k] for k in torch.randperm(n - 1, generator=generator).tolist()]
        out[s, others] = p[s, source]
    return out


def dkpp_gradient(Z: Tensor, Tt: Tensor) -> Tensor:
    """d/dZ of (1/b) sum_s CE(z_s, dkpp_targets(t_s)) by autograd of ``F.cross_entropy``; shape (b, n)."""
    _check_pair(Z, Tt, batch=True)
    targets = dkpp_targets(Tt)
    return _grad_wrt_student(lambda u: F.cross_entropy(u, targets), Z)
