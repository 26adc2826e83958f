"""Theorem-check reports: ``index.html``, ``report.md``, ``report.tex``, ``results.json`` and ``figures/*.png``.

Everything is drawn from a results document (schema ``theorycheck.results/1``), never from a second
computation: ``render(doc, out)`` can re-render a saved ``results.json`` (``theorycheck report --from``).
The HTML is self-contained (inline CSS, relative image links, no network, no script needed) and made to be
scanned: a contents table grouped by family (verdict badge, false-refutation rate, detectable discrepancy,
samples, time per claim), then one collapsible ``<details>`` section per claim (``claim_html``), open where
the result is not as expected. Verdict colours: verified green, refuted as expected (a claim meant to fail)
purple, unexpected results and errors red. Math is MathML from latex2mathml (offline; browsers render it
natively): the statement, and the SymPy derived form from its ``sp.latex`` text, whole, collapsed when long;
LaTeX latex2mathml cannot convert is shown as its escaped source. The Markdown keeps the LaTeX between
``$$``. Figures (matplotlib) label the plotted quantity, name at most ``MAX_SWEEP_COMPONENTS`` components
(those that vary most) and look where things happen (``trajectory_view``). ``mathtext_latex`` maps the few
LaTeX commands matplotlib's mathtext lacks, for axis labels. A report directory is replaced atomically: it
is written beside the target and renamed into place, so an interrupted run leaves the previous report intact.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import latex2mathml.converter
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import mathtext  # noqa: E402
from numerics._files import chmod_like_new  # noqa: E402

from ._latex import render_tex  # noqa: E402
from ._markdown import table  # noqa: E402
from ._results import (component_label, counterexample_reason, order_text, samples_text, statistic_symbol,  # noqa: E402
                       verdict_class)

__all__ = ["render", "claim_html", "mathml", "mathtext_latex", "slug"]

MAX_SWEEP_COMPONENTS = 4


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "claim"


def mathtext_latex(tex: str) -> str:
    """Map LaTeX that matplotlib's mathtext cannot parse onto equivalents it can."""
    tex = re.sub(r"\\(?:Big|big|Bigg|bigg)(?:l|r)?(?=[\[\]()|.\\])", "", tex)
    tex = tex.replace(r"\tfrac", r"\frac").replace(r"\dfrac", r"\frac")
    tex = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", tex)
    tex = re.sub(r"\\text(?:rm)?\{", r"\\mathrm{", tex)
    tex = re.sub(r"\\(le|ge|ne)(?![A-Za-z])", lambda m: "\\" + m.group(1) + "q" if m.group(1) != "ne" else "\\neq", tex)
    return re.sub(r"\\texttt\{", r"\\mathtt{", tex)


def _num(v) -> float:
    return float(v)  # also parses the "inf" / "nan" strings of the results schema


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    v = _num(v)
    if math.isinf(v) or math.isnan(v):
        return str(v)
    return f"{v:.{digits}g}"


# ---------------------------------------------------------------------------------------------- figures

FONTS = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 9,
         "legend.title_fontsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9}


def _save(fig, ax, path: Path, heading: str, **legend) -> bool:
    """Title, legend, tight layout, save, close: the common end of every report figure."""
    ax.set_title(heading)
    ax.legend(**legend)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def quantity_label(statement: str | None) -> str | None:
    """The statement's left-hand side (before its first top-level ``=``) as mathtext: the quantity a sweep plots;
    None where there is none or mathtext cannot parse it."""
    depth = 0
    for i, ch in enumerate(statement or ""):
        depth += (ch in "{([") - (ch in "})]")
        if ch == "=" and depth == 0:
            tex = f"${mathtext_latex(statement[:i].strip())}$"
            try:
                mathtext.MathTextParser("path").parse(tex)
            except Exception:
                return None
            return tex if len(tex) > 2 else None
    return None


def sweep_components(sw: dict, at_most: int = MAX_SWEEP_COMPONENTS) -> list[int]:
    """The flat indices of the ``at_most`` components that vary most along the sweep (closed form and estimate
    together), in index order; components whose closed form is constant are left out where some are not."""
    def spread(rows, j):
        vals = [v for v in (_num(r[j]) for r in rows) if math.isfinite(v)]
        return max(vals) - min(vals) if vals else 0.0
    k = len(sw["closed_form"][0])
    varying = [j for j in range(k) if spread(sw["closed_form"], j) > 0] or list(range(k))
    ranked = sorted(varying, key=lambda j: -max(spread(sw["closed_form"], j), spread(sw["estimate"], j)))
    return sorted(ranked[:at_most])


def _index(j: int, shape) -> str:
    idx = []
    for n in reversed(shape or [1]):
        idx.append(j % n)
        j //= n
    return "[" + ", ".join(map(str, reversed(idx))) + "]"


def _sweep_png(claim: dict, path: Path) -> bool:
    sw = claim.get("sweep")
    if not sw:
        return False
    from matplotlib.lines import Line2D
    x, se, k = sw["x"], sw.get("std_error"), len(sw["closed_form"][0])
    comps = sweep_components(sw)
    fig, ax = plt.subplots(figsize=(7.6, 4.0))
    for n, j in enumerate(comps):
        color = f"C{n}"
        ax.plot(x, [_num(c[j]) for c in sw["closed_form"]], "-", color=color, lw=1.6,
                label=f"component {_index(j, sw.get('shape'))}")
        yerr = None if se is None else [2 * _num(s[j]) for s in se]
        ax.errorbar(x, [_num(e[j]) for e in sw["estimate"]], yerr=yerr, fmt="o", ms=4, color=color, capsize=2)
    est = "estimate ± 2 SE" if se is not None else "estimate (exact)"
    handles = ax.get_legend_handles_labels()[0] + [Line2D([], [], color="k", lw=1.6, label="closed form"),
                                                   Line2D([], [], color="k", marker="o", ls="none", label=est)]
    xs = [_num(v) for v in x]
    if min(xs) > 0 and max(xs) > 30 * min(xs):     # a geometric sweep: where things happen is at the small end
        ax.set_xscale("log")
    ax.set_xlabel(sw["label"])
    ax.set_ylabel(quantity_label(claim.get("statement")) or f"{claim['name']} (closed form and estimate)")
    why = "the others constant" if len(sweep_components(sw, at_most=k)) == len(comps) else "largest variation"
    shown = f"{len(comps)} of {k} components ({why})" if len(comps) < k else f"all {k} components"
    return _save(fig, ax, path, f"{claim['name']}: closed form vs estimate", handles=handles, title=shown,
                 loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _convergence_png(claim: dict, path: Path) -> bool:
    cv = claim.get("convergence")
    if not cv or len(cv["n"]) < 2:
        return False
    n, err, se = cv["n"], [max(_num(e), 1e-300) for e in cv["abs_error"]], [_num(s) for s in cv["std_error"]]
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.loglog(n, err, "o-", ms=4, label="max |estimate − closed form|")
    ax.loglog(n, se, "s--", ms=4, label="max standard error")
    ref = [se[0] * math.sqrt(n[0] / m) for m in n]
    ax.loglog(n, ref, "k:", label=r"$\propto n^{-1/2}$")
    ax.set_xlabel("samples n")
    ax.set_ylabel("absolute error (largest component)")
    return _save(fig, ax, path, f"{claim['name']}: convergence at the typical example")


def trajectory_view(tr: dict, still: float = 0.01, flat: float = 0.1) -> dict:
    """Where a trajectory plot looks: ``{"t", "series", "ylabel", "note"}``. Series that each move less than
    ``flat`` of the spread between them (they would draw as flat lines) are shown as their change since the
    first time; the time axis ends a few points after the last step where some series still moves by more
    than ``still`` of the plotted span. ``note`` says what was changed (empty: nothing)."""
    t, series, ylabel, notes = list(tr["t"]), {k: list(map(_num, v)) for k, v in tr["series"].items()}, tr.get("ylabel") or "", []
    allv = [v for ys in series.values() for v in ys if math.isfinite(v)]
    span = (max(allv) - min(allv)) if allv else 0.0
    ranges = [max(ys) - min(ys) for ys in series.values() if all(map(math.isfinite, ys))]
    if span > 0 and len(series) > 1 and ranges and max(ranges) < flat * span:
        series = {k: [v - ys[0] for v in ys] for k, ys in series.items()}
        ylabel = f"change in {ylabel or 'value'} since {tr.get('xlabel') or 't'} = {t[0]:g}".replace(" = step x eta", "")
        notes.append(f"each series minus its value at t = {t[0]:g} (the series differ by more than they move)")
        allv = [v for ys in series.values() for v in ys if math.isfinite(v)]
        span = max(allv) - min(allv)
    moving = [i for ys in series.values() for i in range(1, len(ys))
              if math.isfinite(ys[i] - ys[i - 1]) and abs(ys[i] - ys[i - 1]) > still * span]
    if span > 0 and moving:
        end = min(len(t), max(moving) + 1 + max(2, len(t) // 10))
        if end < len(t):
            notes.append(f"t ≤ {t[end - 1]:g} shown of {t[-1]:g}: after it every series moves by under "
                         f"{100 * still:g} % of the plotted range per step")
            t, series = t[:end], {k: ys[:end] for k, ys in series.items()}
    return {"t": t, "series": series, "ylabel": ylabel, "note": "; ".join(notes)}


def _trajectory_png(claim: dict, path: Path) -> bool:
    tr = claim.get("trajectory")
    if not tr:
        return False
    view = trajectory_view(tr)
    paired = len(view["series"]) % 2 == 0     # (theory, simulation) pairs: one colour, line then markers
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for i, (name, ys) in enumerate(view["series"].items()):
        color = f"C{i // 2 if paired else i}"
        if i % 2 == 0:
            ax.plot(view["t"], ys, "-", color=color, lw=1.8, label=name)
        else:
            ax.plot(view["t"], ys, "o--", color=color, lw=0.8, ms=4, mfc="none", label=name)
    ax.set_xlabel(tr.get("xlabel") or "t")
    ax.set_ylabel(view["ylabel"])
    return _save(fig, ax, path, textwrap.fill(tr.get("title") or f"{claim['name']}: theory vs simulation", 72))


FIGURES = (("sweep", _sweep_png), ("convergence", _convergence_png), ("trajectory", _trajectory_png))
CAPTIONS = {"sweep": "closed form (lines) against the estimate (points) along the sweep; the legend names the components drawn",
            "convergence": "error at the typical example against samples, on log-log axes, with the n^-1/2 line",
            "trajectory": "theory (lines) against simulation (points)"}


def _figures(doc: dict, root: Path) -> dict[str, dict[str, str]]:
    (root / "figures").mkdir()
    out: dict[str, dict[str, str]] = {}
    with plt.rc_context(FONTS):
        for claim in doc["claims"]:
            made = {}
            for kind, draw in FIGURES:
                rel = f"figures/{slug(claim['name'])}-{kind}.png"
                if draw(claim, root / rel):
                    made[kind] = rel
            out[claim["name"]] = made
    return out


# ---------------------------------------------------------------------------------------------- text

def _verdict(c: dict) -> str:
    if c["verdict"] == "refuted" and c.get("expected") == "refuted":
        return "refuted (expected)"
    if c["verdict"] == "verified" and c.get("expected") == "refuted":
        return "verified (UNEXPECTED: expected refuted)"
    return c["verdict"]


def _statistic(c: dict) -> str:
    st = c.get("statistic") or {}
    if not st:
        return "–"
    label = statistic_symbol(st.get("name"), spaced=True)
    return f"{label} {_fmt(st.get('value'))} (threshold {_fmt(st.get('threshold'))})"


def _method_line(c: dict) -> str:
    o = c.get("order")
    if o:   # an asymptotic order: the ladder and the order measured on it
        measured = ("not measured: the difference was 0 within its error at every example" if o["measured_min"] is None
                    else f"slowest measured order {_fmt(o['measured_min'])} ({o['measured_min_at']}), fastest {_fmt(o['measured_max'])}")
        return (f"Order {o['statement']}: {c['examples']} examples × a ladder of {o['rungs']} rungs (ratio {_fmt(o['ratio'])}), "
                f"{c['tests']} rung tests; refuted where the measured order's upper confidence bound is below "
                f"{_fmt(o['stated'] - o['tolerance'])}; {measured}")
    if c["method"] == "monte_carlo":
        return (f"Monte Carlo: {c['examples']} examples ({c['boundary_examples']} boundary) × "
                f"{samples_text(c['samples'], c.get('samples_per_example'))} samples, "
                f"{c['tests']} component tests; false-refutation rate {c['false_refutation_rate']:g} for the whole claim; "
                f"smallest detectable discrepancy {_fmt(c.get('detectable_discrepancy'))} "
                f"({_fmt(100 * _num(c['detectable_relative']) if c.get('detectable_relative') is not None else None)} % of the closed form's terms)")
    return (f"Exact: {c['examples']} examples ({c['boundary_examples']} boundary), float64 round-off bound "
            f"2γ_N·|terms| (largest bound {_fmt(c.get('detectable_discrepancy'))})")


def _counterexample_lines(c: dict) -> list[str]:
    x = c.get("counterexample")
    if not x:
        return []
    j = x["component"]
    se = "" if x.get("std_error") is None else f" ± {_fmt(x['std_error'][j])}"
    params = ", ".join(f"{k} = {v}" for k, v in x["params"].items())
    order = f"{order_text(x['order'])}; at the deepest rung " if x.get("order") else ""
    return [f"Counterexample ({'shrunk' if x['shrunk'] else x['label']}): {params}",
            f"{component_label(x)}{order}closed form {_fmt(x['closed_form'][j], 6)}, estimate {_fmt(x['estimate'][j], 6)}{se}; "
            f"statistic {_fmt(x['statistic'])} > {_fmt(x['threshold'])}{counterexample_reason(x)}; "
            f"seeds: run {x['run_seed']}, example {x['example_seed']}",
            x["command"]]


def _mutant_lines(c: dict) -> list[str]:
    m = c.get("mutants")
    if not m:
        return []
    implied = (f", {m['implied']} implied by the bound" if m.get("implied") else "") + (
        f", {m['within_slack']} within the bound's slack" if m.get("within_slack") else "")
    head = (f"Mutation certificate: {m['killed']} of {m['total']} mutants of the closed form killed, "
            f"{m['equivalent']} provably equivalent{implied}, {m['survived']} survived")
    return [head] + [f"{_mutant_fate(x)}: {x['mutation']}" for x in m["mutants"]]


def _mutant_fate(x: dict) -> str:
    if x["killed"]:
        return "killed"
    if x.get("within_slack"):
        return "within the bound's slack (held at every example)"
    return "equivalent" if x.get("equivalent") else "implied by the bound" if x.get("implied") else "survived"


def _provenance(doc: dict) -> list[tuple[str, str]]:
    versions = ", ".join(f"{k} {v}" for k, v in doc.get("versions", {}).items())
    return [("git commit", str(doc.get("git_commit"))), ("versions", versions), ("device", str(doc.get("device"))),
            ("dtype", str(doc.get("dtype"))), ("seed", str(doc.get("seed"))), ("date", str(doc.get("date"))),
            ("total time", f"{_fmt(doc.get('seconds'))} s"), ("command", str(doc.get("command")))]


def _markdown(doc: dict, figs: dict) -> str:
    s = doc["summary"]
    out = ["# theorycheck report", "",
           f"{s['verified']} verified, {s['refuted']} refuted, {s['error']} error; {s['unexpected']} not as expected.", "",
           *table(("claim", "family", "verdict", "statistic", "time (s)"),
                  [(f"[{c['name']}](#{slug(c['name'])})", c.get("family") or "–", _verdict(c), _statistic(c), _fmt(c["seconds"]))
                   for c in doc["claims"]])]
    for c in doc["claims"]:
        out += ["", f"## {c['name']}", "", f"<a id=\"{slug(c['name'])}\"></a>", ""]
        if c.get("statement"):
            out += ["$$", c["statement"], "$$", ""]
        out += [f"- **Reference:** {c.get('reference') or '–'}", f"- **Verdict:** {_verdict(c)} — {_statistic(c)}",
                f"- **Method:** {_method_line(c)}", f"- **Time:** {_fmt(c['seconds'])} s"]
        d = c.get("derivation")
        if d:
            out.append(f"- **Derivation:** {d['statement']} — {'proven' if d['proven'] else 'NOT proven'} by SymPy "
                       f"({_fmt(d['seconds'])} s); derived form below")
        if c.get("error"):
            out.append(f"- **Error:** {c['error']}")
        cx = _counterexample_lines(c)
        if cx:
            out += [f"- **{cx[0]}**", f"  - {cx[1]}", f"  - reproduce: `{cx[2]}`"]
        mx = _mutant_lines(c)
        if mx:
            out += [f"- **{mx[0]}**"] + [f"  - {line}" for line in mx[1:]]
        if d:    # whole, never cut; collapsed (GitHub renders <details>)
            out += ["", f"<details><summary>derived form, {len(d['derived'])} characters</summary>", "", "```text",
                    d["derived"], "```", "", "</details>"]
        for kind in ("sweep", "convergence", "trajectory"):
            if kind in figs[c["name"]]:
                out += ["", f"![{c['name']} {kind}]({figs[c['name']][kind]})"]
    out += ["", "## Provenance", ""] + table(("", ""), _provenance(doc))
    return "\n".join(out) + "\n"


CSS = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #d4d4d4;padding:2px 8px;font-size:90%;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.family th{background:#eef1f5;font-size:95%}
tr.family th a{color:#223}.badge{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:85%;font-weight:600;
white-space:nowrap;border:1px solid}.badge.v-verified{color:#14591a;background:#e3f4e4;border-color:#8cc590}
.badge.v-refuted-expected{color:#3b2a86;background:#ebe6fb;border-color:#a898e0}
.badge.v-unexpected,.badge.v-error{color:#fff;background:#b3161b;border-color:#b3161b}
.legend span{margin-right:1em}section.family{margin-top:1.6em}section.family>h2{border-bottom:2px solid #ccd;margin-bottom:.3em}
details.claim{border:1px solid #ddd;border-left:6px solid #8cc590;border-radius:4px;margin:.5em 0;padding:0 .8em}
details.claim.v-refuted-expected{border-left-color:#a898e0}details.claim.v-unexpected,details.claim.v-error{border-left-color:#b3161b}
details.claim>summary{cursor:pointer;padding:.4em 0}details.claim>summary h3{display:inline;font-size:110%;margin:0 .6em 0 0}
details.claim[open]>summary{border-bottom:1px solid #eee}.conf{color:#555;font-size:90%}
.math{overflow-x:auto;overflow-y:hidden;padding:.3em 0;font-size:130%}math{font-family:"STIX Two Math","Latin Modern Math","Cambria Math",serif}
code,pre{background:#f5f5f5;padding:2px 4px;font-size:85%;white-space:pre-wrap;word-break:break-word}
details.derived>summary{cursor:pointer;color:#345}.counterexample{background:#fdf3f3;border-left:3px solid #d88;padding:.3em .8em}
img{max-width:100%}figure{display:inline-block;margin:.5em;vertical-align:top;max-width:840px}
figcaption{font-size:85%;color:#444}"""

SCRIPT = """window.addEventListener('load',function(){var im=document.images,ok=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){ok++;}}
document.body.setAttribute('data-images-total',im.length);document.body.setAttribute('data-images-loaded',ok);});"""

LONG_FORM = 400        # characters of a derived form's SymPy text above which the page collapses it
VERDICT_LABEL = {"verified": "verified", "refuted-expected": "refuted as expected", "error": "error"}


def _h(s) -> str:
    return html.escape(str(s))


def _badge(c: dict) -> str:
    cls = verdict_class(c)
    return f"<span class=\"badge v-{cls}\">{_h(VERDICT_LABEL.get(cls) or _verdict(c))}</span>"


def confidence(c: dict) -> tuple[str, str, str]:
    """(false-refutation rate, detectable discrepancy, samples per example) as the contents table shows them:
    the relative discrepancy where results.json has one, else the absolute one marked "abs."."""
    rel = c.get("detectable_relative")
    detect = (f"{_fmt(100 * _num(rel))} %" if rel is not None else
              f"{_fmt(c.get('detectable_discrepancy'))} abs." if c.get("detectable_discrepancy") is not None else "–")
    if c["method"] != "monte_carlo":
        return "0 (exact)", detect, "exact"
    return _fmt(c.get("false_refutation_rate")), detect, samples_text(c["samples"], c.get("samples_per_example"))


MATHML_TAGS = {"math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub", "msup",
               "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
               "menclose", "merror", "semantics", "annotation"}


def mathml(tex: str) -> str | None:
    """``tex`` as display MathML (latex2mathml), or None where it cannot convert it: a parse error, a command
    it passes through as text (``<mi>\\foo</mi>``, which would show as raw LaTeX), or output that is not
    well-formed MathML alone (latex2mathml copies ``\\text{...}`` verbatim, markup included)."""
    tex = re.sub(r"\\(arg)(?![A-Za-z])", r"\\operatorname{\1}", tex)      # operators latex2mathml lacks
    try:
        out = latex2mathml.converter.convert(tex, display="block")
        tags = {el.tag.rpartition("}")[2] for el in ElementTree.fromstring(out).iter()}
    except Exception:
        return None
    if not tags <= MATHML_TAGS or re.search(r"<m[io]>\\[A-Za-z]", out):
        return None
    return out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)   # implied in HTML; keeps the page free of URLs


def math_html(tex: str) -> str:
    """A block of math, or the escaped LaTeX source where it cannot be converted (never lost, never a traceback)."""
    m = mathml(tex)
    if m is None:
        return f"<div class=\"tex-fallback\"><small>LaTeX source (not convertible to MathML):</small><pre><code>{_h(tex)}</code></pre></div>"
    return f"<div class=\"math\">{m}</div>"


def _derived_html(d: dict) -> str:
    text, tex = d.get("derived") or "", d.get("derived_latex")
    body = math_html(tex) if tex else f"<pre><code>{_h(text)}</code></pre>"
    n = len(text) or len(tex or "")
    if n <= LONG_FORM:
        return f"<div class=\"derived\">derived:{body}</div>"
    return f"<details class=\"derived\"><summary>derived form, {n} characters</summary>{body}</details>"


def claim_html(result: dict, figures_dir_rel: str | None, *, expanded: bool | None = None) -> str:
    """One claim's section of the page, from its results.json entry. ``figures_dir_rel``: the folder (relative to
    the page) holding its figures, named ``<slug>-<kind>.png``; None draws none (e.g. a notebook's ``_repr_html_``).
    ``expanded``: whether the section starts open; by default only unexpected results and errors do."""
    c, cls = result, verdict_class(result)
    if expanded is None:
        expanded = cls in ("unexpected", "error")
    frr, detect, samples = confidence(c)
    parts = [f"<details class=\"claim v-{cls}\" id=\"{slug(c['name'])}\"{' open' if expanded else ''}>",
             f"<summary><h3>{_h(c['name'])}</h3>{_badge(c)} <span class=\"conf\">{_h(_statistic(c))}; "
             + (f"false-refutation rate {_h(frr)}; detectable {_h(detect)}; samples {_h(samples)}" if samples != "exact" else
                f"exact; detectable {_h(detect)}") + "</span></summary>"]
    if c.get("statement"):
        parts.append(math_html(c["statement"]))
    items = [("Reference", c.get("reference") or "–"), ("Method", _method_line(c)), ("Time", f"{_fmt(c['seconds'])} s")]
    parts.append(f"<p>Verdict: {_badge(c)} {_h(_verdict(c)) if cls == 'unexpected' else ''} — {_h(_statistic(c))}</p><ul>"
                 + "".join(f"<li><b>{k}:</b> {_h(v)}</li>" for k, v in items) + "</ul>")
    d = c.get("derivation")
    if d:
        parts.append(f"<div><b>Derivation</b> ({'proven' if d['proven'] else 'NOT proven'} by SymPy, {_fmt(d['seconds'])} s): "
                     f"{_h(d['statement'])}{_derived_html(d)}</div>")
    if c.get("error"):
        parts.append(f"<p class=\"error\">Error: {_h(c['error'])}</p>")
    cx = _counterexample_lines(c)
    if cx:
        parts.append(f"<div class=\"counterexample\"><p><b>{_h(cx[0])}</b><br>{_h(cx[1])}<br>reproduce: <code>{_h(cx[2])}</code></p></div>")
    mx = _mutant_lines(c)
    if mx:
        parts.append(f"<details><summary><b>{_h(mx[0])}</b></summary><ul>" + "".join(f"<li>{_h(x)}</li>" for x in mx[1:]) + "</ul></details>")
    if figures_dir_rel is not None:
        for kind, _ in FIGURES:
            if c.get(kind) and (kind != "convergence" or len(c[kind]["n"]) >= 2):
                note = trajectory_view(c[kind])["note"] if kind == "trajectory" else ""
                src = f"{figures_dir_rel.rstrip('/')}/{slug(c['name'])}-{kind}.png"
                parts.append(f"<figure><img src=\"{src}\" alt=\"{_h(c['name'])} {kind}\"><figcaption>{_h(CAPTIONS[kind])}"
                             f"{'; ' + _h(note) if note else ''}.</figcaption></figure>")
    return "\n".join(parts + ["</details>"])


def _families(doc: dict) -> dict[str, list[dict]]:
    fams: dict[str, list[dict]] = {}
    for c in doc["claims"]:
        fams.setdefault(c.get("family") or "other", []).append(c)
    return fams


def _contents(fams: dict[str, list[dict]]) -> str:
    head = ("<tr><th>claim</th><th>verdict</th><th>false-refutation rate</th><th>detectable discrepancy</th>"
            "<th>samples</th><th>time (s)</th></tr>")
    rows = []
    for fam, claims in fams.items():
        counts = ", ".join(f"{n} {VERDICT_LABEL.get(k, k)}" for k in ("verified", "refuted-expected", "unexpected", "error")
                           if (n := sum(verdict_class(c) == k for c in claims)))
        rows.append(f"<tr class=\"family\"><th colspan=\"6\"><a href=\"#family-{slug(fam)}\">{_h(fam)}</a> "
                    f"<small>({_h(counts)})</small></th></tr>")
        for c in claims:
            frr, detect, samples = confidence(c)
            rows.append(f"<tr class=\"v-{verdict_class(c)}-row\"><td><a href=\"#{slug(c['name'])}\">{_h(c['name'])}</a></td>"
                        f"<td>{_badge(c)}</td><td class=\"num\">{_h(frr)}</td><td class=\"num\">{_h(detect)}</td>"
                        f"<td class=\"num\">{_h(samples)}</td><td class=\"num\">{_fmt(c['seconds'])}</td></tr>")
    return f"<table class=\"contents\"><thead>{head}</thead><tbody>" + "\n".join(rows) + "</tbody></table>"


def _html(doc: dict, figs: dict) -> str:
    s, fams = doc["summary"], _families(doc)
    n_expected = sum(verdict_class(c) == "refuted-expected" for c in doc["claims"])
    legend = ("<p class=\"legend\">" + "".join(f"<span><span class=\"badge v-{k}\">{v}</span> {_h(t)}</span>" for k, v, t in (
        ("verified", "verified", "the closed form held"),
        ("refuted-expected", "refuted as expected", "a claim meant to fail (a misprint, a mutant) was refuted"),
        ("unexpected", "unexpected", "refuted or verified against expectation; or an error"))) + "</p>")
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>theorycheck report</title>",
             f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>", "<h1>theorycheck report</h1>",
             f"<p><b>{len(doc['claims'])} claims in {len(fams)} families:</b> {s['verified']} verified, {s['refuted']} refuted "
             f"({n_expected} as expected), {s['error']} error; <b>{s['unexpected']} not as expected</b>.</p>", legend,
             "<h2 id=\"contents\">Contents</h2>", _contents(fams)]
    for fam, claims in fams.items():
        parts.append(f"<section class=\"family\" id=\"family-{slug(fam)}\"><h2>{_h(fam)}</h2>")
        parts += [claim_html(c, "figures") for c in claims]
        parts.append("</section>")
    parts.append("<section id=\"provenance\"><h2>Provenance</h2><table>" + "".join(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in _provenance(doc))
                 + "</table></section></body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------- output

def render(doc: dict, out: str | os.PathLike) -> Path:
    """Write the report for ``doc`` to directory ``out``, replacing any previous report atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        chmod_like_new(tmp, directory=True)     # mkdtemp's 0700 -> what mkdir would give under the umask
        figs = _figures(doc, tmp)
        (tmp / "report.md").write_text(_markdown(doc, figs))
        (tmp / "report.tex").write_text(render_tex(doc))     # the LaTeX appendix (_latex.py)
        (tmp / "index.html").write_text(_html(doc, figs))
        (tmp / "results.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
