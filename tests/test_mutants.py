"""Mutation certificates: mutants are generated from the SymPy form and a good check kills them."""

from __future__ import annotations

import dataclasses

import sympy as sp
import torch

from tests.conftest import normal_claim
from verify import Claim, Real, check
from numerics._compile import compile_closed_form
from verify._mutants import _equivalent, certify, mutants
from verify.claims import builtin_claims


def test_operators_cover_the_population_gradient():
    claim = builtin_claims()["population-gradient-mc"]
    compiled, _ = compile_closed_form(claim.closed_form, list(claim.params), list(claim.params.values()))
    ops = {op for op, _, _ in mutants(compiled.components, limit=100)}
    assert {"sign", "scale2", "scale1/2", "drop", "supplement", "neighbour"} <= ops
    chosen = mutants(compiled.components, limit=12)
    assert len(chosen) == 12 and len({op for op, _, _ in chosen}) == 6      # spread over operators
    # each mutant differs from the closed form: a nonzero difference at one generic point proves it (simplify, the
    # slow route, only where every component happens to agree there)
    symbols = sorted(set().union(*(c.free_symbols for c in compiled.components)), key=str)
    point = {x: sp.Rational(3 + 2 * i, 7 + i) * (-1) ** i for i, x in enumerate(symbols)}
    for _, _, comps in chosen:
        pairs = list(zip(comps, compiled.components))
        assert any(abs(sp.N((a - b).subs(point), 30)) > 1e-20 for a, b in pairs) or \
            any(sp.simplify(a - b) != 0 for a, b in pairs)


def test_population_gradient_check_kills_its_mutants():
    claim = dataclasses.replace(builtin_claims()["population-gradient-mc"], examples=3, samples=20_000, resolve=None,
                                sweep=None)
    cert = certify(claim, check, limit=8)
    assert cert["total"] == 8 and cert["killed"] == 8 and cert["survived"] == 0


def test_exact_claim_kills_its_mutants():
    def closed_form(a, b):
        return sp.diff(sp.sin(a) * sp.exp(b * a) + sp.cos(b) * a**2, a)

    def autograd(a, b):
        a = a.clone().requires_grad_(True)
        (torch.sin(a) * torch.exp(b * a) + torch.cos(b) * a**2).backward()
        return a.grad

    claim = Claim(name="exact", params={"a": Real(-3, 3), "b": Real(-2, 2)}, closed_form=closed_form, exact=autograd)
    cert = certify(claim, check)
    assert cert["killed"] == cert["total"] >= 8


def test_a_weak_check_lets_a_mutant_survive_and_says_so(capsys, tmp_path):
    """A term far below the detectable discrepancy: dropping it is not caught -- a defect, reported."""

    def closed_form(mu):
        return mu + mu**2 / 10**9

    base = normal_claim(samples=2000)
    weak = dataclasses.replace(base, name="weak", closed_form=closed_form)
    cert = certify(weak, check)
    assert cert["survived"] >= 1
    row = next(m for m in cert["mutants"] if not m["killed"])
    assert row["equivalent"] is False and "mu**2" in row["mutation"]


def test_equivalence_is_proven_not_assumed():
    a = sp.Symbol("a", real=True)
    assert _equivalent(sp.sin(a) ** 2 + sp.cos(a) ** 2, sp.Integer(1))
    assert not _equivalent(sp.sin(a), sp.cos(a))


def test_cli_mutants_flag_and_survivors_exit_1(capsys, tmp_path):
    from verify._cli import main
    text = (tmp_path / "weak.py")
    text.write_text(
        "import sympy as sp, torch\nfrom verify import Claim, Real\n"
        "def closed_form(mu):\n    return mu + mu**2 / 10**9\n"
        "def monte_carlo(mu, n, generator):\n    return mu + torch.randn(n, generator=generator, dtype=mu.dtype, device=mu.device)\n"
        "CLAIM = Claim(name='weak', params={'mu': Real(0, 1)}, closed_form=closed_form, monte_carlo=monte_carlo, examples=0, samples=2000)\n")
    code = main(["validate", str(text), "--mutants"])
    out = capsys.readouterr().out
    assert code == 1 and "SURVIVED: drop term mu**2/1000000000" in out


def test_equivalence_check_finds_a_witness_before_simplify():
    """A non-equivalent mutant of a sign()-gated form is told apart at a random rational point, before simplify (which
    ran for over 20 minutes on such a difference in the slow tier); equivalent forms still go through simplify."""
    from verify._mutants import _witness
    x = sp.symbols("x0:6")
    h = [x[i] * x[(i + 1) % 6] - x[(i + 2) % 6] for i in range(6)]
    relu = [hi * (sp.sign(hi) ** 2 + sp.sign(hi)) / 2 for hi in h]
    original = sum(r * sp.sign(sum(relu)) for r in relu)
    mutant = original.xreplace({h[3]: h[3] - x[5]})
    assert _witness(original, mutant) and not _equivalent(original, mutant)
    assert not _witness(relu[0], h[0] * sp.Heaviside(h[0], 0))       # equal everywhere: no witness
    p = sp.Symbol("p", positive=True)
    assert _equivalent(sp.sqrt(p**2), p)            # true only for p > 0: the witness respects the assumption


def test_a_bound_with_room_records_tightened_mutants_within_its_slack_and_kills_the_violated_ones():
    """x^2 <= x^2 + 1 on [-3, 3]: dropping the 1 (x^2 <= x^2) is still true -- within the slack; halving x^2 (x^2 <=
    x^2 / 2 + 1) is violated for |x| > sqrt 2 and must be killed; doubling it is looser everywhere -- implied."""
    claim = Claim(name="room", params={"x": Real(-3.0, 3.0)}, closed_form=lambda x: x ** 2 + 1, exact=lambda x: x ** 2,
                  relation="<=", examples=10)
    cert = certify(claim, check)
    fate = {m["mutation"]: m for m in cert["mutants"]}
    assert fate["drop term 1"]["within_slack"] and not fate["drop term 1"]["killed"]
    assert fate["halve term x**2"]["killed"]
    assert fate["double term x**2"].get("implied")
    assert cert["survived"] == 0 and cert["within_slack"] >= 1
