"""``report.tex``: a run's theorem checks as a LaTeX appendix an author can ``\\input`` into supplementary material.

Drawn from the results document alone, like the rest of the report (``_report.render``). The file is a fragment:
no ``\\documentclass``; it needs ``amsmath``, ``amssymb``, ``array``, ``longtable`` and ``graphicx`` in the preamble (``PREAMBLE``,
also in its header comment) and opens with ``\\section*``. Per family: a table of its claims (verdict, false-refutation rate,
detectable discrepancy, draws per example) and, per claim, the statement as display math, the reference, the
verdict with its confidence and, for a refutation, the counterexample and the command that replays it. The
provenance paragraph gives the seed, device, commit and library versions.

Statements are LaTeX already and go in as they are (a claim's statement must be valid LaTeX math), scaled down to
the line width where wider (``\\tcfit``, defined by the fragment); every other string is text and is escaped
(``escape``): the ten characters TeX treats specially, the three that the default OT1 font encoding prints as other
glyphs (``| < >``), control characters, and characters outside ASCII (as their code point). Commands are set in
typewriter type, escaped the same way. A single compile suffices (the tables' column widths are fixed).
"""

from __future__ import annotations

import math
import re

from ._results import samples_text, verdict_class

__all__ = ["escape", "render_tex", "PREAMBLE"]

PREAMBLE = r"\usepackage{amsmath,amssymb,array,longtable,graphicx}"

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
            "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "|": r"\textbar{}", "<": r"\textless{}",
            ">": r"\textgreater{}"}
_SPECIAL_RE = re.compile(r"[\\{}$&#%_^~|<>]")
# \tcfit{math}: display math scaled to the line width where it is wider (defined once, whatever the \input count)
_FIT = [r"\ifdefined\tcfitbox\else\newsavebox{\tcfitbox}\fi",
        r"\providecommand{\tcfit}[1]{\sbox{\tcfitbox}{$\displaystyle #1$}\ifdim\wd\tcfitbox>\linewidth"
        r"\resizebox{\linewidth}{!}{\usebox{\tcfitbox}}\else\usebox{\tcfitbox}\fi}"]

VERDICT_TEXT = {"verified": "verified", "refuted-expected": "refuted, as expected", "error": "ERROR"}


def escape(text) -> str:
    """Plain text -> LaTeX text: TeX's special characters escaped, control characters (newlines, tabs) as spaces,
    and the characters outside ASCII that pdflatex's default input cannot read written as their code point."""
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))
    s = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], s)
    return "".join(c if ord(c) < 128 else f"U+{ord(c):04X}" for c in s)


def _command(text: str) -> str:
    """A command line in typewriter type, small, escaped like any text (it breaks at its spaces)."""
    return r"{\small\texttt{" + escape(text) + "}}"


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "--"
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return r"$\infty$" if v > 0 else r"$-\infty$"
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"$10^{{{int(exp)}}}$" if mant == "1" else f"${mant}\\times 10^{{{int(exp)}}}$"
    return text


def _confidence(c: dict) -> tuple[str, str, str]:
    """(false-refutation rate, detectable discrepancy, draws per example) as the tables print them."""
    if c["method"] != "monte_carlo":
        rel = c.get("detectable_relative")
        return "exact", (_num(rel) + " rel." if rel is not None else _num(c.get("detectable_discrepancy"))), "--"
    rel = c.get("detectable_relative")
    detect = f"{_num(100 * rel, 2)}\\%" if rel is not None else _num(c.get("detectable_discrepancy")) + " abs."
    draws = samples_text(c["samples"], c.get("samples_per_example")).replace("-", "--")
    return _num(c.get("false_refutation_rate")), detect, r"\mbox{" + draws + "}"


def _verdict(c: dict) -> str:
    cls = verdict_class(c)
    if cls == "unexpected":
        return "REFUTED (unexpected)" if c["verdict"] == "refuted" else "verified (expected refuted)"
    return VERDICT_TEXT[cls]


def _counterexample(cx: dict) -> list[str]:
    params = ", ".join(f"{escape(k)} $= {_array(v)}$" for k, v in cx["params"].items())
    j = cx["component"]
    where = f" (component {escape(cx['index'])})" if cx.get("index") else ""
    se = cx.get("std_error")
    lines = [r"\paragraph{Counterexample" + (" (shrunk)" if cx.get("shrunk") else "") + ".} " + params + ".",
             f"Closed form {_num(cx['closed_form'][j], 6)}, estimate {_num(cx['estimate'][j], 6)}"
             + (f" $\\pm$ {_num(se[j])} (standard error)" if se is not None else "") + where
             + f"; statistic {_num(cx['statistic'])} against the threshold {_num(cx['threshold'])}.",
             r"Replay: " + _command(cx["command"])]
    return lines


def _array(v) -> str:
    """A parameter value in math mode: a number, or a bracketed (nested) list, numbers to 4 digits."""
    if isinstance(v, list):
        return r"[" + ",\\,".join(_array(x) for x in v) + r"]"
    text = _num(v, 4)
    return text.strip("$")


def render_tex(doc: dict) -> str:
    """The results document as a LaTeX fragment (see the module docstring)."""
    claims = doc.get("claims", [])
    families: dict[str, list[dict]] = {}
    for c in claims:
        families.setdefault(c.get("family") or "other", []).append(c)
    s = doc.get("summary", {})
    versions = doc.get("versions", {})
    expected = sum(verdict_class(c) == "refuted-expected" for c in claims)
    out = ["% theorycheck report: \\input this file; the preamble needs", "% " + PREAMBLE, *_FIT, "",
           r"\section*{Theorem checks}",
           f"{len(claims)} claims: {s.get('verified', 0)} verified, {s.get('refuted', 0)} refuted ({expected} of them "
           f"on purpose: statements the suite shows false), {s.get('error', 0)} errors. A Monte Carlo claim is refuted "
           "with probability at most its false-refutation rate when it is correct (Bonferroni over every tested "
           "component); a "
           "discrepancy at least the detectable one is caught with probability 0.9 per test.", "",
           r"Per family, $\alpha$ is the false-refutation rate, detectable the discrepancy caught with probability 0.9 "
           "(relative to the closed form's size where one is known), draws the Monte Carlo draws per example.", "",
           r"\paragraph{Provenance.} " + escape(f"theorycheck {versions.get('theorycheck', '?')}, seed {doc.get('seed')}, "
                                                f"device {doc.get('device')}, {doc.get('dtype', 'float64')}.") + r"\\ " + escape(f"Run {doc.get('date', '')}.")
           + r"\\ Commit " + _command(str(doc.get("git_commit") or "unknown")) + r".\\ "
           + escape(", ".join(f"{k} {v}" for k, v in versions.items() if k != "theorycheck")) + r".\\",
           r"Command: " + _command(doc.get("command", "")), ""]
    for family, members in families.items():
        cols = "".join(r">{\raggedright\arraybackslash}p{%s\linewidth}" % w for w in ("0.3", "0.18", "0.08", "0.11", "0.17"))
        out += [r"\subsection*{" + escape(family) + "}", r"{\small\begin{longtable}{@{}" + cols + "@{}}",
                r"claim & verdict & $\alpha$ & detectable & draws \\ \hline\endhead"]
        for c in members:
            rate, detect, draws = _confidence(c)
            out.append(f"{escape(c['name'])} & {_verdict(c)} & {rate} & {detect} & {draws} \\\\")
        out += [r"\end{longtable}}", ""]
        for c in members:
            out += _claim(c)
    return "\n".join(out) + "\n"


def _claim(c: dict) -> list[str]:
    rate, detect, draws = _confidence(c)
    out = [r"\subsubsection*{" + escape(c["name"]) + "}"]
    if c.get("statement"):
        out += [r"\begin{equation*}", r"\tcfit{" + c["statement"] + "}", r"\end{equation*}"]
    if c.get("reference"):
        out.append(r"\noindent Reference: " + escape(c["reference"]) + ".")
    how = (f"{c.get('examples', 0)} examples, {draws} draws each, false-refutation rate {rate}, detectable "
           f"discrepancy {detect}" if c["method"] == "monte_carlo" else
           f"{c.get('examples', 0)} examples, exact comparison within float64 round-off (detectable {detect})")
    out.append(r"\par\noindent Verdict: \textbf{" + _verdict(c) + "} (" + how + ").")
    if c.get("derivation"):
        d = c["derivation"]
        out.append(r"\par\noindent Derivation: " + escape(d["statement"]) + " --- "
                   + ("proven (SymPy reduced derived $-$ printed to 0)." if d["proven"] else "NOT proven."))
    if c.get("error"):
        out.append(r"\par\noindent Error: " + escape(c["error"]))
    if c.get("counterexample"):
        out += _counterexample(c["counterexample"])
    out.append("")
    return out
