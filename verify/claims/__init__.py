"""The built-in claims, one module per result family (theory closed form + numerics estimator)."""

from __future__ import annotations

from .._claim import Claim

__all__ = ["builtin_claims"]


def builtin_claims() -> dict[str, Claim]:
    """name -> Claim, in the order ``theorycheck list`` shows them."""
    from ._batchnorm import CLAIMS as batchnorm
    from ._committee import CLAIMS as committee
    from ._covariance_operator import CLAIMS as covariance_operator
    from ._disentangled import CLAIMS as disentangled
    from ._distillation import CLAIMS as distillation
    from ._kernels import CLAIMS as kernels
    from ._linear_dynamics import CLAIMS as linear_dynamics
    from ._locally_connected import CLAIMS as locally_connected
    from ._optimization import CLAIMS as optimization
    from ._population_gradient import CLAIMS as population_gradient
    from ._recursive_gradient import CLAIMS as recursive_gradient
    from ._simsiam import CLAIMS as simsiam

    claims = [*population_gradient, *batchnorm, *distillation, *covariance_operator, *recursive_gradient,
              *locally_connected, *disentangled, *simsiam, *committee, *kernels, *linear_dynamics, *optimization]
    return {c.name: c for c in claims}
