"""The built-in population-gradient claims end to end, and deliberately wrong variants refuted."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from numerics import _population_gradient as nts
from numerics import network_gradient_samples
from theory import network_population_gradient, population_gradient
from verify import Claim, Matrix, Real, Vector, check
from verify._draws import Gaussian
from verify.claims import builtin_claims

BUILTIN = builtin_claims()


@pytest.mark.parametrize("name", sorted(n for n, c in BUILTIN.items() if c.family == "population-gradient"))
def test_builtin_claim_is_verified(name):
    """Fast tier: each claim with 5 random examples (boundary examples and sweeps all run), without its derivation
    (proven in tests/test_population_gradient_theory.py); the slow tier runs every claim as shipped over seeds."""
    r = check(dataclasses.replace(BUILTIN[name], examples=5, derivation=None), seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)
    assert r.statistic["value"] < r.statistic["threshold"]
    assert r.examples >= r.boundary_examples > 0
    assert r.detectable_relative is not None and r.detectable_relative < 0.1   # the check has teeth


def _flip_sin_term(w, w_star):
    """The printed form with the sign of the sin-term flipped: wrong, and wrong only where theta != 0, pi."""
    correct = population_gradient(w, w_star)
    nw, ns = sp.sqrt((w.T * w)[0]), sp.sqrt((w_star.T * w_star)[0])
    theta = sp.acos((w.T * w_star)[0] / (nw * ns))
    return correct - 2 * (-ns / nw * sp.sin(theta) * w) / (2 * sp.pi)


def test_wrong_variant_is_refuted_with_a_shrunk_counterexample():
    wrong = dataclasses.replace(BUILTIN["population-gradient-mc"], name="wrong-sin-sign", closed_form=_flip_sin_term,
                                derivation=None)
    r = check(wrong, seed=0)
    assert r.verdict == "refuted"
    c = r.counterexample
    assert c["shrunk"] and c["command"].startswith("theorycheck run wrong-sin-sign --seed 0")
    assert abs(c["difference"]) > c["threshold"] * c["std_error"][c["component"]]
    # replaying the counterexample reproduces the refutation, bit for bit
    import numpy as np
    replay = {k: np.asarray(v) for k, v in c["params"].items()}
    again = check(wrong, seed=0, replay=replay)
    assert again.verdict == "refuted" and again.counterexample["estimate"] == c["estimate"]


def test_network_with_a_dropped_teacher_term_is_refuted():
    def missing_teacher(W, W_star):
        return network_population_gradient(W, W_star[:1, :])   # forgets teacher node 2

    claim = Claim(name="network-missing-teacher", params={"W": Matrix(3, 4), "W_star": Matrix(2, 4)},
                  closed_form=missing_teacher, monte_carlo=network_gradient_samples, examples=10)
    assert check(claim, shrink=False).verdict == "refuted"


@pytest.mark.roundoff
def test_exact_method_round_off_bound():
    """exact=: autograd vs the SymPy derivative agree within 2 gamma_N |terms|; a factor 1 + 1e-9 does not."""

    def closed_form(a, b):
        return sp.diff(sp.sin(a) * sp.exp(b * a) - a**3 / 3, a)

    def autograd(a, b, scale=1.0):
        a = a.clone().requires_grad_(True)
        (torch.sin(a) * torch.exp(b * a) - a**3 / 3).backward()
        return a.grad * scale

    ok = Claim(name="exact-ok", params={"a": Real(-3, 3), "b": Real(-2, 2)}, closed_form=closed_form, exact=autograd)
    r = check(ok)
    assert r.verdict == "verified" and r.false_refutation_rate == 0.0 and r.statistic["value"] <= 1.0
    bad = dataclasses.replace(ok, name="exact-bad", exact=lambda a, b: autograd(a, b, 1 + 1e-9))
    r = check(bad, shrink=False)
    assert r.verdict == "refuted" and r.counterexample["std_error"] is None


# --------------------------------------------------------------------------- engine-owned inputs


@pytest.mark.parametrize("name", sorted(n for n, c in BUILTIN.items() if c.family == "population-gradient"))
def test_monte_carlo_claims_declare_their_gaussian_input(name):
    """x ~ N(0, I_d) is engine-owned (so the engine may pair it antithetically and fit Hermite controls): d = 4, or
    for the claims stated for every dimension, the drawn dimension of their first vector (d in 2..8)."""
    c = BUILTIN[name]
    assert c.method == "monte_carlo"
    if name in EVERY_D:
        first, second = c.params.values()
        assert c.inputs == {"x": Gaussian(dim="w")} and first == Vector(dim=(2, 8)) and second == Vector(dim="w")
    else:
        assert c.inputs == {"x": Gaussian(4)}


EVERY_D = {"population-gradient-autograd", "gating-kernel-mc", "relu-kernel-mc", "population-loss-mc"}


def test_claims_for_every_dimension_are_checked_at_both_ends_of_the_range():
    """The boundary set runs at d = 2 and d = 8; the fixed-size twin population-gradient-mc (its sweep, mutation
    certificate and report figures) stays at d = 4."""
    from verify._examples import boundary_examples

    assert BUILTIN["population-gradient-mc"].params == {"w": Vector(4), "w_star": Vector(4)}
    for name in EVERY_D:
        sizes = {len(p["w"]) for _, p in boundary_examples(BUILTIN[name].params)}
        assert sizes == {2, 8}, name


def _pair(seed: int, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)


def test_generator_forms_are_the_input_forms_at_the_generators_draws():
    """One implementation: each ``*_samples(n, generator)`` draws x ~ N(0, I_d) and calls ``*_at(x)`` -- the same
    computation on the same x, so the results are bitwise equal."""
    w, w_star = _pair(0)
    W = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    W_star = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    v, v_star = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64), torch.tensor([0.3, -1.0], dtype=torch.float64)
    n = 257
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    gen = lambda: torch.Generator().manual_seed(9)  # noqa: E731  (the generator x came from)
    pairs = [
        (nts.population_gradient_samples(w, w_star, n, gen()), nts.population_gradient_at(w, w_star, x)),
        (nts.gating_kernel_samples(w, w_star, n, gen()), nts.gating_kernel_at(w, w_star, x)),
        (nts.relu_kernel_samples(w, w_star, n, gen()), nts.relu_kernel_at(w, w_star, x)),
        (nts.population_loss_samples(w, w_star, n, gen()), nts.population_loss_at(w, w_star, x)),
        (nts.network_gradient_samples(W, W_star, n, gen(), v=v, v_star=v_star), nts.network_gradient_at(W, W_star, x, v, v_star)),
        (nts.autograd_gradient_samples(W, W_star, n, gen(), v=v, v_star=v_star), nts.autograd_gradient_at(W, W_star, x, v, v_star)),
    ]
    for drawn, given_x in pairs:
        assert torch.equal(drawn, given_x)


def test_input_forms_reject_inputs_of_the_wrong_shape_or_dtype():
    w, w_star = _pair(3)
    with pytest.raises(ValueError, match=r"x must be an \(n, 4\)"):
        nts.population_gradient_at(w, w_star, torch.zeros(10, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="dtype and device"):
        nts.relu_kernel_at(w, w_star, torch.zeros(10, 4, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"x must be an \(n, 4\)"):
        nts.autograd_gradient_at(w[None, :], w_star[None, :], torch.zeros(4, dtype=torch.float64))
