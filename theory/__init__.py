"""Closed forms derived by SymPy, each set against the form printed in its seed document."""

from ._derivation import Derivation, compare
from ._population_gradient import (
    derivation_kernel,
    derivation_loss_gradient,
    derivation_loss_kernel,
    derivation_population_gradient,
    gating_kernel,
    network_population_gradient,
    population_gradient,
    printed_population_gradient,
    relu_kernel,
)

__all__ = [
    "Derivation",
    "compare",
    "derivation_kernel",
    "derivation_loss_gradient",
    "derivation_loss_kernel",
    "derivation_population_gradient",
    "gating_kernel",
    "network_population_gradient",
    "population_gradient",
    "printed_population_gradient",
    "relu_kernel",
]
