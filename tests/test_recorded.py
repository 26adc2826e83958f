"""Recorded experiment runs (reports/recorded/) are committed data, and the documents quote them through generated
blocks (verify._recorded): the quotes are current, every quick preset is recorded with the configuration the code
has now, each recorded run passes, and the presets' power declarations cover its findings."""

from __future__ import annotations

import json
import os

import pytest

from verify._experiments import PRESETS, experiment_names, get_experiment, needed_seeds
from verify._recorded import DOCUMENTS, RECORDED, ROOT, load_run, recorded_runs, render, update


def _summary(tmp_path, name="toy", preset="quick", **extra):
    doc = {"experiment": name, "preset": preset, "seeds": 3, "device": "cpu", "disagreements": [],
           "verdicts": [
               {"name": "a", "kind": "finding", "asserted": True, "status": "holds", "direction": "above",
                "threshold": 0.0, "p_adjusted": 0.012, "estimate": {"mean": 1.0, "lo": 0.5, "hi": 1.5, "n": 3}},
               {"name": "b", "kind": "sanity", "asserted": True, "status": "holds", "direction": "below",
                "threshold": 0.01, "p_adjusted": None, "estimate": {"mean": 1e-7, "lo": 0.0, "hi": 2e-7, "n": 3}},
               {"name": "c", "kind": "reported", "asserted": False, "status": "inconclusive", "direction": "above",
                "threshold": 0.0, "p_adjusted": None, "estimate": {"mean": 0.1, "lo": -0.2, "hi": 0.4, "n": 3}}]}
    doc.update(extra)
    path = tmp_path / name / preset
    path.mkdir(parents=True)
    (path / "summary.json").write_text(json.dumps(doc))
    return doc


def test_blocks_are_rendered_from_the_summary_and_stale_ones_are_found(tmp_path):
    _summary(tmp_path, disagreements=[{"topic": "collapse", "paper": "Table 1: 0.1%", "ours": "0.85 [0.84, 0.86]"}])
    assert recorded_runs(tmp_path) == [("toy", "quick")]
    overview = render(["overview"], tmp_path)
    assert overview[2].startswith("| `toy` | quick | 3 | - | nan | 1 of 1 hold | 1 of 1 hold | 0 of 1 hold | 1 / 0 |")
    assert "(reports/recorded/toy/quick/summary.md)" in overview[2]
    assert "(../reports/recorded/toy/quick/summary.md)" in render(["overview"], tmp_path, "../reports/recorded")[2]
    verdicts = "\n".join(render(["toy", "quick", "verdicts"], tmp_path))
    assert "| `a` | finding | **holds** | 1 [0.5, 1.5] | > 0 | 0.012 |" in verdicts
    assert "| `c` | reported (uncorrected) | **inconclusive** | 0.1 [-0.2, 0.4] | > 0 | - |" in verdicts
    assert "| collapse | Table 1: 0.1% | 0.85 [0.84, 0.86] | contradicts |" in \
        "\n".join(render(["toy", "quick", "disagreements"], tmp_path))
    text = "intro\n<!-- recorded toy quick verdicts -->\nold numbers\n<!-- /recorded -->\nend"
    new, changed, missing = update(text, tmp_path)
    assert changed == ["toy quick verdicts"] and not missing
    assert "old numbers" not in new and new.endswith("<!-- /recorded -->\nend")
    assert update(new, tmp_path) == (new, [], [])                  # regenerating a current block changes nothing
    absent = "<!-- recorded other quick verdicts -->\nkept\n<!-- /recorded -->"
    assert update(absent, tmp_path) == (absent, [], ["other quick verdicts"])   # not recorded: left, and said
    with pytest.raises(ValueError, match="no closing"):
        update("<!-- recorded overview -->\n", tmp_path)
    with pytest.raises(ValueError, match="use 'overview'"):
        render(["toy", "quick", "tables"], tmp_path)
    with pytest.raises(FileNotFoundError, match="--record"):
        render(["other", "quick", "verdicts"], tmp_path)


def test_the_documents_quote_the_recorded_runs_as_they_are():
    """Fails when a recorded run changed and its quotes were not regenerated: run `python -m verify._recorded`."""
    for rel in DOCUMENTS:
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert "<!-- recorded" in text, rel
        from verify._recorded import _link

        new, changed, missing = update(text, link=_link(rel))
        assert not missing, f"{rel}: blocks quoting runs that are not recorded: {missing}"
        assert not changed, f"{rel}: stale recorded blocks {changed}; run `python -m verify._recorded`"


@pytest.mark.parametrize("name", experiment_names())
def test_every_quick_preset_is_recorded_with_the_configuration_it_has_now(name):
    experiment = get_experiment(name)
    path = RECORDED / name / "quick"
    with open(path / "config.json", encoding="utf-8") as fh:
        config = json.load(fh)
    assert config["config"] == json.loads(json.dumps(experiment.presets["quick"])), \
        f"{name}: the quick preset changed since it was recorded; rerun `theorycheck experiment {name} --record`"
    doc = load_run(name, "quick")
    assert doc["provenance"]["git_commit"] and doc["provenance"]["versions"]["torch"]
    assert (path / "summary.md").exists() and doc["figures"]
    assert all((path / f).exists() for f in doc["figures"])


@pytest.mark.parametrize("name, preset", recorded_runs())
def test_a_recorded_run_passes_and_its_preset_is_powered_for_what_it_asserts(name, preset):
    """Every finding and sanity check of a recorded run holds; the preset declares an effect for exactly its
    findings and sanity checks, none larger than the run measured (so the power calculation did not assume more
    than the data show), and its seeds are what those effects need."""
    import math

    from verify._experiments import standardized_effect

    doc = load_run(name, preset)
    failed = [v["name"] for v in doc["verdicts"] if v["kind"] != "reported" and v["status"] != "holds"]
    assert not failed, f"{name} {preset}: asserted verdicts that did not hold: {failed}"
    experiment = get_experiment(name)
    config = experiment.presets[preset]
    for kind, key in (("finding", "effects"), ("sanity", "sanity_effects")):
        measured = {v["name"]: standardized_effect(v) for v in doc["verdicts"] if v["kind"] == kind}
        declared = config.get(key, {})
        assert set(declared) == set(measured), f"{name} {preset}: {key} {sorted(declared)} vs {kind}s {sorted(measured)}"
        optimistic = {k: (d, measured[k]) for k, d in declared.items() if not d <= measured[k] or math.isnan(measured[k])}
        assert not optimistic, f"{name} {preset}: declared effects above what the recorded run measured: {optimistic}"
    assert preset in PRESETS and config["seeds"] >= needed_seeds(experiment, preset) and doc["seeds"] == config["seeds"]


@pytest.mark.parametrize("name", experiment_names())
def test_every_preset_declares_the_effects_of_its_findings_and_enough_seeds(name):
    experiment = get_experiment(name)
    for preset in PRESETS:
        config = experiment.presets[preset]
        assert config["seeds"] >= needed_seeds(experiment, preset)
        for key in ("effects", "sanity_effects"):
            assert all(0 < d <= 10 for d in config.get(key, {}).values()), (name, preset, key)


def test_recorded_runs_are_tracked_but_their_tasks_are_not():
    import subprocess

    out = subprocess.run(["git", "check-ignore", "-q", "reports/recorded/x/quick/summary.json"], cwd=ROOT)
    assert out.returncode == 1                                           # not ignored
    out = subprocess.run(["git", "check-ignore", "-q", "reports/recorded/x/quick/tasks/a/seed-0/result.json"],
                         cwd=ROOT)
    assert out.returncode == 0                                           # ignored
    assert os.path.isdir(RECORDED)


def test_record_writes_to_the_recorded_folder_and_regenerates_the_quotes(tmp_path, monkeypatch, capsys):
    import verify._experiments as experiments
    import verify._recorded as recorded
    from verify._cli import main

    seen = {}

    def fake_run(name, **kw):
        seen.update(kw, name=name)
        out = kw["out"]
        os.makedirs(out, exist_ok=True)
        doc = {"experiment": name, "preset": "quick", "seeds": 3, "device": "cpu", "verdicts": [], "disagreements": [],
               "power": {}, "tasks": 0, "timing": {"wall_seconds_this_invocation": 0.0, "task_seconds_total": 0.0},
               "directory": out}
        with open(os.path.join(out, "summary.json"), "w") as fh:
            json.dump(doc, fh)
        return doc

    monkeypatch.setattr(experiments, "run_experiment", fake_run)
    monkeypatch.setattr(recorded, "RECORDED", tmp_path / "recorded")
    monkeypatch.setattr(recorded, "ROOT", tmp_path)
    monkeypatch.setattr(recorded, "DOCUMENTS", ("README.md",))
    (tmp_path / "README.md").write_text("<!-- recorded overview -->\n<!-- /recorded -->\n")
    assert main(["experiment", "born-again", "--record", "--scheduler", "serial"]) == 0
    assert seen["out"] == str(tmp_path / "recorded" / "born-again" / "quick")
    assert "| `born-again` | quick | 3 | 0 |" in (tmp_path / "README.md").read_text()
    assert main(["experiment", "born-again", "--record", "--out", str(tmp_path / "x")]) == 2
    assert "--record writes to" in capsys.readouterr().err


def test_record_refuses_other_seeds(capsys):
    from verify._cli import main

    assert main(["experiment", "born-again", "--record", "--seeds", "9"]) == 2
    assert "--record records the preset as it is; drop --seeds 9" in capsys.readouterr().err


def test_resume_may_change_how_verdicts_are_decided_but_not_what_tasks_compute(tmp_path, monkeypatch):
    """Declared effects and reported findings are read by no task: a finished run resumed under new decision
    settings is summarised again (and its config.json updated) without training; a training setting is refused."""
    import copy

    from verify._errors import UsageError
    from verify._experiments import run_experiment

    name, out = "overlay-population-flow", str(tmp_path / "run")
    presets = get_experiment(name).presets
    run_experiment(name, preset="smoke", scheduler="serial", progress=False, out=out)
    monkeypatch.setitem(presets, "smoke", copy.deepcopy(presets["smoke"]))
    presets["smoke"]["reported"] = {"gap-rate-upper": "a test"}
    doc = run_experiment(name, preset="smoke", scheduler="serial", progress=False, out=out, resume=True)
    assert doc["timing"]["tasks_run_this_invocation"] == 0
    assert {v["name"]: v["kind"] for v in doc["verdicts"]}["gap-rate-upper"] == "reported"
    with open(os.path.join(out, "config.json")) as fh:
        assert json.load(fh)["config"]["reported"] == {"gap-rate-upper": "a test"}
    presets["smoke"]["eta"] = 0.5
    with pytest.raises(UsageError, match="config differs"):
        run_experiment(name, preset="smoke", scheduler="serial", progress=False, out=out, resume=True)
