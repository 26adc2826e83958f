"""Shared fixtures: small synthetic claims whose truth the test controls; the torch thread count.

THEORYCHECK_TEST_THREADS=N sets torch.set_num_threads(N) for the session (.ci/run runs the ``roundoff``-marked
tests with 1 and 2 threads: a reduction split over threads sums in another order, which the derived round-off
bounds of tests/_roundoff.py must absorb). Without it, a pytest-xdist worker (the default: one per core) uses one
torch thread, so the workers never oversubscribe the cores; a serial run (-n 0) keeps torch's default.

Hypothesis runs derandomized in the tests (profile ``theorycheck-tests``, loaded here): a test's draws and shrinks
are the same on every run and every machine, so one that passes here cannot hang or fail by chance in CI. (The
engine seeds its own searches from the run's seed and is not affected.)
"""

from __future__ import annotations

import os
import tempfile

import pytest
import torch
from hypothesis import settings


from verify import Claim, Real


settings.register_profile("theorycheck-tests", derandomize=True, database=None, deadline=None)
settings.load_profile("theorycheck-tests")


def pytest_configure(config):
    # the compile cache (numerics/_compile.py) of a test session is its own: whether a test compiles cold or warm
    # must not depend on earlier runs or on the user's ~/.cache
    if "THEORYCHECK_CACHE_DIR" not in os.environ:
        os.environ["THEORYCHECK_CACHE_DIR"] = tempfile.mkdtemp(prefix="theorycheck-test-cache-")
    threads = os.environ.get("THEORYCHECK_TEST_THREADS") or ("1" if os.environ.get("PYTEST_XDIST_WORKER") else "")
    if threads:
        try:
            n = int(threads)
        except ValueError:
            raise ValueError(f"THEORYCHECK_TEST_THREADS={threads!r}: must be a positive integer") from None
        if n < 1:
            raise ValueError(f"THEORYCHECK_TEST_THREADS={threads!r}: must be a positive integer")
        torch.set_num_threads(n)
    from tests import _smoke
    _smoke.install()        # the experiments' smoke presets live in the tests, not in production code


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """pytest-timeout's limit (pyproject.toml) catches hangs in the fast tier; slow tests may run long.

    And ``--dist loadgroup`` made to work: pytest-xdist (3.8) marks a grouped test by appending ``@group`` to
    ``item._nodeid``, which pytest 9.2 no longer reads (a node's id is ``item._id``), so every group was silently
    split across workers and its session fixture built once per worker. Here (after xdist's hook) the suffix is
    put where pytest reads it, in each xdist worker, for tests whose id lacks it.
    """
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(0))
    if not getattr(config.option, "loadgroup", False):     # set by pytest-xdist in its workers under loadgroup
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


def pytest_report_header(config):
    return f"torch threads: {torch.get_num_threads()}, CPU capability: {torch.backends.cpu.get_cpu_capability()}"


def normal_claim(name="synthetic-normal", *, shift=0.0, shift_at=None, rate=1e-6, examples=0, samples=4000, skew=False):
    """Closed form mu; estimator draws N(mu + shift, 1) (or a centred exponential, skewed, if skew).

    shift_at: apply the shift only where mu equals this value (a claim wrong at a single example).
    """

    def closed_form(mu):
        return mu

    def monte_carlo(mu, n, generator):
        if skew:
            z = torch.empty(n, dtype=mu.dtype, device=mu.device).exponential_(generator=generator) - 1.0
        else:
            z = torch.randn(n, generator=generator, dtype=mu.dtype, device=mu.device)
        s = shift if shift_at is None or float(mu) == shift_at else 0.0
        return mu + s + z                                         # (n,)

    return Claim(name=name, params={"mu": Real(0.0, 1.0)}, closed_form=closed_form, monte_carlo=monte_carlo,
                 false_refutation_rate=rate, examples=examples, samples=samples)

