"""A torch function mode that records random draws which work on the CPU but would fail with ``--device cuda``.

Each experiment's smoke test runs through ``run_audited`` (tests/test_experiment*.py), so the rule holds in every
experiment without a second run of each; tests/test_experiments.py tests the audit itself and that no experiment
lacks an audited smoke test.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_IN_PLACE_RANDOM = {"uniform_", "normal_", "bernoulli_", "random_", "exponential_", "cauchy_", "geometric_",
                    "log_normal_"}


class DrawAudit(TorchFunctionMode):
    """Records random draws that work on the CPU but fail with ``--device cuda``.

    Every generator of an experiment is a CPU ``torch.Generator``; torch refuses one for a draw that makes or fills
    a CUDA tensor. So the rule (numerics/_experiment.py) is: draw on the CPU, then move. Broken, seen on the CPU:
    an in-place draw into a parameter or a tensor that requires grad (it lives on ``run.device``), or a draw with a
    generator and an explicit ``device=`` (there is no reason to name one except ``run.device``).
    """

    def __init__(self):
        super().__init__()
        self.bad: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if kwargs.get("generator") is not None:
            name = getattr(func, "__name__", repr(func))
            target = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if name in _IN_PLACE_RANDOM and target is not None and (
                    isinstance(target, nn.Parameter) or target.requires_grad):
                self.bad.append(f"{name} in place on a parameter {tuple(target.shape)}")
            if kwargs.get("device") is not None:
                self.bad.append(f"{name}(..., device={kwargs['device']!r}) with a CPU generator")
        return func(*args, **kwargs)


def run_audited(*args, **kwargs) -> dict:
    """``run_experiment(*args, **kwargs)`` under ``DrawAudit``, asserting that it made no draw a CUDA run would refuse."""
    from verify._experiments import run_experiment

    with DrawAudit() as audit:
        doc = run_experiment(*args, **kwargs)
    assert audit.bad == [], audit.bad
    return doc
