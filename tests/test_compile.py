"""The one lambdify wrapper: torch-printer edge cases, 50-digit fallback, round-off magnitudes."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

from tests._roundoff import FUNCTION_OPS, arc_error, gamma, sympy_ops, unit_roundoff
from verify import Claim, Real, Vector, check
from numerics._compile import MP_DIGITS, ClosedFormError, compile_closed_form, lambdify_torch

x, y = sp.symbols("x y", real=True)
X = torch.tensor([-0.5, 0.0, 0.3], dtype=torch.float64)
Y = torch.tensor([2.0, 3.0, 0.1], dtype=torch.float64)


@pytest.mark.roundoff
@pytest.mark.parametrize("expr, expected", [
    (sp.Max(x, 0), [0.0, 0.0, 0.3]),
    (sp.Min(x, y, 1), [-0.5, 0.0, 0.1]),
    (sp.Heaviside(x), [0.0, 0.5, 1.0]),
    (sp.Heaviside(x, 0), [0.0, 0.0, 1.0]),
    (sp.sqrt(2) * x, [-0.5 * 2**0.5, 0.0, 0.3 * 2**0.5]),
    (sp.Piecewise((sp.Rational(1, 3), x > 0), (y, True)), [2.0, 3.0, 1 / 3]),
    (sp.Integer(0) * x, [0.0, 0.0, 0.0]),
    (sp.pi * sp.exp(1) * x / 7, [-0.5 * np.pi * np.e / 7, 0.0, 0.3 * np.pi * np.e / 7]),
])
def test_torch_printer_edge_cases(expr, expected):
    out = lambdify_torch([x, y], [expr])(X, Y)
    assert out.dtype == torch.float64 and out.shape == (3, 1)
    # two float64 evaluations of one value: the printed form (its operations, plus the rounding of up to two
    # irrational constants) and the expected literal (at most 4 operations and one pow / sqrt)
    rtol = gamma(sympy_ops(expr) + 2) + gamma(FUNCTION_OPS + 4)
    np.testing.assert_allclose(out[:, 0].numpy(), np.array(expected), rtol=rtol, atol=0)


def test_nested_heaviside_keeps_boolean_conditions():
    a, b, c = sp.symbols("a b c", real=True)
    inner = a * c * sp.Heaviside(a, 0) + b
    expr = inner * sp.Heaviside(inner, 0)                     # rewrites to Piecewise with ITE conditions
    A, B, C = (torch.tensor(v, dtype=torch.float64) for v in ([1.0, -1.0, 2.0], [-3.0, 0.5, 0.0], [2.0, 5.0, -1.0]))
    out = lambdify_torch([a, b, c], [expr])(A, B, C)[:, 0]
    inner_v = A * C * (A > 0) + B
    np.testing.assert_array_equal(out.numpy(), (inner_v * (inner_v > 0)).numpy())


def test_matrix_closed_form_is_flattened_in_row_major_order():
    cf, _ = compile_closed_form(lambda a: sp.Matrix([[a, 2 * a], [3 * a, sp.Max(a, 1)]]), ["a"], [Real(0, 1)])
    assert cf.shape == (2, 2)
    values, mag, _ = cf.evaluate({"a": np.asarray(0.5)})
    np.testing.assert_array_equal(values, [0.5, 1.0, 1.5, 1.0])
    assert np.all(mag >= np.abs(values))


def _angle_form(w, v):
    return sp.Matrix([sp.acos((w.T * v)[0] / sp.sqrt((w.T * w)[0] * (v.T * v)[0]))])


@pytest.mark.roundoff
def test_parallel_vectors_fall_back_to_50_digits():
    cf, _ = compile_closed_form(_angle_form, ["w", "v"], [Vector(3), Vector(3)])
    w = np.array([0.3, 0.7, 1.1])
    v = w * 3.0  # float64 rounding can put cos(theta) just above 1
    params = {"w": w, "v": v}
    f64, used_hp = cf.evaluate_f64(params)
    assert np.isfinite(f64).all()
    ref, _, _ = cf.evaluate(params)
    # theta is 0 up to the float64 rounding of v = fl(3 w): ||v - 3 w|| <= u ||3 w||, an angle <= asin(u);
    # the 50-digit value is exact to far below that, then rounded once (relative u)
    assert abs(ref[0]) <= math.asin(unit_roundoff()) * (1 + unit_roundoff())
    # equal vectors: acos(1 +- 1e-50) is complex at 50 digits with a 1e-25 imaginary part -> real 0; the real part
    # is at most acos of a cosine 1 - ops u_50 (u_50: the 50-digit unit round-off), the Hoelder bound
    ref, _, _ = cf.evaluate({"w": w, "v": w.copy()})
    with mpmath.workdps(MP_DIGITS):
        u50 = float(mpmath.mp.eps) / 2
    assert ref[0] == pytest.approx(0.0, abs=arc_error(1.0, cf.ops * u50))


def test_magnitude_measures_cancellation():
    cf, _ = compile_closed_form(lambda a, b: a - b, ["a", "b"], [Real(0, 2), Real(0, 2)])
    values, mag, _ = cf.evaluate({"a": np.asarray(1.0), "b": np.asarray(1.0)})
    assert values[0] == 0.0 and mag[0] == 2.0


@pytest.mark.parametrize("closed_form, fragment", [
    (lambda a: 1 / 0, "closed_form raised ZeroDivisionError"),
    (lambda a: "a + 1", "closed_form returned str"),
    (lambda a: torch.tensor(1.0), "closed_form returned Tensor"),
    (lambda a: a + sp.Symbol("b"), "symbols ['b'] that are not parameters"),
    (lambda a: sp.sqrt(-1 - a ** 2) * sp.I, "contains I"),
])
def test_bad_closed_forms_are_reported(closed_form, fragment):
    with pytest.raises(ClosedFormError) as info:
        compile_closed_form(closed_form, ["a"], [Real(0, 1)])
    assert fragment in str(info.value)


def test_non_finite_closed_form_is_an_error_verdict_not_a_pass():
    claim = Claim(name="log-domain", params={"a": Real(-1, 1)}, closed_form=lambda a: sp.log(a),
                  exact=lambda a: torch.log(a))
    r = check(claim)
    assert r.verdict == "error" and "non-finite" in r.error and "also at 50 digits" in r.error


@pytest.mark.roundoff
def test_a_jump_within_round_off_is_skipped_as_undecidable_and_reported():
    """sign(w.w - w.v) at w = v: the branch is not determined in float64, so that example is not judged."""
    def closed_form(w, v):
        return sp.sign((w.T * w)[0] - (w.T * v)[0]) * (w.T * w)[0]

    def exact(w, v):
        return torch.sign(w @ w - w @ v) * (w @ w)

    r = check(Claim(name="jump", params={"w": Vector(3), "v": Vector(3)}, closed_form=closed_form, exact=exact, examples=10))
    assert r.verdict == "verified" and r.undecidable_examples >= 1 and r.examples > r.undecidable_examples


def test_subnormal_values_are_never_drawn():
    from hypothesis.errors import NoSuchExample

    from tests._search import find_as_engine
    with pytest.raises(NoSuchExample):
        find_as_engine(Real(-2, 2).strategy(), lambda x: 0 < abs(float(x)) < np.finfo(np.float64).smallest_normal)
