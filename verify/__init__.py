"""theorycheck's engine: claims, parameter specs, the checker and the command line.

Public API::

    from verify import Claim, Real, Vector, Matrix, Sweep, check
"""

from ._claim import Claim
from ._engine import check
from ._errors import ClaimDefinitionError, DerivationFileError, ParameterSpecError, TheorycheckError, UsageError
from ._loader import load_claims
from ._params import Matrix, ParamSpec, Real, Vector
from ._results import SCHEMA, ClaimResult
from ._sweep import Sweep

__all__ = [
    "Claim", "Real", "Vector", "Matrix", "ParamSpec", "Sweep", "check", "load_claims", "ClaimResult", "SCHEMA",
    "TheorycheckError", "ParameterSpecError", "ClaimDefinitionError", "DerivationFileError", "UsageError",
]
