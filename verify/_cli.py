"""``theorycheck`` command line: parses arguments and calls the library. No logic lives here.

Exit codes: 0 every claim as expected (verified, or refuted where the claim is a statement shown false on
purpose); 1 at least one claim refuted (or an expected refutation verified); 2 usage error, a derivation
file that does not load, or any claim in error.

Nothing heavy is imported at module level: ``--help``, usage errors and ``list`` (which reads the generated
``claims/catalogue.json``) answer without torch, SymPy or the engine. After changing a built-in claim's name,
method, reference, family, statement or expected verdict, regenerate the catalogue with
``python -m verify._cli --write-catalogue`` (tests/test_cli_startup.py fails while it is stale).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from ._errors import NoClaimsError, TheorycheckError, UsageError
from ._schedule import PARALLEL_MIN_CLAIMS   # torch-free at import

__all__ = ["main", "write_catalogue", "EXIT_OK", "EXIT_REFUTED", "EXIT_ERROR"]

EXIT_OK, EXIT_REFUTED, EXIT_ERROR = 0, 1, 2
TIME_BUDGET = 600.0   # verify._engine.TIME_BUDGET, repeated so that the parser needs no torch (a test checks they agree)
CATALOGUE = Path(__file__).resolve().parent / "claims" / "catalogue.json"
CATALOGUE_SCHEMA = "theorycheck.catalogue/1"
_CATALOGUE_FIELDS = ("name", "family", "method", "reference", "expected", "statement")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(EXIT_ERROR, f"theorycheck: error: {message}; see theorycheck {self.prog.split()[-1]} --help\n")


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed {text!r}: must be a non-negative integer, e.g. --seed 0") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"--seed {text!r}: must be a non-negative integer, e.g. --seed 0")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"--time-budget {text!r}: must be a positive number of seconds, e.g. --time-budget 300")
    return v


def _count(flag: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = 0
        if v < 1:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: must be a positive integer, e.g. {flag} 5")
        return v
    return parse


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="theorycheck", description="Check closed forms of deep-learning theory against Monte Carlo and autograd.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the built-in claims")

    def scheduling(sp, scheduler, workers):
        sp.add_argument("--scheduler", default="local", metavar="ADDRESS", help=scheduler)
        sp.add_argument("--workers", type=_count("--workers"), metavar="N", help=f"local cluster size (default: {workers})")

    def claims_scheduling(sp):
        scheduling(sp, "local (default): claims run in parallel on a Dask cluster of single-threaded worker processes "
                       f"sized to this machine, or in this process for fewer than {PARALLEL_MIN_CLAIMS} claims unless "
                       "--workers is given, for one claim, --workers 1 or --replay; serial (no Dask): one after "
                       "another in this process; or a Dask scheduler address such as tcp://host:8786 (its workers "
                       "must read derivation files at the same absolute paths)", "CPU count, at most one per claim")

    def common(sp):
        sp.add_argument("--seed", type=_seed, default=0, help="run seed: fixes every draw and estimate (default 0)")
        sp.add_argument("--device", default="auto", help="auto (GPU if present), cpu or cuda (default auto)")
        sp.add_argument("--json", metavar="FILE", help="write results (schema theorycheck.results/1) to FILE, atomically")
        sp.add_argument("--replay", metavar="JSON", help="check one example only: the 'replay' object printed with a counterexample")
        sp.add_argument("--mutants", action="store_true", help="also run each verified claim's check on mutants of its closed form")
        sp.add_argument("--time-budget", type=_seconds, default=TIME_BUDGET, metavar="SECONDS",
                        help=f"stop a claim that runs longer, as an error (default {TIME_BUDGET:g})")
        claims_scheduling(sp)

    run = sub.add_parser("run", help="check built-in claims")
    run.add_argument("names", nargs="*", metavar="NAME", help="claims to run (default: all; see theorycheck list)")
    common(run)
    rep = sub.add_parser("report", help="run built-in claims and write an HTML/Markdown report with figures")
    rep.add_argument("names", nargs="*", metavar="NAME", help="claims to run (default: all)")
    rep.add_argument("--out", default="reports/latest", metavar="DIR", help="report directory (default reports/latest), replaced atomically")
    rep.add_argument("--from", dest="from_json", metavar="RESULTS", help="re-render a saved results.json instead of running")
    rep.add_argument("--seed", type=_seed, default=0, help="run seed (default 0)")
    rep.add_argument("--device", default="auto", help="auto (GPU if present), cpu or cuda (default auto)")
    rep.add_argument("--mutants", action="store_true", help="add mutation certificates (see theorycheck run --mutants)")
    rep.add_argument("--time-budget", type=_seconds, default=TIME_BUDGET, metavar="SECONDS", help=f"per claim (default {TIME_BUDGET:g})")
    claims_scheduling(rep)
    exp = sub.add_parser("experiment", help="run a training experiment (theorycheck experiment --list)")
    exp.add_argument("name", nargs="?", metavar="NAME", help="experiment to run (see --list)")
    exp.add_argument("--list", action="store_true", help="list the experiments and exit")
    exp.add_argument("--preset", default="quick", choices=("quick", "full"),
                     help="quick: minutes on 2 CPU cores; full: meant for a GPU (default quick)")
    exp.add_argument("--seeds", type=_count("--seeds"), metavar="N", help="number of seeds (default: the preset's)")
    exp.add_argument("--device", default="auto", help="auto (GPU if present), cpu or cuda (default auto)")
    exp.add_argument("--out", metavar="DIR", help="output directory (default reports/experiments/NAME)")
    exp.add_argument("--resume", action="store_true", help="continue a killed run in --out from its checkpoints")
    exp.add_argument("--record", action="store_true",
                     help="write to reports/recorded/NAME/PRESET (committed: config, summary, figures) and regenerate "
                          "the README's and docs' quotes of it (python -m verify._recorded)")
    scheduling(exp, "local (a Dask cluster sized to this machine, default), serial (no Dask) or a Dask scheduler "
                    "address such as tcp://host:8786", "CPU count")
    val = sub.add_parser("validate", help="check the Claims defined in derivation files")
    val.add_argument("files", nargs="+", metavar="FILE|DIR", help="Python files defining Claim objects at top level, or directories of them")
    val.add_argument("--claim", action="append", metavar="NAME", help="only this claim (repeatable)")
    common(val)
    return p


def _builtin() -> dict:
    from .claims import builtin_claims
    return builtin_claims()


def _line(r) -> str:
    from ._results import samples_text

    verdict = r.verdict + (" (expected)" if r.verdict == "refuted" and r.as_expected else
                           " (UNEXPECTED)" if r.verdict != "error" and r.verdict != r.expected else "")
    if r.verdict == "error":
        return f"{'error':<20} {r.name}  {r.source}: claim {r.name!r}: {r.error}"
    stat = r.statistic   # the largest over every example evaluated, and the threshold where it is attained
    from ._results import statistic_symbol
    sym = statistic_symbol(stat.get("name"))
    value, thr = float(stat.get("value", 0.0)), float(stat.get("threshold", 0.0))
    cmp = ">" if value > thr else "<="
    size = f"{r.examples} examples" + (f" x {r.order['rungs']} rungs" if r.order else "") + (f" x {samples_text(r.samples, r.samples_per_example)} samples"
                                       if r.method == "monte_carlo" else " (exact)")
    return f"{verdict:<20} {r.name:<40} {size:<32} {sym} {value:.3g} {cmp} {thr:.3g}  {r.seconds:.2f}s"


def _details(r) -> list[str]:
    out = []
    if r.undecidable_examples:
        out.append(f"    {r.undecidable_examples} example(s) skipped as undecidable in float64 (a jump of the closed form within round-off)")
    m = r.mutants
    if m:
        implied = (f", {m['implied']} implied by the bound" if m.get("implied") else "") + (
            f", {m['within_slack']} within the bound's slack" if m.get("within_slack") else "")
        out.append(f"    mutants: {m['killed']}/{m['total']} killed, {m['equivalent']} provably equivalent{implied}, "
                   f"{m['survived']} survived ({m['seconds']:.1f}s)")
        out += [f"      SURVIVED: {x['mutation']}" for x in m["mutants"]
                if not x["killed"] and not x.get("equivalent") and not x.get("implied") and not x.get("within_slack")]
    if r.error and r.verdict != "error":
        out.append(f"    {r.error}")
    out += [f"    warning: {w}" for w in r.warnings]
    c = r.counterexample
    if c:
        params = "  ".join(f"{k}={v}" for k, v in c["params"].items())
        sizes = "".join(f", {k}={v}" for k, v in (c.get("sizes") or {}).items())      # drawn sizes, where any
        out.append(f"    counterexample ({'shrunk' if c['shrunk'] else c['label']}{sizes}): {params}")
        j = c["component"]
        se = "" if c["std_error"] is None else f" ± {c['std_error'][j]:.3g}"
        from ._results import component_label, counterexample_reason
        why, where = counterexample_reason(c), component_label(c)
        bound = ""
        if r.relation != "==":      # a bound: which side was claimed, and by how much the estimate is past it
            bound = f" (claimed estimand {r.relation} closed form; violated by {c['violation']:.3g})"
        if c.get("order"):          # an order: the ladder, and the order measured on it
            from ._results import order_text
            at = f" at {c['order']['parameter']} = {c['order']['rungs'][-1]:.4g}"
            out.append(f"    {where}{order_text(c['order'])}; closed form {c['closed_form'][j]:.6g}, estimate "
                       f"{c['estimate'][j]:.6g}{se}{at}; statistic {c['statistic']:.3g} > {c['threshold']:.3g}")
        else:
            out.append(f"    {where}closed form {c['closed_form'][j]:.6g}, estimate {c['estimate'][j]:.6g}{se}{bound}; "
                       f"statistic {c['statistic']:.3g} > {c['threshold']:.3g}{why}")
        out.append(f"    seeds: run {c['run_seed']}, example {c['example_seed']}")
        out.append(f"    reproduce: {c['command']}")
    return out


def _show(r) -> None:
    print(_line(r), flush=True)
    for extra in _details(r):
        print(extra, flush=True)


def _run_claims(claims: list, args, errors: list[str], isolation=None, notes: list[str] | None = None) -> tuple[int, dict]:
    """Check the ``(Claim, source)`` pairs, print a line each (and counterexamples) in their order, return
    (exit code, results document).

    Every claim starts from the same torch global state (``isolation``: the run's baseline in this process;
    each Dask worker has its own); see ``_schedule`` for where claims run.
    """
    from numerics import resolve_device

    from ._engine import parse_replay
    from ._results import results_document, write_json_atomic
    from ._schedule import check_claims

    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    replay = None
    if getattr(args, "replay", None) is not None:
        if len(claims) != 1:
            raise UsageError(f"--replay needs exactly one claim, got {len(claims)}; name it (theorycheck run NAME / validate FILE --claim NAME)")
        replay = parse_replay(args.replay, claims[0][0])
    start = time.perf_counter()
    results = check_claims(claims, seed=args.seed, device=device, time_budget=args.time_budget,
                           mutants=getattr(args, "mutants", False), replay=replay, isolation=isolation,
                           scheduler=args.scheduler, workers=args.workers, show=_show)
    total = time.perf_counter() - start
    counts = {v: sum(r.verdict == v for r in results) for v in ("verified", "refuted", "error")}
    expected = sum(r.verdict == "refuted" and r.as_expected for r in results)
    print(f"{counts['verified']} verified, {counts['refuted']} refuted ({expected} expected), {counts['error']} error "
          f"in {total:.1f} s (seed {args.seed}, device {device.type})")
    doc = results_document(results, seed=args.seed, device=str(device), seconds=total,
                           command=" ".join(["theorycheck"] + [shlex.quote(a) for a in sys.argv[1:]]))
    doc["file_errors"] = errors
    doc["file_notes"] = list(notes or [])
    if getattr(args, "json", None):
        write_json_atomic(args.json, doc)
    return _exit_code(doc), doc


def _exit_code(doc: dict) -> int:
    if doc.get("file_errors") or doc["summary"]["error"]:
        return EXIT_ERROR
    return EXIT_REFUTED if doc["summary"]["unexpected"] else EXIT_OK


def catalogue(claims: dict) -> dict:
    """What ``theorycheck list`` shows of the built-in claims, as the JSON document ``claims/catalogue.json`` holds."""
    return {"schema": CATALOGUE_SCHEMA, "generated_by": "python -m verify._cli --write-catalogue",
            "claims": [{f: getattr(c, f) for f in _CATALOGUE_FIELDS} for c in claims.values()]}


def write_catalogue(path: str | os.PathLike = CATALOGUE) -> Path:
    """Regenerate the catalogue from ``verify.claims.builtin_claims()`` (imports torch); return its path."""
    from ._results import write_json_atomic
    write_json_atomic(path, catalogue(_builtin()))
    return Path(path)


def _cmd_list() -> int:
    try:
        entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))["claims"]
    except (OSError, ValueError, KeyError, TypeError):   # not installed with the package: ask the claims themselves
        entries = catalogue(_builtin())["claims"]
    width = max(len(e["name"]) for e in entries)
    for e in entries:
        tag = " [expected: refuted]" if e["expected"] == "refuted" else ""
        print(f"{e['name']:<{width}}  {e['method']:<11}  {e['reference']}{tag}")
    return EXIT_OK


def _cmd_run(args) -> int:
    from ._schedule import one_torch_thread

    with one_torch_thread():
        claims = _builtin()
        unknown = [n for n in args.names if n not in claims]
        if unknown:
            raise UsageError(f"unknown claim {unknown[0]!r}; see theorycheck list for the {len(claims)} built-in claims")
        names = args.names or list(claims)
        return _run_claims([(claims[n], "builtin") for n in names], args, [])[0]


def _cmd_report(args) -> int:
    from ._report import render
    from ._results import SCHEMA
    if args.from_json:
        try:
            doc = json.loads(Path(args.from_json).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"--from {args.from_json}: cannot read a results file ({exc}); pass a file written by --json or a report's results.json") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise UsageError(f"--from {args.from_json}: schema {doc.get('schema') if isinstance(doc, dict) else None!r}, expected {SCHEMA!r}")
        code = _exit_code(doc)
    else:
        from ._schedule import one_torch_thread
        with one_torch_thread():
            claims = _builtin()
            unknown = [n for n in args.names if n not in claims]
            if unknown:
                raise UsageError(f"unknown claim {unknown[0]!r}; see theorycheck list for the {len(claims)} built-in claims")
            code, doc = _run_claims([(claims[n], "builtin") for n in (args.names or list(claims))], args, [])
    out = render(doc, args.out)
    print(f"report: {out / 'index.html'} (also report.md, results.json, figures/)")
    return code


def _cmd_validate(args) -> int:
    from ._schedule import one_torch_thread

    with one_torch_thread():     # before the baseline: every claim is checked on one thread (see _schedule)
        return _validate(args)


def _derivation_files(paths: list[str]) -> list[tuple[str, bool]]:
    """Each FILE as given; each directory as every .py file below it (sorted; hidden folders and __pycache__
    skipped), flagged so that a helper module without claims is skipped rather than an error."""
    out = []
    for path in paths:
        p = Path(path)
        if not p.is_dir():
            out.append((path, False))
            continue
        found = sorted(f for f in p.rglob("*.py")
                       if not any(part.startswith(".") or part == "__pycache__" for part in f.relative_to(p).parts))
        if not found:
            raise UsageError(f"{path}: a directory with no .py files below it; pass derivation files or a folder holding them")
        out += [(str(f), True) for f in found]
    return out


def _validate(args) -> int:
    from ._loader import load_claims
    from ._torchstate import Isolation

    selected, errors, notes = [], [], []
    isolation = Isolation()      # every file is imported, and every claim checked, from this torch state
    for path, from_dir in _derivation_files(args.files):
        isolation.enter()
        try:
            selected += [(c, path) for c in load_claims(path, time_budget=args.time_budget)]
        except TheorycheckError as exc:
            if from_dir and isinstance(exc, NoClaimsError):     # a helper module beside the derivation files
                notes.append(f"{path}: defines no Claim; skipped (found in a directory)")
                print(f"{'note':<20} {notes[-1]}", file=sys.stderr, flush=True)
            else:
                errors.append(str(exc))
                print(f"{'error':<20} {exc}", file=sys.stderr, flush=True)
        changed = isolation.leave()
        if changed:
            notes.append(f"{path}: the file changed torch's global state at import ({'; '.join(changed)}); restored, so every "
                         "file's claims run in the same state: set such state inside the callable that needs it")
            print(f"{'note':<20} {notes[-1]}", file=sys.stderr, flush=True)
    if args.claim:
        names = {c.name for c, _ in selected}
        missing = [n for n in args.claim if n not in names]
        if missing and not errors:
            raise UsageError(f"--claim {missing[0]!r}: no such claim in {' '.join(args.files)}; it has {sorted(names)}")
        selected = [(c, s) for c, s in selected if c.name in args.claim]
    if not selected:
        if not errors:              # only helper modules below the directories given
            print(f"{'error':<20} no Claim defined in {' '.join(args.files)}; define one at the top level of a .py file",
                  file=sys.stderr, flush=True)
        return EXIT_ERROR
    return _run_claims(selected, args, errors, isolation, notes)[0]


def _cmd_experiment(args) -> int:
    from ._experiments import experiment_names, get_experiment, run_experiment, run_failures, verdict_line

    if args.list:
        for name in experiment_names():
            e = get_experiment(name)
            print(f"{name:<26} {e.title}  [{e.source}]")
        return EXIT_OK
    if not args.name:
        raise UsageError("theorycheck experiment: give an experiment NAME or --list")
    from numerics._experiment import CheckpointError

    out = args.out
    if args.record:
        from ._recorded import RECORDED

        if out is not None:
            raise UsageError(f"--record writes to {RECORDED}/NAME/PRESET; drop --out {out!r} or --record")
        if args.seeds is not None:
            raise UsageError(f"--record records the preset as it is; drop --seeds {args.seeds} (or use --out to keep a "
                             "run with other seeds)")
        out = str(RECORDED / args.name / args.preset)
    try:
        doc = run_experiment(args.name, preset=args.preset, seeds=args.seeds, device=args.device, out=out,
                             resume=args.resume, scheduler=args.scheduler, workers=args.workers)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    for v in doc["verdicts"]:
        print(verdict_line(v))
    print(f"summary: {os.path.join(doc['directory'], 'summary.json')} "
          f"({doc['tasks']} tasks, {doc['timing']['wall_seconds_this_invocation']:.1f} s)")
    failures = run_failures(doc)
    for line in failures:
        print(f"run fails: {line}", file=sys.stderr)
    if args.record:
        from ._recorded import main as regenerate

        try:
            regenerate([])
        except ValueError as exc:   # a malformed block: the run is recorded all the same; say why the quotes are not
            print(f"recorded; the documents' quotes were not regenerated: {exc}", file=sys.stderr)
    return EXIT_REFUTED if failures else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _cmd_list()
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "experiment":
            return _cmd_experiment(args)
        return _cmd_validate(args)
    except UsageError as exc:
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("theorycheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-catalogue"]:
        print(f"wrote {write_catalogue()}")
        sys.exit(EXIT_OK)
    sys.exit(main())
