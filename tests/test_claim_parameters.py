"""Each callable of a claim receives the parameters it names (as pytest passes fixtures); no adapters."""

from __future__ import annotations

import pytest
import sympy as sp
import torch

from verify import Claim, ClaimDefinitionError, Real, Vector, check


def _shift_claim(closed_form, **kw):
    """E[mu + sigma z] = mu: the closed form needs only mu, the estimator mu and sigma."""
    def monte_carlo(mu, sigma, n, generator):
        return mu + sigma * torch.randn(n, generator=generator, dtype=torch.float64)
    return Claim(name="shift", params={"mu": Real(-2, 2), "sigma": Real(0.1, 1), "c0": Real(0, 1)},
                 closed_form=closed_form, monte_carlo=monte_carlo, examples=5, samples=4096, **kw)


def test_a_closed_form_that_ignores_a_parameter_is_called_without_it():
    seen = []

    def closed_form(mu):
        seen.append(mu)
        return mu
    r = check(_shift_claim(closed_form), seed=0)
    assert r.verdict == "verified", r.error
    assert seen and all(isinstance(m, sp.Symbol) and m.name == "mu" for m in seen)


def test_a_wrong_closed_form_over_fewer_parameters_is_still_refuted():
    assert check(_shift_claim(lambda mu: mu + sp.Rational(1, 2)), seed=0, shrink=False).verdict == "refuted"


def test_an_exact_estimator_gets_only_its_own_parameters():
    claim = Claim(name="norm2", params={"w": Vector(3), "unused": Real(0, 1)}, closed_form=lambda w: (w.T * w)[0],
                  exact=lambda w: (w * w).sum(), examples=5)
    r = check(claim, seed=0)
    assert r.verdict == "verified", r.error


def test_callables_taking_kwargs_still_get_every_parameter():
    got = []

    def closed_form(**kw):
        got.append(sorted(kw))
        return kw["mu"]
    assert check(_shift_claim(closed_form), seed=0).verdict == "verified"
    assert got[0] == ["c0", "mu", "sigma"]


def test_naming_a_parameter_the_claim_lacks_is_one_clear_error():
    with pytest.raises(ClaimDefinitionError, match=r"closed_form\(mu, nu\) cannot be called .*named like params"):
        _shift_claim(lambda mu, nu: mu)
    _shift_claim(lambda mu, nu=1: mu)       # with a default it is the function's own business


def test_a_monte_carlo_estimator_without_inputs_must_still_take_n_and_generator():
    with pytest.raises(ClaimDefinitionError, match="monte_carlo"):
        Claim(name="x", params={"mu": Real(0, 1)}, closed_form=lambda mu: mu,
              monte_carlo=lambda mu, generator: mu + torch.zeros(1))


def _unused_arguments(fn) -> list[str]:
    """The named arguments ``fn``'s bytecode never reads (n and generator aside: the engine requires them)."""
    import dis
    import inspect

    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return []
    args = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    read = {i.argval for i in dis.get_instructions(code) if i.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "STORE_FAST"))}
    return [a for a in args if a not in read and a not in code.co_cellvars and a not in ("n", "generator")]


def test_no_builtin_callable_takes_a_parameter_only_to_ignore_it():
    from verify.claims import builtin_claims

    adapters = [(name, what, _unused_arguments(getattr(c, what))) for name, c in builtin_claims().items()
                for what in ("closed_form", "monte_carlo", "exact") if getattr(c, what) is not None]
    assert [a for a in adapters if a[2]] == []
    assert _unused_arguments(lambda mu, c0: mu) == ["c0"]     # the scan sees an ignored parameter
