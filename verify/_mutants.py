"""Mutation certificates: what a claim's check would catch.

A check that passes the true closed form must also *refute* nearby wrong ones, or it proves little.
``certify(claim)`` builds mutants of the claim's SymPy closed form automatically and runs each through
the same check (same seed, same examples and samples; shrinking off -- only the verdict matters):

| operator       | what it does                                             |
|----------------|----------------------------------------------------------|
| ``sign``       | flips the sign of one additive term                      |
| ``scale2``     | multiplies one additive term (or the whole form) by 2    |
| ``scale1/2``   | multiplies one additive term (or the whole form) by 1/2  |
| ``drop``       | drops one additive term                                  |
| ``supplement`` | replaces an angle acos(u) by pi - acos(u) (theta <-> pi - theta) |
| ``neighbour``  | replaces a function by a neighbour: sin <-> cos, asin <-> acos, sinh <-> cosh, tanh <-> erf |
| ``lower-order``| an order claim (``limit=``): adds c T^-(p-1) (c |h - a|^(p-1)) to every component, so the difference is of order p - 1 |

A mutant is *killed* when the check refutes it (or cannot evaluate it: an error is also a detection).
A surviving mutant is a defect of the claim -- too few samples, or parameter ranges that miss the
difference -- unless it is provably equivalent to the original (SymPy simplifies the difference to 0),
which the certificate records. For a bound (``relation="<="`` / ``">="``) a mutant may also be *implied*: a looser
bound than the original (mutant >= original for "<=") at every point the certificate evaluates (the claim's
boundary examples), so a correct estimator cannot violate it there and no check could kill it; the certificate
records such mutants as ``implied`` and, like equivalent ones, does not count them as survivors. The tightened
mutants (a constant or term halved where that tightens it, signs flipped) are the ones a bound's check must kill --
unless the bound has room: a tightened mutant that still held at every example checked, the estimate on its right
side (the check's statistic 0: no violation beyond round-off anywhere), is recorded ``within_slack`` (a true bound as
far as the examples go: smaller than the original's slack), not as a survivor. A survivor of a bound is a mutant
the estimate violated somewhere without the check refuting it. At most ``limit`` mutants are run, chosen evenly across operators.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Callable

import numpy as np
import sympy as sp

from ._claim import Claim, declared
from numerics._compile import compile_closed_form

__all__ = ["mutants", "certify"]

_NEIGHBOURS = {sp.sin: sp.cos, sp.cos: sp.sin, sp.asin: sp.acos, sp.acos: sp.asin,
               sp.sinh: sp.cosh, sp.cosh: sp.sinh, sp.tanh: sp.erf, sp.erf: sp.tanh}


def _terms_short(e: sp.Expr) -> str:
    s = sp.sstr(e)
    return s if len(s) <= 60 else s[:57] + "..."


def _node_mutations(node: sp.Expr):
    """(operator, description, replacement) for one node of the expression tree."""
    if node.is_Add:
        for t in node.args:
            rest = [a for a in node.args if a is not t]
            yield "sign", f"flip the sign of term {_terms_short(t)}", sp.Add(*rest, -t)
            yield "scale2", f"double term {_terms_short(t)}", sp.Add(*rest, 2 * t)
            yield "scale1/2", f"halve term {_terms_short(t)}", sp.Add(*rest, t / 2)
            yield "drop", f"drop term {_terms_short(t)}", sp.Add(*rest)
    if isinstance(node, sp.acos):
        yield "supplement", f"replace {_terms_short(node)} by pi - it (theta <-> pi - theta)", sp.pi - node
    f = _NEIGHBOURS.get(node.func)
    if f is not None and isinstance(node, sp.Function):
        yield "neighbour", f"replace {node.func.__name__} by {f.__name__} in {_terms_short(node)}", f(*node.args)


def mutants(components: list[sp.Expr], limit: int = 12) -> list[tuple[str, str, list[sp.Expr]]]:
    """Up to ``limit`` (operator, description, mutated components), spread evenly over operators."""
    by_op: dict[str, list[tuple[str, list[sp.Expr]]]] = {}
    seen = set()
    for i, comp in enumerate(components):
        candidates = [("scale2", "double the whole closed form", 2 * comp), ("sign", "negate the whole closed form", -comp)]
        for node in sp.preorder_traversal(comp):
            candidates += [(op, desc, comp.xreplace({node: new})) for op, desc, new in _node_mutations(node)]
        for op, desc, new in candidates:
            if new == comp or (i, new) in seen:
                continue
            seen.add((i, new))
            mutated = list(components)
            mutated[i] = new
            where = f" (component {i})" if len(components) > 1 else ""
            by_op.setdefault(op, []).append((desc + where, mutated))
    chosen: list[tuple[str, str, list[sp.Expr]]] = []
    queues = {op: list(v) for op, v in sorted(by_op.items())}
    while len(chosen) < limit and any(queues.values()):
        for op, q in queues.items():
            if q and len(chosen) < limit:
                # take from the front, the back and the middle in turn: spread over the tree
                k = (len(chosen) // max(len(queues), 1)) % 3
                idx = 0 if k == 0 else (len(q) - 1 if k == 1 else len(q) // 2)
                desc, mutated = q.pop(idx)
                chosen.append((op, desc, mutated))
    return chosen


WITNESS_POINTS = 8      # random points tried for a witness of non-equivalence before simplify is called
WITNESS_DIGITS = 50


def _witness(a: sp.Expr, b: sp.Expr, points: int = WITNESS_POINTS, seed: int = 0) -> bool:
    """Whether a and b differ at one of ``points`` random rational points (so they are not equivalent).

    Values are rationals with 1/64 steps, |v| <= 4 (> 0 for symbols assumed positive, >= 0 for nonnegative), where
    +, *, integer powers and sign are exact; anything transcendental is evaluated at 50 digits and counts as a
    difference only beyond 1e-40 x (1 + |a| + |b|). A point outside the domain (nan, complex, a division by 0)
    is skipped. Cheap, and definitive when it finds a witness: simplify(a - b) on a large expression with sign()
    can run for many minutes.
    """
    rng = random.Random(seed)
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for _ in range(points):
        point = {}
        for s in syms:
            v = sp.Rational(rng.randint(-256, 256), 64)
            if s.is_positive:
                v = abs(v) or sp.Rational(1, 64)
            elif s.is_nonnegative:
                v = abs(v)
            point[s] = v
        try:
            va, vb = (sp.N(e.xreplace(point), WITNESS_DIGITS) for e in (a, b))
        except (ZeroDivisionError, ValueError, TypeError):
            continue
        if not (va.is_number and vb.is_number and va.is_real and vb.is_real and va.is_finite and vb.is_finite):
            continue
        if abs(va - vb) > sp.Float(10, WITNESS_DIGITS) ** -40 * (1 + abs(va) + abs(vb)):
            return True
    return False


def _equivalent(a: sp.Expr, b: sp.Expr) -> bool:
    """SymPy-proven equivalence: no random point tells them apart (``_witness``), and simplify(a - b) is 0."""
    d = a - b
    if d == 0:
        return True
    if _witness(a, b):
        return False
    if sp.count_ops(d) > 400:     # too large for simplify in reasonable time: not claimed equivalent
        return False
    return sp.simplify(d) == 0


def pinned(claim: Claim, sizes: dict | None = None) -> tuple[Claim, dict]:
    """A fixed-size copy of a claim whose sizes are drawn (``Vector(dim=(2, 8))``): every size at ``sizes``
    (``size_ranges``' keys -> int; default the low end of each range), engine-owned inputs of a parameter's size
    resolved with it; and those sizes ({} for a fixed-size claim, which is returned as it is). A closed form built
    per size is mutated at one size: the smallest."""
    import numpy as np

    from ._params import is_sized, resolve, size_ranges

    if not is_sized(claim.params):
        return claim, {}
    if sizes is None:
        sizes = {k: lo for k, (lo, _) in size_ranges(claim.params).items()}
    params = resolve(claim.params, sizes)
    shapes = {n: np.empty(spec.shape) for n, spec in params.items()}
    inputs = {n: g.at(shapes) for n, g in claim.inputs.items()} if claim.inputs else claim.inputs
    return dataclasses.replace(claim, params=params, inputs=inputs), sizes


def certify(claim: Claim, check: Callable, *, seed: int = 0, device="cpu", limit: int = 12, isolation=None) -> dict:
    """Run the claim's check on mutants of its closed form; returns the certificate (JSON-ready). A claim whose
    sizes are drawn is certified on its fixed-size copy at the smallest sizes (``pinned``), recorded as ``sizes``."""
    start = time.perf_counter()
    claim, sizes = pinned(claim)
    compiled, _ = compile_closed_form(declared(claim.closed_form), list(claim.params), list(claim.params.values()))
    shape = compiled.shape
    rows = []
    candidates = mutants(compiled.components, limit)
    if claim.limit is not None:
        candidates.append(_lower_order(claim, compiled))
    for op, desc, comps in candidates:
        def closed_form(comps=comps, **_):
            return sp.Matrix(*shape, comps) if shape else comps[0]
        mutant = dataclasses.replace(claim, name=f"{claim.name}~mutant", closed_form=closed_form, derivation=None,
                                     sweep=None, trajectory=None, expected="verified")
        r = check(mutant, seed=seed, device=device, shrink=False, isolation=isolation)
        killed = r.verdict != "verified"
        row = {"operator": op, "mutation": desc, "verdict": r.verdict, "killed": killed}
        if not killed:
            row["equivalent"] = all(_equivalent(m, o) for m, o in zip(comps, compiled.components))
            if not row["equivalent"] and claim.relation != "==":
                row["implied"] = _implied(claim, compiled, closed_form)
                # a bound with room: the mutated bound held at every example checked, the estimate on its right
                # side (statistic 0: no violation beyond round-off anywhere), so the mutation is within the bound's
                # slack there -- a true statement as far as the examples go, not a blind spot of the check
                row["within_slack"] = not row["implied"] and float(r.statistic.get("value", 1.0)) == 0.0
        rows.append(row)
    killed = sum(r["killed"] for r in rows)
    equivalent = sum(r.get("equivalent", False) for r in rows)
    implied = sum(r.get("implied", False) for r in rows)
    slack = sum(r.get("within_slack", False) for r in rows)
    out = {"total": len(rows), "killed": killed, "equivalent": equivalent, "implied": implied, "within_slack": slack,
           "survived": len(rows) - killed - equivalent - implied - slack, "mutants": rows,
           "seconds": round(time.perf_counter() - start, 3)}
    if sizes:
        out["sizes"] = sizes
    return out


def _lower_order(claim: Claim, compiled) -> tuple[str, str, list]:
    """The order claim's mutant one order lower: every component plus c delta^(p - 1), delta = 1 / T (to oo) or
    |h - a|, c a tenth of the closed form's largest |component| at the typical example, where the term is that size."""
    from ._examples import boundary_examples

    lim = claim.limit
    sym = claim.params[lim.name].symbols(lim.name)
    delta = 1 / sym if lim.infinite else sp.Abs(sym - lim.to)
    typical = next((p for label, p in boundary_examples(claim.params) if label.startswith("typical")),
                   boundary_examples(claim.params)[0][1])
    value, _ = compiled.evaluate_f64(typical)
    d0 = float(1.0 / typical[lim.name]) if lim.infinite else abs(float(typical[lim.name]) - lim.to)
    c = 0.1 * max(float(np.max(np.abs(value))) if np.size(value) else 0.0, 1e-3) / d0 ** (lim.order - 1)
    p = sp.Rational(lim.order).limit_denominator(1000) - 1 if lim.order == int(lim.order) else sp.Float(lim.order - 1)
    term = sp.Float(c, 17) * delta ** p
    where = f"{lim.name}^-{lim.order - 1:g}" if lim.infinite else f"|{lim.name} - {lim.to:g}|^{lim.order - 1:g}"
    return "lower-order", f"add {c:.3g} {where} (order {lim.order - 1:g}, stated {lim.order:g})", [e + term for e in compiled.components]


def _implied(claim: Claim, original, mutant_form: Callable) -> bool:
    """Whether a mutant bound is looser than the original at every boundary example of the claim (so the claim
    implies it there): mutant >= original componentwise for "<=", <= for ">="."""
    from ._examples import boundary_examples

    mutant, _ = compile_closed_form(mutant_form, list(claim.params), list(claim.params.values()))
    sign = 1.0 if claim.relation == "<=" else -1.0
    for _, params in boundary_examples(claim.params):
        a, _ = original.evaluate_f64(params)
        b, _ = mutant.evaluate_f64(params)
        if not (np.isfinite(a).all() and np.isfinite(b).all()) or (sign * (b - a) < 0).any():
            return False
    return True
