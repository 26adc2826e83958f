"""theorycheck's engine: claims, parameter specs, the checker and the command line.

Public API::

    from verify import Claim, Real, Int, Fixed, Limit, Vector, Matrix, Sweep, Gaussian, check, dot, norm

The names load on first use (PEP 562), so ``import verify`` -- and the command line's ``--help``, usage
errors and ``list`` -- do not import torch, SymPy or the engine.
"""

from ._errors import ClaimDefinitionError, DerivationFileError, ParameterSpecError, TheorycheckError, UsageError

_LAZY = {
    "Claim": "._claim", "check": "._engine", "load_claims": "._loader", "Real": "._params", "Vector": "._params",
    "Matrix": "._params", "ParamSpec": "._params", "SCHEMA": "._results", "ClaimResult": "._results", "Sweep": "._sweep",
    "Gaussian": "._draws", "Int": "._params", "Fixed": "._params", "Limit": "._limit", "dot": "theory._vectors", "norm": "theory._vectors",
}

__all__ = [
    "Claim", "Real", "Int", "Fixed", "Limit", "Vector", "Matrix", "dot", "norm", "ParamSpec", "Sweep", "Gaussian", "check", "load_claims", "ClaimResult", "SCHEMA",
    "TheorycheckError", "ParameterSpecError", "ClaimDefinitionError", "DerivationFileError", "UsageError",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'verify' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__ if module.startswith(".") else None), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
