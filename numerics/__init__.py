"""Estimators in torch: per-sample Monte Carlo and autograd quantities the theory's closed forms predict."""

from ._device import resolve_device
from ._teacher_student import (
    TwoLayerReLU,
    autograd_gradient_samples,
    network_gradient_samples,
    population_gradient_samples,
)

__all__ = [
    "TwoLayerReLU",
    "autograd_gradient_samples",
    "network_gradient_samples",
    "population_gradient_samples",
    "resolve_device",
]
