"""report.tex, the LaTeX appendix: text escaped, statements as math, and (where texlive is installed) it compiles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from verify._cli import main
from verify._latex import PREAMBLE, escape, render_tex

SPECIALS = "\\ { } $ & # % _ ^ ~ | < >"
CLAIMS = ["population-gradient-mc", "batchnorm-backward-ioffe-szegedy-as-printed"]   # a refutation among them

pytestmark = pytest.mark.xdist_group("test_latex")


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("tex") / "rep"
    assert main(["report", *CLAIMS, "--out", str(out), "--device", "cpu"]) == 0
    return out


def test_escape_leaves_no_character_tex_reads_specially():
    text = escape(f"a {SPECIALS} b\nc\tθ‖")
    stripped = re.sub(r"\\(textbackslash|textasciicircum|textasciitilde|textbar|textless|textgreater)\{\}", "", text)
    stripped = re.sub(r"\\[{}$&#%_]", "", stripped)
    assert not re.search(r"[\\{}$&#%_^~|<>\n\t]", stripped), stripped
    assert "U+03B8" in text and "U+2016" in text          # outside ASCII: the code point, not a glyph pdflatex lacks
    assert escape("50% of x_1") == r"50\% of x\_1"


def test_report_writes_the_appendix_from_results(results):
    doc = json.loads((results / "results.json").read_text())
    tex = (results / "report.tex").read_text()
    assert tex == render_tex(doc)                          # drawn from the results document alone
    assert PREAMBLE in tex and r"\documentclass" not in tex   # a fragment to \input
    for c in doc["claims"]:
        assert escape(c["name"]) in tex
        assert c["statement"] in tex                       # statements go in as math, unescaped
    assert "refuted, as expected" in tex and "Counterexample (shrunk)" in tex
    refuted = next(c for c in doc["claims"] if c["counterexample"])
    assert escape(refuted["counterexample"]["command"]) in tex
    assert doc["git_commit"] is None or doc["git_commit"] in tex


def _pdflatex(tmp_path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "appendix.tex").write_text(body)
    (tmp_path / "paper.tex").write_text("\\documentclass{article}\n" + PREAMBLE + "\n\\begin{document}\n"
                                        "\\input{appendix}\n\\input{appendix}\n\\end{document}\n")   # twice: macros once
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex not installed (Debian: apt-get install texlive-latex-base; .ci/run installs it)")
def test_appendix_compiles_with_pdflatex(results, tmp_path):
    doc = json.loads((results / "results.json").read_text())
    doc["command"] = f"theorycheck report --out /tmp/{SPECIALS}"     # every special character in a command and a text
    doc["claims"][0]["reference"] += f" ({SPECIALS}, θ)"
    # every built-in statement, as a claim of its own: each must be valid LaTeX math
    from verify.claims import builtin_claims
    template = doc["claims"][0]
    doc["claims"] += [dict(template, name=c.name, family=c.family, statement=c.statement, counterexample=None)
                      for c in builtin_claims().values() if c.statement]
    proc = _pdflatex(tmp_path, render_tex(doc))
    errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors or proc.stdout.splitlines()[-20:])
    assert (tmp_path / "paper.pdf").stat().st_size > 0
