"""The built-in population-gradient claims end to end, and deliberately wrong variants refuted."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from numerics import network_gradient_samples
from theory import network_population_gradient, population_gradient
from verify import Claim, Matrix, Real, check
from verify.claims import builtin_claims

BUILTIN = builtin_claims()


@pytest.mark.parametrize("name", sorted(n for n, c in BUILTIN.items() if c.family == "population-gradient"))
def test_builtin_claim_is_verified(name):
    """Fast tier: each claim with 5 random examples (boundary examples and sweeps all run); the slow
    tier runs every claim as shipped over several seeds."""
    r = check(dataclasses.replace(BUILTIN[name], examples=5), seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)
    assert r.statistic["value"] < r.statistic["threshold"]
    assert r.examples >= r.boundary_examples > 0
    assert r.detectable_relative is not None and r.detectable_relative < 0.1   # the check has teeth
    if r.derivation is not None:
        assert r.derivation["proven"]


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
    assert check(claim).verdict == "refuted"


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
    r = check(bad)
    assert r.verdict == "refuted" and r.counterexample["std_error"] is None
