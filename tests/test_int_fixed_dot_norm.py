"""Int and Fixed parameters, dot and norm of SymPy columns: a claim written with them is checked like any other."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from verify import Claim, Fixed, Gaussian, Int, ParameterSpecError, Vector, check, dot, norm
from verify._examples import boundary_examples


def _claim(slip: float = 1.0, **kw):
    """E[(k w.x)^2 + eps] = k^2 |w|^2 + eps for x ~ N(0, I): an integer factor, a constant, a norm."""
    def closed_form(w, k, eps):
        return slip * k**2 * norm(w) ** 2 + eps

    def monte_carlo(w, k, eps, x):
        assert float(k) == int(k) and float(eps) == 0.25
        return (k * (x @ w)) ** 2 + eps

    return Claim(name="int-fixed", params={"w": Vector(3), "k": Int(1, 4), "eps": Fixed(0.25)},
                 inputs={"x": Gaussian(3)}, closed_form=closed_form, monte_carlo=monte_carlo,
                 **{"examples": 12, "samples": 20_000, **kw})


def test_a_correct_claim_over_int_and_fixed_is_verified_and_a_one_percent_slip_refuted():
    assert check(_claim(), seed=1).verdict == "verified"
    res = check(_claim(slip=1.01, samples=200_000), seed=1, shrink=False)
    assert res.verdict == "refuted", res.error


def test_int_draws_integers_in_range_and_fixed_draws_its_value_only():
    from hypothesis import given, settings

    seen = set()

    @settings(max_examples=60, database=None, derandomize=True)
    @given(Int(-2, 3).strategy(), Fixed(1e-5).strategy())
    def draw(k, eps):
        assert float(k) == round(float(k)) and -2 <= float(k) <= 3
        assert float(eps) == 1e-5
        seen.add(float(k))

    draw()
    assert {-2.0, 3.0} <= seen or len(seen) >= 4
    specs = {"k": Int(2, 9), "eps": Fixed(0.5)}
    ex = boundary_examples(specs)
    assert {float(p["k"]) for _, p in ex} >= {2.0, 9.0}         # both ends tested on purpose
    assert all(float(p["eps"]) == 0.5 for _, p in ex)             # the constant never moves, adds no boundary
    assert not any(label.startswith("eps=") for label, _ in ex)


@pytest.mark.parametrize("make, text", [
    (lambda: Int(1.5, 3), "bounds must be integers"),
    (lambda: Int(3, 3), "low must be < high"),
    (lambda: Fixed(float("nan")), "finite number"),
    (lambda: Fixed("1e-5"), "finite number"),
])
def test_bad_specs_are_one_clear_error(make, text):
    with pytest.raises(ParameterSpecError, match=text):
        make()


def test_dot_and_norm_of_columns():
    x, y = Vector(3).symbols("x"), Vector(3).symbols("y")
    assert sp.expand(dot(x, y) - (x.T * y)[0]) == 0
    assert sp.simplify(norm(x) ** 2 - (x.T * x)[0]) == 0
    assert dot(x.T, y) == dot(x, y)                             # a row is taken as a column
    with pytest.raises(TypeError, match="lengths differ"):
        dot(x, Vector(2).symbols("z"))
    with pytest.raises(TypeError, match="a 2 x 3 matrix"):
        norm(sp.Matrix(2, 3, list(range(6))))
    with pytest.raises(TypeError, match="expected a SymPy column"):
        dot(sp.Symbol("a"), x)
    assert float(norm(sp.Matrix([3, 4]))) == 5.0
    assert np.isclose(float(dot(sp.Matrix([1, 2]), sp.Matrix([3, 4]))), 11.0)

