"""Estimators in torch: per-sample Monte Carlo and autograd quantities the theory's closed forms predict."""

from ._device import resolve_device
from ._population_gradient import (
    TwoLayerReLU,
    autograd_gradient_at,
    autograd_gradient_samples,
    network_gradient_at,
    network_gradient_samples,
    population_gradient_at,
    population_gradient_samples,
)

__all__ = [
    "batchnorm", "covariance_operator", "distillation", "kernels", "committee", "simsiam", "recursive_gradient",
    "locally_connected", "linear_dynamics",
    "TwoLayerReLU",
    "autograd_gradient_at",
    "autograd_gradient_samples",
    "network_gradient_at",
    "network_gradient_samples",
    "population_gradient_at",
    "population_gradient_samples",
    "resolve_device",
]

# The other result families, one namespace each (their public names are in each module's __all__).
from . import _batchnorm as batchnorm  # noqa: E402  (family namespace: numerics.batchnorm.<name>)
from . import _covariance_operator as covariance_operator  # noqa: E402  (family namespace: numerics.covariance_operator.<name>)
from . import _distillation as distillation  # noqa: E402  (family namespace: numerics.distillation.<name>)
from . import _kernels as kernels  # noqa: E402  (family namespace: numerics.kernels.<name>)
from . import _committee as committee  # noqa: E402  (family namespace: numerics.committee.<name>)
from . import _simsiam as simsiam  # noqa: E402  (family namespace: numerics.simsiam.<name>)
from . import _recursive_gradient as recursive_gradient  # noqa: E402  (family namespace: numerics.recursive_gradient.<name>)
from . import _locally_connected as locally_connected  # noqa: E402  (family namespace: numerics.locally_connected.<name>)
from . import _linear_dynamics as linear_dynamics  # noqa: E402  (family namespace: numerics.linear_dynamics.<name>)
