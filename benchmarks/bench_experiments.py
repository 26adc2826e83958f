"""Time per training task of each experiment preset, and the whole preset's time projected from it.

    .venv/bin/python benchmarks/bench_experiments.py [NAME ...] [--preset full] [--device auto|cpu|cuda]
        [--budget 30] [--workers N] [--out reports/bench-experiments.json]

For every arm of the preset it runs that arm's seed-0 task (one thread, as ``theorycheck experiment`` does)
in a temporary directory. A task that finishes within ``--budget`` seconds is timed whole; a longer one is
stopped there and its training loop is projected linearly from the steps done (set-up time measured, the
work after the loop — evaluation, probes — not seen, so such a row is a lower bound and says so). Seeds of
an arm do the same work on other random numbers, so

    preset time, one worker = sum over arms of (task time x seeds)
    preset wall time with W workers ~ that / W (tasks are independent; on a GPU they share the device)

Prints a table and writes JSON (atomically, schema ``theorycheck.bench-experiments/1``) with the machine,
the device, peak memory (resident set; CUDA: peak allocated per task) and every row. A projection is an
estimate: docs/experiments.md says which figures were measured whole and which were projected.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time

import torch

from numerics import resolve_device
from verify._experiments import _config, execute_task, experiment_names, get_experiment
from verify._results import package_versions, write_json_atomic

SCHEMA = "theorycheck.bench-experiments/1"


class _OutOfBudget(BaseException):
    """Raised from the progress hook to stop a task at the time budget (a BaseException, like a kill)."""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB -> MiB


def time_task(experiment: str, arm: dict, config: dict, device: str, budget: float, directory: str) -> dict:
    """Run one (arm, seed 0) task for at most ``budget`` seconds; its time, measured or projected."""
    marks: list[tuple[int, int, float]] = []  # (step, total, seconds since start) at each step's start
    start = time.perf_counter()

    def progress(phase: str, step: int, total: int) -> None:
        now = time.perf_counter() - start
        marks.append((step, total, now))
        if now > budget and marks[0][0] < step < total:  # at least one step done, some left
            raise _OutOfBudget

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    spec = {"experiment": experiment, "arm": arm, "seed": 0, "config": config, "device": device,
            "directory": directory, "progress": progress}
    finished = True
    try:
        execute_task(spec)
    except _OutOfBudget:
        finished = False
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    row = {"arm": arm["name"], "finished": finished, "elapsed_seconds": round(elapsed, 3)}
    if device == "cuda":
        row["cuda_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if not marks:
        row["task_seconds"] = round(elapsed, 3)
        return row
    first, total, setup = marks[0][0], marks[-1][1], marks[0][2]
    loop = [m for m in marks if m[0] < total]  # the marks at the start of a step (the last one is at its end)
    step, _, now = loop[-1]  # `step - first` steps done by `now`
    per = (now - setup) / (step - first) if step > first else None
    row.update(steps_total=total, setup_seconds=round(setup, 3), seconds_per_step=per)
    if finished:
        row["task_seconds"] = round(elapsed, 3)
    else:  # stopped by the hook at the start of `step`
        row.update(steps_done=step - first, task_seconds=round(setup + per * total, 3))
        row["note"] = "projected from the steps done; work after the training loop not included (lower bound)"
    return row


def bench_experiment(name: str, preset: str, device: str, budget: float, workers: int) -> dict:
    experiment = get_experiment(name)
    config = _config(experiment, preset, None, None)
    seeds = int(config["seeds"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-exp-") as tmp:
        for i, arm in enumerate(experiment.arms(config)):
            row = time_task(name, arm, config, device, budget, os.path.join(tmp, f"arm-{i}"))
            rows.append(row)
            kind = "measured" if row["finished"] else "projected"
            print(f"  {name:<26} {arm['name']:<24} {row['task_seconds']:9.1f} s/task ({kind}; "
                  f"ran {row['elapsed_seconds']:.1f} s)", flush=True)
    one_worker = sum(r["task_seconds"] for r in rows) * seeds
    doc = {"experiment": name, "preset": preset, "seeds": seeds, "arms": len(rows), "tasks": len(rows) * seeds,
           "all_measured": all(r["finished"] for r in rows), "one_worker_seconds": round(one_worker, 1),
           "workers": workers, "wall_seconds_estimate": round(one_worker / workers, 1), "rows": rows}
    print(f"{name} ({preset}, {doc['tasks']} tasks): {one_worker / 60:.1f} min on one worker, "
          f"~{one_worker / workers / 60:.1f} min wall with {workers} workers"
          f"{'' if doc['all_measured'] else ' (some tasks projected: a lower bound)'}", flush=True)
    return doc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="experiments (default: all)")
    p.add_argument("--preset", default="full", choices=["quick", "full"])
    p.add_argument("--device", default="auto")
    p.add_argument("--budget", type=float, default=30.0, help="seconds per task before projecting (default 30)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel workers the wall-time estimate assumes (default: the CPU count)")
    p.add_argument("--out", default="reports/bench-experiments.json")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in experiment_names()]
    if unknown:
        print(f"bench_experiments: unknown experiment {unknown[0]!r}; choose from {', '.join(experiment_names())}",
              file=sys.stderr)
        return 2
    if args.budget <= 0 or args.workers < 1:
        print("bench_experiments: --budget must be > 0 and --workers >= 1, e.g. --budget 30 --workers 2", file=sys.stderr)
        return 2
    try:
        device = str(resolve_device(args.device))
    except ValueError as exc:
        print(f"bench_experiments: {exc}", file=sys.stderr)
        return 2
    machine = {"platform": platform.platform(), "processor": _cpu_model(),
               "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    if device == "cuda":
        machine["gpu"] = torch.cuda.get_device_name()
    print(f"device {device}; {machine['cpus']} CPUs; load average {machine['load_average_at_start'][0]:.1f}", flush=True)
    results = [bench_experiment(n, args.preset, device, args.budget, args.workers)
               for n in (args.names or experiment_names())]
    machine["load_average_at_end"] = os.getloadavg()
    doc = {"schema": SCHEMA, "device": device, "machine": machine, "preset": args.preset, "budget_seconds": args.budget,
           "peak_rss_mib": round(_peak_rss_mib(), 1), "versions": package_versions(), "experiments": results}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
