"""The distillation family (seed 004_e20defa2be8d861e.txt; Hinton et al. 2015): derivations, the O(1/T) law
as a measured slope, the estimators, and the built-in claims (wrong variants refuted)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import _distillation as nd
from theory import _distillation as td
from tests._roundoff import FUNCTION_OPS, assert_within, gamma, roundoff
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


def _softmax_ops(n: int) -> int:
    """softmax / log-softmax of n logits: max, subtraction, exp (a function), sum of n, division."""
    return n + FUNCTION_OPS + 3


def _kd_error(z, t, T, first_omitted: int) -> float:
    """Bound on max |T^2 kd_gradient(z, t, T) - sum_{k < first_omitted} c_k T^-k| (as computed).

    Series tail: T^2 dCE/dz is analytic in 1/T with radius pi / (max z - min z) (or t's; the nearest zero of
    sum exp(z / T)), so at 1/T far inside it the tail after c_k is at most 2 |c_k| T^-k (the next terms fall by
    a factor (spread / pi) / T <= 1/2 each); c_k by forward-mode autograd (high_temperature_coefficient).
    Round-off: kd_gradient = (softmax(z/T) - softmax(t/T)) / T, each softmax within gamma_{softmax} p, then
    / T and * T^2: T gamma_{softmax + 2} (p_z + p_t); the coefficients are computed by order + 1 nested
    jvps of the same softmax, gamma_{(order + 2) softmax} |c_k| each, and summed.
    """
    n = z.shape[0]
    spread = max(float(z.max() - z.min()), float(t.max() - t.min()))
    assert spread / math.pi / T <= 0.5, "T must be well inside the radius of convergence for the tail bound"
    c = [nd.high_temperature_coefficient(z, t, k) for k in range(first_omitted + 1)]
    tail = 2 * float(c[first_omitted].abs().max()) / T**first_omitted
    pz, pt = torch.softmax(z / T, -1), torch.softmax(t / T, -1)
    rounding = T * gamma(_softmax_ops(n) + 2) * float((pz + pt).max())
    rounding += sum(gamma((k + 2) * _softmax_ops(n) + 1) * float(c[k].abs().max()) / T**k for k in range(first_omitted))
    return tail + rounding


@pytest.mark.roundoff
def test_error_does_not_vanish_without_zero_mean():
    z, t = torch.tensor([1.0, 2.0, 3.0], dtype=F64), torch.tensor([0.0, 0.0, 0.0], dtype=F64)
    errors = [float((T**2 * nd.kd_gradient(z, t, T) - (z - t) / 3).abs().max()) for T in (1e2, 1e3, 1e4)]
    assert min(errors) > 0.6  # the mean difference 2, over n = 3
    # (z - t)/3 - c_0 = mean(z - t)/3 = 2/3 in every component, so |errors - 2/3| <= |c_1| / T + tail + round-off
    # (and the rounding of (z - t)/3: gamma_2 |z - t| / 3)
    T = 1e4
    bound = _kd_error(z, t, T, 1) + gamma(2) * float((z - t).abs().max()) / 3
    assert abs(errors[-1] - 2 / 3) <= bound, (errors[-1], bound)


@pytest.mark.roundoff
def test_forward_mode_limit_matches_large_temperature():
    rng = np.random.default_rng(2)
    z, t = _zero_mean(rng, 4), _zero_mean(rng, 4)
    c0, c1 = nd.high_temperature_coefficient(z, t, 0), nd.high_temperature_coefficient(z, t, 1)
    T = 1e3
    # the two-term expansion misses c_2 / T^2 + ... (a series tail, not round-off) plus the round-off of both sides
    assert_within(T**2 * nd.kd_gradient(z, t, T), c0 + c1 / T, _kd_error(z, t, T, 2) + gamma(2) * float((c0.abs() + c1.abs() / T).max()),
                  "T^2 grad vs c0 + c1 / T")


# --------------------------------------------------------------------------- estimators


@pytest.mark.roundoff
def test_dkpp_targets_permute_only_the_non_argmax_entries():
    Tt = torch.tensor([[0.3, 2.0, -1.0, 0.5], [1.0, -2.0, 0.0, 0.2]], dtype=F64)
    p, pt = torch.softmax(Tt, dim=-1), nd.dkpp_targets(Tt)
    assert torch.equal(pt.sort(dim=-1).values, p.sort(dim=-1).values)  # a permutation of the same floats: exact
    a = nd.teacher_argmax(Tt)
    assert torch.equal(pt.gather(1, a[:, None]), p.gather(1, a[:, None]))
    assert not torch.equal(pt, p)


@pytest.mark.roundoff
def test_cwtm_gradient_rows_are_weighted_one_hot_gradients():
    Z = torch.tensor([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]], dtype=F64)
    Tt = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    G = nd.cwtm_gradient(Z, Tt)  # (b, n)
    top = torch.softmax(Tt, dim=-1).amax(dim=-1)
    for s in range(2):
        label = int(nd.teacher_argmax(Tt)[s])
        expected = (top[s] / top.sum()) * nd.one_hot_gradient(Z[s], 1.0, label) / 2
        # both are w_s (softmax(z_s) - e_label) / b: softmax, the subtraction, w_s = top_s / sum top (2 terms), / b
        mag = (top[s] / top.sum()) * (torch.softmax(Z[s], -1) + torch.nn.functional.one_hot(torch.tensor(label), 3)) / 2
        assert_within(G[s], expected, 2 * roundoff(F64, _softmax_ops(3) + 5, mag), f"CWTM row {s}")


# --------------------------------------------------------------------------- the built-in claims


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_builtin_claim_comes_out_as_expected_quick(name):
    """Every claim, few examples, no derivation (the derivations have their own tests)."""
    claim = BY_NAME[name]
    r = check(dataclasses.replace(claim, examples=3, derivation=None), seed=0)
    assert r.verdict == claim.expected, (r.error, r.counterexample)


SINGLE_SAMPLE = [n for n, c in BY_NAME.items() if "z" in c.params]


@pytest.mark.parametrize("name", SINGLE_SAMPLE)
def test_single_sample_claims_hold_for_every_class_count_both_ends_checked(name):
    """n drawn per example in 2..10 (2..6 for the first correction), t shares z's n; the boundary set runs at both ends."""
    from verify._examples import boundary_examples
    from verify._params import size_ranges

    claim = BY_NAME[name]
    hi = 6 if name == "hinton-first-correction" else 10
    assert size_ranges(claim.params) == {"dim(z)": (2, hi)}
    examples = boundary_examples(claim.params)
    assert {len(p["z"]) for _, p in examples} == {2, hi}
    assert all(len(p["t"]) == len(p["z"]) for _, p in examples if "t" in p)


def test_the_uncentred_limit_is_refuted_at_the_smallest_class_count():
    """The expected refutation survives the range: hypothesis shrinks it to n = 2 (it is false for every n)."""
    r = check(dataclasses.replace(BY_NAME["hinton-limit-uncentred"], derivation=None), seed=0)
    assert r.verdict == "refuted" and r.counterexample["sizes"] == {"dim(z)": 2}


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
    r = check(wrong, seed=0, shrink=False)
    assert r.verdict == "refuted" and r.counterexample["std_error"] is None


@pytest.mark.roundoff
def test_relative_error_of_1e_minus_9_is_refuted():
    """The exact bound has teeth: a gradient scaled by 1 + 1e-9 is caught."""
    claim = BY_NAME["kd-gradient-kl-div"]
    wrong = dataclasses.replace(claim, name="kd-scaled", examples=5, exact=lambda z, t, T: nd.kl_gradient(z, t, T) * (1 + 1e-9))
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_one_hot_at_the_wrong_label_is_refuted():
    claim = BY_NAME["kd-gradient-one-hot"]
    wrong = dataclasses.replace(claim, name="one-hot-first-label", examples=5, closed_form=lambda z, T: td.one_hot_gradient(z, T, 0))
    assert check(wrong, seed=0, shrink=False).verdict == "refuted"


def test_dkpp_gradient_matches_kd_only_outside_the_dark_knowledge():
    r = check(dataclasses.replace(BY_NAME["dkpp-equals-kd"], examples=3), seed=0, shrink=False)  # any refuting example
    c = r.counterexample
    n = BY_NAME["dkpp-equals-kd"].params["Z"].cols
    Tt = np.asarray(c["params"]["Tt"])
    s, i = divmod(c["component"], n)
    assert i != int(np.argmax(Tt[s]))  # the refuting component is a dark-knowledge one


def test_hintons_limit_is_order_one_in_1_over_T_and_not_order_two():
    """T^2 grad - P(z - t)/n = c_1 / T + O(T^-2): measured order 1 on every example's ladder; the order-2 statement is
    refuted at a shrunk example with n >= 3 classes (c_1 vanishes at n = 2)."""
    r = check(BY_NAME["hinton-limit-order"], seed=0)
    assert r.verdict == "verified" and 0.9 < r.order["measured_min"] < 1.1
    cx = check(BY_NAME["hinton-limit-order-2"], seed=0).counterexample
    assert len(cx["params"]["z"]) >= 3 and abs(cx["order"]["measured"] - 1) < 0.05
