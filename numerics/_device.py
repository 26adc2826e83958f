"""Pick the torch device named on the command line: "auto", "cpu" or "cuda"."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda if available else cpu; "cpu"; "cuda" (ValueError when no CUDA device is present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False); use --device cpu or auto.")
        return torch.device("cuda")
    raise ValueError(f"--device {name!r}: unknown device; choose one of {', '.join(DEVICES)}.")
