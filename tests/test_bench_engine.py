"""benchmarks/bench_engine.py: the efficiency arithmetic, the summary's targets, the JSON, the 1% slip, bad input.

Timings are not asserted (speed is measured by the script, not by tests) and no claim is checked here; what is
asserted is the bookkeeping on made-up measurements. Equalities are exact where the test repeats the script's
own expression in the same order (the same float64 operations give the same bits).
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
import sympy as sp

# the expensive fixture runs once: pytest-xdist keeps this module on one worker (--dist loadgroup), and it is
# session-scoped since a module-scoped one is rebuilt whenever the worker runs another module's tests in between
pytestmark = pytest.mark.xdist_group("test_bench_engine")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", os.path.join(ROOT, "benchmarks", "bench_engine.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _side(method="monte_carlo", dr=0.01, seconds=2.0, cpu=1.0, examples=50, verdict="verified", expected="verified"):
    return {"method": method, "detectable_relative": dr, "seconds": seconds, "cpu_seconds": cpu,
            "examples": examples, "verdict": verdict, "expected": expected}


def test_efficiency_and_ratio(bench):
    assert bench.efficiency(0.05, 3.0) == 0.05 ** 2 * 3.0
    assert bench.efficiency(None, 3.0) is None and bench.efficiency(0.05, None) is None
    assert bench.efficiency(float("nan"), 3.0) is None
    assert bench.ratio(6.0, 2.0) == 3.0
    assert bench.ratio(None, 2.0) is None and bench.ratio(1.0, 0.0) is None and bench.ratio(1.0, float("inf")) is None
    # 6x finer resolution in the same time is the 36x
    assert bench.ratio(bench.efficiency(0.06, 2.0), bench.efficiency(0.01, 2.0)) == (0.06 ** 2 * 2.0) / (0.01 ** 2 * 2.0)


def test_claim_row_and_summary_targets(bench):
    rows = [
        # 7x finer at equal time: efficiency ratio 49
        bench.claim_row("a-mc", _side(dr=0.01, seconds=2.0), _side(dr=0.07, seconds=2.0)),
        # 10x finer (ratio 100), but fewer examples than the baseline: a violation
        bench.claim_row("b-mc", _side(dr=0.005, seconds=1.0, examples=40), _side(dr=0.05, seconds=1.0)),
        # as coarse as before and slower (ratio 1 / 1.5)
        bench.claim_row("c-mc", _side(dr=0.2, seconds=1.5), _side(dr=0.2, seconds=1.0)),
        bench.claim_row("d-exact", _side("exact", dr=1e-14, seconds=0.5), _side("exact", dr=1e-14, seconds=0.5)),
        bench.claim_row("e-new", _side(dr=0.002, seconds=1.0), None),   # not in the baseline
    ]
    a = rows[0]
    assert a["current"]["efficiency"] == 0.01 ** 2 * 2.0 and a["baseline"]["efficiency"] == 0.07 ** 2 * 2.0
    assert a["efficiency_ratio"] == (0.07 ** 2 * 2.0) / (0.01 ** 2 * 2.0)
    assert a["efficiency_ratio_cpu"] == (0.07 ** 2 * 1.0) / (0.01 ** 2 * 1.0)
    assert rows[4]["baseline"] is None and rows[4]["efficiency_ratio"] is None

    power = [{"claim": "a-mc", "seeds": 5, "current": {"refuted": 5, "verdicts": ["refuted"] * 5},
              "baseline": {"refuted": 1, "verdicts": ["refuted"] + ["verified"] * 4}}]
    s = bench.summarize(rows, power, {"current": 0.2, "baseline": 5.0}, None)
    # Monte Carlo claims only (the exact one's round-off bound is not a resolution)
    assert s["monte_carlo_claims"] == 4 and s["claims_on_both_sides"] == 4
    assert s["median_detectable_relative_mc"]["current"] == (0.005 + 0.01) / 2   # of 0.002, 0.005, 0.01, 0.2
    assert s["max_detectable_relative_mc"] == {"current": 0.2, "baseline": 0.2}
    assert s["median_efficiency_ratio_mc"] == rows[0]["efficiency_ratio"]        # median of 49, 100, 2/3
    assert s["total_seconds_both_sides"] == {"current": 5.0, "baseline": 4.5}
    assert s["fewer_examples"] == [{"claim": "b-mc", "baseline": 50, "current": 40, "verdicts": "verified/verified"}]
    met = {t["target"]: t["met"] for t in s["targets"]}
    assert met == {"median detectable_relative, Monte Carlo claims": True,
                   "max detectable_relative, Monte Carlo claims": False,
                   "total seconds of the claims on both sides": False,
                   "median efficiency ratio baseline/current, Monte Carlo claims": True,
                   "claims with fewer examples than the baseline": False,
                   "1% slip refuted on every seed (current)": True,
                   "theorycheck --help CPU seconds": True}

    table = bench.format_table(rows)
    assert "a-mc" in table and "49.0x" in table and "e-new" in table
    text = bench.format_summary(s, power, {"current": 0.2, "baseline": 5.0}, None)
    assert "[NOT MET] claims with fewer examples than the baseline: 1" in text
    assert "b-mc: 50 -> 40 examples" in text and "a-mc" in text and "current 5/5" in text and "baseline 1/5" in text


def test_summary_without_baseline_is_not_applicable(bench):
    rows = [bench.claim_row("a-mc", _side(), None), bench.claim_row("b-mc", _side(verdict="error", dr=None), None)]
    s = bench.summarize(rows, [], {"current": 0.2}, None)
    met = {t["target"]: t["met"] for t in s["targets"]}
    assert met["total seconds of the claims on both sides"] is None
    assert met["median efficiency ratio baseline/current, Monte Carlo claims"] is None
    assert met["claims with fewer examples than the baseline"] is None
    assert s["total_seconds"] == {"current": 4.0, "baseline": None}
    assert [u["claim"] for u in s["unexpected_verdicts"]] == ["b-mc"]
    assert "[  n/a  ]" in bench.format_summary(s, [], {"current": 0.2}, None)


def test_json_document_is_written_atomically_without_nan(bench, tmp_path):
    from verify._results import write_json_atomic

    rows = [bench.claim_row("a-mc", _side(dr=float("nan")), _side())]
    doc = {"schema": bench.SCHEMA, "claims": rows, "summary": bench.summarize(rows, [], {}, None)}
    out = tmp_path / "results" / "engine.json"
    write_json_atomic(out, bench._finite(doc))          # allow_nan=False: a NaN left in would raise
    back = json.loads(out.read_text())
    assert back["schema"] == "theorycheck.bench-engine/1"
    assert back["claims"][0]["current"]["detectable_relative"] == "nan"
    assert back["claims"][0]["efficiency_ratio"] is None
    assert os.listdir(tmp_path / "results") == ["engine.json"]   # no temporary file left beside it


def test_default_out_names_date_and_cpu(bench):
    assert bench.slug("Intel(R) Xeon(R) Processor") == "intel-xeon-processor"
    assert bench.slug("AMD EPYC 7B13 64-Core Processor") == "amd-epyc-7b13-64-core-processor"
    assert bench.default_out("2025-01-02", "Intel(R) Xeon(R) Processor") == os.path.join(
        "benchmarks", "results", "engine-2025-01-02-intel-xeon-processor.json")


def test_slip_multiplies_the_closed_form_and_drops_the_derivation(bench):
    import torch

    from verify import Claim, Vector

    claim = Claim(name="slip-me", params={"w": Vector(3)}, closed_form=lambda w: 2 * w,
                  exact=lambda w: 2 * w, derivation=lambda: None, examples=3)
    slipped = bench.slipped(claim, sp.Rational(101, 100))
    w = Vector(3).symbols("w")
    assert slipped.derivation is None and slipped.name == claim.name and slipped.examples == 3
    assert sp.simplify(slipped.closed_form(w=w) - sp.Rational(101, 100) * 2 * w) == sp.zeros(3, 1)
    assert claim.closed_form(w=w) == 2 * w                 # the original is untouched
    assert torch.equal(slipped.exact(w=torch.ones(3)), 2 * torch.ones(3))


@pytest.mark.parametrize("argv, needle", [(["--seeds", "-1"], "--seeds must be >= 0")])
def test_bad_input_is_one_line_exit_2(bench, tmp_path, capsys, argv, needle):
    assert bench.main(argv + ["--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not os.path.exists(tmp_path / "x.json")


def test_only_claims_verified_on_both_sides_count_for_fewer_examples(bench):
    """A refuted claim stops where its first refutation was found (then shrinks): its count is not coverage."""
    refuted = dict(verdict="refuted", expected="refuted")
    rows = [bench.claim_row("r-mc", _side(examples=20, **refuted), _side(examples=23, **refuted)),
            bench.claim_row("v-mc", _side(examples=49), _side(examples=50))]
    s = bench.summarize(rows, [], {"current": 0.2, "baseline": 5.0}, None)
    assert [f["claim"] for f in s["fewer_examples"]] == ["v-mc"]
