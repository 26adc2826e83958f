"""theorycheck report: well-formed self-contained HTML, Markdown math, figures from saved results, atomicity."""

from __future__ import annotations

import copy
import io
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from verify._cli import main
from verify._report import CSS, claim_html, mathml, render, sweep_components, trajectory_view, verdict_class
from verify._results import samples_text

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
    assert "refuted as expected" in text and "Provenance" in text and "git commit" in text
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
        assert mathml(tex) is not None, tex


def test_every_builtin_statement_converts_to_mathml():
    """latex2mathml converts every statement, leaving no command as text (where it could not, the page would
    show the LaTeX source instead: test_unconvertible_latex_falls_back_to_its_source)."""
    from verify.claims import builtin_claims
    for claim in builtin_claims().values():
        if claim.statement:
            assert mathml(claim.statement) is not None, (claim.name, claim.statement)


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
    assert int(total.group(1)) >= 4 and loaded.group(1) == total.group(1)
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


def _doc(report) -> dict:
    return json.loads((report / "results.json").read_text())


def _section(text: str, name: str) -> str:
    start = text.index(f'id="{name}"')
    return text[text.rindex("<details", 0, start):text.index("\n</details>", start)]


def test_statements_and_derived_forms_are_mathml_and_never_cut(report):
    text = (report / "index.html").read_text()
    doc = _doc(report)
    assert "Matrix([" not in text and "<img" not in _section(text, CLAIMS[0]).split("<figure>")[0]
    for c in doc["claims"]:
        sec = _section(text, c["name"])
        assert mathml(c["statement"]) in sec                       # the statement, as display MathML
        d = c["derivation"]
        if d and d.get("derived_latex"):
            assert mathml(d["derived_latex"]) in sec               # the whole derived form
    long = [c for c in doc["claims"] if c["derivation"] and len(c["derivation"]["derived"]) > 600]
    assert long, "the fixture's claims should include a derived form over 600 characters"
    for c in long:
        n = len(c["derivation"]["derived"])
        assert f"<summary>derived form, {n} characters</summary>" in _section(text, c["name"])
    md = (report / "report.md").read_text()
    assert all(c["derivation"]["derived"] in md for c in doc["claims"] if c["derivation"])


def test_unconvertible_latex_falls_back_to_its_source(report, tmp_path):
    doc = copy.deepcopy(_doc(report))
    doc["claims"][0]["statement"] = r"\frac{a}{"                    # latex2mathml raises on it
    doc["claims"][1]["statement"] = r"x \notacommand{y} < 1"        # latex2mathml leaves the command as text
    doc["claims"][2]["derivation"]["derived_latex"] = r"\begin{matrix"
    assert mathml(doc["claims"][0]["statement"]) is None and mathml(doc["claims"][1]["statement"]) is None
    assert mathml(r"\text{<b>bold</b>}") is None                      # latex2mathml copies \text verbatim: not MathML
    text = (render(doc, tmp_path / "fallback") / "index.html").read_text()
    assert "Traceback" not in text and text.count("LaTeX source (not convertible to MathML)") == 3
    assert r"<pre><code>\frac{a}{</code></pre>" in text
    assert r"<pre><code>x \notacommand{y} &lt; 1</code></pre>" in text
    assert r"<pre><code>\begin{matrix</code></pre>" in text


def _contents_rows(text: str) -> list[tuple[str, list[str]]]:
    """(kind, cells) for each row of the contents table: ("family", [name]) or ("claim", [href, cells...])."""
    table = text[text.index('<table class="contents">'):]
    table = table[:table.index("</table>")]
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S):
        fam = re.search(r'<th colspan="6"><a href="#(family-[^"]+)">([^<]+)</a>', tr)
        if fam:
            rows.append(("family", [fam.group(1), fam.group(2)]))
        else:
            href = re.search(r'<a href="#([^"]+)">', tr).group(1)
            cells = [re.sub(r"<[^>]+>", "", td) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
            rows.append(("claim", [href, *cells]))
    return rows


def test_contents_grouped_by_family_with_links_to_sections(report):
    text = (report / "index.html").read_text()
    doc = _doc(report)
    p = _Checker()
    p.feed(text)
    rows = _contents_rows(text)
    family = None
    seen = []
    for kind, cells in rows:
        if kind == "family":
            family = cells[1]
            assert cells[0] in p.ids and f'<section class="family" id="{cells[0]}"><h2>{family}</h2>' in text
            seen.append(family)
            continue
        c = next(c for c in doc["claims"] if c["name"] == cells[1])
        assert c["family"] == family and cells[0] in p.ids
        assert re.search(rf'<details class="claim [^"]*" id="{re.escape(cells[0])}"', text)
    assert seen == list(dict.fromkeys(c["family"] for c in doc["claims"]))        # each family once, in order
    assert [cells[1] for kind, cells in rows if kind == "claim"] == CLAIMS


def test_confidence_column_is_results_json(report):
    doc = _doc(report)
    rows = {cells[1]: cells[2:] for kind, cells in _contents_rows((report / "index.html").read_text()) if kind == "claim"}
    for c in doc["claims"]:
        verdict, frr, detect, samples, seconds = rows[c["name"]]
        if c["method"] == "monte_carlo":
            assert float(frr) == pytest.approx(c["false_refutation_rate"], rel=5e-3)
            assert samples == samples_text(c["samples"], c.get("samples_per_example"))
        else:
            assert frr == "0 (exact)" and c["false_refutation_rate"] == 0 and samples == "exact"
        if c["detectable_relative"] is not None:
            assert detect.endswith(" %") and float(detect[:-2]) == pytest.approx(100 * c["detectable_relative"], rel=5e-3)
        else:
            assert detect.endswith(" abs.") and float(detect[:-5]) == pytest.approx(c["detectable_discrepancy"], rel=5e-3)
        assert float(seconds) == pytest.approx(c["seconds"], rel=5e-3)


def test_verdict_classes_tell_expected_from_unexpected_refutations(report, tmp_path):
    assert verdict_class({"verdict": "verified", "expected": "verified"}) == "verified"
    assert verdict_class({"verdict": "refuted", "expected": "refuted"}) == "refuted-expected"
    assert verdict_class({"verdict": "refuted", "expected": "verified"}) == "unexpected"
    assert verdict_class({"verdict": "verified", "expected": "refuted"}) == "unexpected"
    assert verdict_class({"verdict": "error", "expected": "verified"}) == "error"
    colours = {cls: re.search(rf"\.badge\.v-{cls}[,{{][^}}]*background:(#[0-9a-f]+)", CSS).group(1)
               for cls in ("verified", "refuted-expected", "unexpected")}
    assert len(set(colours.values())) == 3
    text = (report / "index.html").read_text()
    assert '<details class="claim v-refuted-expected" id="batchnorm-backward-eps-is-projection">' in text  # closed
    assert 'class="badge v-refuted-expected">refuted as expected<' in text
    doc = copy.deepcopy(_doc(report))
    doc["claims"][1]["expected"] = "verified"                        # the same refutation, now a surprise
    sec = claim_html(doc["claims"][1], "figures")
    assert sec.startswith('<details class="claim v-unexpected" id="batchnorm-backward-eps-is-projection" open>')
    assert 'class="badge v-unexpected">' in sec and 'class="badge v-refuted-expected"' not in sec
    assert "<img" not in claim_html(doc["claims"][1], None)


def test_figures_name_few_components_and_look_where_things_happen():
    # sweep: the components that vary most, at most four, in index order
    sw = {"closed_form": [[0, 5, 1, 0.1, 3, 1], [0, -5, 1, 0.2, 0, 2]], "estimate": [[0, 5, 1, 0.1, 3, 0], [0, -5, 1, 0.2, 0, 2]]}
    assert sweep_components(sw) == [1, 3, 4, 5]
    noisy = {"closed_form": [[1, 0, 0], [2, 0, 0]], "estimate": [[1, 0.01, 0], [2, -0.01, 0]]}
    assert sweep_components(noisy) == [0]                            # constant closed forms: left out, noise or not
    t = [0.1 * i for i in range(61)]
    # two series at different levels that each move little: shown as their change since the start
    flat = trajectory_view({"t": t[:21], "series": {"a": [1 + 0.01 * s for s in t[:21]], "b": [0.8 + 0.001 * s for s in t[:21]]},
                            "ylabel": "weight", "xlabel": "t"})
    assert flat["series"]["a"][0] == 0 and flat["series"]["b"][-1] == pytest.approx(0.002)
    assert flat["ylabel"].startswith("change in weight") and "minus its value" in flat["note"]
    # a sigmoid that saturates: the time axis ends a little after it stops moving, and the note says so
    sat = trajectory_view({"t": t, "series": {"a": [2.5 / (1 + math.exp(-4 * (s - 1.2))) for s in t]}})
    assert 2 < sat["t"][-1] < 4 and len(sat["series"]["a"]) == len(sat["t"]) and "shown of 6" in sat["note"]


@pytest.mark.skipif(_chromium() is None, reason="no headless chromium on this machine (.ci/run installs Debian's chromium)")
def test_headless_screenshots_of_top_refuted_claim_and_figure(report, tmp_path):
    """Screenshots of the top of the page, a refuted claim's section (opened, derived form shown) and a figure's
    section; the verdict colours are on screen. THEORYCHECK_SCREENSHOTS=DIR keeps them there to look at."""
    from PIL import Image

    doc = _doc(report)
    pages = {"top": report / "index.html"}
    for kind, name in (("refuted", CLAIMS[1]), ("figure", CLAIMS[2])):
        c = next(c for c in doc["claims"] if c["name"] == name)
        body = claim_html(c, "figures", expanded=True).replace('<details class="derived">', '<details class="derived" open>')
        pages[kind] = report / f"shot-{kind}.html"
        pages[kind].write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>{CSS}</style></head>'
                               f"<body>{body}</body></html>")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--window-size=1200,1400"]
    keep = os.environ.get("THEORYCHECK_SCREENSHOTS")
    colours = {}
    for kind, page in pages.items():
        shot = tmp_path / f"{kind}.png"
        subprocess.run([_chromium(), *flags, f"--screenshot={shot}", page.resolve().as_uri()], capture_output=True, timeout=120)
        assert shot.is_file() and shot.stat().st_size > 10_000, kind
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        with Image.open(shot) as im:
            colours[kind] = {rgb for _, rgb in im.convert("RGB").getcolors(1 << 24)}
    green, purple = (0xe3, 0xf4, 0xe4), (0xeb, 0xe6, 0xfb)             # the badges' backgrounds (CSS above)
    assert green in colours["top"] and purple in colours["top"] and purple in colours["refuted"]
    assert len(colours["figure"]) > 100                                # the figure drew (anti-aliased lines, text)
