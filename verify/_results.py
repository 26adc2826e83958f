"""Results as data: per-claim records and the versioned JSON document (schema ``theorycheck.results/1``).

The schema is documented in docs/results-schema.md; bump ``SCHEMA`` on any incompatible change.
Non-finite floats (an infinite z when the standard error is exactly zero) are written as the strings
"inf", "-inf", "nan" so the file stays strict JSON.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "ClaimResult", "results_document", "write_json_atomic", "package_versions"]

SCHEMA = "theorycheck.results/1"


@dataclass
class ClaimResult:
    name: str
    method: str                      # "monte_carlo" | "exact"
    verdict: str                     # "verified" | "refuted" | "error"
    expected: str = "verified"
    relation: str = "=="             # the claim's: estimand ==, <= or >= its closed form
    family: str = ""
    reference: str = ""
    statement: str = ""
    source: str = "builtin"          # "builtin" or the derivation file's path
    examples: int = 0                # examples evaluated before the verdict (boundary + random)
    boundary_examples: int = 0
    undecidable_examples: int = 0    # skipped: a jump of the closed form within float64 round-off there
    samples: int = 0                 # Monte Carlo samples per example (0 for exact); with resolve=, the cap
    samples_per_example: dict | None = None  # Monte Carlo: {"min", "median", "max"} draws actually used (pilot excluded)
    variance_reduction: dict | None = None  # Monte Carlo: {"requested": [...], "designs": {"iid"|"antithetic"|"rqmc": examples}}
    components: int = 0
    tests: int = 0                   # examples x components planned: the Bonferroni divisor
    statistic: dict = field(default_factory=dict)
    false_refutation_rate: float = 0.0
    detectable_discrepancy: float | None = None
    detectable_relative: float | None = None
    absolute_examples: int = 0       # examples with no relative figure: closed form 0, or vanishing against its samples
    counterexample: dict | None = None
    derivation: dict | None = None
    sweep: dict | None = None            # {"label", "x", "closed_form", "estimate", "std_error", "shape"}
    convergence: dict | None = None      # typical example: {"n", "abs_error", "std_error"} (max over components)
    trajectory: dict | None = None       # {"t", "series", "xlabel", "ylabel"}
    order: dict | None = None            # limit= claims: {"statement", "stated", "measured_min", ...} (_engine._order_summary)
    mutants: dict | None = None          # mutation certificate (--mutants): {"total", "killed", "equivalent", "survived", "mutants"}
    error: str | None = None
    warnings: list = field(default_factory=list)  # e.g. the claim's code changed torch's global state (restored)
    seconds: float = 0.0

    @property
    def as_expected(self) -> bool:
        """Verdict as expected, and no mutant of a verified claim survived its check."""
        return self.verdict == self.expected and not (self.mutants and self.mutants["survived"])

    def to_json(self) -> dict:
        return _finite(asdict(self))

    def _repr_html_(self) -> str:
        """Jupyter's rendering: the report's section for this claim, figures inline (``_notebook.py``)."""
        from ._notebook import result_html

        return result_html(self.to_json())


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _floats(v: Any) -> Any:
    """Inverse of ``_finite``: the strings "inf", "-inf", "nan" back to floats, in nested dicts and lists."""
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, dict):
        return {k: _floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_floats(x) for x in v]
    return v


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("theorycheck", "torch", "sympy", "numpy", "scipy", "hypothesis", "mpmath"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def results_document(results: list[ClaimResult], *, seed: int, device: str, seconds: float, command: str) -> dict:
    return {
        "schema": SCHEMA,
        "command": command,
        "seed": seed,
        "device": device,
        "dtype": "float64",
        "versions": package_versions(),
        "git_commit": _git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "summary": {v: sum(r.verdict == v for r in results) for v in ("verified", "refuted", "error")}
        | {"unexpected": sum(not r.as_expected for r in results),
           "mutants_survived": sum(r.mutants["survived"] for r in results if r.mutants)},
        "claims": [r.to_json() for r in results],
    }


def samples_text(samples: int, per_example: dict | None) -> str:
    """A Monte Carlo claim's draws per example as users read them: the count, or its range where ``resolve=``
    sized each example ("16384-300000"; ``samples`` is then only the cap)."""
    if per_example and per_example.get("min") != per_example.get("max"):
        return f"{per_example['min']}-{per_example['max']}"
    return str(per_example["min"] if per_example else samples)


def counterexample_reason(cx: dict) -> str:
    """Why a refutation's statistic is inf, where it is: the example's samples were all equal (SE = 0)."""
    se = cx.get("std_error")
    if se is None or se[cx["component"]] != 0:
        return ""
    return (" (standard error 0: every sample was equal; an event the samples missed could move the mean by at most "
            "ln(m/alpha)/n x (B + |estimate|), B = the claim's sample_bound or the largest |sample| seen over its "
            "examples: declare sample_bound= for a bounded estimator such as an indicator)")


_STATISTIC_SYMBOLS = {"max_abs_z": "max|z|", "max_error_over_bound": "max err/bound",
                      "max_order_deficit_over_tolerance": "max order deficit/tolerance"}


def statistic_symbol(name: str | None, spaced: bool = False) -> str:
    """How the command line (``max|z|``) and the report (``spaced``: ``max |z|``) name a run's statistic
    (``ClaimResult.statistic["name"]``)."""
    sym = _STATISTIC_SYMBOLS.get(name or "", "max err/bound")
    return sym.replace("max|z|", "max |z|") if spaced else sym


def order_text(o: dict) -> str:
    """A limit= counterexample's ladder in one line: the measured order, its bound and where it was measured."""
    name, pair = o["parameter"], o["pair"]
    if o["to"] == "oo":
        stated = f"stated O({name}^-{o['stated']:g})"
    elif o["to"] == 0:
        stated = f"stated O({name}^{o['stated']:g})"
    else:
        stated = f"stated O(|{name} - {o['to']:g}|^{o['stated']:g})"
    if o.get("measured") is None:
        return f"order not measured (fewer than two rungs resolved); {stated}"
    at = ", ".join(f"{o['rungs'][i]:.4g}" for i in pair)
    up = "inf" if o.get("upper") is None else f"{o['upper']:.3g}"
    return (f"measured order {o['measured']:.3g} (upper confidence bound {up}) between {name} = {at}; {stated}, "
            f"refuted below {o['stated'] - o['tolerance']:g}")


def verdict_class(c: dict) -> str:
    """``verified``, ``refuted-expected`` (a claim meant to fail, refuted), ``unexpected`` or ``error``: how the
    report page, the notebook view and the LaTeX appendix class a results.json claim."""
    if c["verdict"] == "error":
        return "error"
    if c["verdict"] != c.get("expected", "verified"):
        return "unexpected"
    return "verified" if c["verdict"] == "verified" else "refuted-expected"


def component_label(cx: dict) -> str:
    """``component [i, j]: `` for a vector or matrix closed form; nothing for a scalar (index [])."""
    return f"component {cx['index']}: " if cx["index"] else ""


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write to a temporary file beside ``path`` and rename: a reader never sees half a file."""
    from numerics._files import chmod_like_new   # here, not at import: ``import verify`` stays free of torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        chmod_like_new(tmp)                 # mkstemp's 0600 -> what open() would give under the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, document: dict) -> None:
    """``document`` as indented JSON (no NaN or inf), written atomically."""
    write_text_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
