"""torch's process-global state: captured, compared and restored so one derivation file cannot change another's.

A derivation file is Python run in theorycheck's process; a line such as ``torch.set_grad_enabled(False)``
or ``torch.set_default_dtype(torch.float64)`` at its top would otherwise stay in force for every file and
claim checked after it (and make their autograd-based claims fail, blamed on the wrong file). The engine
captures this state when a run starts (the *baseline*), restores it before every file import and every
claim, and reports, in one line, what a file or a claim changed.

Covered: grad mode, default dtype, default device, deterministic-algorithm flags, intra-op thread count,
anomaly detection (and its NaN check), float32 matmul precision, cuDNN's deterministic / benchmark flags.
The global random generators (torch's CPU and CUDA, NumPy's legacy one) are restored too, silently: a file
that draws a fixed matrix at import changes them, which is no mistake; estimators draw from their
``generator`` argument. Grad and inference mode are per thread: the state captured and restored is the
calling thread's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

__all__ = ["TorchState", "RandomState", "Isolation"]


@dataclass(frozen=True)
class TorchState:
    grad_enabled: bool
    default_dtype: torch.dtype
    default_device: str
    deterministic_algorithms: bool
    deterministic_warn_only: bool
    threads: int
    anomaly_detection: bool
    anomaly_check_nan: bool
    float32_matmul_precision: str
    cudnn_deterministic: bool
    cudnn_benchmark: bool

    @classmethod
    def capture(cls) -> "TorchState":
        return cls(
            grad_enabled=torch.is_grad_enabled(),
            default_dtype=torch.get_default_dtype(),
            default_device=str(torch.get_default_device()),
            deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
            deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
            threads=torch.get_num_threads(),
            anomaly_detection=torch.is_anomaly_enabled(),
            anomaly_check_nan=torch.is_anomaly_check_nan_enabled(),
            float32_matmul_precision=torch.get_float32_matmul_precision(),
            cudnn_deterministic=bool(torch.backends.cudnn.deterministic),
            cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
        )

    def restore(self) -> None:
        """Set what differs from now (setting a default device installs a mode on every torch call: only if needed)."""
        now = TorchState.capture()
        if now.grad_enabled != self.grad_enabled:
            torch.set_grad_enabled(self.grad_enabled)
        if now.default_dtype != self.default_dtype:
            torch.set_default_dtype(self.default_dtype)
        if now.default_device != self.default_device:
            torch.set_default_device(None if self.default_device == "cpu" else self.default_device)
        if (now.deterministic_algorithms, now.deterministic_warn_only) != (self.deterministic_algorithms, self.deterministic_warn_only):
            torch.use_deterministic_algorithms(self.deterministic_algorithms, warn_only=self.deterministic_warn_only)
        if now.threads != self.threads:
            torch.set_num_threads(self.threads)
        if (now.anomaly_detection, now.anomaly_check_nan) != (self.anomaly_detection, self.anomaly_check_nan):
            torch.autograd.set_detect_anomaly(self.anomaly_detection, check_nan=self.anomaly_check_nan)
        if now.float32_matmul_precision != self.float32_matmul_precision:
            torch.set_float32_matmul_precision(self.float32_matmul_precision)
        torch.backends.cudnn.deterministic = self.cudnn_deterministic
        torch.backends.cudnn.benchmark = self.cudnn_benchmark

    def changes(self, other: "TorchState") -> list[str]:
        """What differs from ``other`` (self = before), as 'name: before -> after' strings."""
        out = []
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a != b:
                out.append(f"{f.name.replace('_', ' ')}: {_show(a)} -> {_show(b)}")
        return out


def _show(v) -> str:
    return str(v).replace("torch.", "")


class RandomState:
    """The global random generators' states (restored silently; see the module docstring)."""

    def __init__(self):
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        self.numpy = np.random.get_state()

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        np.random.set_state(self.numpy)


class Isolation:
    """Baseline state for a run: ``enter()`` restores it; ``leave()`` reports what changed and restores it."""

    def __init__(self):
        self.state = TorchState.capture()
        self.random = RandomState()

    def enter(self) -> None:
        self.state.restore()
        self.random.restore()

    def leave(self) -> list[str]:
        changed = self.state.changes(TorchState.capture())
        self.enter()
        return changed
