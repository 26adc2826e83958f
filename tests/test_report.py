"""theorycheck report: well-formed self-contained HTML, Markdown math, figures from saved results, atomicity."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib
import pytest

from verify._cli import main
from verify._report import mathtext_latex, render

matplotlib.use("Agg")
from matplotlib import mathtext  # noqa: E402

# the expensive fixture runs once: pytest-xdist keeps this module on one worker (--dist loadgroup), and it is
# session-scoped since a module-scoped one is rebuilt whenever the worker runs another module's tests in between
pytestmark = pytest.mark.xdist_group("test_report")

CLAIMS = ["population-gradient-mc", "batchnorm-backward-eps-is-projection", "covariance-operator-theorem4"]
VOID = {"meta", "img", "br", "hr", "link", "input"}


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "latest"
    code = main(["report", *CLAIMS, "--out", str(out), "--device", "cpu"])
    assert code == 0
    return out


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.links, self.ids, self.errors = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def test_report_files_and_html_is_well_formed_and_links_exist(report):
    for name in ("index.html", "report.md", "results.json"):
        assert (report / name).is_file()
    text = (report / "index.html").read_text()
    p = _Checker()
    p.feed(text)
    assert not p.errors and p.stack == [], (p.errors, p.stack)
    assert "http://" not in text and "https://" not in text          # no network
    for link in p.links:
        if link.startswith("#"):
            assert link[1:] in p.ids, link
        else:
            assert (report / link).is_file(), link
    figs = {f.name for f in (report / "figures").iterdir()}
    for kind in ("population-gradient-mc-sweep.png", "population-gradient-mc-convergence.png",
                 "batchnorm-backward-eps-is-projection-sweep.png", "covariance-operator-theorem4-trajectory.png"):
        assert kind in figs
    assert "refuted (expected)" in text and "Provenance" in text and "git commit" in text
    assert "reproduce:" in text                                          # the expected refutation's command


def test_results_json_is_the_run_schema_and_figures_come_from_it(report, tmp_path):
    doc = json.loads((report / "results.json").read_text())
    assert doc["schema"] == "theorycheck.results/1" and [c["name"] for c in doc["claims"]] == CLAIMS
    pg = doc["claims"][0]
    assert len(pg["sweep"]["x"]) == len(pg["sweep"]["estimate"]) == 13
    # the trace runs to the typical example's draws: sized by resolve=, within the claim's floor and cap
    spe = pg["samples_per_example"]
    assert spe["min"] <= pg["convergence"]["n"][-1] <= spe["max"] <= pg["samples"]
    # re-render from the saved file alone: same figures, no computation
    again = tmp_path / "again"
    assert main(["report", "--from", str(report / "results.json"), "--out", str(again)]) == 0
    assert sorted(f.name for f in (again / "figures").iterdir()) == sorted(f.name for f in (report / "figures").iterdir())
    # a figure really shows the saved numbers: change them and the PNG changes
    doc2 = copy.deepcopy(doc)
    doc2["claims"][0]["sweep"]["estimate"] = [[v + 1.0 for v in row] for row in pg["sweep"]["estimate"]]
    render(doc2, tmp_path / "changed")
    a = (again / "figures" / "population-gradient-mc-sweep.png").read_bytes()
    b = (tmp_path / "changed" / "figures" / "population-gradient-mc-sweep.png").read_bytes()
    assert a != b


def test_markdown_math_renders(report):
    md = (report / "report.md").read_text()
    blocks = re.findall(r"\$\$\n(.*?)\n\$\$", md, flags=re.S)
    assert len(blocks) == len(CLAIMS)
    for tex in blocks:
        mathtext.math_to_image(f"${mathtext_latex(tex)}$", io.BytesIO(), dpi=80, format="png")  # raises if not


def test_every_builtin_statement_renders_offline():
    """mathtext parses every statement (where it cannot, the report shows the LaTeX source instead of a PNG).
    The parse is what fails on unknown commands; laying it out as paths skips only the rasterising
    (test_markdown_math_renders rasterises the report's own)."""
    from verify.claims import builtin_claims
    parser = mathtext.MathTextParser("path")
    for claim in builtin_claims().values():
        if claim.statement:
            parser.parse(f"${mathtext_latex(claim.statement)}$")


def test_same_seed_same_results_apart_from_timings(report, tmp_path):
    """The Monte Carlo claim again (sweep, convergence trace, resolve-sized samples): the same results document
    entry for it, timings apart. The exact claims have no random draws beyond hypothesis' seeded ones, which the
    Monte Carlo claim shares."""
    out = tmp_path / "second"
    assert main(["report", CLAIMS[0], "--out", str(out), "--device", "cpu"]) == 0

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ("seconds", "date", "command")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    a = strip(json.loads((report / "results.json").read_text()))
    b = strip(json.loads((out / "results.json").read_text()))
    assert a["claims"][0] == b["claims"][0] and a["claims"][0]["name"] == CLAIMS[0]
    assert {k: v for k, v in a.items() if k not in ("claims", "summary")} == {k: v for k, v in b.items() if k not in ("claims", "summary")}


def test_interrupted_render_keeps_the_previous_report(report, tmp_path, monkeypatch):
    out = tmp_path / "keep"
    shutil.copytree(report, out)
    before = (out / "index.html").read_text()
    doc = json.loads((report / "results.json").read_text())
    import verify._report as rep

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rep, "_html", boom)
    with pytest.raises(KeyboardInterrupt):
        render(doc, out)
    assert (out / "index.html").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keep")]   # no temporary left


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no headless chromium on this machine (.ci/run installs Debian's chromium)")
def test_headless_browser_loads_every_figure(report, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    url = (report / "index.html").resolve().as_uri()
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    total = re.search(r'data-images-total="(\d+)"', dom)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    assert total and loaded, dom[:500]
    assert int(total.group(1)) >= 7 and loaded.group(1) == total.group(1)
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), *flags, f"--screenshot={shot}", "--window-size=1200,2400", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_report_markdown_tables_render_with_their_columns(report):
    """report.md through a real Markdown parser: every row keeps its columns; 'max |z|' stays in one cell."""
    from tests.test_markdown import assert_tables_keep_their_columns

    summary, provenance = assert_tables_keep_their_columns((report / "report.md").read_text())
    assert len(summary) == 1 + len(CLAIMS) and len(provenance[0]) == 2
    mc = next(r for r in summary if "population-gradient-mc" in r[0])
    assert mc[3].startswith("max |z| ")
