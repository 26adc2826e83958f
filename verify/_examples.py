"""Which parameter values a claim is tested at: boundary examples on purpose, then hypothesis draws.

Boundary examples (always run, before any random draw):

* ``typical``: every parameter in general position (fixed, distinct, non-axis directions);
* ``p=low`` / ``p=high`` (and ``p=1`` for norms whose range holds 1): one parameter at a range end, the
  others typical -- tiny and huge norms, relative to the others;
* ``all=low`` / ``all=high``: every parameter at the same end;
* for each pair (a, b) of vector parameters of the same dimension: ``b || a`` (parallel, theta = 0),
  ``b || -a`` (anti-parallel, theta = pi) and ``b = a``; for matrices, the same between their first rows
  and, within one matrix, ``rows parallel`` (row 1 || row 0).

Every dimension: where sizes are drawn per example (``Vector(dim=(2, 8))``, see ``_params.py``), the whole set
above is built at the smallest sizes (every range at ``lo``, labels ``... @ dim(w)=2``) and again at the
largest (``hi``); with several ranges, also one ``typical`` example per range with that one at ``hi`` and the
others at ``lo``. Sizes sharing a range (``Vector(dim="w")``) are equal in every example, so the geometry
(parallel, anti-parallel, equal) applies to them.

Random examples come from ``parameters(specs)``, a hypothesis strategy that draws every parameter from
its spec and then, with some probability, ties a later vector to an earlier one (parallel,
anti-parallel, equal), so degenerate geometry also appears among draws and survives shrinking.

Every example's Monte Carlo stream is seeded from (run seed, exact parameter bytes): the same parameters
give the same estimate in a run, in a replay and during shrinking.
"""

from __future__ import annotations

import contextlib

import hashlib
from typing import Mapping

import numpy as np
from hypothesis import strategies as st

from ._params import Matrix, ParamSpec, Vector, resolve, size_label, size_ranges

__all__ = ["boundary_examples", "parameters", "example_seed", "example_key", "independent_of_imports"]


def _rows(value: np.ndarray) -> np.ndarray:
    return value if value.ndim == 2 else value[None, :]


def _tie(a: np.ndarray, b_norm: float, how: str) -> np.ndarray:
    """A vector tied to ``a`` (a vector): parallel / anti-parallel with norm b_norm, or equal to a."""
    if how == "equal":
        return a.copy()
    unit = a / np.linalg.norm(a)
    return unit * b_norm * (1.0 if how == "parallel" else -1.0)


def _clip_norm(v: np.ndarray, spec: ParamSpec) -> float:
    lo, hi = spec.norm
    return float(min(max(np.linalg.norm(v), lo), hi))


def _vector_like(spec: ParamSpec) -> bool:
    return isinstance(spec, (Vector, Matrix))


def _width(spec: ParamSpec) -> int:
    return spec.dim if isinstance(spec, Vector) else spec.cols


def _set_first_row(spec: ParamSpec, value: np.ndarray, row: np.ndarray) -> np.ndarray:
    if isinstance(spec, Vector):
        return row
    out = value.copy()
    out[0] = row
    return out


def boundary_examples(specs: Mapping[str, ParamSpec]) -> list[tuple[str, dict[str, np.ndarray]]]:
    ranges = size_ranges(specs)
    if not ranges:
        return _fixed_boundary(specs)
    lows = {k: lo for k, (lo, _) in ranges.items()}
    out = []
    for sizes in (lows, {k: hi for k, (_, hi) in ranges.items()}):
        tag = size_label(sizes)
        out += [(f"{label} @ {tag}", ex) for label, ex in _fixed_boundary(resolve(specs, sizes))]
    if len(ranges) > 1:
        for k, (_, hi) in ranges.items():
            sizes = {**lows, k: hi}
            out += [(f"{label} @ {size_label(sizes)}", ex) for label, ex in _fixed_boundary(resolve(specs, sizes))[:1]]
    return out


def _fixed_boundary(specs: Mapping[str, ParamSpec]) -> list[tuple[str, dict[str, np.ndarray]]]:
    names = list(specs)
    typical = {n: specs[n].typical(i) for i, n in enumerate(names)}
    out: list[tuple[str, dict]] = [("typical", typical)]
    for n in names:
        spec = specs[n]
        labels = ["low", "high"] + (["1"] if isinstance(spec, Vector) and len(spec.ends()) == 3 else [])
        for label, value in zip(labels, spec.ends()):
            if isinstance(spec, Vector):  # keep the typical direction, change only the norm
                value = typical[n] / np.linalg.norm(typical[n]) * np.linalg.norm(value)
            out.append((f"{n}={label}", {**typical, n: value}))
    if len(names) > 1:
        for k, label in ((0, "low"), (1, "high")):
            ex = {}
            for n in names:
                ends = specs[n].ends()
                if not ends:                        # a Fixed constant: its one value
                    ex[n] = typical[n]
                    continue
                end = ends[k]
                if isinstance(specs[n], Vector):
                    end = typical[n] / np.linalg.norm(typical[n]) * np.linalg.norm(end)
                elif isinstance(specs[n], Matrix):
                    end = typical[n] / np.linalg.norm(typical[n], axis=1, keepdims=True) * np.linalg.norm(end[0])
                ex[n] = end
            out.append((f"all={label}", ex))
    vec = [n for n in names if _vector_like(specs[n])]
    for i, a in enumerate(vec):
        for b in vec[i + 1:]:
            if _width(specs[a]) != _width(specs[b]):
                continue
            ra = _rows(typical[a])[0]
            rb = _rows(typical[b])[0]
            for how, sym in (("parallel", f"{b} || {a}"), ("antiparallel", f"{b} || -{a}"), ("equal", f"{b} = {a}")):
                row = _tie(ra, _clip_norm(rb, specs[b]), how)
                if how == "equal" and not (specs[b].norm[0] <= np.linalg.norm(ra) <= specs[b].norm[1]):
                    continue
                out.append((sym, {**typical, b: _set_first_row(specs[b], typical[b], row)}))
    for n in vec:
        if isinstance(specs[n], Matrix) and specs[n].rows > 1:
            m = typical[n].copy()
            for how, sym in (("parallel", f"{n} rows parallel"), ("antiparallel", f"{n} rows anti-parallel")):
                m2 = m.copy()
                m2[1] = _tie(m[0], float(np.linalg.norm(m[1])), how)
                out.append((sym, {**typical, n: m2}))
    return out


def parameters(specs: Mapping[str, ParamSpec]) -> st.SearchStrategy[dict[str, np.ndarray]]:
    """Hypothesis strategy for a claim's parameters, degenerate geometry included. Drawn sizes come first (each
    an integer in its range, shrinking towards ``lo``), then the values at those sizes."""
    ranges = size_ranges(specs)
    if not ranges:
        return _fixed_parameters(specs)
    sizes = st.fixed_dictionaries({k: st.integers(lo, hi) for k, (lo, hi) in ranges.items()})
    return sizes.flatmap(lambda drawn: _fixed_parameters(resolve(specs, drawn)))


def _fixed_parameters(specs: Mapping[str, ParamSpec]) -> st.SearchStrategy[dict[str, np.ndarray]]:
    names = list(specs)
    vec = [n for n in names if _vector_like(specs[n])]
    pairs = [(a, b) for i, a in enumerate(vec) for b in vec[i + 1:] if _width(specs[a]) == _width(specs[b])]
    base = st.fixed_dictionaries({n: specs[n].strategy() for n in names})
    if not pairs:
        return base
    ties = st.lists(st.sampled_from(["free", "free", "free", "parallel", "antiparallel", "equal"]),
                    min_size=len(pairs), max_size=len(pairs))

    def apply(drawn):
        values, how_list = drawn
        values = dict(values)
        for (a, b), how in zip(pairs, how_list):
            if how == "free":
                continue
            ra = _rows(values[a])[0]
            rb = _rows(values[b])[0]
            if how == "equal" and not (specs[b].norm[0] <= np.linalg.norm(ra) <= specs[b].norm[1]):
                continue
            values[b] = _set_first_row(specs[b], values[b], _tie(ra, _clip_norm(rb, specs[b]), how))
        return values

    return st.tuples(base, ties).map(apply)


def example_key(params: Mapping[str, np.ndarray]) -> bytes:
    """Exact bytes of the parameter values (name-ordered as given)."""
    h = hashlib.blake2b(digest_size=16)
    for n, v in params.items():
        h.update(n.encode())
        h.update(np.ascontiguousarray(v, dtype=np.float64).tobytes())
    return h.digest()


def example_seed(run_seed: int, params: Mapping[str, np.ndarray]) -> int:
    h = hashlib.blake2b(str(int(run_seed)).encode() + example_key(params), digest_size=8)
    return int.from_bytes(h.digest(), "little") >> 1  # 63 bits: valid for torch.Generator.manual_seed


@contextlib.contextmanager
def independent_of_imports():
    """Let hypothesis draw no constants from the modules this process happened to import.

    Hypothesis also draws, now and then, constants found in every *local* module in ``sys.modules`` (this
    project's, a derivation file's neighbours, the running script), so the examples a seed gives would depend
    on what the process imported: a Dask worker imports other modules than this process (no ``verify._cli``,
    its own ``__main__``), and a run with ``--mutants`` imports ``verify._mutants`` after its first claim.
    Inside the block only hypothesis' built-in constants are drawn. It uses hypothesis internals (the version
    is pinned in constraints.txt) and does nothing where they are not found. ``_engine._Search`` runs every
    search inside it, so ``check()``, the command line, the schedulers and the pytest plugin all get it.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
        local, cache = providers._get_local_constants, providers.CONSTANTS_CACHE.cache
    except (ImportError, AttributeError):   # pragma: no cover - another hypothesis version
        yield
        return
    none = Constants()
    providers._get_local_constants = lambda: none
    cache.clear()             # (choice type, constraints) -> permitted constants, computed from the local ones too
    try:
        yield
    finally:
        providers._get_local_constants = local
        cache.clear()
