"""Compare two results.json files field by field, apart from what may differ between identical runs.

    python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json [--ignore statement]

A refactor that must not change behaviour is shown by this printing nothing and exiting 0: every claim, verdict,
example count, statistic, detectable discrepancy, counterexample and derivation equal. Ignored always: timings
(``seconds`` anywhere, ``date``), the command line, the commit and the derivations' SymPy text printed from the
same expression (``derived``, ``printed``, ``derived_latex`` are compared, their ``seconds`` not). ``--ignore F``
adds a field name ignored at every depth (e.g. ``statement`` where statements are now generated). Exit 1 with
one line per difference (at most 50) otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

ALWAYS = {"seconds", "date", "command", "git_commit"}


def differences(a, b, path: str, ignore: set[str]):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in ignore:
                continue
            if k not in a or k not in b:
                yield f"{path}.{k}: only in {'after' if k not in a else 'before'}"
            else:
                yield from differences(a[k], b[k], f"{path}.{k}", ignore)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items before, {len(b)} after"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f"{path}[{i}]", ignore)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif a != b:
        yield f"{path}: {str(a)[:120]!s} -> {str(b)[:120]!s}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--ignore", action="append", default=[], metavar="FIELD")
    args = ap.parse_args(argv)
    docs = []
    for path in (args.before, args.after):
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        doc["claims"] = {c["name"]: c for c in doc.get("claims", [])}
        docs.append(doc)
    diffs = list(differences(*docs, "results", ALWAYS | set(args.ignore)))
    for line in diffs[:50]:
        print(line)
    if len(diffs) > 50:
        print(f"... and {len(diffs) - 50} more")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
