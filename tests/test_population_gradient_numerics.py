"""numerics: per-sample teacher-student gradients (analytic vs autograd), RNG discipline, devices.

Autograd through ``TwoLayerReLU`` is the reference for the analytic per-sample gradient: both compute
the same finite expression per sample, so they agree to float64 round-off.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import (
    TwoLayerReLU,
    autograd_gradient_samples,
    network_gradient_samples,
    population_gradient_samples,
    resolve_device,
)
from numerics._population_gradient import (
    gating_kernel_samples,
    population_loss_samples,
    relu_kernel_samples,
)
from tests._roundoff import assert_within, roundoff
from theory import network_population_gradient
from verify._stats import critical_z

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _weights(seed: int, K: int = 3, M: int = 2, d: int = 4, dtype=F64):
    g = _gen(seed)
    return torch.randn(K, d, generator=g, dtype=dtype), torch.randn(M, d, generator=g, dtype=dtype)


# Round-off (tests/_roundoff.py): f(x) = sum_j v_j relu(w_j^T x) has |terms| F(x) = sum_j |v_j| |w_j|^T |x| (d + K
# operations); the per-sample gradient (f - f*) v_j 1(w_j^T x > 0) x has (F + F*) |v_j| |x| (2d + K + M + 6 along
# the longest path: both forward passes, the residual, the products or autograd's backward pass).
def _forward_abs(W, v, x):
    return x.abs() @ W.abs().T @ v.abs()  # (n,)


def _gradient_bound(W, W_star, v, v_star, x):
    """(n, K, d) bound on each of two computations of the per-sample gradient."""
    K, d = W.shape
    F = _forward_abs(W, v, x) + _forward_abs(W_star, v_star, x)  # (n,)
    return roundoff(F64, 2 * d + K + W_star.shape[0] + 6, F[:, None, None] * v.abs()[None, :, None] * x.abs()[:, None, :])


@pytest.mark.roundoff
def test_two_layer_relu_forward():
    W, _ = _weights(0)
    v = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    x = torch.randn(7, 4, generator=_gen(1), dtype=F64)
    net = TwoLayerReLU(W, v)
    expected = torch.stack([sum(v[j] * torch.relu(W[j] @ x_i) for j in range(3)) for x_i in x])
    assert_within(net(x), expected, 2 * roundoff(F64, 4 + 3 + 1, _forward_abs(W, v, x)), "forward")  # d + K + 1
    assert [name for name, _ in net.named_parameters()] == ["W"] and [name for name, _ in net.named_buffers()] == ["v"]
    assert torch.equal(TwoLayerReLU(W).v, torch.ones(3, dtype=F64))  # the default output weights: exactly ones


@pytest.mark.roundoff
def test_autograd_equals_analytic_network():
    W, W_star = _weights(2)
    auto = autograd_gradient_samples(W, W_star, 2000, _gen(3))
    analytic = network_gradient_samples(W, W_star, 2000, _gen(3))
    assert auto.shape == analytic.shape == (2000, 3, 4)
    ones, ones_star = torch.ones(3, dtype=F64), torch.ones(2, dtype=F64)
    x = torch.randn(2000, 4, generator=_gen(3), dtype=F64)  # the estimators' draws
    assert_within(auto, analytic, 2 * _gradient_bound(W, W_star, ones, ones_star, x), "autograd vs analytic")


@pytest.mark.roundoff
def test_autograd_equals_analytic_with_output_weights():
    W, W_star = _weights(4)
    v, v_star = torch.tensor([0.5, -1.5, 2.0], dtype=F64), torch.tensor([-0.7, 1.3], dtype=F64)
    auto = autograd_gradient_samples(W, W_star, 2000, _gen(5), v=v, v_star=v_star)
    x = torch.randn(2000, 4, generator=_gen(5), dtype=F64)
    assert_within(auto, network_gradient_samples(W, W_star, 2000, _gen(5), v=v, v_star=v_star),
                  2 * _gradient_bound(W, W_star, v, v_star, x), "autograd vs analytic, output weights")


@pytest.mark.roundoff
def test_autograd_equals_analytic_one_node():
    W, W_star = _weights(6, K=1, M=1)
    w, w_star = W[0], W_star[0]
    one = population_gradient_samples(w, w_star, 2000, _gen(7))
    assert one.shape == (2000, 4)
    auto = autograd_gradient_samples(w[None, :], w_star[None, :], 2000, _gen(7))  # (n, 1, d)
    x = torch.randn(2000, 4, generator=_gen(7), dtype=F64)  # the same draws, by hand
    bound = 2 * _gradient_bound(W, W_star, torch.ones(1, dtype=F64), torch.ones(1, dtype=F64), x)[:, 0, :]
    assert_within(auto[:, 0, :], one, bound, "autograd vs analytic, one node")
    by_hand = ((torch.relu(x @ w) - torch.relu(x @ w_star)) * (x @ w > 0))[:, None] * x  # (n,) -> (n, 1) * (n, d)
    assert_within(one, by_hand, bound, "analytic vs by hand")


@pytest.mark.roundoff
def test_kernel_and_loss_samples_by_hand():
    W, W_star = _weights(14, K=1, M=1)
    w, v = W[0], W_star[0]
    x = torch.randn(1000, 4, generator=_gen(15), dtype=F64)  # the same draws as each estimator's
    rw, rv = torch.relu(x @ w), torch.relu(x @ v)  # (n,)
    # two computations each: dot products of d = 4 and at most 4 elementwise operations, on the |terms|
    aw, av = x.abs() @ w.abs(), x.abs() @ v.abs()  # (n,) magnitudes of w^T x, v^T x
    k = 4 + 4
    assert_within(gating_kernel_samples(w, v, 1000, _gen(15)), ((x @ w > 0) * rv)[:, None] * x,
                  2 * roundoff(F64, k, av[:, None] * x.abs()), "gating kernel samples")
    assert_within(relu_kernel_samples(w, v, 1000, _gen(15)), rw * rv, 2 * roundoff(F64, k, aw * av), "ReLU kernel samples")
    loss_mag = (aw + av) ** 2 / 2  # = aw^2 / 2 + aw av + av^2 / 2, also the decomposition's |terms|
    assert_within(population_loss_samples(w, v, 1000, _gen(15)), (rw - rv) ** 2 / 2, 2 * roundoff(F64, k, loss_mag), "loss samples")
    # the loss per sample is 1/2 rw^2 - rw rv + 1/2 rv^2: the kernel decomposition behind population_loss
    assert_within(population_loss_samples(w, v, 1000, _gen(15)),
                  relu_kernel_samples(w, w, 1000, _gen(15)) / 2 - relu_kernel_samples(w, v, 1000, _gen(15))
                  + relu_kernel_samples(v, v, 1000, _gen(15)) / 2, 2 * roundoff(F64, k + 3, loss_mag), "kernel decomposition")
    with pytest.raises(ValueError, match="same shape"):
        gating_kernel_samples(w, v[:3], 10, _gen(0))
    with pytest.raises(ValueError, match="w and w_star"):
        population_loss_samples(W, v, 10, _gen(0))


def test_same_seed_same_samples_and_no_global_rng():
    W, W_star = _weights(8)
    state = torch.random.get_rng_state()
    for fn in (network_gradient_samples, autograd_gradient_samples):
        a, b, c = (fn(W, W_star, 500, _gen(s)) for s in (11, 11, 12))
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_follow_inputs(dtype):
    W, W_star = _weights(9, dtype=dtype)
    for out in (network_gradient_samples(W, W_star, 10, _gen(0)), autograd_gradient_samples(W, W_star, 10, _gen(0)),
                population_gradient_samples(W[0], W_star[0], 10, _gen(0))):
        assert out.dtype == dtype and out.device == W.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_inputs_stay_on_cuda():
    W, W_star = (t.cuda() for t in _weights(10))
    g = torch.Generator(device="cuda").manual_seed(0)
    out = autograd_gradient_samples(W, W_star, 100, g)
    assert out.device.type == "cuda" and out.dtype == F64


def test_bad_shapes_are_rejected():
    W, W_star = _weights(11)
    with pytest.raises(ValueError, match="same d"):
        network_gradient_samples(W, W_star[:, :3], 10, _gen(0))
    with pytest.raises(ValueError, match="3 hidden units"):
        autograd_gradient_samples(W, W_star, 10, _gen(0), v=torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match=r"\(d,\)"):
        population_gradient_samples(W, W_star, 10, _gen(0))
    with pytest.raises(ValueError, match="n must be"):
        network_gradient_samples(W, W_star, 0, _gen(0))


@pytest.mark.roundoff
def test_network_estimator_is_unbiased_for_the_closed_form():
    # |z| <= critical_z(1e-6, 12) ~ 5.3 per component: a correct closed form fails with probability <= 1e-6
    # (two-sided normal tail, Bonferroni over 12 components; n = 200_000, fixed seed); a discrepancy of 8
    # standard errors in one component is caught with probability > 0.99. The sample mean's round-off
    # (gamma_n mean|X|) and the closed form's (general position: ~1e-15) are far below one SE (~1e-3).
    W, W_star = _weights(12)
    samples = network_gradient_samples(W, W_star, 200_000, _gen(13))  # (n, K, d)
    mean, stderr = samples.mean(0), samples.std(0) / samples.shape[0] ** 0.5  # (K, d)
    S, S_star = sp.Matrix(3, 4, sp.symbols("W_0:12", real=True)), sp.Matrix(2, 4, sp.symbols("S_0:8", real=True))
    f = sp.lambdify(list(S) + list(S_star), network_population_gradient(S, S_star), "numpy")
    closed = torch.from_numpy(np.asarray(f(*W.ravel().tolist(), *W_star.ravel().tolist()), dtype=np.float64))
    z = (mean - closed) / stderr
    slack = roundoff(F64, samples.shape[0], samples.abs().mean(0)) / stderr
    assert bool((z.abs() <= critical_z(1e-6, z.numel()) + slack).all()), z


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError) as info:
        resolve_device("cuda")
    assert str(info.value) == "--device cuda: no CUDA device is available (torch.cuda.is_available() is False); use --device cpu or auto."
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"'tpu'.*auto, cpu, cuda"):
        resolve_device("tpu")
