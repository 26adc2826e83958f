"""Correct claims that vanish at a boundary example where the estimator is deterministic (issue 12, item 2).

Random-hyperplane rounding (Goemans & Williamson 1995): for w ~ N(0, I), P[sign(w.x) != sign(w.y)] =
theta / pi, theta the angle between x and y. At the boundary example y = x every sample is 0 (SE = 0), and
the closed form is 0 -- but its 50-digit evaluation from float64 inputs sees the cosine as 1 - 2.7e-51,
which acos, sqrt (and atan2 of a sqrt) amplify to ~1e-26. The engine used to refute these correct claims
on every seed ("closed form 2.3e-26, estimate 0 +- 0; statistic inf"). The same angle is written here
through each function near its branch point (acos at 1, asin of a sqrt at 0, atan2 at (0+, 1), sqrt at
0, log(1 + p) at p = 0), and each is checked with a wrong twin that must still be refuted.

Every check is seeded (run seed 0) and has false-refutation rate <= 1e-6 (the claim's default).
"""

from __future__ import annotations

import sympy as sp
import torch

import pytest

from verify import Claim, Vector, check


def _cos(x, y):
    return (x.T * y)[0] / (sp.sqrt((x.T * x)[0]) * sp.sqrt((y.T * y)[0]))


def _differ(x, y, n, generator):
    """Per-sample indicator that the random hyperplane separates x and y: exactly 0 for every sample at y = x."""
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return ((w @ x > 0) != (w @ y > 0)).to(x.dtype)


def _angle_over_pi(x, y):
    """theta / pi in float64, for estimators that need it (not the closed form under test)."""
    c = torch.dot(x, y) / (torch.linalg.vector_norm(x) * torch.linalg.vector_norm(y))
    return torch.arccos(c.clamp(-1.0, 1.0)) / torch.pi


def _log_term(x, y, n, generator):
    """E[b log(1 + p) / p] = log(1 + p) for b ~ Bernoulli(p), p = theta / pi: 0 at y = x, where every b is 0."""
    b = _differ(x, y, n, generator)
    p = _angle_over_pi(x, y)
    return b * (torch.log1p(p) / p) if float(p) > 0 else torch.zeros_like(b)


def _relu_product(x, y, n, generator):
    """relu(w.x) relu(w.y): exactly 0 for every sample at y = -x."""
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return torch.relu(w @ x) * torch.relu(w @ y)


FORMS = {
    "acos": lambda x, y: sp.acos(_cos(x, y)) / sp.pi,
    "asin": lambda x, y: sp.Rational(1, 2) - sp.asin(_cos(x, y)) / sp.pi,
    "atan2": lambda x, y: sp.atan2(sp.sqrt(1 - _cos(x, y) ** 2), _cos(x, y)) / sp.pi,
    "half-angle-sqrt": lambda x, y: 2 * sp.asin(sp.sqrt((1 - _cos(x, y)) / 2)) / sp.pi,
}


def _claim(name, closed_form, estimator, **kw):
    return Claim(name=name, params={"x": Vector(3), "y": Vector(3)}, closed_form=closed_form, monte_carlo=estimator,
                 samples=20_000, examples=10, **kw)


def _log1p_angle(x, y):
    return sp.log(1 + sp.acos(_cos(x, y)) / sp.pi)


def _arccos_kernel_1(x, y):
    """Cho & Saul's degree-1 arc-cosine kernel, E[relu(w.x) relu(w.y)] = |x||y| (sin t + (pi - t) cos t) / (2 pi)."""
    c = _cos(x, y)
    nx, ny = sp.sqrt((x.T * x)[0]), sp.sqrt((y.T * y)[0])
    return nx * ny * (sp.sqrt(1 - c**2) + (sp.pi - sp.acos(c)) * c) / (2 * sp.pi)


CORRECT = [_claim(f"gw-{k}", f, _differ) for k, f in FORMS.items()] + [
    _claim("gw-log", _log1p_angle, _log_term),
    _claim("arccos-kernel-1-sqrt", _arccos_kernel_1, _relu_product),
]


@pytest.mark.parametrize("claim", CORRECT, ids=lambda c: c.name)
def test_correct_claim_vanishing_at_a_deterministic_example_is_verified(claim):
    r = check(claim, seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)
    assert r.examples >= r.boundary_examples  # the y = x and y = -x boundary examples were decided


@pytest.mark.parametrize("claim", CORRECT, ids=lambda c: c.name)
def test_wrong_twins_are_still_refuted(claim):
    # a factor 3/2 (caught at typical examples) and an offset of 0.01 (caught at the deterministic example)
    scaled = Claim(**{**_fields(claim), "name": claim.name + "-x1.5", "closed_form": lambda x, y: claim.closed_form(x, y) * sp.Rational(3, 2)})
    offset = Claim(**{**_fields(claim), "name": claim.name + "-plus-0.01", "closed_form": lambda x, y: claim.closed_form(x, y) + sp.Rational(1, 100)})
    for wrong in (scaled, offset):
        r = check(wrong, seed=0)
        assert r.verdict == "refuted", (wrong.name, r.verdict, r.error)


def test_offset_is_caught_where_the_estimator_is_deterministic():
    """0.01 off only at y = x: the SE = 0 allowance (ln(m/alpha)/n times the samples' size) is far below it."""
    def closed_form(x, y):
        return sp.acos(_cos(x, y)) / sp.pi + sp.Rational(1, 100)

    def estimator(x, y, n, generator):
        return _differ(x, y, n, generator) + 0.01 * float(torch.equal(x, y) is False)

    r = check(_claim("gw-offset-only-away", closed_form, estimator), seed=0)
    assert r.verdict == "refuted"
    c = r.counterexample
    assert c["std_error"][c["component"]] == 0 and c["params"]["x"] == c["params"]["y"]


def test_declared_sample_bound_is_used_and_enforced():
    ok = _claim("gw-bounded", FORMS["acos"], _differ, sample_bound=1.0)
    assert check(ok, seed=0).verdict == "verified"
    liar = _claim("gw-bound-too-small", FORMS["acos"], _differ, sample_bound=0.5)
    r = check(liar, seed=0)
    assert r.verdict == "error" and "sample_bound=0.5" in r.error


def test_reference_error_is_bounded_at_twice_the_digits():
    """acos at x = y: 50 digits give ~7e-26, 100 digits ~1e-50; the bound |v50 - v100| covers the 50-digit value."""
    from verify._compile import compile_closed_form
    import numpy as np

    cf, _ = compile_closed_form(lambda x, y: sp.acos(_cos(x, y)), ["x", "y"], [Vector(3), Vector(3)])
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(20):
        x = rng.standard_normal(3)
        v50 = cf.evaluate({"x": x, "y": x})[0][0]
        v100, err = cf.refine({"x": x, "y": x})
        assert v50 <= err[0] < 1e-24 and abs(v100[0]) < 1e-45  # the bound covers the 50-digit value's error
        seen += v50 > 0
    assert seen > 0  # some x have a 50-digit cosine just below 1 (else the acos of it is 0 or complex, dropped)


def _fields(claim):
    import dataclasses
    return {f.name: getattr(claim, f.name) for f in dataclasses.fields(claim)}
