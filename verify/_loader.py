"""Load a derivation file and collect its top-level ``Claim`` objects.

A derivation file is Python code and is run as such (like ``python FILE``): only run files you trust.
Nothing here ``eval``s or ``sympify``s a string; the file's own code builds SymPy objects.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
import traceback
import uuid
from pathlib import Path

from ._budget import Budget, BudgetExceeded
from ._claim import Claim
from ._errors import DerivationFileError, NoClaimsError, TheorycheckError

__all__ = ["load_claims"]


def _line_in(path: Path, exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return f"{path}:{frames[-1].lineno}" if frames else str(path)


def load_claims(path: str, *, time_budget: float = math.inf) -> list[Claim]:
    """Run ``path`` as a module and return its top-level Claims in definition order.

    An import that runs longer than ``time_budget`` seconds is stopped (``_budget.Budget``) and reported.
    """
    p = Path(path)
    if not p.is_file():
        raise DerivationFileError(f"{path}: no such file or directory; pass a .py file that defines Claim objects "
                                  "(or a directory of them)")
    if p.suffix != ".py":
        raise DerivationFileError(f"{path}: not a .py file; a derivation file is Python code defining Claim objects")
    name = f"_theorycheck_derivation_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, p)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(p.resolve().parent))   # let the file import its neighbours, as `python FILE` would
    budget = Budget(time_budget)
    try:
        with budget.armed(), budget.step("import"):
            spec.loader.exec_module(module)
    except BudgetExceeded:
        raise DerivationFileError(f"{path}: stopped while importing the file: it ran longer than the time budget of {time_budget:g} s; "
                                  "move long computations out of the import (into the closed form or estimator) or raise --time-budget") from None
    except SyntaxError as exc:
        raise DerivationFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}; fix the Python syntax") from None
    except TheorycheckError as exc:
        raise DerivationFileError(f"{_line_in(p, exc)}: {exc}") from None
    except TypeError as exc:
        msg = str(exc)
        if "Claim.__init__()" in msg:
            missing = ", ".join(re.findall(r"'(\w+)'", msg)) or msg
            raise DerivationFileError(f"{_line_in(p, exc)}: Claim(...) is missing {missing}; a Claim needs name=, params=, closed_form= "
                                      "and one of monte_carlo= / exact=") from None
        raise DerivationFileError(f"{_line_in(p, exc)}: running the file raised TypeError: {msg}; a derivation file must import without errors") from None
    except ImportError as exc:
        raise DerivationFileError(f"{_line_in(p, exc)}: import failed: {type(exc).__name__}: {exc}; install the module or fix the import") from None
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DerivationFileError(f"{_line_in(p, exc)}: running the file raised {type(exc).__name__}: {msg}; a derivation file must import without errors") from None
    except SystemExit as exc:
        raise DerivationFileError(f"{path}: the file called sys.exit({exc.code!r}) while loading; guard scripts with if __name__ == '__main__'") from None
    finally:
        sys.path.remove(str(p.resolve().parent))
        sys.modules.pop(name, None)
    claims = list({id(v): v for v in vars(module).values() if isinstance(v, Claim)}.values())
    if not claims:
        raise NoClaimsError(f"{path}: no Claim defined at top level; define one, e.g. CLAIM = Claim(name=..., params=..., closed_form=..., monte_carlo=...)")
    names = [c.name for c in claims]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DerivationFileError(f"{path}: several Claims share the name {dup[0]!r}; give each Claim a distinct name")
    return claims
