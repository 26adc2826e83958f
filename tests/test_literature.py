"""Derivation files written from the wider literature against the README alone, as an outside user would
(tests/data/literature/: Goemans-Williamson, the arcsine law, Cho & Saul's arc-cosine kernels, Gaussian
moments and Stein's lemma, softmax / cross-entropy gradients, Gaussian KL and entropy, ridge, LayerNorm's
Jacobian, the two-layer ReLU NTK, orthant probabilities, the probit identity, random Fourier features,
Gaussian tails). Each correct claim must verify and each slipped twin (``expected="refuted"``) must be
refuted: ``theorycheck validate`` exits 0. Seeded (seed 0); false-refutation rate <= 1e-6 per claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from verify._cli import main

FILES = sorted((Path(__file__).parent / "data" / "literature").glob("*.py"))
# Slips below the resolution of 1e5 samples at the default settings (0.8% and 1% against a detectable
# 3.2% and 7.8% relative): they verify today. Issue 13 (variance reduction, sample sizing) is to catch
# them; this list then shrinks and the test says so.
UNDERPOWERED = {"relu-mean-slip-pi-3p1", "fourth-moment-slip-1pct"}


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_literature_file_gets_the_right_verdicts(path, capsys, tmp_path):
    import json

    code = main(["validate", str(path), "--time-budget", "300", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    wrong = {c["name"] for c in doc["claims"] if c["verdict"] != c["expected"]}
    assert not any(c["verdict"] == "error" for c in doc["claims"]) and not doc["file_errors"], out.out + out.err
    assert wrong == UNDERPOWERED & {c["name"] for c in doc["claims"]}, out.out
    assert code == (1 if wrong else 0)
