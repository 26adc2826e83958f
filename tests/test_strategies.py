"""Parameter specs, boundary examples on purpose, and the hypothesis strategy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._roundoff import cosine_error, gamma, unit_roundoff
from tests._search import find_as_engine
from verify import Matrix, ParameterSpecError, Real, Vector
from verify._examples import boundary_examples, example_seed, parameters


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _norm_tol(d: int) -> float:
    """Relative error of ||r z / ||z|| || computed: the direction's norm and division (d + 2), the scaling by r (1),
    the test's own norm (d + 1): gamma_{2d+4}; r itself is clamped into [low, high] exactly."""
    return gamma(2 * d + 4)


def _parallel_tol(d: int) -> float:
    """|_cos - (+-1)| for a pair built parallel: the cosine's round-off (cosine_error), plus 1 - cos of the angle
    (<= u) the rounding of the scaled copy can open: u^2 / 2."""
    return cosine_error(d) + unit_roundoff() ** 2 / 2


@pytest.mark.parametrize("make, fragment", [
    (lambda: Real(3, 1), "low must be < high, got low=3.0 >= high=1.0; swap them"),
    (lambda: Real(0, float("nan")), "must be finite"),
    (lambda: Vector(0), "dim must be an integer >= 1, got 0"),
    (lambda: Vector(2.5), "dim must be an integer >= 1, got 2.5"),
    (lambda: Vector(3, norm=(0, 1)), "norm must be > 0, got low=0.0"),
    (lambda: Vector(3, norm=(2, 1)), "low must be < high"),
    (lambda: Matrix(0, 3), "rows must be an integer >= 1, got 0"),
])
def test_bad_specs_say_what_and_how_to_fix(make, fragment):
    with pytest.raises(ParameterSpecError, match=None) as info:
        make()
    assert fragment in str(info.value)


@pytest.mark.roundoff
def test_boundary_examples_cover_ends_and_degenerate_geometry():
    specs = {"w": Vector(4), "w_star": Vector(4)}
    examples = dict(boundary_examples(specs))
    for label in ("typical", "w=low", "w=high", "w=1", "w_star=low", "w_star=high", "all=low", "all=high",
                  "w_star || w", "w_star || -w", "w_star = w"):
        assert label in examples, label
    assert np.linalg.norm(examples["w=low"]["w"]) == pytest.approx(0.1, rel=_norm_tol(4), abs=0)
    assert np.linalg.norm(examples["all=high"]["w_star"]) == pytest.approx(10.0, rel=_norm_tol(4), abs=0)
    assert _cos(examples["w_star || w"]["w"], examples["w_star || w"]["w_star"]) == pytest.approx(1.0, abs=_parallel_tol(4))
    assert _cos(examples["w_star || -w"]["w"], examples["w_star || -w"]["w_star"]) == pytest.approx(-1.0, abs=_parallel_tol(4))
    eq = examples["w_star = w"]
    assert np.array_equal(eq["w"], eq["w_star"])
    t = examples["typical"]
    assert abs(_cos(t["w"], t["w_star"])) < 0.99   # typical means general position


@pytest.mark.roundoff
def test_boundary_examples_for_matrices_and_reals():
    specs = {"W": Matrix(3, 4), "W_star": Matrix(2, 4), "c": Real(-1, 2)}
    examples = dict(boundary_examples(specs))
    assert examples["c=low"]["c"] == -1.0 and examples["c=high"]["c"] == 2.0
    ex = examples["W rows parallel"]["W"]
    assert _cos(ex[0], ex[1]) == pytest.approx(1.0, abs=_parallel_tol(4))
    ex = examples["W_star || W"]
    assert _cos(ex["W"][0], ex["W_star"][0]) == pytest.approx(1.0, abs=_parallel_tol(4))
    assert examples["W=high"]["W"].shape == (3, 4)


@pytest.mark.roundoff
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_drawn_values_respect_their_specs(data):
    v = data.draw(Vector(5, norm=(1e-3, 1e3)).strategy())
    assert v.shape == (5,) and 1e-3 * (1 - _norm_tol(5)) <= np.linalg.norm(v) <= 1e3 * (1 + _norm_tol(5))
    m = data.draw(Matrix(2, 3, norm=(0.5, 2)).strategy())
    rows = np.linalg.norm(m, axis=1)
    assert m.shape == (2, 3) and np.all((rows >= 0.5 * (1 - _norm_tol(3))) & (rows <= 2 * (1 + _norm_tol(3))))
    r = data.draw(Real(-2, 3).strategy())
    assert r.shape == () and -2 <= r <= 3


@pytest.mark.roundoff
def test_random_draws_reach_parallel_and_antiparallel_pairs():
    strategy = parameters({"w": Vector(3), "w_star": Vector(3)})
    # parallel to round-off: within the cosine's round-off of +-1
    # generate only: shrinking a pair that must stay parallel to round-off can take thousands of steps
    # when no example database remembers the answer (a fresh clone)
    par = find_as_engine(strategy, lambda p: _cos(p["w"], p["w_star"]) >= 1 - _parallel_tol(3), shrink=False,
                         max_examples=1000)
    anti = find_as_engine(strategy, lambda p: _cos(p["w"], p["w_star"]) <= -1 + _parallel_tol(3), shrink=False,
                          max_examples=1000)
    assert par and anti


@pytest.mark.roundoff
def test_shrinking_reaches_simple_directions_and_unit_norm():
    """Minimal examples are axis-aligned with norm 1: readable counterexamples.

    Run with the engine's settings (generate and shrink only, no example database): with hypothesis's defaults
    this shrink ran for over an hour late in the full suite -- in CI and in a fresh clone; py-spy showed it
    inside hypothesis's shrinker, under its explain-phase tracer -- although it takes 0.6 s alone. The engine's
    own searches never use those defaults; ``tests._search.find_as_engine`` runs it as they do."""
    v = find_as_engine(Vector(4).strategy(), lambda v: True)
    np.testing.assert_allclose(np.abs(v), [1.0, 0, 0, 0], rtol=0, atol=_norm_tol(4))  # e1 * 1, up to the normalisation


def test_example_seed_is_stable_and_distinguishes_parameters():
    a = {"w": np.array([1.0, 2.0])}
    b = {"w": np.array([1.0, 2.0 + 2**-51])}
    assert example_seed(0, a) == example_seed(0, {"w": np.array([1.0, 2.0])})
    assert example_seed(0, a) != example_seed(0, b) != example_seed(1, b)
    assert 0 <= example_seed(7, a) < 2**63


def test_searches_draw_no_constants_from_imported_modules():
    """Hypothesis mixes in constants it finds in every local module of sys.modules, so a seed's examples would depend
    on what the process imported (a Dask worker, a --mutants run). Every engine search runs without them."""
    from hypothesis.internal.conjecture import providers

    from verify import Claim, check

    seen = []

    def exact(mu):
        seen.append(len(providers._get_local_constants()))
        return mu.clone()

    claim = Claim(name="local-constants", params={"mu": Real(0.0, 1.0)}, closed_form=lambda mu: mu, exact=exact, examples=3)
    assert check(claim, seed=0).verdict == "verified"
    # the boundary examples run before the search and see this module's constants; the search's draws see none
    assert seen[0] > 0 and seen[-1] == 0, seen
    assert len(providers._get_local_constants()) == seen[0]     # restored after the search


@pytest.mark.parametrize("seed", range(4))
def test_a_check_evaluates_examples_distinct_draws_beyond_its_boundary_examples(seed):
    """Hypothesis often draws 0.0 (or a range end) more than once; the engine evaluates a parameter set once
    and draws on until it has ``examples=`` distinct new ones (the Bonferroni divisor counted that many)."""
    from tests.conftest import normal_claim
    from verify import _engine
    from verify._examples import example_key

    seen = []
    record = _engine._Checker._record

    def spy(self, ex):
        seen.append(example_key(ex.params))
        return record(self, ex)

    claim = normal_claim(examples=25, samples=200)
    _engine._Checker._record = spy
    try:
        r = _engine.check(claim, seed=seed)
    finally:
        _engine._Checker._record = record
    assert r.verdict == "verified" and r.examples == r.boundary_examples + 25
    assert len(seen) == len(set(seen)) == r.examples
