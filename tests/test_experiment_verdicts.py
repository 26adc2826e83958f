"""How an experiment's verdicts are decided: p-values from the intervals over seeds, Holm-Bonferroni over the
findings, the kinds (finding / sanity / reported), the power calculation behind a preset's seed count, and the
run failing on an undecided finding.

Every simulation is seeded; each states the probability that it fails although the code is right.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from numerics._experiment import Verdict, mean_ci
from verify._experiments import power_plan, run_failures, standardized_effect, verdict_line, _markdown
from verify._stats import decide_interval, decide_verdicts, holds_power, interval_pvalue, joint_miss, seeds_for_power


@pytest.fixture
def no_gc_collect(monkeypatch):
    """statsmodels' multipletests(method="holm") calls gc.collect() on every call (memory hygiene for huge arrays);
    in a test process holding torch and SymPy that is ~0.1 s a call, which the thousands of simulated runs below
    cannot afford. Collection has no effect on the numbers, so the simulations skip it."""
    import gc

    monkeypatch.setattr(gc, "collect", lambda *a, **k: 0)


def _finding(name, values, threshold=0.0, direction="above", kind="finding"):
    return Verdict(name, f"{name} {direction} {threshold}", mean_ci(values), threshold, direction, kind=kind).as_dict()


def test_pvalue_agrees_with_the_interval_it_comes_from():
    """p < 0.05 exactly where the 95% interval excludes the threshold (up to the last bits at the edge)."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        n = int(rng.integers(2, 12))
        values = rng.normal(rng.normal(), rng.uniform(0.1, 2), n)
        est, thr = mean_ci(values), float(rng.normal())
        p = interval_pvalue(est, thr)
        if abs(p - 0.05) < 1e-9:
            continue
        excluded = decide_interval(est, thr, "above") != "inconclusive"
        assert (p < 0.05) == excluded, (est, thr, p)


def test_pvalue_edge_cases():
    assert interval_pvalue(mean_ci([1.0]), 0.0) == 1.0                 # one seed: nothing decided
    assert interval_pvalue(mean_ci([2.0, 2.0, 2.0]), 0.0) == 0.0       # no spread, mean off the threshold
    assert interval_pvalue(mean_ci([0.0, 0.0]), 0.0) == 1.0
    assert interval_pvalue(mean_ci([1.0, math.nan]), 0.0) == 1.0


def test_holm_corrects_what_each_interval_alone_would_call_holding():
    """Three findings, each excluding 0 at 95% on its own; Holm at 5% keeps the two weaker ones undecided --
    and the decisions are statsmodels' multipletests(method="holm") ones."""
    from statsmodels.stats.multitest import multipletests

    strong = _finding("strong", [5.0, 5.1, 4.9, 5.05])
    weak = [_finding(f"weak{i}", v) for i, v in enumerate(([0.1, 1.0, 0.6, 0.9], [0.2, 0.9, 0.5, 1.0]))]
    assert all(decide_interval(v["estimate"], 0.0, "above") == "holds" for v in weak)
    decided = {v["name"]: v for v in decide_verdicts([strong, *weak])}
    pvals = [decided[n]["p_value"] for n in ("strong", "weak0", "weak1")]
    reject, adjusted, _, _ = multipletests(pvals, alpha=0.05, method="holm")
    assert decided["strong"]["status"] == "holds" and reject[0]
    for name, r, adj in zip(("weak0", "weak1"), reject[1:], adjusted[1:]):
        assert decided[name]["status"] == ("holds" if r else "inconclusive")
        assert decided[name]["p_adjusted"] == pytest.approx(adj, rel=1e-12)
    assert [decided[n]["status"] for n in ("weak0", "weak1")] == ["inconclusive", "inconclusive"]
    assert decided["strong"]["holm_level"] == pytest.approx(0.05 / 3) and decided["strong"]["family_size"] == 3


def test_a_finding_on_the_wrong_side_fails_and_kinds_stay_out_of_the_family():
    wrong = _finding("wrong", [-3.0, -3.2, -2.9], direction="above")
    sanity = _finding("sane", [1.0, 1.1, 0.9], kind="sanity")
    reported = _finding("rep", [0.1, 1.0, 0.6, 0.9], kind="reported")
    decided = {v["name"]: v for v in decide_verdicts([wrong, sanity, reported])}
    assert decided["wrong"]["status"] == "fails" and decided["wrong"]["family_size"] == 1
    assert decided["sane"]["status"] == "holds" and decided["sane"]["p_adjusted"] is None
    assert decided["rep"]["status"] == "holds" and decided["rep"]["holm_level"] is None   # uncorrected
    diverged = _finding("nan", [1.0, math.nan, 2.0])
    assert decide_verdicts([diverged])[0]["status"] == "fails"


def test_holm_family_wise_rate_under_the_null(no_gc_collect):
    """Five findings whose true mean is the threshold (the hardest case): the share of runs in which any is
    decided either way is <= 5%. 4000 seeded runs; the bound fails w.p. < 1e-6 if the rate is 5%."""
    rng = np.random.default_rng(1)
    runs, errors = 4000, 0
    for _ in range(runs):
        found = [_finding(f"f{i}", rng.normal(0.0, 1.0, 5)) for i in range(5)]
        errors += any(v["status"] != "inconclusive" for v in decide_verdicts(found))
    assert errors <= binom.isf(1e-6, runs, 0.05), errors


def test_seeds_for_power_gives_the_joint_power_and_no_more_seeds_than_needed(no_gc_collect):
    """At the seeds it names, three findings of effects 1.5, 1.5 and 4 are all decided "holds" in >= 99% of seeded
    runs of decide_verdicts (the union bound makes the true rate higher); one seed fewer, the bound exceeds 1%.
    3000 runs; the lower bound fails w.p. < 1e-6 if the joint power is exactly 0.99."""
    effects = [1.5, 4.0, 1.5]
    n = seeds_for_power(effects)
    assert joint_miss(effects, n) <= 0.01 < joint_miss(effects, n - 1)
    rng = np.random.default_rng(2)
    runs, all_hold = 3000, 0
    for _ in range(runs):
        found = [_finding(f"f{i}", rng.normal(d, 1.0, n)) for i, d in enumerate(effects)]
        all_hold += all(v["status"] == "holds" for v in decide_verdicts(found))
    assert all_hold >= binom.ppf(1e-6, runs, 0.99), (all_hold, n)


def test_holm_plan_tests_the_smallest_effect_at_alpha_not_alpha_over_m():
    """With one weak finding among strong ones, Holm's step-down reaches the weak one last, at level alpha: the
    plan needs fewer seeds than Bonferroni's alpha / m would, and no fewer than the weak finding alone at alpha."""
    weak, strong = 1.4, 10.0
    alone = seeds_for_power([weak])
    family = seeds_for_power([weak] + [strong] * 10)
    bonferroni = next(n for n in range(2, 200) if 11 * (1 - holds_power(weak, n, 0.05 / 11)) <= 0.01)
    assert alone <= family < bonferroni
    assert joint_miss([weak], alone) == pytest.approx(1 - holds_power(weak, alone, 0.05))


def test_holds_power_agrees_with_statsmodels_and_a_simulation():
    """Where statsmodels' TTestPower is finite it adds only the far tail (<= level / 2) to holds_power; and a
    seeded simulation of t-tests agrees with it (20000 runs: |difference| > 5 binomial sd w.p. < 1e-6)."""
    from scipy.stats import t as student_t
    from statsmodels.stats.power import TTestPower

    for d, n, level in ((0.5, 10, 0.05), (1.5, 6, 0.01), (3.2, 5, 0.05 / 3), (0.2, 40, 0.05)):
        sm = TTestPower().power(effect_size=d, nobs=n, alpha=level, alternative="two-sided")
        assert 0 <= sm - holds_power(d, n, level) <= level / 2
    assert holds_power(3.2, 8, 0.05 / 3) > 0.999            # statsmodels: nan here
    rng = np.random.default_rng(3)
    d, n, level, runs = 1.0, 8, 0.05, 20000
    x = rng.normal(d, 1.0, (runs, n))
    tstat = x.mean(1) / (x.std(1, ddof=1) / np.sqrt(n))
    rate, p = float(np.mean(tstat > student_t.isf(level / 2, n - 1))), holds_power(d, n, level)
    assert abs(rate - p) < 5 * np.sqrt(p * (1 - p) / runs), (rate, p)


def test_seeds_for_power_edges():
    assert seeds_for_power([]) == 2 and seeds_for_power([math.inf, math.inf]) == 2
    assert seeds_for_power([math.inf, 3.0]) == seeds_for_power([3.0])         # an exact finding costs no power
    assert seeds_for_power([3.0, 3.0]) >= seeds_for_power([3.0])
    assert seeds_for_power([1.0] * 10) > seeds_for_power([1.0])               # more findings, stricter level
    with pytest.raises(ValueError, match="effect of 0 cannot be asserted"):
        seeds_for_power([0.0])
    with pytest.raises(ValueError, match="need more than 1000 seeds"):
        seeds_for_power([0.01])


def test_power_plan_reads_the_effects_back_from_the_intervals():
    values = [1.0, 2.0, 3.0, 4.0]
    v = decide_verdicts([_finding("a", values, threshold=1.0)])[0]
    assert standardized_effect(v) == pytest.approx(1.5 / np.std(values, ddof=1), rel=1e-12)
    plan = power_plan([v], seeds=4)
    assert plan["effects"]["a"] == pytest.approx(standardized_effect(v))
    assert plan["seeds_needed"] == seeds_for_power([standardized_effect(v)]) and plan["findings"] == 1
    flat = decide_verdicts([_finding("flat", [0.0, 0.0, 0.0])])[0]
    assert power_plan([flat], 3)["seeds_needed"] is None and "effect of 0" in power_plan([flat], 3)["note"]


def test_an_undecided_finding_fails_the_run_and_says_why():
    found = decide_verdicts([_finding("strong", [5.0, 5.1, 4.9]), _finding("weak", [0.5, -0.2, 0.8]),
                             _finding("rep", [0.5, -0.2, 0.8], kind="reported")])
    doc = {"verdicts": found, "power": power_plan(found, 3)}
    (line,) = run_failures(doc)
    assert line.startswith("finding weak is inconclusive: the seeds cannot tell at Holm's level")
    assert f"--seeds {doc['power']['seeds_needed']}" in line
    assert "(reported, uncorrected)" in verdict_line(found[2]) and "Holm p" in verdict_line(found[0])


def test_summary_markdown_shows_the_kinds_apart_and_leads_with_disagreements():
    found = decide_verdicts([_finding("f", [5.0, 5.1, 4.9]), _finding("s", [1.0, 1.1, 0.9], kind="sanity"),
                             _finding("r", [0.5, -0.2, 0.8], kind="reported")])
    doc = {"title": "T", "experiment": "e", "preset": "quick", "seeds": 3, "device": "cpu", "source": "s", "figures": [],
           "verdicts": found, "power": power_plan(found, 3),
           "disagreements": [{"topic": "collapse", "paper": "Table 1: 0.1%", "ours": "0.85 [0.84, 0.86]"}]}
    text = _markdown(doc)
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## Where this run disagrees with the papers", "## Findings", "## Sanity checks",
                     "## Reported comparisons", "## Power"]


def test_seeds_below_the_power_calculation_are_a_usage_error(capsys):
    from verify._cli import main
    from verify._experiments import get_experiment, needed_seeds
    from verify._stats import seeds_for_power

    name = "overlay-theorem4"
    experiment = get_experiment(name)
    planned = needed_seeds(experiment, "quick")
    assert planned == seeds_for_power(list(experiment.presets["quick"]["effects"].values())) > 2
    assert main(["experiment", name, "--seeds", str(planned - 1)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert f"--seeds {planned - 1}: preset 'quick' of '{name}' needs at least {planned} seeds" in err
    assert f"use --seeds {planned} or more" in err


def test_a_preset_with_fewer_seeds_than_its_effects_need_is_refused():
    from types import SimpleNamespace

    from verify._experiments import needed_seeds

    toy = SimpleNamespace(name="toy", presets={"quick": {"seeds": 3, "effects": {"a": 1.0, "b": 2.0}},
                                               "full": {"seeds": 4}})
    with pytest.raises(ValueError, match=r"seeds=3 but its declared effects need \d+"):
        needed_seeds(toy, "quick")
    assert needed_seeds(toy, "full") == 2                      # nothing declared needs power: any 2 seeds
    sane = SimpleNamespace(name="t", presets={"q": {"seeds": 40, "sanity_effects": {"loss-small": 0.8}}})
    assert needed_seeds(sane, "q") == seeds_for_power([], sanity=[0.8]) > 4     # sanity checks need power too
    sane.presets["q"]["seeds"] = 4
    with pytest.raises(ValueError, match="declared effects need"):
        needed_seeds(sane, "q")


def test_a_diverged_verdict_says_so():
    found = decide_verdicts([_finding("ok", [5.0, 5.1, 4.9]), _finding("nan", [1.0, math.nan, 2.0]),
                             _finding("sane", [1.0, math.inf, 0.9], kind="sanity")])
    doc = {"verdicts": found, "power": power_plan(found, 3)}
    lines = run_failures(doc)
    assert lines == ["finding nan is fails: diverged: a non-finite estimate (a seed's statistic is nan or inf; see its "
                     "tasks' metrics)", "sanity sane is fails: diverged: a non-finite estimate (a seed's statistic is "
                     "nan or inf; see its tasks' metrics)"]
    assert doc["power"]["seeds_needed"] is None and "diverged" in doc["power"]["note"]


def test_a_preset_may_report_a_finding_it_cannot_reach():
    from verify._experiments import _as_reported

    v = _finding("order-upper", [1.0, 1.5, 1.2], threshold=1.2, direction="below")
    out = _as_reported(v, {"reported": {"order-upper": "coarse steps"}})
    assert out["kind"] == "reported" and out["asserted"] is False and "coarse steps" in out["detail"]
    assert _as_reported(v, {}) is v
    (decided,) = decide_verdicts([out])
    assert decided["family_size"] is None and run_failures({"verdicts": [decided], "power": {}}) == []


def test_verdict_kinds():
    assert Verdict("a", "s", mean_ci([1, 2]), 0, "above").kind == "finding"
    assert Verdict("a", "s", mean_ci([1, 2]), 0, "above", asserted=False).kind == "reported"
    sanity = Verdict("a", "s", mean_ci([1, 2]), 0, "above", kind="sanity")
    assert sanity.asserted and sanity.as_dict()["kind"] == "sanity"
    with pytest.raises(ValueError, match="kind 'check'"):
        Verdict("a", "s", mean_ci([1, 2]), 0, "above", kind="check")
