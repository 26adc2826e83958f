"""``theorycheck experiment``: run a training experiment's tasks (serially or through Dask), write its files.

The runner of the experiment kit (``numerics._experiment``, what experiments are written with): it resolves the
preset, schedules the tasks, collects their results, has the experiment summarise them, and decides each declared
``Verdict`` with ``_stats.decide_verdicts`` (Holm-Bonferroni over the run's findings).

Layout of a run (``--out``, default ``reports/experiments/NAME``)::

    config.json                       what was run (schema theorycheck.experiment/1); checked by --resume
    tasks/ARM/seed-K/metrics.jsonl    one line per logged step (schema theorycheck.metrics/1)
    tasks/ARM/seed-K/checkpoint-PHASE.pt
    tasks/ARM/seed-K/result.json      what the task returned (written last, atomically)
    summary.json, summary.md          verdicts with confidence intervals over seeds, tables, timings
    figures/*.png

A task whose ``result.json`` exists is done; ``--resume`` skips it and continues the others from their last
checkpoint. Tasks are independent, so they are scheduled through Dask distributed: a local cluster sized to
the machine by default, ``--scheduler ADDRESS`` for an existing cluster, ``--scheduler serial`` for none.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import sys
import time

from ._errors import UsageError
from ._markdown import table
from ._results import _floats, write_json_atomic

__all__ = ["run_experiment", "run_failures", "needed_seeds", "power_plan", "standardized_effect", "execute_task", "experiment_names", "get_experiment", "CONFIG_SCHEMA", "SUMMARY_SCHEMA"]

CONFIG_SCHEMA = "theorycheck.experiment/1"
SUMMARY_SCHEMA = "theorycheck.experiment-summary/2"
PRESETS = ("quick", "full")
_ARM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def experiment_names() -> list[str]:
    from numerics.experiments import experiment_names as names
    return names()


def get_experiment(name: str):
    from numerics.experiments import load_experiment
    try:
        return load_experiment(name)
    except KeyError:
        raise UsageError(f"unknown experiment {name!r}; choose one of: {', '.join(experiment_names())} "
                         "(theorycheck experiment --list)") from None


# --------------------------------------------------------------------------------------------- one task
def execute_task(spec: dict) -> dict:
    """Run one (arm, seed) task to completion (resuming from its checkpoint if any) and write result.json.

    Runs on one thread (``torch.set_num_threads(1)``) so that the arithmetic, and hence the result, is the same
    whichever process or worker runs it.
    """
    import torch

    from numerics._experiment import Run, jsonable

    path = os.path.join(spec["directory"], "result.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    experiment = get_experiment(spec["experiment"])
    if torch.device(spec["device"]).type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {spec['device']}: no CUDA device in this worker process (pid {os.getpid()}); "
                         "give the workers GPUs, or run with --device cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        run = Run(experiment=spec["experiment"], arm=spec["arm"], seed=spec["seed"], config=spec["config"],
                  directory=spec["directory"], device=spec["device"], progress=spec.get("progress"))
        result = experiment.train(run)
    finally:
        torch.set_num_threads(threads)
    doc = {"arm": spec["arm"]["name"], "seed": spec["seed"], "result": jsonable(result),
           "seconds": time.perf_counter() - start}
    write_json_atomic(path, doc)
    return doc


# --------------------------------------------------------------------------------------------- progress
class _Progress:
    """The experiment's progress: a tqdm bar on stderr when it is a terminal -- tasks done (fractions within the
    running task), elapsed time, the estimate of the time left, the task and step now running; nothing otherwise
    (a log or a CI run gets the summary the command prints at the end)."""

    def __init__(self, label: str, total: int, stream=None, enabled: bool = True):
        self.total, self.done = max(1, total), 0
        stream = stream or sys.stderr
        self.bar = None
        if enabled and hasattr(stream, "isatty") and stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, desc=label, unit="task", file=stream, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} tasks "
                                       "[{elapsed}<{remaining}] {postfix}")

    def draw(self, fraction: float, note: str = "") -> None:
        if self.bar is None:
            return
        target = min(max(fraction, 0.0), 1.0) * self.total
        self.bar.set_postfix_str(note[:60], refresh=False)
        self.bar.update(target - self.bar.n)

    def task_done(self, note: str = "") -> None:
        self.done += 1
        self.draw(self.done / self.total, note)
        if self.bar is not None and self.done >= self.total:
            self.bar.close()


# --------------------------------------------------------------------------------------------- the run
def _slug(arm: dict) -> str:
    name = arm.get("name", "")
    if not isinstance(name, str) or not _ARM_NAME.match(name):
        raise ValueError(f"experiment arm name {name!r}: use letters, digits and -_. only")
    return name


def _config(experiment, preset: str, seeds: int | None, overrides: dict | None) -> dict:
    if preset not in experiment.presets:
        raise UsageError(f"--preset {preset!r}: experiment {experiment.name!r} has presets "
                         f"{', '.join(experiment.presets)}; use --preset quick or --preset full")
    config = copy.deepcopy(dict(experiment.presets[preset]))
    for key, value in (overrides or {}).items():
        if key not in config:
            raise UsageError(f"override {key!r}: not a setting of {experiment.name!r}; settings: {', '.join(config)}")
        config[key] = value
    planned = needed_seeds(experiment, preset) if preset in PRESETS else None   # a test's smoke preset is plumbing
    if seeds is not None:
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise UsageError(f"--seeds {seeds!r}: must be a positive integer, e.g. --seeds 5")
        if preset in PRESETS and seeds < planned:
            from ._stats import JOINT_POWER

            raise UsageError(f"--seeds {seeds}: preset {preset!r} of {experiment.name!r} needs at least {planned} seeds "
                             f"(its power calculation: every finding and sanity check holds together with probability "
                             f">= {JOINT_POWER} at Holm's level, docs/experiments.md#power); use --seeds {planned} or more")
        config["seeds"] = seeds
    return config


def needed_seeds(experiment, preset: str) -> int:
    """The fewest seeds the preset's asserted verdicts need: ``_stats.seeds_for_power`` of the standardised effects
    the preset declares for its findings (``"effects": {name: d}``) and its sanity checks (``"sanity_effects"``),
    each d = |mean - threshold| / per-seed sd (``tests/test_recorded.py`` checks each is at most what the preset's
    recorded run measured), so that every finding is decided "holds" by Holm and every sanity check holds, all
    together with probability >= JOINT_POWER. A preset that declares no effects asserts nothing that needs power:
    2 seeds. A preset whose ``seeds`` is below what its effects need is a bug of the experiment: ValueError."""
    from ._stats import seeds_for_power

    config = experiment.presets[preset]
    effects, sanity = config.get("effects") or {}, config.get("sanity_effects") or {}
    needed = seeds_for_power(list(effects.values()), sanity=list(sanity.values()))
    if int(config["seeds"]) < needed:
        raise ValueError(f"experiment {experiment.name!r} preset {preset!r}: seeds={config['seeds']} but its declared "
                         f"effects need {needed} (verify._stats.seeds_for_power); raise its seeds")
    return needed


# Preset keys that only say how the run's verdicts are decided (declared effects, findings a preset reports): a
# resumed run may change them, since no task reads them; its summary is then decided by the settings in force.
DECISION_KEYS = ("effects", "sanity_effects", "reported")


def _training_config(config):
    return {k: v for k, v in config.items() if k not in DECISION_KEYS} if isinstance(config, dict) else config


def _prepare_directory(out: str, doc: dict, resume: bool) -> None:
    config_path = os.path.join(out, "config.json")
    if resume:
        if not os.path.exists(config_path):
            raise UsageError(f"--resume: no earlier run in {out!r} (no config.json); run without --resume first")
        with open(config_path, encoding="utf-8") as fh:
            old = json.load(fh)
        for key in ("experiment", "preset", "config", "device"):
            was, now = old.get(key), doc.get(key)
            if key == "config":   # how verdicts are decided may change; what the tasks computed may not
                was, now = (_training_config(c) for c in (was, now))
            if was != now:
                raise UsageError(f"--resume: {key} differs from the run in {out!r} ({was!r} there, "
                                 f"{now!r} now); resume with the same settings or choose another --out")
        if old != doc:
            write_json_atomic(config_path, doc)   # the decision settings in force now
        return
    if os.path.exists(out):
        if not os.path.isdir(out) or (os.listdir(out) and not os.path.exists(config_path)):
            raise UsageError(f"--out {out!r}: exists and is not an experiment directory (no config.json); "
                             "choose an empty or new directory")
        for entry in ("tasks", "figures", "summary.json", "summary.md", "config.json"):
            target = os.path.join(out, entry)
            if os.path.isdir(target):
                shutil.rmtree(target)
            elif os.path.exists(target):
                os.unlink(target)
    os.makedirs(out, exist_ok=True)
    write_json_atomic(config_path, doc)


def _run_serial(specs: list[dict], bar: _Progress) -> None:
    for i, spec in enumerate(specs):
        label = f"{spec['arm']['name']} seed {spec['seed']}"

        def progress(phase, step, total, i=i, label=label):
            frac = (i + (step / max(total, 1))) / len(specs)
            bar.draw(frac, f"{label} {phase} {step}/{total}")

        execute_task(dict(spec, progress=progress))
        bar.task_done(label)


def local_cluster(workers: int):
    """A local Dask cluster of ``workers`` single-threaded worker processes, for claims (``theorycheck run`` /
    ``validate``) and experiment tasks alike, its workers forked from a server that imported torch, SymPy and
    what this process imported of this project once (``forkserver``, where the platform has it).

    Spawned workers import all that each (6-10 s of CPU apiece here, more when the cores are shared) and take
    4 s to exit (then the nanny kills them); forked ones start and stop in a fraction of a second. The server
    starts with OMP/MKL/OpenBLAS at one thread, which Dask sets for spawned workers only. A server already
    running (an earlier cluster of this process) is reused as it is. The forkserver imports torch but never
    initialises CUDA, so a worker may still use a GPU.
    """
    import multiprocessing
    from multiprocessing import forkserver

    import dask
    from distributed.utils import get_mp_context

    if "forkserver" not in multiprocessing.get_all_start_methods():   # pragma: no cover - Windows
        return _spawned_local_cluster(workers)
    project = [m for m in list(sys.modules) if m.split(".")[0] in ("verify", "numerics", "theory") and not m.endswith("__main__")]
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context().set_forkserver_preload(["distributed", "torch", "sympy", "hypothesis", *project])  # after Dask's own
        one = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        saved = {k: os.environ.get(k) for k in one}
        os.environ.update(one)
        try:
            forkserver.ensure_running()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return _spawned_local_cluster(workers)


def _spawned_local_cluster(workers: int):
    """A local Dask cluster of ``workers`` single-threaded worker processes (started by the multiprocessing
    method Dask is configured with).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand memory back to the OS). That also
    stops glibc from raising its mmap threshold, so every tensor over 128 KiB is mmap'ed, page-faulted in and
    unmapped again each step: the population-flow full preset ran 2.3x slower per step (37% system time) than
    the same task run serially. The workers here keep glibc's default (the variable unset); OMP/MKL/OpenBLAS
    stay at one thread.
    """
    import warnings

    import dask
    from distributed import LocalCluster

    warnings.filterwarnings("ignore", message="Port 8787 is already in use")  # another cluster's HTTP port
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=max(1, int(workers)), threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


def _run_dask(specs: list[dict], bar: _Progress, scheduler: str, workers: int | None) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UsageError("--scheduler needs dask[distributed]; install it or use --scheduler serial") from None
    cluster = None
    if scheduler == "local":
        cluster = local_cluster(workers or min(len(specs), os.cpu_count() or 1))
        client = Client(cluster)
    else:
        from ._schedule import remote_client
        client = remote_client(scheduler)
    try:
        futures = client.map(execute_task, specs, pure=False)
        for future in as_completed(futures):
            doc = future.result()  # re-raises a task's exception here
            bar.task_done(f"{doc['arm']} seed {doc['seed']}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_experiment(name: str, *, preset: str = "quick", seeds: int | None = None, device: str = "auto",
                   out: str | None = None, resume: bool = False, scheduler: str = "local", workers: int | None = None,
                   overrides: dict | None = None, progress: bool = True) -> dict:
    """Run (or resume) experiment ``name``; return its summary (also written to ``OUT/summary.json``)."""
    from numerics import resolve_device
    from numerics._experiment import jsonable, read_metrics, write_atomic

    experiment = get_experiment(name)
    config = _config(experiment, preset, seeds, overrides)
    try:
        resolved = str(resolve_device(device))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise UsageError(f"--workers {workers!r}: must be a positive integer, e.g. --workers 2")
    out = out or os.path.join("reports", "experiments", name)
    arms = experiment.arms(config)
    slugs = [_slug(a) for a in arms]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"experiment {name!r}: arm names are not unique: {slugs}")
    doc = {"schema": CONFIG_SCHEMA, "experiment": name, "title": experiment.title, "source": experiment.source,
           "preset": preset, "config": config, "device": resolved, "arms": arms}
    _prepare_directory(out, doc, resume)

    specs = [{"experiment": name, "arm": arm, "seed": seed, "config": config, "device": resolved,
              "directory": os.path.join(out, "tasks", slug, f"seed-{seed}")}
             for arm, slug in zip(arms, slugs) for seed in range(config["seeds"])]
    pending = [s for s in specs if not os.path.exists(os.path.join(s["directory"], "result.json"))]
    bar = _Progress(f"{name} ({preset}, {len(specs)} tasks, {len(pending)} to run)", len(pending), enabled=progress)
    start = time.perf_counter()
    if pending:
        if scheduler == "serial" or len(pending) == 1 and scheduler == "local":
            _run_serial(pending, bar)
        else:
            _run_dask(pending, bar, scheduler, workers)
    wall = time.perf_counter() - start

    results, seconds = {}, 0.0
    for spec in specs:
        with open(os.path.join(spec["directory"], "result.json"), encoding="utf-8") as fh:
            task = json.load(fh)
        results[(spec["arm"]["name"], spec["seed"])] = _floats(task["result"])
        seconds += task["seconds"]
    summary = experiment.summarize(config, results)
    from ._stats import decide_verdicts     # experiments' verdicts are decided where the claims' are

    verdicts = decide_verdicts([_as_reported(v.as_dict(), config) for v in summary.pop("verdicts", [])])
    disagreements = [d.as_dict() if hasattr(d, "as_dict") else dict(d) for d in summary.pop("disagreements", [])]
    figures = []
    if experiment.figures is not None:
        figdir = os.path.join(out, "figures")
        os.makedirs(figdir, exist_ok=True)
        directories = {(spec["arm"]["name"], spec["seed"]): spec["directory"] for spec in specs}

        def metrics(arm: str, seed: int) -> list[dict]:
            return read_metrics(directories[(arm, seed)])

        figures = experiment.figures(config, results, metrics, figdir)
    document = {"schema": SUMMARY_SCHEMA, "experiment": name, "title": experiment.title, "source": experiment.source,
                "preset": preset, "seeds": config["seeds"], "device": resolved, "tasks": len(specs),
                "verdicts": verdicts,
                "power": power_plan(verdicts, config["seeds"], config.get("effects"), config.get("sanity_effects")),
                "provenance": _provenance(),
                "disagreements": disagreements, "tables": summary,
                "timing": {"wall_seconds_this_invocation": wall, "task_seconds_total": seconds,
                           "tasks_run_this_invocation": len(pending)},
                "figures": [os.path.join("figures", f) for f in figures]}
    document = jsonable(document)
    write_json_atomic(os.path.join(out, "summary.json"), document)
    write_atomic(os.path.join(out, "summary.md"), _markdown(document))
    document["directory"] = out
    return document


_SECTIONS = (("finding", "Findings"), ("sanity", "Sanity checks"), ("reported", "Reported comparisons"))


def _as_reported(v: dict, config: dict) -> dict:
    """A preset may list findings it only reports (``"reported": {name: why}``): e.g. an order that the quick
    preset's coarse step sizes cannot reach. They become kind ``reported`` (uncorrected, never the exit code),
    with the reason in their detail."""
    why = (config.get("reported") or {}).get(v["name"])
    if why is None or v["kind"] != "finding":
        return v
    return dict(v, kind="reported", asserted=False, detail=(v["detail"] + " " if v["detail"] else "")
                + f"Reported, not asserted, in this preset: {why}")


def power_plan(verdicts: list[dict], seeds: int, declared: dict | None = None,
               declared_sanity: dict | None = None) -> dict:
    """The power calculation for the next run, from this run's findings and sanity checks: each one's standardised
    effect d = |mean - threshold| / sd over seeds, and the seeds ``_stats.seeds_for_power`` says make all of them
    hold together with probability >= JOINT_POWER (None where an effect is not finite-positive or too small for
    1000 seeds; ``note`` says which). Beside it, what the preset declared (``declared_effects``,
    ``declared_sanity_effects``) and the verdicts it declares no effect for. A plan from a pilot run takes the
    measured effects as the true ones."""
    import math

    from ._stats import EXPERIMENT_ALPHA, JOINT_POWER, seeds_for_power

    effects = {v["name"]: standardized_effect(v) for v in verdicts if v["kind"] == "finding"}
    sanity = {v["name"]: standardized_effect(v) for v in verdicts if v["kind"] == "sanity"}
    declared, declared_sanity = dict(declared or {}), dict(declared_sanity or {})
    plan = {"alpha": EXPERIMENT_ALPHA, "joint_power": JOINT_POWER, "findings": len(effects), "seeds": seeds,
            "effects": effects, "sanity_effects": sanity, "seeds_needed": None, "note": "",
            "declared_effects": declared, "declared_sanity_effects": declared_sanity,
            "undeclared_findings": sorted(set(effects) - set(declared)),
            "undeclared_sanity": sorted(set(sanity) - set(declared_sanity)),
            "seeds_needed_declared": seeds_for_power(list(declared.values()), sanity=list(declared_sanity.values()))}
    diverged = sorted(k for k, d in {**effects, **sanity}.items() if math.isnan(d))
    if diverged:
        plan["note"] = f"no power calculation: {', '.join(diverged)} diverged (non-finite estimate)"
        return plan
    try:
        plan["seeds_needed"] = seeds_for_power(list(effects.values()), sanity=list(sanity.values()))
    except ValueError as exc:
        plan["note"] = str(exc)
    return plan


def standardized_effect(v: dict) -> float:
    """|mean - threshold| / (per-seed sd) of a verdict's interval (the sd read back from the interval: se * sqrt(n));
    inf where every seed gave the same number, nan for a diverged or one-seed run."""
    import math

    from ._stats import interval_se

    e = v["estimate"]
    se = interval_se(e)
    if se is None:
        return math.nan
    sd = se * math.sqrt(int(e["n"]))
    gap = abs(float(e["mean"]) - float(v["threshold"]))
    return gap / sd if sd > 0 else (math.inf if gap > 0 else 0.0)


def _fmt(x) -> str:
    if isinstance(x, str):
        return x
    if x is None:
        return "-"
    return "nan" if x != x else f"{x:.4g}"


def _markdown(doc: dict) -> str:
    lines = [f"# {doc['title']} (`{doc['experiment']}`, preset {doc['preset']}, {doc['seeds']} seeds, {doc['device']})",
             "", f"Source: {doc['source']}", ""]
    if doc.get("disagreements"):
        lines += ["## Where this run disagrees with the papers", ""]
        lines += ["*contradicts*: our 95% interval excludes what the paper reports; *not reproduced*: the paper reports "
                  "an effect that our interval cannot tell from none at this scale.", ""]
        lines += table(("result", "paper", "this run", "how"),
                       [(d["topic"], d["paper"], d["ours"], d.get("status", "contradicts")) for d in doc["disagreements"]])
        lines += [""]
    verdicts = doc["verdicts"]
    for kind, heading in _SECTIONS:
        rows = [v for v in verdicts if v.get("kind", "finding" if v["asserted"] else "reported") == kind]
        if not rows:
            continue
        if kind == "finding":
            lead = (f"Asserted: {len(rows)} findings, one family, Holm-Bonferroni at {_fmt(rows[0].get('alpha', 0.05))} "
                    "(p: two-sided, of the mean being the threshold; Holm p: adjusted). A finding that fails or is "
                    "inconclusive fails the run.")
        elif kind == "sanity":
            lead = "Checks that the experiment ran as built; each must hold (uncorrected, 95%); not findings."
        else:
            lead = "Reported, not asserted; each uncorrected (95%), so read them as one comparison each."
        lines += [f"## {heading}", "", lead, ""]
        cells = []
        for v in rows:
            e = v["estimate"]
            side = ">" if v["direction"] == "above" else "<"
            p = _fmt(v.get("p_value")) + (f" (Holm {_fmt(v['p_adjusted'])})" if v.get("p_adjusted") is not None else "")
            cells.append((v["statement"], f"**{v['status']}**", f"{_fmt(e['mean'])} [{_fmt(e['lo'])}, {_fmt(e['hi'])}], n={e['n']}",
                          f"{side} {_fmt(v['threshold'])}", p))
        lines += table(("verdict", "status", "estimate (95% CI over seeds)", "claimed", "p"), cells)
        for v in rows:
            if v["detail"]:
                lines += ["", f"- **{v['name']}**: {v['detail']}"]
        lines += [""]
    plan = doc.get("power")
    if plan and plan["findings"]:
        need = plan["seeds_needed"]
        lines += ["## Power", "", f"With the effects this run measured, {plan['findings']} findings need "
                  + (f"{need} seeds" if need else "more seeds than can be run")
                  + f" to be decided together with probability >= {plan['joint_power']} at Holm's level; this run had "
                  f"{plan['seeds']}." + (f" {plan['note']}" if plan["note"] else ""), ""]
    lines += [f"Figures: {', '.join(doc['figures']) or 'none'}", ""]
    return "\n".join(lines)


def verdict_line(v: dict) -> str:
    e = v["estimate"]
    side = ">" if v["direction"] == "above" else "<"
    kind = v.get("kind", "finding" if v["asserted"] else "reported")
    tag = v["status"] + {"finding": "", "sanity": " (sanity)", "reported": " (reported, uncorrected)"}[kind]
    holm = f", Holm p {_fmt(v['p_adjusted'])}" if v.get("p_adjusted") is not None else ""
    return (f"{tag:<36} {v['name']}: {_fmt(e['mean'])} [{_fmt(e['lo'])}, {_fmt(e['hi'])}] "
            f"(claimed {side} {_fmt(v['threshold'])}{holm})")


def _diverged(v: dict) -> bool:
    import math

    e = v["estimate"]
    return not all(math.isfinite(float(e[k])) for k in ("mean", "lo", "hi"))


def run_failures(doc: dict) -> list[str]:
    """Why the run fails, one line per asserted verdict (finding or sanity check) that did not hold."""
    out = []
    for v in doc["verdicts"]:
        if not v["asserted"] or v["status"] == "holds":
            continue
        kind = v.get("kind", "finding")
        if _diverged(v) and v["estimate"]["n"] >= 2:
            why = "diverged: a non-finite estimate (a seed's statistic is nan or inf; see its tasks' metrics)"
        elif v["status"] == "fails":
            why = "Holm rejects the threshold with the mean on the other side" if kind == "finding" else \
                "its interval lies on the other side of the threshold"
        else:
            need = (doc.get("power") or {}).get("seeds_needed")
            why = ("the seeds cannot tell at Holm's level" if kind == "finding" else "its interval contains the threshold") + \
                (f"; the power calculation from this run asks for {need} seeds (--seeds {need})" if need else "")
        out.append(f"{kind} {v['name']} is {v['status']}: {why}")
    return out


def _provenance() -> dict:
    """What the run ran: the commit (and whether the tree had uncommitted changes) and the package versions."""
    import subprocess

    from ._results import _git_commit, package_versions

    dirty = None
    try:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                             capture_output=True, text=True, timeout=10)
        dirty = bool(out.stdout.strip()) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    versions = package_versions()
    try:
        from importlib import metadata

        versions["statsmodels"] = metadata.version("statsmodels")
    except Exception:   # noqa: BLE001 -- provenance is best effort
        pass
    return {"git_commit": _git_commit(), "uncommitted_changes": dirty, "versions": versions}
