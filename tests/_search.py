"""Hypothesis searches in the tests, run the way the engine runs its own (``verify._engine._Search``).

``find_as_engine`` is ``hypothesis.find`` derandomized, with the generate and shrink phases only, and inside
``verify._examples.independent_of_imports``: otherwise hypothesis also draws constants from every module the
pytest worker happens to have imported, so a test's draws and its shrink depended on which tests ran before it on
that worker. Twice such a ``find`` shrank for over 15 minutes late in a suite (CI, and once here with the
derandomized ``test_random_draws_vary_the_size_and_shrink_towards_the_smallest``) although it takes a second alone.
"""

from __future__ import annotations

from hypothesis import Phase, find, settings

from verify._examples import independent_of_imports


def find_as_engine(strategy, condition, *, shrink: bool = True, max_examples: int = 100):
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    search = settings(database=None, derandomize=True, deadline=None, phases=phases, max_examples=max_examples)
    with independent_of_imports():
        return find(strategy, condition, settings=search)
