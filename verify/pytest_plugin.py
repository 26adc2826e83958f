"""pytest integration: ``pytest my_derivations.py`` collects every top-level Claim as a test item.

Registered through the ``pytest11`` entry point. Each item runs ``verify.check`` with the same verdict
logic as ``theorycheck validate`` and passes when the verdict is the claim's expected one; a failure
shows the counterexample and the command that replays it. Claims are collected from files that do not
match ``python_files`` (derivation files given to pytest explicitly), not from ``test_*.py`` modules,
which may import Claims for their own tests. Options: ``--theorycheck-seed``, ``--theorycheck-device``.
As with ``theorycheck validate``, each derivation file is imported, and each claim checked, from the same
torch global state (``_torchstate``); a file that changes it at import gets a warning.
"""

from __future__ import annotations

import fnmatch

import pytest

from ._claim import Claim

__all__ = ["ClaimItem"]


def pytest_addoption(parser):
    group = parser.getgroup("theorycheck")
    group.addoption("--theorycheck-seed", type=int, default=0, help="run seed for collected Claims (default 0)")
    group.addoption("--theorycheck-device", default="cpu", help="device for collected Claims: auto, cpu or cuda (default cpu)")


def _derivation_module(collector) -> bool:
    if not isinstance(collector, pytest.Module):
        return False
    patterns = collector.config.getini("python_files")
    return not any(fnmatch.fnmatch(collector.path.name, p) for p in patterns)


def _isolation(config):
    """The session's baseline torch state, captured before the first derivation file is imported."""
    iso = getattr(config, "_theorycheck_isolation", None)
    if iso is None:
        from ._torchstate import Isolation
        iso = config._theorycheck_isolation = Isolation()
    return iso


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Import each derivation file from the baseline torch state, and restore it afterwards (told in a warning)."""
    if not _derivation_module(collector):
        yield
        return
    iso = _isolation(collector.config)
    iso.enter()
    yield
    changed = iso.leave()
    if changed:
        collector.warn(pytest.PytestWarning(
            f"{collector.path.name}: the file changed torch's global state at import ({'; '.join(changed)}); restored, so every "
            "file's claims run in the same state: set such state inside the callable that needs it"))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    if not isinstance(obj, Claim) or not isinstance(collector, pytest.Module):
        return None
    patterns = collector.config.getini("python_files")
    if any(fnmatch.fnmatch(collector.path.name, p) for p in patterns):
        return None
    return ClaimItem.from_parent(collector, name=obj.name, claim=obj)


class ClaimFailure(Exception):
    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class ClaimItem(pytest.Item):
    def __init__(self, *, claim: Claim, **kwargs):
        super().__init__(**kwargs)
        self.claim = claim

    def runtest(self):
        from numerics import resolve_device

        from ._cli import _details, _line
        from ._engine import check

        device = resolve_device(self.config.getoption("theorycheck_device"))
        r = check(self.claim, seed=self.config.getoption("theorycheck_seed"), device=device, source=str(self.path),
                  isolation=_isolation(self.config))
        if r.verdict != self.claim.expected:
            raise ClaimFailure([_line(r), *_details(r)] + ([] if r.verdict == "error" else [f"expected: {self.claim.expected}"]))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"claim {self.claim.name}"
