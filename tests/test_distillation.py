"""The distillation family (seed 004_e20defa2be8d861e.txt; Hinton et al. 2015): derivations, the O(1/T) law
as a measured slope, the estimators, and the built-in claims (wrong variants refuted)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import _distillation as nd
from theory import _distillation as td
from verify import check
from verify.claims._distillation import CLAIMS

BY_NAME = {c.name: c for c in CLAIMS}
F64 = torch.float64


def _symbols(name, n):
    return sp.Matrix(n, 1, sp.symbols(f"{name}_0:{n}", real=True))


def _zero_mean(rng, n, scale=2.0):
    v = rng.standard_normal(n) * scale
    return torch.tensor(v - v.mean(), dtype=F64)  # (n,)


# --------------------------------------------------------------------------- symbolic


@pytest.mark.parametrize("n", [3])
def test_gradient_derivation_is_proven(n):
    for derivation in (td.derivation_gradient, td.derivation_gradient_sum, td.derivation_hinton_limit, td.derivation_centred_limit):
        r = derivation(n)
        assert r.proven, (r.statement, r.difference)


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4, 5, 6])
def test_gradient_derivation_is_proven_many_classes(n):
    test_gradient_derivation_is_proven(n)


@pytest.mark.slow
@pytest.mark.parametrize("derivation", [td.derivation_first_correction, td.derivation_batch_terms_cancel, td.derivation_cwtm_gradient])
def test_other_derivations_are_proven(derivation):
    r = derivation()
    assert r.proven, (r.statement, r.difference)


@pytest.mark.slow
def test_taylor_coefficient_equals_series_coefficient():
    z, t = _symbols("z", 3), _symbols("t", 3)
    series = td.derivation_first_correction(3).derived
    assert (td.high_temperature_coefficient(z, t, 1) - series).applyfunc(sp.expand) == sp.zeros(3, 1)
    assert (td.high_temperature_coefficient(z, t, 0) - td.hinton_limit(td.centre(z), td.centre(t))).applyfunc(sp.expand) == sp.zeros(3, 1)


def test_first_correction_vanishes_for_two_classes_only():
    """Finding: n = 2 makes T^2 grad odd in the logits, so its 1/T term is 0; for n >= 3 it is not, even zero-mean."""
    z, t = _symbols("z", 2), _symbols("t", 2)
    assert td.high_temperature_coefficient(z, t, 1).applyfunc(sp.expand) == sp.zeros(2, 1)
    z, t = sp.Matrix([1, 0, -1]), sp.Matrix([0, 1, -1])  # zero-mean, rational
    c1 = td.high_temperature_coefficient(z, t, 1).applyfunc(sp.nsimplify)
    assert c1 == sp.Matrix([sp.Rational(1, 6), sp.Rational(-1, 6), 0])


def test_wrong_printed_forms_are_not_proven():
    z, t = _symbols("z", 3), _symbols("t", 3)
    no_temperature = td.softmax(z, td.T) - td.softmax(t, td.T)  # forgets the chain rule's 1/T
    assert not td.compare("no 1/T", td.derived_gradient(z, t), no_temperature).proven
    assert not td.compare("uncentred", td.high_temperature_coefficient(z, t, 0), td.hinton_limit(z, t)).proven


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="n >= 2"):
        td.softmax(sp.Matrix([1]))
    with pytest.raises(ValueError, match="must match"):
        td.distillation_gradient(_symbols("z", 3), _symbols("t", 4), 1)
    with pytest.raises(ValueError, match=r"\(n,\)"):
        nd.kd_gradient(torch.zeros(3, dtype=F64), torch.zeros(4, dtype=F64), 1.0)
    with pytest.raises(ValueError, match="order"):
        nd.high_temperature_coefficient(torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64), -1)


# --------------------------------------------------------------------------- the O(1/T) law, measured


def _error_slope(z, t, temperatures):
    """log-log slope of |T^2 grad - (z - t)/n| against T (autograd of F.cross_entropy at each T)."""
    n = z.shape[0]
    errors = [float((T**2 * nd.kd_gradient(z, t, T) - (z - t) / n).abs().max()) for T in temperatures]
    return np.polyfit(np.log(temperatures), np.log(errors), 1)[0]


TEMPERATURES = np.geomspace(30.0, 1000.0, 8)


def test_error_is_order_one_over_T_for_zero_mean_logits():
    rng = np.random.default_rng(0)
    for _ in range(5):
        z, t = _zero_mean(rng, 5), _zero_mean(rng, 5)
        assert -1.1 < _error_slope(z, t, TEMPERATURES) < -0.9


def test_error_is_order_one_over_T_squared_when_c1_vanishes():
    rng = np.random.default_rng(1)
    z = _zero_mean(rng, 5)
    assert -2.1 < _error_slope(z, -z, TEMPERATURES) < -1.9  # t = -z
    z, t = _zero_mean(rng, 2), _zero_mean(rng, 2)
    assert -2.1 < _error_slope(z, t, TEMPERATURES) < -1.9  # two classes


def test_error_does_not_vanish_without_zero_mean():
    z, t = torch.tensor([1.0, 2.0, 3.0], dtype=F64), torch.tensor([0.0, 0.0, 0.0], dtype=F64)
    errors = [float((T**2 * nd.kd_gradient(z, t, T) - (z - t) / 3).abs().max()) for T in (1e2, 1e3, 1e4)]
    assert min(errors) > 0.6  # the mean difference 2, over n = 3
    assert abs(errors[-1] - 2 / 3) < 1e-3


def test_forward_mode_limit_matches_large_temperature():
    rng = np.random.default_rng(2)
    z, t = _zero_mean(rng, 4), _zero_mean(rng, 4)
    c0, c1 = nd.high_temperature_coefficient(z, t, 0), nd.high_temperature_coefficient(z, t, 1)
    T = 1e3
    torch.testing.assert_close(T**2 * nd.kd_gradient(z, t, T), c0 + c1 / T, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- estimators


def test_dkpp_targets_permute_only_the_non_argmax_entries():
    Tt = torch.tensor([[0.3, 2.0, -1.0, 0.5], [1.0, -2.0, 0.0, 0.2]], dtype=F64)
    p, pt = torch.softmax(Tt, dim=-1), nd.dkpp_targets(Tt)
    torch.testing.assert_close(pt.sort(dim=-1).values, p.sort(dim=-1).values)
    a = nd.teacher_argmax(Tt)
    assert torch.equal(pt.gather(1, a[:, None]), p.gather(1, a[:, None]))
    assert not torch.equal(pt, p)


def test_cwtm_gradient_rows_are_weighted_one_hot_gradients():
    Z = torch.tensor([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]], dtype=F64)
    Tt = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    G = nd.cwtm_gradient(Z, Tt)  # (b, n)
    top = torch.softmax(Tt, dim=-1).amax(dim=-1)
    for s in range(2):
        expected = (top[s] / top.sum()) * nd.one_hot_gradient(Z[s], 1.0, int(nd.teacher_argmax(Tt)[s])) / 2
        torch.testing.assert_close(G[s], expected, rtol=1e-14, atol=1e-16)


# --------------------------------------------------------------------------- the built-in claims


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_builtin_claim_comes_out_as_expected_quick(name):
    """Every claim, few examples, no derivation (the derivations have their own tests)."""
    claim = BY_NAME[name]
    r = check(dataclasses.replace(claim, examples=3, derivation=None), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_builtin_claim_comes_out_as_expected(name):
    claim = BY_NAME[name]
    r = check(claim, seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)
    if r.derivation is not None:
        assert r.derivation["proven"]


def test_gradient_without_temperature_factor_is_refuted():
    wrong = dataclasses.replace(BY_NAME["kd-gradient-cross-entropy"], name="kd-no-1-over-T", derivation=None, examples=5,
                                closed_form=lambda z, t, T: td.distillation_gradient(z, t, T) * T)
    r = check(wrong, seed=0)
    assert r.verdict == "refuted" and r.counterexample["std_error"] is None


def test_relative_error_of_1e_minus_9_is_refuted():
    """The exact bound has teeth: a gradient scaled by 1 + 1e-9 is caught."""
    claim = BY_NAME["kd-gradient-kl-div"]
    wrong = dataclasses.replace(claim, name="kd-scaled", examples=5, exact=lambda z, t, T: nd.kl_gradient(z, t, T) * (1 + 1e-9))
    assert check(wrong, seed=0).verdict == "refuted"


def test_one_hot_at_the_wrong_label_is_refuted():
    claim = BY_NAME["kd-gradient-one-hot"]
    wrong = dataclasses.replace(claim, name="one-hot-first-label", examples=5, closed_form=lambda z, T: td.one_hot_gradient(z, T, 0))
    assert check(wrong, seed=0).verdict == "refuted"


def test_dkpp_gradient_matches_kd_only_outside_the_dark_knowledge():
    r = check(dataclasses.replace(BY_NAME["dkpp-equals-kd"], examples=3), seed=0)
    c = r.counterexample
    n = BY_NAME["dkpp-equals-kd"].params["Z"].cols
    Tt = np.asarray(c["params"]["Tt"])
    s, i = divmod(c["component"], n)
    assert i != int(np.argmax(Tt[s]))  # the refuting component is a dark-knowledge one
