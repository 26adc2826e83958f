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
        r = check(wrong, seed=0, shrink=False)
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
    from numerics._compile import compile_closed_form
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


# ------------------------------------------------------------------------------------- exact claims
def _u_torch(x, y):
    return torch.dot(x, y) / (torch.linalg.vector_norm(x) * torch.linalg.vector_norm(y))


EXACT = {   # closed form (SymPy) and a plain float64 torch evaluation of the same function of the cosine
    "acos": (lambda x, y: sp.acos(_cos(x, y)) / sp.pi, lambda x, y: torch.arccos(_u_torch(x, y).clamp(-1, 1)) / torch.pi),
    "asin": (lambda x, y: sp.asin(_cos(x, y)), lambda x, y: torch.arcsin(_u_torch(x, y).clamp(-1, 1))),
    "sqrt": (lambda x, y: sp.sqrt(1 - _cos(x, y) ** 2), lambda x, y: torch.sqrt((1 - _u_torch(x, y) ** 2).clamp(min=0))),
    "atan2": (lambda x, y: sp.atan2(sp.sqrt(1 - _cos(x, y) ** 2), _cos(x, y)),
              lambda x, y: torch.atan2(torch.sqrt((1 - _u_torch(x, y) ** 2).clamp(min=0)), _u_torch(x, y))),
    "log": (lambda x, y: sp.log(1 + sp.acos(_cos(x, y)) / sp.pi),
            lambda x, y: torch.log1p(torch.arccos(_u_torch(x, y).clamp(-1, 1)) / torch.pi)),
}


def _exact_claim(name, closed_form, exact):
    return Claim(name=name, params={"x": Vector(3), "y": Vector(3)}, closed_form=closed_form, exact=exact, examples=30)


@pytest.mark.parametrize("kind", list(EXACT))
def test_exact_claims_near_branch_points_are_verified_and_their_slips_refuted(kind):
    """A float64 acos of a cosine one ulp from 1 is 1.5e-8 wrong, not 1e-16: the exact test's round-off
    bound carries the closed form's conditioning (``_compile.forward_error``), so the correct claim
    verifies at y = x and nearly parallel draws, while a 1e-6 relative slip is still refuted."""
    closed_form, exact = EXACT[kind]
    r = check(_exact_claim(f"exact-{kind}", closed_form, exact), seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)
    slip = check(_exact_claim(f"exact-{kind}-slip", lambda x, y: closed_form(x, y) * (1 + sp.Rational(1, 10**6)), exact), seed=0,
                 shrink=False)
    assert slip.verdict == "refuted"


def test_forward_error_bound_is_conditioned_and_capped():
    import numpy as np
    from numerics._compile import forward_error

    a = sp.Symbol("a", real=True)
    # acos near 1: the Hoelder cap (pi / sqrt 2) sqrt(e), e ~ u, not e / sqrt(1 - a^2) = inf
    fe = forward_error([sp.acos(a * a)], {a: 1.0})
    assert fe is not None and 1e-9 < fe[0] < 1e-6
    # a well-conditioned sum: a few u |terms|
    fe = forward_error([a + 2 * a], {a: 0.75})
    assert fe[0] <= 4 * 2.0**-53 * 3 * 0.75
    assert fe[0] > 0
    # a construct without a rule gives None (the engine keeps the plain bound)
    assert forward_error([sp.Integral(a, (a, 0, 1))], {a: 0.5}) is None or np.isfinite(forward_error([sp.Integral(a, (a, 0, 1))], {a: 0.5})).all()


# ------------------------------------------------------------------------------ SE = 0 decided at the end
def _tail(a, n, generator):
    return (torch.randn(n, generator=generator, dtype=a.dtype, device=a.device) > a).to(a.dtype)


def _tail_claim(name, closed_form, low, high, **kw):
    from verify import Real
    return Claim(name=name, params={"a": Real(low, high)}, closed_form=closed_form, monte_carlo=_tail, **kw)


def test_all_zero_samples_at_the_first_example_are_judged_with_the_claims_later_samples():
    """P[Z > a] for a in [4, 6] with 1e5 samples: at the typical example (a = 4.76, p = 9.5e-7) every sample
    is 0, and nothing seen so far bounds the estimator; examples near a = 4 (p = 3.2e-5) hit the event, so
    the claim's samples are seen to reach 1. The all-zero examples are decided with that bound at the end."""
    r = check(_tail_claim("tail-far", lambda a: sp.erfc(a / sp.sqrt(2)) / 2, 4.0, 6.0), seed=0)
    assert r.verdict == "verified", (r.error, r.counterexample)


def test_an_estimator_that_never_varies_cannot_hide_a_discrepancy():
    """a in [6, 8]: p < 1e-9, every sample of every example is 0. Without a declared bound nothing limits
    what a missed event could add, so the tiny closed form is refuted -- and verified once sample_bound=1
    is declared (the CLI line says so); a 1e-3 offset is refuted either way."""
    cf = lambda a: sp.erfc(a / sp.sqrt(2)) / 2
    assert check(_tail_claim("tail-unseen", cf, 6.0, 8.0), seed=0, shrink=False).verdict == "refuted"
    assert check(_tail_claim("tail-unseen-bounded", cf, 6.0, 8.0, sample_bound=1), seed=0).verdict == "verified"
    off = lambda a: cf(a) + sp.Rational(1, 1000)
    assert check(_tail_claim("tail-off", off, 6.0, 8.0, sample_bound=1), seed=0, shrink=False).verdict == "refuted"
    assert check(_tail_claim("tail-off-seen", off, 4.0, 8.0), seed=0, shrink=False).verdict == "refuted"


def test_cli_marks_an_unexpected_verification(capsys, tmp_path):
    from verify._cli import main
    path = tmp_path / "slip.py"
    path.write_text("import sympy as sp, torch\nfrom verify import Claim, Real\n"
                    "C = Claim(name='too-small-to-see', params={'mu': Real(0, 1)}, closed_form=lambda mu: mu * (1 + sp.Rational(1, 10**9)),\n"
                    "          monte_carlo=lambda mu, n, generator: mu + torch.randn(n, generator=generator, dtype=mu.dtype),\n"
                    "          expected='refuted', examples=2, samples=2000)\n")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.startswith("verified (UNEXPECTED)")
