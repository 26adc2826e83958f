"""A simulated kill for the resume tests, injected by the tests (production code has no hook for it).

``killed_after(k)`` wraps ``numerics._experiment.Run.steps`` so that the k-th training step of everything run
inside the block (one budget for the whole invocation, across tasks and phases) is the last: that step's
checkpoint is written as it would be, then ``SimulatedKill`` is raised where the next step would start, as if the
process had died there. Tasks must run in this process (``scheduler="serial"``).
"""

from __future__ import annotations

import contextlib

from numerics import _experiment


class SimulatedKill(BaseException):
    """A BaseException, so that experiment code cannot swallow it."""


@contextlib.contextmanager
def killed_after(steps: int):
    original = _experiment.Run.steps
    left = [steps]

    def steps_(self, phase, total, state, checkpoint_every=None):
        inner = original(self, phase, total, state, checkpoint_every)
        for step in inner:
            yield step
            left[0] -= 1
            if left[0] <= 0:
                try:
                    next(inner)             # the step's bookkeeping: its checkpoint, if one is due
                except StopIteration:
                    pass
                raise SimulatedKill(f"killed after {steps} steps (tests/_kill.py)")

    _experiment.Run.steps = steps_
    try:
        yield
    finally:
        _experiment.Run.steps = original
