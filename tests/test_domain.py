"""theory._domain.clamp_to_domain: exact where the form is real, finite where float64 steps out of its domain."""

import math

import sympy as sp

from theory._domain import clamp_to_domain

c, a = sp.symbols("c a", real=True)
FORM = sp.acos(c) + sp.asin(c) * sp.sqrt(1 - c**2) + 1 / sp.sqrt(a)


def test_clamped_form_equals_the_form_inside_its_domain():
    f, g = (sp.lambdify((c, a), e, "math") for e in (FORM, clamp_to_domain(FORM)))
    for cv, av in [(-1.0, 0.5), (-0.3, 1.0), (0.0, 2.0), (0.7, 3.0), (1.0, 1e-3)]:
        assert g(cv, av) == f(cv, av)      # the same operations on an unclamped value: bitwise equal


def test_clamped_form_is_finite_just_outside_it():
    g = sp.lambdify((c, a), clamp_to_domain(FORM), "math")
    out = g(1 + 2.0**-52, 1.0)             # cos theta of parallel vectors, rounded up
    assert math.isfinite(out) and out == g(1.0, 1.0)
    h = sp.lambdify((c, a), clamp_to_domain(FORM, sqrt=False), "math")
    assert math.isfinite(h(1.0, 1.0))
    try:
        h(1 + 2.0**-52, 1.0)               # sqrt(1 - c^2) of a negative number: not guarded with sqrt=False
    except ValueError:
        pass
    else:
        raise AssertionError("sqrt=False must leave square roots alone")
