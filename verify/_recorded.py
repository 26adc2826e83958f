"""Recorded experiment runs are data: the documentation quotes them, never retypes them.

A recorded run is an ordinary run written to ``reports/recorded/NAME/PRESET/`` (``theorycheck experiment NAME
--record``): its ``config.json``, ``summary.json``, ``summary.md`` and ``figures/`` are committed (``tasks/``, the
per-task metrics and checkpoints, is not). The Markdown files quote them through marked blocks whose body is
generated here::

    <!-- recorded overview -->                      one row per recorded run (the README)
    <!-- recorded NAME PRESET verdicts -->          the run's verdicts: kind, status, estimate, claimed, Holm p
    <!-- recorded NAME PRESET disagreements -->     where the run disagrees with the papers' tables
    <!-- /recorded -->                               ends any block

``python -m verify._recorded`` rewrites every block of the README and docs/*.md from the recorded runs;
``--check`` rewrites nothing and exits 1 naming the stale blocks (the test suite runs the check, so a quote that
no longer matches its recorded run fails the tests).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ._markdown import table

__all__ = ["RECORDED", "DOCUMENTS", "recorded_runs", "load_run", "render", "update", "main"]

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "reports" / "recorded"
DOCUMENTS = ("README.md", "docs/experiments.md")
_OPEN = re.compile(r"^<!-- recorded (?P<args>[^>]*?) -->$")
_CLOSE = "<!-- /recorded -->"


def recorded_runs(root: Path | None = None) -> list[tuple[str, str]]:
    """(experiment, preset) of every recorded run under ``root`` (default ``RECORDED``), sorted."""
    root = RECORDED if root is None else root
    return sorted((p.parent.parent.name, p.parent.name) for p in root.glob("*/*/summary.json"))


def load_run(name: str, preset: str, root: Path | None = None) -> dict:
    root = RECORDED if root is None else root
    path = root / name / preset / "summary.json"
    if not path.exists():
        raise FileNotFoundError(f"no recorded run {name} {preset}: {path} is missing; record it with "
                                f"`theorycheck experiment {name} --preset {preset} --record`")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _num(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return "nan" if x != x else f"{x:.3g}"


def _estimate(v: dict) -> str:
    e = v["estimate"]
    return f"{_num(e['mean'])} [{_num(e['lo'])}, {_num(e['hi'])}]"


def _kind(v: dict) -> str:
    return v.get("kind", "finding" if v.get("asserted", True) else "reported")


def _counts(doc: dict, kind: str) -> str:
    rows = [v for v in doc["verdicts"] if _kind(v) == kind]
    held = sum(v["status"] == "holds" for v in rows)
    return f"{held} of {len(rows)} hold" if rows else "none"


def render(args: list[str], root: Path | None = None, link: str = "reports/recorded") -> list[str]:
    """The body of one block, from its arguments (``overview`` or ``NAME PRESET verdicts|disagreements``);
    ``link`` is the recorded folder relative to the document (for the overview's links)."""
    if args == ["overview"]:
        rows = []
        for name, preset in recorded_runs(root):
            doc = load_run(name, preset, root)
            minutes = float(doc.get("timing", {}).get("task_seconds_total", float("nan"))) / 60
            parted = [d.get("status", "contradicts") for d in doc.get("disagreements", [])]
            rows.append((f"`{name}`", preset, doc["seeds"], doc.get("tasks", "-"), f"{minutes:.3g}",
                         _counts(doc, "finding"), _counts(doc, "sanity"), _counts(doc, "reported"),
                         f"{parted.count('contradicts')} / {parted.count('not reproduced')}",
                         f"[summary]({link}/{name}/{preset}/summary.md)"))
        return table(("experiment", "preset", "seeds", "tasks", "task time (min)", "findings (Holm, 5%)",
                      "sanity checks", "reported (uncorrected)", "papers contradicted / not reproduced",
                      "recorded run"), rows)
    if len(args) == 3 and args[2] in ("verdicts", "disagreements"):
        name, preset, what = args
        doc = load_run(name, preset, root)
        head = [f"Recorded run: `reports/recorded/{name}/{preset}/` ({doc['seeds']} seeds, {doc['device']}; "
                f"generated from its summary.json by `python -m verify._recorded`).", ""]
        if what == "disagreements":
            items = doc.get("disagreements", [])
            if not items:
                return head + ["This run disagrees with no table it is compared with."]
            return head + table(("result", "the paper", "this run", "how"),
                                [(d["topic"], d["paper"], d["ours"], d.get("status", "contradicts")) for d in items])
        rows = []
        for v in doc["verdicts"]:
            side = ">" if v["direction"] == "above" else "<"
            holm = _num(v.get("p_adjusted")) if _kind(v) == "finding" else "-"
            kind = "reported (uncorrected)" if _kind(v) == "reported" else _kind(v)
            rows.append((f"`{v['name']}`", kind, f"**{v['status']}**", _estimate(v),
                         f"{side} {_num(v['threshold'])}", holm))
        return head + table(("verdict", "kind", "status", "estimate [95% CI over seeds]", "claimed", "Holm p"), rows)
    raise ValueError(f"recorded block {' '.join(args)!r}: use 'overview' or 'NAME PRESET verdicts|disagreements'")


def update(text: str, root: Path | None = None, link: str = "reports/recorded") -> tuple[str, list[str], list[str]]:
    """``text`` with every recorded block regenerated; the arguments of the blocks that changed, and of those whose
    run is not recorded (left as they are)."""
    lines, out, changed, missing, i = text.split("\n"), [], [], [], 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        out.append(lines[i])
        i += 1
        if not match:
            continue
        try:
            end = lines.index(_CLOSE, i)
        except ValueError:
            raise ValueError(f"recorded block {match['args']!r} has no closing {_CLOSE}") from None
        try:
            body = render(match["args"].split(), root, link)
        except FileNotFoundError:
            missing.append(match["args"])
            body = lines[i:end]
        if lines[i:end] != body:
            changed.append(match["args"])
        out += body + [_CLOSE]
        i = end + 1
    return "\n".join(out), changed, missing


def _link(rel: str) -> str:
    """The recorded folder as a link from the document ``rel`` (relative to the repository root)."""
    import os

    return os.path.relpath("reports/recorded", os.path.dirname(rel) or ".")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from ._results import write_text_atomic

    parser = argparse.ArgumentParser(prog="python -m verify._recorded", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block is stale")
    args = parser.parse_args(argv)
    stale, missing = [], []
    for rel in DOCUMENTS:
        path = ROOT / rel
        text = path.read_text(encoding="utf-8")
        new, changed, absent = update(text, link=_link(rel))
        stale += [f"{rel}: {c}" for c in changed]
        missing += [f"{rel}: {c}" for c in absent]
        if changed and not args.check:
            write_text_atomic(path, new)
    for s in stale:
        print(f"{'stale' if args.check else 'updated'}: {s}", file=sys.stderr if args.check else sys.stdout)
    for s in missing:
        print(f"not recorded (block left as it is): {s}; record it with theorycheck experiment NAME --record",
              file=sys.stderr)
    return 1 if (stale or missing) and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
