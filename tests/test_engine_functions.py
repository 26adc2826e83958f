"""SymPy functions beyond SymPy's torch printer compile to the right torch function (issue 12: held-out files
use erfc and friends). The float64 value is compared with the 50-digit mpmath reference: a wrong mapping is
off by O(1); torch's special functions are accurate to ~1e-10 relative at worst (polygamma, measured), so
1e-8 separates the two without being a round-off claim."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from verify import Claim, Real, check
from numerics._compile import ClosedFormError, compile_closed_form

CASES = {
    "erfc": lambda a: sp.erfc(a),
    "erfinv": lambda a: sp.erfinv(a / 4),
    "erfcinv": lambda a: sp.erfcinv(a / 4),
    "gamma": lambda a: sp.gamma(a),
    "gamma-negative": lambda a: sp.gamma(-a),
    "loggamma": lambda a: sp.loggamma(a),
    "digamma": lambda a: sp.digamma(a),
    "polygamma": lambda a: sp.polygamma(1, a),
    "zeta": lambda a: sp.zeta(a + 1),
    "besselj0": lambda a: sp.besselj(0, a),
    "bessely1": lambda a: sp.bessely(1, a),
    "cot": lambda a: sp.cot(a), "sec": lambda a: sp.sec(a), "csc": lambda a: sp.csc(a),
    "coth": lambda a: sp.coth(a), "sech": lambda a: sp.sech(a), "csch": lambda a: sp.csch(a),
    "acot": lambda a: sp.acot(a), "asec": lambda a: sp.asec(a + 1), "acsc": lambda a: sp.acsc(a + 1),
    "sinc": lambda a: sp.sinc(a),
    "factorial": lambda a: sp.factorial(a),
    "binomial": lambda a: sp.binomial(a + 3, a),
    "beta": lambda a: sp.beta(a, a + 1),
    "uppergamma": lambda a: sp.uppergamma(a, 2),
    "lowergamma": lambda a: sp.lowergamma(a, 2),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("a", [0.35, 1.5, 2.5])
def test_function_compiles_to_its_torch_equivalent(name, a):
    cf, _ = compile_closed_form(CASES[name], ["a"], [Real(0.1, 3.0)])
    f64, _ = cf.evaluate_f64({"a": np.array(a)})
    ref = cf.evaluate_mp([a])
    assert np.isfinite(ref).all()
    assert abs(f64[0] - ref[0]) <= 1e-8 * abs(ref[0])


def test_an_unsupported_function_is_named_in_one_line():
    with pytest.raises(ClosedFormError, match="LambertW, which has no torch translation; rewrite it"):
        compile_closed_form(lambda a: sp.LambertW(a), ["a"], [Real(0.1, 3.0)])


def test_gaussian_tail_with_erfc_verifies():
    """P[Z > a] = erfc(a / sqrt 2) / 2 for Z ~ N(0, 1): an indicator estimator (false-refutation rate 1e-6, seed 0)."""
    def tail(a, n, generator):
        return (torch.randn(n, generator=generator, dtype=a.dtype) > a).to(a.dtype)

    good = Claim(name="tail", params={"a": Real(0.0, 3.0)}, closed_form=lambda a: sp.erfc(a / sp.sqrt(2)) / 2,
                 monte_carlo=tail, examples=10, samples=20_000)
    assert check(good, seed=0).verdict == "verified"
    slip = Claim(name="tail-slip", params={"a": Real(0.0, 3.0)}, closed_form=lambda a: sp.erfc(a) / 2,
                 monte_carlo=tail, examples=10, samples=20_000)
    assert check(slip, seed=0, shrink=False).verdict == "refuted"
