"""One exception type per kind of misuse. Every message says what, shows the bad value, says the fix."""

from __future__ import annotations

__all__ = ["TheorycheckError", "ParameterSpecError", "ClaimDefinitionError", "DerivationFileError", "NoClaimsError",
           "UsageError"]


class TheorycheckError(Exception):
    """Base class: a user mistake that is reported as one line, never as a traceback."""


class ParameterSpecError(TheorycheckError, ValueError):
    """A parameter spec such as ``Real(3, 1)`` or ``Vector(0)`` is malformed."""


class ClaimDefinitionError(TheorycheckError, ValueError):
    """A ``Claim(...)`` is missing a field, has both estimators, or has ill-typed fields."""


class DerivationFileError(TheorycheckError):
    """A derivation file cannot be read, does not import, or defines no Claim."""


class NoClaimsError(DerivationFileError):
    """A derivation file that imports but defines no Claim at top level."""


class UsageError(TheorycheckError):
    """The command line was used wrongly (unknown claim name, bad --device, bad --replay JSON)."""
