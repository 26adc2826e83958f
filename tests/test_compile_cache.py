"""Compiling once: the in-process cache, the disk cache (generated source, not pickles), lazy functions.

A function built from cached source must be the function a fresh compile builds: the same outputs, bit for bit,
from evaluate / evaluate_f64 / evaluate_mp / refine / undecidable_switch / forward_error, in a fresh process
that loads everything from disk. A warm compile is shown to be cheap by what it does not call (no timing).
"""

from __future__ import annotations

import importlib
import json
import linecache
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import numerics._compile as C
from verify import Real
from numerics._compile import ClosedFormError, compile_closed_form

ROOT = Path(__file__).resolve().parents[1]


# -- closed forms covering the printer's cases (shared with the subprocess below) ------------------------------
FORMS_SOURCE = '''
import numpy as np
import sympy as sp
from verify import Real, Vector

def _dot(u, v):
    return (u.T * v)[0]

FORMS = {
    # name: (closed_form, params, parameter values)
    "scalar": (lambda a, b: a * b - sp.sin(a) + sp.sqrt(2) * b / 3, {"a": Real(-1, 1), "b": Real(0.5, 2)},
               [{"a": 0.3, "b": 1.1}, {"a": -1.0, "b": 0.5}]),
    "matrix": (lambda w, v: sp.Matrix([[_dot(w, v), sp.Max(w[0], v[1])], [sp.Min(w[1], 0), sp.exp(-_dot(w, w))]]),
               {"w": Vector(3), "v": Vector(3)},
               [{"w": [0.3, -0.7, 1.1], "v": [0.9, 0.2, -0.4]}, {"w": [1.0, 0.0, 0.0], "v": [1.0, 0.0, 0.0]}]),
    "switches": (lambda a, b: sp.Piecewise((a ** 2, a > b), (a * b, True)) + sp.sign(a - b) * b
                 + sp.Heaviside(a) * sp.Heaviside(b, 0), {"a": Real(-1, 1), "b": Real(-1, 1)},
                 [{"a": 0.25, "b": -0.5}, {"a": 0.5, "b": 0.5}, {"a": 0.0, "b": 0.0}]),
    "special": (lambda a, b: sp.erf(a) * sp.acos(b / 2) + sp.polygamma(1, a + 2) + sp.loggamma(a + 3) + sp.erfc(b),
                {"a": Real(0.1, 2), "b": Real(-1.5, 1.5)}, [{"a": 0.7, "b": 0.3}, {"a": 2.0, "b": -1.5}]),
    "angle": (lambda w, v: sp.acos(_dot(w, v) / sp.sqrt(_dot(w, w) * _dot(v, v))), {"w": Vector(3), "v": Vector(3)},
              [{"w": [0.3, 0.7, 1.1], "v": [0.9, 2.1, 3.3]}, {"w": [0.3, 0.7, 1.1], "v": [-0.3, 0.2, 0.5]}]),
    # float64 overflows (cosh(400)**2 = inf): the value and the magnitude fall back to 50 digits (mp, mp_mag)
    "overflow": (lambda a: sp.cosh(a) ** 2 - sp.sinh(a) ** 2, {"a": Real(300, 400)}, [{"a": 400.0}, {"a": 350.0}]),
}


def outputs(name, cf):
    """Everything a check reads from a compiled closed form, as exact text (hex floats)."""
    _, params, points = FORMS[name]
    def h(x):
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, tuple):
            return [h(v) for v in x]
        if isinstance(x, float):
            return float(x).hex()
        return [float(v).hex() for v in np.asarray(x, dtype=np.float64).reshape(-1)]
    out = {"ops": cf.ops, "shape": list(cf.shape), "size": cf.size,
           "switch_ops": None if cf.switch_ops is None else [int(n) for n in cf.switch_ops]}
    for i, point in enumerate(points):
        p = {k: np.asarray(v, dtype=np.float64) for k, v in point.items()}
        flat = cf._flat(p)
        out[i] = {"evaluate": h(cf.evaluate(p)), "evaluate_f64": h(cf.evaluate_f64(p)), "evaluate_mp": h(cf.evaluate_mp(flat)),
                  "evaluate_mp_80": h(cf.evaluate_mp(flat, 80)), "refine": h(cf.refine(p)),
                  "undecidable_switch": cf.undecidable_switch(p), "forward_error": h(cf.forward_error(p))}
    return out
'''
_forms: dict = {}
exec(FORMS_SOURCE, _forms)
FORMS, outputs = _forms["FORMS"], _forms["outputs"]


def _compile_form(name):
    closed_form, params, _ = FORMS[name]
    return compile_closed_form(closed_form, list(params), list(params.values()))[0]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private disk cache, and an empty in-process one (before and after)."""
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", str(tmp_path / "cache"))
    C.clear_memory_cache()
    yield tmp_path / "cache" / "compile"
    C.clear_memory_cache()


def _entries(root: Path) -> dict[str, Path]:
    """piece file name suffix ('main', 'mp', ...) -> path, for a cache holding one closed form."""
    return {p.name.split(".")[1]: p for p in root.rglob("*.json")} if root.exists() else {}


def _forbid_compiling(monkeypatch):
    """Every step of a fresh compile raises: what runs after this must come from a cache."""
    def boom(*args, **kwargs):
        raise AssertionError("compiled again")
    for name in ("_printable", "_magnitude", "_switches", "_lambdify_source", "_printer_rewrites", "_constants_to_floats",
                 "lambdify_torch", "_cse"):
        monkeypatch.setattr(C, name, boom)
    monkeypatch.setattr(sp, "lambdify", boom)
    monkeypatch.setattr(sp, "count_ops", boom)
    monkeypatch.setattr(importlib.import_module("sympy.simplify.cse_main"), "cse", boom)


# -- the generated source is lambdify's ------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FORMS))
def test_generated_source_is_what_sympy_lambdify_generates(name):
    closed_form, params, _ = FORMS[name]
    symbolic = {n: s.symbols(n) for n, s in params.items()}
    expr = closed_form(**symbolic)
    comps = list(expr) if isinstance(expr, sp.MatrixBase) else [sp.sympify(expr)]
    args = [s for n in params for s in (list(symbolic[n]) if isinstance(symbolic[n], sp.MatrixBase) else [symbolic[n]])]
    printable = [C._printable(c) for c in comps]
    for kind, exprs in (("torch", printable), ("mpmath", printable), ("mpmath", [C._magnitude(p) for p in printable])):
        if kind == "torch":
            fn = sp.lambdify(args, exprs, modules=[C._TORCH_FIXES, "torch"], cse=True, printer=C._torch_printer())
        else:
            fn = sp.lambdify(args, exprs, modules="mpmath", cse=True)
        theirs = "".join(linecache.cache[fn.__code__.co_filename][2])
        assert C._lambdify_source(kind, args, exprs)["src"] == theirs


def test_magnitude_and_rewrites_match_the_plain_definitions():
    """The memoised _magnitude / type-set _printer_rewrites give what the per-node definitions give."""
    a, b, h = sp.symbols("a b h", real=True)
    shared = sp.sin(a) - sp.cot(b) * sp.sign(h)
    exprs = [shared * (shared + 1) / (a - b) ** 2 + (sp.sign(h) + sp.sign(h) ** 2) / 2 + sp.sinc(a) + sp.binomial(a + 3, 2),
             sp.sign(h) * b - b * sp.sign(h) + 1 / (sp.sqrt(a ** 2 + 1) - a), sp.acot(a) * sp.Heaviside(b) + sp.sec(shared),
             (sp.sign(h) * sp.sign(a) + 2) * a + sp.sign(a - b) ** 2 / (sp.sign(h) + 3) - sp.Abs(sp.sign(h) * b) * a
             + sp.Piecewise((sp.sign(a) * b, a > b), (sp.sign(b) + 1, True)) / (1 + sp.sign(a) ** 2)]

    def plain_magnitude(e):
        if not e.is_number and e.has(sp.sign) and not e.replace(lambda x: isinstance(x, sp.sign), lambda x: sp.Integer(1)).free_symbols:
            return sp.Abs(e)
        if e.is_Add or e.is_Mul:
            return e.func(*[plain_magnitude(t) for t in e.args])
        if e.is_Pow and e.exp.is_number:
            if e.exp.is_negative:
                return sp.Abs(e.base) ** e.exp * plain_magnitude(e.base) / sp.Abs(e.base)
            return sp.Pow(plain_magnitude(e.base), e.exp)
        return sp.Abs(e)

    def plain_rewrites(e):
        for f, rule in C._REWRITE_RULES.items():
            if e.has(f):
                e = e.replace(lambda x, f=f: isinstance(x, f), lambda x, rule=rule: rule(*x.args))
        return e

    for e in exprs:
        assert sp.srepr(C._printer_rewrites(e)) == sp.srepr(plain_rewrites(e))
        p = C._printable(e)
        assert sp.srepr(C._magnitude(p)) == sp.srepr(plain_magnitude(p))
    integral = sp.Integral(a * sp.Symbol("t"), (sp.Symbol("t"), 0, b))          # a bound variable
    assert C._free_symbols(exprs + [integral]) == set().union(*(e.free_symbols for e in exprs + [integral]))
    for bad in (sp.I, sp.zoo, sp.nan):
        with_bad = exprs + [a + bad * b]
        assert C._holds_any(with_bad, {sp.I, sp.zoo, sp.nan}) == any(e.has(bad) for e in with_bad) is True
    assert not C._holds_any(exprs, {sp.I, sp.zoo, sp.nan})
    switches = C._switches(exprs)
    plain = []
    for comp in exprs:
        for node in sp.preorder_traversal(comp):
            if isinstance(node, (sp.sign, sp.Heaviside, sp.floor, sp.ceiling)):
                plain.append(node.args[0])
            elif isinstance(node, sp.Piecewise):
                plain += [c.lhs - c.rhs for _, c in node.args if isinstance(c, sp.core.relational.Relational)]
    assert switches == list(dict.fromkeys(e for e in plain if not e.is_number))


# -- the disk cache, across processes ---------------------------------------------------------------------------
SCRIPT = FORMS_SOURCE + '''
import json, sys
import numerics._compile as C
from numerics._compile import compile_closed_form
mode = sys.argv[1]
if mode == "warm":          # nothing may be compiled: every function comes from the disk cache
    def boom(*args, **kwargs):
        raise AssertionError("compiled again")
    for name in ("_printable", "_magnitude", "_switches", "_lambdify_source", "_cse", "lambdify_torch"):
        setattr(C, name, boom)
    sp.lambdify = sp.count_ops = boom
    import importlib
    importlib.import_module("sympy.simplify.cse_main").cse = boom
result = {}
for name, (closed_form, params, _) in FORMS.items():
    cf, _ = compile_closed_form(closed_form, list(params), list(params.values()))
    result[name] = outputs(name, cf)
    result[name]["built"] = sorted(cf._fns.built)
print(json.dumps(result))
'''


def _run(mode: str, cache_dir: str) -> dict:
    env = {**os.environ, "THEORYCHECK_CACHE_DIR": cache_dir, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_warm_from_disk_in_a_fresh_process_is_bit_for_bit_a_fresh_compile(tmp_path, monkeypatch):
    """Compiled here into an empty disk cache, then loaded from it in a fresh process (which may compile nothing)."""
    cache_dir = str(tmp_path / "cache")
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", cache_dir)
    C.clear_memory_cache()
    cold = {}
    for name in FORMS:
        cf = _compile_form(name)
        cold[name] = {**outputs(name, cf), "built": sorted(cf._fns.built)}
    cold = json.loads(json.dumps(cold))                                      # as the fresh process prints it
    C.clear_memory_cache()
    assert any((tmp_path / "cache" / "compile").rglob("*.mp_mag.json"))     # the overflow form used mp_mag
    warm = _run("warm", cache_dir)       # raises if anything is compiled rather than loaded
    assert warm == cold
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", "off")                      # and here, with no cache at all
    C.clear_memory_cache()
    fresh = {name: outputs(name, _compile_form(name)) for name in FORMS}
    C.clear_memory_cache()
    assert json.loads(json.dumps(fresh)) == {name: {k: v for k, v in out.items() if k != "built"} for name, out in cold.items()}
    assert cold["overflow"]["built"] == ["mag", "main", "mp", "mp_mag", "switch"]


# -- in process -------------------------------------------------------------------------------------------
def test_warm_compile_does_not_compile_again(cache, monkeypatch):
    cold = {name: outputs(name, _compile_form(name)) for name in FORMS}
    C.clear_memory_cache()                   # from disk
    with monkeypatch.context() as m:
        _forbid_compiling(m)
        assert {name: outputs(name, _compile_form(name)) for name in FORMS} == cold
        # and from memory: the disk may go away
        for p in cache.rglob("*.json"):
            p.unlink()
        assert {name: outputs(name, _compile_form(name)) for name in FORMS} == cold


def test_the_in_run_cache_returns_independent_objects_sharing_the_functions(cache, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", "off")
    first = _compile_form("matrix")
    with monkeypatch.context() as m:
        _forbid_compiling(m)
        second = _compile_form("matrix")
    assert second is not first and second._fns is first._fns
    assert second.components is not first.components and second.components == first.components
    first.components.append(sp.Integer(7))
    first.names.reverse()
    third = _compile_form("matrix")
    assert third.size == 4 and third.names == ["w", "v"]
    p = {"w": np.array([0.3, -0.7, 1.1]), "v": np.array([0.9, 0.2, -0.4])}
    assert np.array_equal(third.evaluate(p)[0], second.evaluate(p)[0])


def test_functions_are_built_on_first_use_only(cache):
    cf = _compile_form("switches")
    assert set(cf._fns.built) == {"main"} and set(_entries(cache)) == {"main"}
    cf.evaluate_f64({"a": np.array(0.25), "b": np.array(-0.5)})          # finite in float64: no mpmath needed
    assert set(cf._fns.built) == {"main"}
    cf.evaluate({"a": np.array(0.25), "b": np.array(-0.5)})     # what every example needs: magnitude, 50 digits, jumps
    assert set(cf._fns.built) == {"main", "mag", "mp", "switch"}
    cf.undecidable_switch({"a": np.array(0.25), "b": np.array(-0.5)})
    cf.refine({"a": np.array(0.25), "b": np.array(-0.5)})
    assert set(cf._fns.built) == {"main", "mag", "mp", "switch"} == set(_entries(cache))   # mp_mag: finite magnitude
    overflow = _compile_form("overflow")
    overflow.evaluate({"a": np.array(400.0)})
    assert "mp_mag" in overflow._fns.built


def test_lazy_functions_are_built_under_the_compile_step_label(cache):
    labels = []

    def step(name):
        labels.append(name)
        return C._no_step(name)

    C.clear_memory_cache()
    closed_form, params, _ = FORMS["scalar"]
    cf, _ = compile_closed_form(closed_form, list(params), list(params.values()), step=step)
    assert labels == ["closed_form", "compiling the closed form"]
    cf.evaluate({"a": np.array(0.3), "b": np.array(1.1)})
    assert labels[2:] == ["compiling the closed form"] * 3     # the magnitude, the 50-digit value, the jumps (none)
    cf.undecidable_switch({"a": np.array(0.3), "b": np.array(1.1)})
    cf.evaluate({"a": np.array(0.3), "b": np.array(1.1)})
    assert len(labels) == 5                                    # built once


def test_a_function_that_cannot_be_built_later_is_the_compile_error_it_was(cache, monkeypatch):
    """Not swallowed by evaluate()'s mpmath fallback: the 50-digit function is built outside that try."""
    cf = _compile_form("scalar")
    real = C._lambdify_source

    def fails_for_mpmath(kind, *args, **kwargs):
        if kind == "mpmath":
            raise RuntimeError("printer broke")
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(C, "_lambdify_source", fails_for_mpmath)
    with pytest.raises(ClosedFormError, match="^closed_form could not be compiled: RuntimeError: printer broke"):
        cf.evaluate({"a": np.array(0.3), "b": np.array(1.1)})
    with pytest.raises(ClosedFormError, match="could not be compiled"):
        cf.refine({"a": np.array(0.3), "b": np.array(1.1)})


def test_a_jump_function_that_cannot_be_built_is_raised_by_evaluate(cache, monkeypatch):
    """The engine reports evaluate()'s exceptions as an error verdict; undecidable_switch is called outside that."""
    cf = _compile_form("switches")
    monkeypatch.setattr(C, "_switches", lambda comps: [sp.Symbol("a", real=True) * sp.LambertW(comps[0])])
    with pytest.raises(ClosedFormError, match="^closed_form could not be compiled: "):
        cf.evaluate({"a": np.array(0.25), "b": np.array(-0.5)})


def test_an_engine_check_of_a_cached_claim_gives_the_same_result(cache):
    """End to end: check() a claim cold, then warm from disk (fresh in-process cache): the same result."""
    from verify import Claim, check
    import torch

    def claim():
        return Claim(name="relu-moment", params={"a": Real(-1, 1), "b": Real(0.5, 2)},
                     closed_form=lambda a, b: sp.Piecewise((a * b, a > 0), (0, True)) + sp.erf(b) * sp.sign(a),
                     exact=lambda a, b: torch.where(a > 0, a * b, torch.zeros_like(a)) + torch.erf(b) * torch.sign(a),
                     examples=8)
    cold = check(claim(), seed=3)
    C.clear_memory_cache()
    warm = check(claim(), seed=3)
    assert cold.verdict == warm.verdict == "verified"
    def strip(r):
        d = dict(vars(r))
        return {k: v for k, v in d.items() if "time" not in k and "second" not in k}
    assert strip(cold) == strip(warm)


# -- robustness of the disk cache ---------------------------------------------------------------------------
def _corruptions():
    def garbage(p):
        p.write_bytes(b"\x00\xff not json")

    def truncated(p):
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])

    def empty(p):
        p.write_bytes(b"")

    def edited_source(p):            # valid JSON, stale checksum: a wrong function must not be loaded
        head, body = p.read_bytes().split(b"\n", 1)
        p.write_bytes(head + b"\n" + body.replace(b"*", b"+", 1))

    def other_key(p):
        head, body = p.read_bytes().split(b"\n", 1)
        h = json.loads(head)
        h["key"] = "0" * 64
        p.write_bytes(json.dumps(h).encode() + b"\n" + body)

    def resigned(mutate):            # a consistent file whose content is unusable
        def f(p):
            head, body = p.read_bytes().split(b"\n", 1)
            spec = mutate(json.loads(body))
            body = json.dumps(spec).encode()
            h = json.loads(head)
            import hashlib
            h["sha256"] = hashlib.sha256(body).hexdigest()
            p.write_bytes(json.dumps(h).encode() + b"\n" + body)
        return f

    def bad_syntax(spec):
        spec["f64"]["src"] = "def _lambdifygenerated(a, b:\n"
        return spec

    def bad_import(spec):
        spec["f64"]["imports"].append(["os; import sys", "x"])
        return spec

    def missing_function(spec):
        spec["f64"]["src"] = "x = 1\n"
        return spec

    def bad_ops(spec):
        spec["ops"] = "many"
        return spec

    return {"garbage": garbage, "truncated": truncated, "empty": empty, "edited_source": edited_source,
            "other_key": other_key, "bad_syntax": resigned(bad_syntax), "bad_import": resigned(bad_import),
            "missing_function": resigned(missing_function), "bad_ops": resigned(bad_ops)}


@pytest.mark.parametrize("corruption", list(_corruptions()))
def test_a_corrupt_entry_is_ignored_and_rebuilt(cache, corruption):
    expected = outputs("scalar", _compile_form("scalar"))
    main = _entries(cache)["main"]
    good = main.read_bytes()
    _corruptions()[corruption](main)
    C.clear_memory_cache()
    assert outputs("scalar", _compile_form("scalar")) == expected
    assert main.read_bytes() == good            # rewritten


def test_a_corrupt_lazy_piece_is_rebuilt(cache):
    expected = outputs("special", _compile_form("special"))
    for piece, path in _entries(cache).items():
        if piece != "main":
            path.write_bytes(b"{")
    C.clear_memory_cache()
    assert outputs("special", _compile_form("special")) == expected


def test_the_cache_location_and_switch(tmp_path, monkeypatch):
    monkeypatch.delenv("THEORYCHECK_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert C.cache_dir() == tmp_path / "xdg" / "theorycheck" / "compile"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert C.cache_dir() == tmp_path / "home" / ".cache" / "theorycheck" / "compile"
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", str(tmp_path / "mine"))
    assert C.cache_dir() == tmp_path / "mine" / "compile"
    for off in ("off", "OFF", "0", "none", "false", "no"):
        monkeypatch.setenv("THEORYCHECK_CACHE_DIR", off)
        assert C.cache_dir() is None
    C.clear_memory_cache()
    _compile_form("scalar").evaluate({"a": np.array(0.3), "b": np.array(1.1)})
    C.clear_memory_cache()
    assert not any(tmp_path.rglob("*.json"))


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("THEORYCHECK_CACHE_DIR", str(blocker))
    C.clear_memory_cache()
    cf = _compile_form("scalar")
    assert np.isfinite(cf.evaluate({"a": np.array(0.3), "b": np.array(1.1)})[0]).all()
    C.clear_memory_cache()


def test_the_key_is_the_expression_the_arguments_and_the_environment(monkeypatch):
    a, b = sp.symbols("a b", real=True)
    a_pos = sp.Symbol("a", positive=True)
    base = C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a + b])
    assert base == C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a + b])   # rebuilt: the same key
    others = [C._key("closed_form", [a, b], [sp.Float(0.1, 30) * a + b]),    # Float precision
              C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a - b]),
              C._key("closed_form", [b, a], [sp.Float(0.1, 15) * a + b]),    # argument order
              C._key("closed_form", [a_pos, b], [sp.Float(0.1, 15) * a_pos + b]),   # assumptions
              C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a + b, a]),
              C._key("lambdify_torch", [a, b], [sp.Float(0.1, 15) * a + b])]
    assert None not in others and len({base, *others}) == len(others) + 1
    env = dict(C._environment())
    monkeypatch.setattr(C, "_ENV", {**env, "compile.py": "edited"})
    assert C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a + b]) != base
    monkeypatch.setattr(C, "_ENV", {**env, "sympy": "9.9"})
    assert C._key("closed_form", [a, b], [sp.Float(0.1, 15) * a + b]) != base
    f = sp.Function("f")
    assert C._key("closed_form", [a], [f(a) + 1]) is None          # undefined functions are never cached


def test_shared_subtrees_are_hashed_once():
    """The structural hash walks the DAG: a 2**20-node tree of shared subexpressions hashes at once."""
    a = sp.Symbol("a", real=True)
    e = a
    for i in range(20):
        e = sp.sin(e) + sp.cos(e) * (i + 2)
    assert C._structure_digest([e]) is not None


@pytest.mark.parametrize("closed_form, fragment", [
    (lambda a: a + sp.Symbol("b"), "symbols ['b'] that are not parameters"),
    (lambda a: sp.sqrt(-1 - a ** 2) * sp.I, "contains I"),
    (lambda a: sp.LambertW(a), "LambertW, which has no torch translation"),
    (lambda a: sp.zeta(a, 2), "could not be compiled: ValueError: zeta(s, a)"),
    (lambda a: sp.Function("f")(a), "uses f, which has no torch translation"),
])
def test_errors_are_raised_every_time_and_never_cached(cache, closed_form, fragment):
    for _ in range(2):
        with pytest.raises(ClosedFormError) as info:
            compile_closed_form(closed_form, ["a"], [Real(0.1, 1)])
        assert fragment in str(info.value)
    assert not _entries(cache)


def test_lambdify_torch_is_cached_too(cache, monkeypatch):
    import torch
    x, y = sp.symbols("x y", real=True)
    exprs = [sp.Max(x, y) * sp.sqrt(2), sp.Heaviside(x) + sp.erf(y)]
    X, Y = torch.tensor([-0.5, 0.0, 0.3], dtype=torch.float64), torch.tensor([2.0, -3.0, 0.1], dtype=torch.float64)
    expected = C.lambdify_torch([x, y], exprs)(X, Y)
    assert C.lambdify_torch([x, y], exprs) is C.lambdify_torch([x, y], exprs)
    C.clear_memory_cache()
    real = C.lambdify_torch
    with monkeypatch.context() as m:
        _forbid_compiling(m)
        m.setattr(C, "lambdify_torch", real)     # the function under test itself
        assert torch.equal(C.lambdify_torch([x, y], exprs)(X, Y), expected)
