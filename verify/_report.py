"""Theorem-check reports: ``index.html``, ``report.md``, ``report.tex``, ``results.json`` and ``figures/*.png``.

Everything is drawn from a results document (schema ``theorycheck.results/1``), never from a second
computation: ``render(doc, out)`` can re-render a saved ``results.json`` (``theorycheck report --from``).
The HTML is self-contained (inline CSS, relative image links, no network). Math is rendered offline:
each statement becomes a PNG through matplotlib's mathtext, after ``mathtext_latex`` maps the few LaTeX
commands mathtext lacks (``\\tfrac``, ``\\Big``, ``\\text``, ``\\frac12``) to ones it has; the Markdown
keeps the original LaTeX between ``$$``. A report directory is replaced atomically: it is written beside
the target and renamed into place, so an interrupted run leaves the previous report intact.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import mathtext  # noqa: E402
from numerics._files import chmod_like_new  # noqa: E402

from ._latex import render_tex  # noqa: E402
from ._markdown import table  # noqa: E402
from ._results import component_label, counterexample_reason, samples_text  # noqa: E402

__all__ = ["render", "mathtext_latex", "slug"]

MAX_SWEEP_COMPONENTS = 6


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

def _save(fig, ax, path: Path, title: str, legend_size: int, **legend) -> bool:
    """Title, legend, tight layout, save, close: the common end of every report figure."""
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=legend_size, **legend)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _statement_png(claim: dict, path: Path) -> bool:
    if not claim.get("statement"):
        return False
    try:
        mathtext.math_to_image(f"${mathtext_latex(claim['statement'])}$", str(path), dpi=130, format="png")
        return True
    except Exception:  # mathtext cannot parse it: the page shows the LaTeX source instead
        path.unlink(missing_ok=True)
        return False


def _sweep_png(claim: dict, path: Path) -> bool:
    sw = claim.get("sweep")
    if not sw:
        return False
    x = sw["x"]
    closed, est = sw["closed_form"], sw["estimate"]
    se = sw.get("std_error")
    k = len(closed[0])
    comps = list(range(min(k, MAX_SWEEP_COMPONENTS)))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for j in comps:
        color = f"C{j % 10}"
        ax.plot(x, [c[j] for c in closed], "-", color=color, lw=1.4, label=f"closed form [{j}]")
        yerr = None if se is None else [2 * _num(s[j]) for s in se]
        ax.errorbar(x, [e[j] for e in est], yerr=yerr, fmt="o", ms=3, color=color, capsize=2,
                    label=f"estimate [{j}] ± 2 SE" if se is not None else f"estimate [{j}]")
    ax.set_xlabel(sw["label"])
    ax.set_ylabel("value")
    return _save(fig, ax, path, f"{claim['name']}: closed form vs estimate along a sweep", 6, ncol=2)


def _convergence_png(claim: dict, path: Path) -> bool:
    cv = claim.get("convergence")
    if not cv or len(cv["n"]) < 2:
        return False
    n, err, se = cv["n"], [max(_num(e), 1e-300) for e in cv["abs_error"]], [_num(s) for s in cv["std_error"]]
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.loglog(n, err, "o-", ms=3, label="max |estimate − closed form|")
    ax.loglog(n, se, "s--", ms=3, label="max standard error")
    ref = [se[0] * math.sqrt(n[0] / m) for m in n]
    ax.loglog(n, ref, "k:", label=r"$\propto n^{-1/2}$")
    ax.set_xlabel("samples n")
    ax.set_ylabel("error")
    return _save(fig, ax, path, f"{claim['name']}: convergence at the typical example", 7)


def _trajectory_png(claim: dict, path: Path) -> bool:
    tr = claim.get("trajectory")
    if not tr:
        return False
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for i, (name, ys) in enumerate(tr["series"].items()):
        ax.plot(tr["t"], ys, "-" if i == 0 else "--", lw=1.5, label=name)
    ax.set_xlabel(tr.get("xlabel") or "t")
    ax.set_ylabel(tr.get("ylabel") or "")
    return _save(fig, ax, path, tr.get("title") or f"{claim['name']}: theory vs simulation", 7)


FIGURES = (("statement", _statement_png), ("sweep", _sweep_png), ("convergence", _convergence_png),
           ("trajectory", _trajectory_png))


def _figures(doc: dict, root: Path) -> dict[str, dict[str, str]]:
    (root / "figures").mkdir()
    out: dict[str, dict[str, str]] = {}
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
    label = "max |z|" if st.get("name") == "max_abs_z" else "max err/bound"
    return f"{label} {_fmt(st.get('value'))} (threshold {_fmt(st.get('threshold'))})"


def _method_line(c: dict) -> str:
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
    return [f"Counterexample ({'shrunk' if x['shrunk'] else x['label']}): {params}",
            f"{component_label(x)}closed form {_fmt(x['closed_form'][j], 6)}, estimate {_fmt(x['estimate'][j], 6)}{se}; "
            f"statistic {_fmt(x['statistic'])} > {_fmt(x['threshold'])}{counterexample_reason(x)}; "
            f"seeds: run {x['run_seed']}, example {x['example_seed']}",
            x["command"]]


def _mutant_lines(c: dict) -> list[str]:
    m = c.get("mutants")
    if not m:
        return []
    head = (f"Mutation certificate: {m['killed']} of {m['total']} mutants of the closed form killed, "
            f"{m['equivalent']} provably equivalent, {m['survived']} survived")
    return [head] + [f"{'survived' if not x['killed'] and not x.get('equivalent') else 'equivalent' if x.get('equivalent') else 'killed'}: "
                     f"{x['mutation']}" for x in m["mutants"]]


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
                       f"({_fmt(d['seconds'])} s); derived: `{d['derived'][:400]}`")
        if c.get("error"):
            out.append(f"- **Error:** {c['error']}")
        cx = _counterexample_lines(c)
        if cx:
            out += [f"- **{cx[0]}**", f"  - {cx[1]}", f"  - reproduce: `{cx[2]}`"]
        mx = _mutant_lines(c)
        if mx:
            out += [f"- **{mx[0]}**"] + [f"  - {line}" for line in mx[1:]]
        for kind in ("sweep", "convergence", "trajectory"):
            if kind in figs[c["name"]]:
                out += ["", f"![{c['name']} {kind}]({figs[c['name']][kind]})"]
    out += ["", "## Provenance", ""] + table(("", ""), _provenance(doc))
    return "\n".join(out) + "\n"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:90%;text-align:left}
.verified{color:#176317;font-weight:600}.refuted{color:#a11;font-weight:600}.error{color:#a60;font-weight:600}
.expected{color:#555;font-weight:600}section{border-top:1px solid #ddd;margin-top:1.5em}
code,pre{background:#f5f5f5;padding:2px 4px;font-size:85%;white-space:pre-wrap;word-break:break-all}
img{max-width:100%}figure{display:inline-block;margin:.5em}"""

SCRIPT = """window.addEventListener('load',function(){var im=document.images,ok=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){ok++;}}
document.body.setAttribute('data-images-total',im.length);document.body.setAttribute('data-images-loaded',ok);});"""


def _h(s) -> str:
    return html.escape(str(s))


def _html(doc: dict, figs: dict) -> str:
    s = doc["summary"]
    rows = []
    for c in doc["claims"]:
        cls = "expected" if c["verdict"] == "refuted" and c.get("expected") == "refuted" else c["verdict"]
        rows.append(f"<tr><td><a href=\"#{slug(c['name'])}\">{_h(c['name'])}</a></td><td>{_h(c.get('family') or '–')}</td>"
                    f"<td class=\"{cls}\">{_h(_verdict(c))}</td><td>{_h(_statistic(c))}</td><td>{_fmt(c['seconds'])}</td></tr>")
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>theorycheck report</title>",
             f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>", "<h1>theorycheck report</h1>",
             f"<p>{s['verified']} verified, {s['refuted']} refuted, {s['error']} error; {s['unexpected']} not as expected.</p>",
             "<table><thead><tr><th>claim</th><th>family</th><th>verdict</th><th>statistic</th><th>time (s)</th></tr></thead>",
             "<tbody>" + "".join(rows) + "</tbody></table>"]
    for c in doc["claims"]:
        f = figs[c["name"]]
        cls = "expected" if c["verdict"] == "refuted" and c.get("expected") == "refuted" else c["verdict"]
        parts.append(f"<section id=\"{slug(c['name'])}\"><h2>{_h(c['name'])}</h2>")
        if "statement" in f:
            parts.append(f"<p><img src=\"{f['statement']}\" alt=\"{_h(c['statement'])}\"></p>")
        elif c.get("statement"):
            parts.append(f"<p><code>{_h(c['statement'])}</code></p>")
        items = [("Reference", c.get("reference") or "–"), ("Method", _method_line(c)), ("Time", f"{_fmt(c['seconds'])} s")]
        parts.append(f"<p>Verdict: <span class=\"{cls}\">{_h(_verdict(c))}</span> — {_h(_statistic(c))}</p><ul>"
                     + "".join(f"<li><b>{k}:</b> {_h(v)}</li>" for k, v in items) + "</ul>")
        d = c.get("derivation")
        if d:
            parts.append(f"<p><b>Derivation</b> ({'proven' if d['proven'] else 'NOT proven'} by SymPy, {_fmt(d['seconds'])} s): "
                         f"{_h(d['statement'])}<br>derived: <code>{_h(d['derived'][:600])}</code></p>")
        if c.get("error"):
            parts.append(f"<p class=\"error\">Error: {_h(c['error'])}</p>")
        cx = _counterexample_lines(c)
        if cx:
            parts.append(f"<p><b>{_h(cx[0])}</b><br>{_h(cx[1])}<br>reproduce: <code>{_h(cx[2])}</code></p>")
        mx = _mutant_lines(c)
        if mx:
            parts.append(f"<details><summary><b>{_h(mx[0])}</b></summary><ul>" + "".join(f"<li>{_h(x)}</li>" for x in mx[1:]) + "</ul></details>")
        for kind in ("sweep", "convergence", "trajectory"):
            if kind in f:
                parts.append(f"<figure><img src=\"{f[kind]}\" alt=\"{_h(c['name'])} {kind}\"></figure>")
        parts.append("</section>")
    parts.append("<section><h2>Provenance</h2><table>" + "".join(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in _provenance(doc))
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
