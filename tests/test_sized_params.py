"""Every dimension: sizes drawn per example (``Vector(dim=(2, 8))``, ``Matrix(rows=(lo, hi), cols=...)``).

The closed form is built once per size, both ends of a size range are boundary examples, hypothesis shrinks a
counterexample to the smallest size where it fails, ``--replay`` reproduces it from its values (their lengths
are the sizes), and the Bonferroni split counts every (example, component) test made, whatever its size.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import sympy as sp
import torch

from verify import Claim, ClaimDefinitionError, Gaussian, Matrix, ParameterSpecError, Real, UsageError, Vector, check, norm
from verify import _engine
from verify._engine import parse_replay
from verify._examples import boundary_examples, parameters


def _relu_mean(slip: float = 1.0, *, wrong_above: int | None = None, calls: list | None = None, **kw) -> Claim:
    """E[relu(w.x)] = |w| / sqrt(2 pi) for x ~ N(0, I_d), every d in 2..8; ``slip`` scales the closed form, and
    ``wrong_above`` makes it wrong (x 1.5) only for d > wrong_above."""
    def closed_form(w):
        d = w.shape[0]
        if calls is not None:
            calls.append(d)
        factor = 1.5 if wrong_above is not None and d > wrong_above else slip
        return factor * norm(w) / sp.sqrt(2 * sp.pi)

    def monte_carlo(w, x):              # x: (n, d), d = w's dimension at the example
        return torch.relu(x @ w)

    return Claim(name="relu-mean-every-d", params={"w": Vector(dim=(2, 8))}, inputs={"x": Gaussian(dim="w")},
                 closed_form=closed_form, monte_carlo=monte_carlo, **{"examples": 6, "samples": 8192, **kw})


def test_a_correct_claim_for_every_dimension_is_verified_and_a_one_percent_slip_refuted_at_the_smallest_size():
    calls: list = []
    res = check(_relu_mean(calls=calls), seed=0)
    assert res.verdict == "verified", res.error
    assert {2, 8} <= set(calls) and len(set(calls)) > 2          # both ends and sizes in between
    bad = check(_relu_mean(1.01, examples=2, samples=100_000), seed=0)
    assert bad.verdict == "refuted", bad.error
    cex = bad.counterexample
    assert cex["sizes"] == {"dim(w)": 2}                          # the slip shows at every d: shrunk to the smallest
    assert len(cex["params"]["w"]) == 2 and "dim(w)=" not in cex["replay"]
    assert cex["closed_form"][0] == pytest.approx(1.01 * np.linalg.norm(cex["params"]["w"]) / np.sqrt(2 * np.pi))


def test_a_claim_true_only_up_to_d4_is_refuted_at_d5_and_replay_reproduces_it():
    claim = _relu_mean(wrong_above=4)
    res = check(claim, seed=3)
    assert res.verdict == "refuted", res.error
    cex = res.counterexample
    assert cex["sizes"] == {"dim(w)": 5}                          # shrunk to the smallest size where it is wrong
    again = check(claim, seed=3, replay=parse_replay(cex["replay"], claim))
    assert again.verdict == "refuted"
    r = again.counterexample
    assert (r["sizes"], r["params"], r["closed_form"], r["estimate"]) == (cex["sizes"], cex["params"], cex["closed_form"], cex["estimate"])
    with pytest.raises(UsageError, match=r"--replay: parameter 'w' has shape \(9,\).*dim must be in \[2, 8\]"):
        parse_replay('{"w": [1, 0, 0, 0, 0, 0, 0, 0, 0]}', claim)


def test_boundary_examples_hold_both_ends_of_the_size_range_with_shared_sizes_equal():
    specs = {"w": Vector(dim=(2, 8)), "w_star": Vector(dim="w"), "a": Real(0, 1)}
    examples = boundary_examples(specs)
    sizes = Counter(len(p["w"]) for _, p in examples)
    assert set(sizes) == {2, 8} and sizes[2] == sizes[8]          # the whole boundary set at each end
    assert all(len(p["w"]) == len(p["w_star"]) for _, p in examples)
    labels = dict(examples)
    for d in (2, 8):                                              # the geometry needs equal sizes: it is there
        eq = labels[f"w_star = w @ dim(w)={d}"]
        assert np.array_equal(eq["w"], eq["w_star"])
        assert f"typical @ dim(w)={d}" in labels and f"all=high @ dim(w)={d}" in labels
    two = boundary_examples({"W": Matrix(rows=(1, 3), cols="w"), "w": Vector(dim=(2, 4))})
    shapes = {(p["W"].shape, p["w"].shape) for _, p in two}
    assert shapes == {((1, 2), (2,)), ((3, 4), (4,)), ((3, 2), (2,)), ((1, 4), (4,))}   # lows, highs, one range up


def test_random_draws_vary_the_size_and_shrink_towards_the_smallest():
    from tests._search import find_as_engine

    specs = {"w": Vector(dim=(2, 8)), "W": Matrix(rows=(1, 3), cols="w")}
    small = find_as_engine(parameters(specs), lambda p: True)
    assert small["w"].shape == (2,) and small["W"].shape == (1, 2)
    big = find_as_engine(parameters({"w": Vector(dim=(2, 8))}), lambda p: len(p["w"]) >= 6, max_examples=500)
    assert big["w"].shape == (6,)                                 # minimal: the smallest size that satisfies it


def test_the_closed_form_is_built_once_per_size_and_the_divisor_counts_the_tests_made(monkeypatch):
    """E[x relu(w.x)] = w / 2: d components at size d, so the tests per example vary with the size."""
    calls: list = []

    def closed_form(w):
        calls.append(w.shape[0])
        return w / 2

    claim = Claim(name="relu-gradient-every-d", params={"w": Vector(dim=(2, 6))}, inputs={"x": Gaussian(dim="w")},
                  closed_form=closed_form, monte_carlo=lambda w, x: torch.relu(x @ w)[:, None] * x,
                  examples=8, samples=4096)
    seen = []
    evaluate = _engine._Checker.evaluate

    def recording(self, label, params):
        ex = evaluate(self, label, params)
        seen.append((label, ex.closed.size, self.tests, self.examples_planned))
        return ex

    monkeypatch.setattr(_engine._Checker, "evaluate", recording)
    res = check(claim, seed=0)
    assert res.verdict == "verified", res.error
    assert max(Counter(calls).values()) == 1                      # once per distinct size, not per example
    assert set(calls) == {k for _, k, _, _ in seen}
    N = res.boundary_examples + claim.examples
    assert all(n == N and tests == N * k for _, k, tests, n in seen)   # each test at alpha / (N k_e)
    assert res.tests == sum(k for _, k, _, _ in seen) and len(seen) == res.examples == N
    assert sum(k / tests for _, k, tests, _ in seen) == pytest.approx(1.0)   # the rates made sum to alpha


def test_matrix_rows_and_cols_drawn_per_example_for_an_exact_claim():
    def exact(W, w):
        return W @ w

    claim = Claim(name="matvec-every-size", params={"W": Matrix(rows=(1, 3), cols="w"), "w": Vector(dim=(2, 4))},
                  closed_form=lambda W, w: W * w, exact=exact, examples=6)
    res = check(claim, seed=0)
    assert res.verdict == "verified", res.error
    assert res.components == 3 and res.tests >= res.examples


def test_a_matrix_shares_another_matrix_shape_and_a_vector_may_not():
    """``Matrix(rows="f", cols="f")``: f's rows and cols (BatchNorm's upstream gradient g has the shape of f)."""
    from verify._params import size_ranges, sizes_of

    specs = {"f": Matrix(rows=(1, 3), cols=(3, 5)), "g": Matrix(rows="f", cols="f")}
    assert size_ranges(specs) == {"rows(f)": (1, 3), "cols(f)": (3, 5)}
    shapes = {(p["f"].shape, p["g"].shape) for _, p in boundary_examples(specs)}
    assert {((1, 3), (1, 3)), ((3, 5), (3, 5))} <= shapes and all(a == b for a, b in shapes)
    with pytest.raises(ParameterSpecError, match=r"parameter 'g' has shape \(2, 5\).*its cols must be 4, the cols\(f\)"):
        sizes_of(specs, {"f": np.zeros((2, 4)), "g": np.zeros((2, 5))})
    claim = Claim(name="frobenius-every-shape", params=specs, closed_form=lambda f, g: sum(f.multiply_elementwise(g)),
                  exact=lambda f, g: (f * g).sum(), examples=4)
    assert check(claim, seed=0).verdict == "verified"
    with pytest.raises(ParameterSpecError, match="parameter 'f' is Matrix.*not a Vector"):
        _claim_with(f=Matrix(2, 3), w=Vector(dim="f"))


def _claim_with(**params):
    return Claim(name="bad", params=params, closed_form=lambda **kw: 0, exact=lambda **kw: torch.zeros((), dtype=torch.float64))


@pytest.mark.parametrize("make, text", [
    (lambda: Vector(dim=(8, 2)), "dim=(lo, hi) needs lo < hi, got lo=8 > hi=2; swap them: dim=(2, 8)"),
    (lambda: Vector(dim=(2.5, 8)), "dim range must be two integers (lo, hi), got (2.5, 8)"),
    (lambda: Vector(dim=(0, 4)), "dim range must start at >= 1, got (0, 4)"),
    (lambda: Vector(dim=(3, 3)), "a fixed size is dim=3"),
    (lambda: Vector(dim="2"), "is not a parameter name"),
    (lambda: Matrix(rows=(4, 1), cols=3), "rows=(lo, hi) needs lo < hi"),
    (lambda: _claim_with(w=Vector(dim="v")), "there is no parameter 'v'; name a Vector parameter of the claim ('w')"),
    (lambda: _claim_with(a=Real(0, 1), w=Vector(dim="a")), "parameter 'a' is Real(low=0.0, high=1.0), not a Vector"),
    (lambda: _claim_with(u=Vector(dim="w"), w=Vector(dim="u")), "refer to each other in a circle"),
    (lambda: Claim(name="bad", params={"w": Vector(dim=(2, 8))}, inputs={"x": Gaussian(dim="v")},
                   closed_form=lambda w: 0, monte_carlo=lambda w, x: x[:, 0]), "inputs['x'] = Gaussian(dim='v'): there is no parameter 'v'"),
])
def test_bad_size_specs_are_one_clear_line(make, text):
    with pytest.raises((ParameterSpecError, ClaimDefinitionError)) as info:
        make()
    assert text in str(info.value) and "\n" not in str(info.value)


def test_mutation_certificate_of_a_sized_claim_is_made_at_the_smallest_sizes():
    """--mutants on a claim with drawn sizes certifies its fixed-size copy at the low end of every range (inputs of
    a parameter's size follow it), records the sizes and says so; a slip there is killed like any other."""
    from verify._mutants import pinned
    from verify._schedule import Task, _check
    from verify.claims import builtin_claims

    claim = builtin_claims()["kd-gradient-one-hot"]
    fixed, sizes = pinned(claim)
    assert sizes and all(isinstance(v, int) for v in sizes.values())
    assert all(isinstance(getattr(spec, "dim", 0), int) for spec in fixed.params.values())
    r = _check(claim, Task(claim.name, "builtin", None, 0, "cpu", 300.0, True))
    assert r.mutants is not None and r.mutants["sizes"] == sizes
    assert r.mutants["killed"] >= 1 and not r.mutants["survived"]
    assert any("certified at the smallest drawn sizes" in w for w in r.warnings)
