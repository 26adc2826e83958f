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
    "batchnorm", "covariance_operator", "distillation", "kernels", "committee", "simsiam", "recursive_gradient",
    "locally_connected", "linear_dynamics",
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

# The other result families, one namespace each (their public names are in each module's __all__).
from . import _batchnorm as batchnorm  # noqa: E402  (family namespace: theory.batchnorm.<name>)
from . import _covariance_operator as covariance_operator  # noqa: E402  (family namespace: theory.covariance_operator.<name>)
from . import _distillation as distillation  # noqa: E402  (family namespace: theory.distillation.<name>)
from . import _kernels as kernels  # noqa: E402  (family namespace: theory.kernels.<name>)
from . import _committee as committee  # noqa: E402  (family namespace: theory.committee.<name>)
from . import _simsiam as simsiam  # noqa: E402  (family namespace: theory.simsiam.<name>)
from . import _recursive_gradient as recursive_gradient  # noqa: E402  (family namespace: theory.recursive_gradient.<name>)
from . import _locally_connected as locally_connected  # noqa: E402  (family namespace: theory.locally_connected.<name>)
from . import _linear_dynamics as linear_dynamics  # noqa: E402  (family namespace: theory.linear_dynamics.<name>)
